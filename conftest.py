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
