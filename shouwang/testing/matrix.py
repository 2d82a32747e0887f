"""Building blocks of the permission matrix (shouwang/tests/test_permission_matrix.py).

Each app with URLs of its own may add a module `shouwang/<app>/tests/matrix.py` defining:

- `EXPECTED`: url name → (method, {persona: status}), built with `only(...)`;
- `KWARGS`: url name → function(world) → the URL's kwargs;
- `build_world(world, persona)`: adds the app's objects (in the 台江县 world) to the dict;
- optionally `ANONYMOUS`: url name → status for a visitor who is not signed in (default 302
  to the login page; an API answers 401), and `DATA`: url name → request data.

and list itself in `APP_MATRICES` below.
"""

from __future__ import annotations

from shouwang.testing.personas import OUTSIDERS, PERSONAS

APP_MATRICES = [
    "shouwang.exchange.tests.matrix",
    "shouwang.api.tests.matrix",
    "shouwang.screening.tests.matrix",
    "shouwang.monitoring.tests.matrix",
    "shouwang.insights.tests.matrix",
]

VIEWERS = {"village_cadre", "township_officer", "county_officer", "prefecture_viewer", "province_viewer"}
EDITORS = {"village_cadre", "township_officer", "county_officer"}
IMPORTERS = {"township_officer", "county_officer"}
ALL = set(PERSONAS)
# Marks a page without an object (a list, a form): it opens for the outsiders too — showing
# their own region — wherever it opens for their twin; objects of the world answer 404.
ELSEWHERE = {"other_county_cadre"}


def only(allowed: set[str], *, ok: int = 200, other: int = 404) -> dict[str, int]:
    if allowed & ELSEWHERE:
        allowed = allowed | {outsider for outsider, twin in OUTSIDERS.items() if twin in allowed}
    return {p: (ok if p in allowed else other) for p in ALL}
