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


@pytest.fixture(autouse=True)
def _divisions_after_a_transactional_test(request, django_db_blocker):
    """A transactional test (a live server, a real browser) ends by flushing the database,
    divisions included; the next test of the same process expects them, so they come back."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        transactional = True
    if not transactional:
        return
    from shouwang.regions.loading import load_divisions

    with django_db_blocker.unblock():
        load_divisions("522630")
        load_divisions("522631")
