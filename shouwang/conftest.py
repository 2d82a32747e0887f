import pytest

from shouwang.testing.personas import PERSONAS, make_persona


@pytest.fixture
def persona(db):
    """persona("village_cadre") → a fresh user of that persona."""
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = make_persona(name)
        return cache[name]

    return get


@pytest.fixture(params=sorted(PERSONAS))
def any_persona(request, persona):
    return persona(request.param)
