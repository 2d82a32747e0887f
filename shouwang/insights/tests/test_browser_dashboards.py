"""The dashboards in a real browser (Debian's chromium through Playwright): each level opens
its own, the charts draw, and a county officer clicks down from the county to a household.
Screenshots of every level are kept in `var/test-artifacts/insights/` (or
$SHOUWANG_TEST_ARTIFACTS) for people to look at."""

from __future__ import annotations

import gc
import time

import pytest

from shouwang.insights.refresh import refresh
from shouwang.insights.tests.conftest import build_county
from shouwang.monitoring.tests.test_browser_loop import ARTIFACTS, Level
from shouwang.testing.personas import COUNTY, TOWNSHIP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:unclosed database:ResourceWarning"),
]

LEVELS = (
    ("province_viewer", "52", "1-province"),
    ("prefecture_viewer", "5226", "2-prefecture"),
    ("county_officer", COUNTY, "3-county"),
    ("township_officer", TOWNSHIP, "4-township"),
    ("village_cadre", None, "5-village"),
)


def charts_drawn(level: Level) -> int:
    level.page.wait_for_selector("body[data-charts-ready]")
    return level.page.locator(".sw-chart canvas").count()


def test_every_level_sees_its_dashboard_drawn_and_a_county_clicks_down_to_a_household(
    live_server, browser, persona, tmp_path, settings
):
    from shouwang.regions.loading import load_divisions

    settings.DATA_DIR = tmp_path
    load_divisions("522630")
    world = build_county()
    refresh(COUNTY)
    shots = ARTIFACTS / "insights"
    opened = []
    for who, code, name in LEVELS:
        level = Level(browser, live_server, persona(who), shots)
        opened.append(level)
        with level.page.expect_navigation():
            level.page.click("nav a[href='/insights/']")
        expected = code or world["a"]
        assert level.page.url.endswith(f"/insights/{expected}/")
        assert charts_drawn(level) >= 5, name
        assert level.page.inner_text("[data-kpi=households]") != "0"
        level.shot(name)

    county = opened[2]
    with county.page.expect_navigation():
        county.page.click(f"#section-children a[href='/insights/{TOWNSHIP}/']")
    assert "台拱街道" in county.page.inner_text("#dashboard-title")
    with county.page.expect_navigation():
        county.page.click(f"#section-children a[href='/insights/{world['a']}/']")
    county.shot("6-county-drilled-to-village")
    with county.page.expect_navigation():
        county.page.click(f"#section-households a:has-text('{world['sick'].number}')")
    assert world["sick"].number in county.text()
    with county.page.expect_navigation():
        county.page.go_back()
    with county.page.expect_navigation():
        county.page.click(f".sw-breadcrumb a[href='/insights/{COUNTY}/']")  # and back up in one click
    assert county.page.url.endswith(f"/insights/{COUNTY}/")

    for level in opened:
        level.context.close()
    time.sleep(0.5)
    gc.collect()
