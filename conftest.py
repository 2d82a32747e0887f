"""Shared fixtures: a small real division tree and the named personas of every test.

The tree is 台江县 (522630, Guizhou) plus 黎平县 (522631) next door, loaded from the shipped
NBS files once per test database. Personas: a village cadre of 红阳村, a township officer of
台拱街道, a county officer of 台江县, prefecture and province viewers, a department data
officer, the three administrators, and a cadre of another county who must always get 404.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from shouwang.regions.loading import load_divisions

    with django_db_blocker.unblock():
        load_divisions("522630")
        load_divisions("522631")


def _transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    names = getattr(item, "fixturenames", ())
    return "transactional_db" in names or "live_server" in names


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """A transactional test (a live server, a real browser) ends by flushing the database,
    divisions included, and the next test of the same process expects them: once every
    finalizer of the test has run (the flush among them), they are loaded again."""
    result = yield
    if nextitem is not None and _transactional(item):
        from pytest_django.plugin import blocking_manager_key

        from shouwang.regions.loading import load_divisions

        with item.config.stash[blocking_manager_key].unblock():
            load_divisions("522630")
            load_divisions("522631")
    return result


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: a count or a rate limit cached by one test must not
    answer the next (local memory lives as long as the worker)."""
    from django.core.cache import cache

    cache.clear()
    yield
