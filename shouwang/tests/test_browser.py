"""The foundation's promise, in a real browser (Debian's chromium driven by Playwright):
a village cadre logs in and sees, in Chinese, only their village's households."""

from __future__ import annotations

import gc
import os
import shutil
import time
import warnings

import pytest

from shouwang.testing.personas import PASSWORD, first_village, make_household, second_village

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module", autouse=True)
def _reap_server_connections():
    """The live server's request threads leave connections to the in-memory SQLite database
    that Django never closes (closing would drop the database); reap them here rather than
    let them be blamed on whichever test the garbage collector next runs in."""
    yield
    time.sleep(0.5)  # the last request threads finish
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the live server and Playwright share a thread
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def test_a_village_cadre_sees_only_their_village_in_chinese(live_server, browser, persona, tmp_path):
    from shouwang.regions.loading import load_divisions

    load_divisions("522630")  # transactional tests start from an empty database
    mine = make_household(first_village("522630001"))
    theirs = make_household(second_village("522630001"))
    cadre = persona("village_cadre")

    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", cadre.username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action$='/accounts/login/'] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "登录" not in page.title()
    page.goto(f"{live_server.url}/registry/")
    body = page.inner_text("body")
    assert "户编号" in body and "户主" in body
    assert mine.number in body
    assert theirs.number not in body
    page.screenshot(path=str(tmp_path / "village-cadre-households.png"), full_page=True)

    page.goto(f"{live_server.url}/registry/households/{theirs.pk}/")
    assert "户编号" not in page.inner_text("body")  # another village's household: not found
    page.close()
