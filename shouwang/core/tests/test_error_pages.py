"""Failures a user can cause get a page in Chinese that says what happened and what to do,
never Django's English default or a traceback."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_form_left_open_too_long_explains_itself_and_asks_to_reload(persona):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(persona("county_officer"))
    form = browser.get(reverse("registry:member_search"))
    assert form.status_code == 200
    # Meanwhile the session's token changed (signed in again elsewhere, or the cookie expired):
    # the form still carries the old one.
    browser.cookies.pop("csrftoken", None)
    response = browser.post(reverse("registry:member_search"), {"q": "张", "csrfmiddlewaretoken": "x" * 64})
    assert response.status_code == 403
    page = response.content.decode()
    assert "页面已过期" in page and "刷新页面" in page and "数据没有改动" in page
    assert "CSRF" not in page  # not Django's English default page


def test_a_malformed_request_gets_a_chinese_page(client):
    response = client.get("/", headers={"host": "not-a-host-of-ours.example"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "请求无效" in page and "没有任何数据被改动" in page
    assert "Bad Request" not in page
