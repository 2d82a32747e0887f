"""The interactive API docs render in a real browser with every request to the outside world
blocked — government intranets have no internet, so nothing may come from a CDN."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlparse

import pytest

from shouwang.testing.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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


def test_the_api_docs_render_without_the_internet(live_server, persona):
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from shouwang.regions.loading import load_divisions

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    load_divisions("522630")  # transactional tests start from an empty database
    user = persona("county_officer")
    ours = urlparse(live_server.url).netloc
    outside: list[str] = []

    def only_ours(route):
        if urlparse(route.request.url).netloc == ours:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(locale="zh-CN")
        page.route("**/*", only_ours)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("form[action$='/accounts/login/'] button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/api/v1/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        text = page.inner_text("body")
        browser.close()
    assert "守望 Shouwang API" in text
    assert "/api/v1/feeds/{kind}" in text and "/api/v1/households" in text
    assert outside == []
