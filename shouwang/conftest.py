import os

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


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, one per test module (the browser tests)."""
    from shouwang.tests.test_browser import CHROMIUM, FLAGS

    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()
