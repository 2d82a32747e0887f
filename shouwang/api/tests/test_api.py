"""The REST API, read as policy: who may see and do what, with a session or a token."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from engine.ids import make_id_number
from shouwang.api.models import ApiToken, hash_token
from shouwang.core.models import AuditEvent
from shouwang.jobs.models import Job
from shouwang.testing.personas import COUNTY, OTHER_COUNTY, TOWNSHIP, first_village, make_household, second_village

FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])|(?<![0-9])[0-9]{15}(?![0-9])")
V1 = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


def bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


def token_for(user, label: str = "测试系统") -> str:
    return ApiToken.issue(user, label)[1]


@pytest.fixture
def world(persona):
    """Two villages of 台拱街道, one household elsewhere in the township, one in 黎平县."""
    mine = make_household(first_village(TOWNSHIP), household_type="脱贫户")
    neighbour = make_household(second_village(TOWNSHIP))
    far = make_household(first_village(OTHER_COUNTY))
    return {"mine": mine, "neighbour": neighbour, "far": far}


# -- scoping ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_village_cadres_token_lists_only_their_villages_households(client, persona, world):
    token = token_for(persona("village_cadre"))
    response = client.get(f"{V1}/households", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert [h["number"] for h in body["items"]] == [world["mine"].number]
    assert body["count"] == 1


@pytest.mark.django_db
def test_a_county_officer_lists_their_county_and_filters_narrow_it(client, persona, world):
    token = token_for(persona("county_officer"))
    numbers = {h["number"] for h in client.get(f"{V1}/households", headers=bearer(token)).json()["items"]}
    assert numbers == {world["mine"].number, world["neighbour"].number}
    village = world["neighbour"].village_id
    only = client.get(f"{V1}/households", {"village": village}, headers=bearer(token)).json()["items"]
    assert [h["number"] for h in only] == [world["neighbour"].number]
    typed = client.get(f"{V1}/households", {"household_type": "脱贫户"}, headers=bearer(token)).json()["items"]
    assert [h["number"] for h in typed] == [world["mine"].number]
    by_name = client.get(f"{V1}/households", {"q": world["mine"].head.name}, headers=bearer(token)).json()["items"]
    assert [h["number"] for h in by_name] == [world["mine"].number]


@pytest.mark.django_db
def test_a_village_filter_outside_the_callers_region_finds_nothing(client, persona, world):
    token = token_for(persona("village_cadre"))
    response = client.get(f"{V1}/households", {"village": world["far"].village_id}, headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 0}


@pytest.mark.django_db
def test_a_household_of_another_county_answers_404_like_one_that_does_not_exist(client, persona, world):
    token = token_for(persona("county_officer"))
    foreign = client.get(f"{V1}/households/{world['far'].pk}", headers=bearer(token))
    absent = client.get(f"{V1}/households/999999", headers=bearer(token))
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json() == absent.json() == {"detail": "对象不存在或无权访问。", "code": "not_found"}


@pytest.mark.django_db
def test_a_household_of_a_neighbouring_village_is_404_for_the_village_cadre(client, persona, world):
    token = token_for(persona("village_cadre"))
    assert client.get(f"{V1}/households/{world['neighbour'].pk}", headers=bearer(token)).status_code == 404
    assert client.get(f"{V1}/households/{world['mine'].pk}", headers=bearer(token)).status_code == 200


@pytest.mark.django_db
def test_a_department_officer_token_sees_no_registry_data(client, persona, world):
    token = token_for(persona("department_officer"))
    listing = client.get(f"{V1}/households", headers=bearer(token))
    assert listing.status_code == 403
    assert listing.json()["code"] == "forbidden"
    assert client.get(f"{V1}/households/{world['mine'].pk}", headers=bearer(token)).status_code == 404


@pytest.mark.django_db
def test_a_token_follows_its_owner_when_the_owner_is_moved(client, persona, world):
    cadre = persona("village_cadre")
    token = token_for(cadre)
    cadre.region_id = world["neighbour"].village_id
    cadre.save()
    numbers = [h["number"] for h in client.get(f"{V1}/households", headers=bearer(token)).json()["items"]]
    assert numbers == [world["neighbour"].number]


@pytest.mark.django_db
def test_household_detail_carries_members_indicators_and_derived_incomes(client, persona, world):
    token = token_for(persona("township_officer"))
    body = client.get(f"{V1}/households/{world['mine'].pk}", headers=bearer(token)).json()
    assert body["number"] == world["mine"].number
    assert len(body["members"]) == 3
    assert set(body["indicators"]) == {
        "food_clothing_secure",
        "education_secure",
        "medical_secure",
        "housing_secure",
        "water_secure",
        "without_labour",
    }
    account = body["accounts"][0]
    assert account["year"] == 2025
    # 20000 + 5000 − 1000 + 0 + 1000 = 25000; three people
    assert account["net_income"] == "25000.00"
    assert account["per_capita_net_income"] == "8333.33"
    assert body["latest_per_capita_net_income"] == "8333.33"


# -- sensitive data ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_never_returns_a_full_id_number(client, persona, world):
    token = token_for(persona("county_officer"))  # may reveal IDs on the web, still masked here
    hh = world["mine"]
    tail = hh.members.first().id_number_tail
    bodies = [
        client.get(f"{V1}/households", headers=bearer(token)).content.decode(),
        client.get(f"{V1}/households", {"q": tail}, headers=bearer(token)).content.decode(),
        client.get(f"{V1}/households/{hh.pk}", headers=bearer(token)).content.decode(),
    ]
    for body in bodies:
        assert not FULL_ID.search(body), body
    members = json.loads(bodies[2])["members"]
    assert all(re.fullmatch(r"\d{4}\*{10}[0-9X]{4}", m["id_number_masked"]) for m in members)


@pytest.mark.django_db
def test_a_full_id_number_in_the_url_is_refused(client, persona, world):
    token = token_for(persona("county_officer"))
    idn = make_id_number(COUNTY, dt.date(1980, 1, 1), 7, "M")
    response = client.get(f"{V1}/households", {"q": idn}, headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert idn not in response.content.decode()


@pytest.mark.django_db
def test_tokens_are_stored_only_as_a_keyed_hash(persona):
    token, plaintext = ApiToken.issue(persona("county_officer"), "移动端")
    assert plaintext.startswith("sw_") and len(plaintext) > 40
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert plaintext not in json.dumps(row, default=str)
    assert row["token_hash"] == hash_token(plaintext) != hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext.startswith(row["prefix"]) and len(row["prefix"]) == 11


# -- authentication ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_anonymous_caller_gets_401_json_not_a_login_page(client):
    response = client.get(f"{V1}/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_revoked_token_is_refused_with_401(client, persona):
    token, plaintext = ApiToken.issue(persona("county_officer"), "移动端")
    assert client.get(f"{V1}/me", headers=bearer(plaintext)).status_code == 200
    token.revoke()
    response = client.get(f"{V1}/me", headers=bearer(plaintext))
    assert response.status_code == 401
    assert response.json() == {"detail": "令牌无效、已过期或已被吊销。", "code": "invalid_token"}


@pytest.mark.django_db
def test_an_expired_or_unknown_token_or_one_of_a_deactivated_owner_is_refused(client, persona):
    user = persona("county_officer")
    _expired, plain_expired = ApiToken.issue(user, "过期", expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(f"{V1}/me", headers=bearer(plain_expired)).status_code == 401
    assert client.get(f"{V1}/me", headers=bearer("sw_" + "x" * 43)).status_code == 401
    assert client.get(f"{V1}/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    plaintext = token_for(user)
    user.is_active = False
    user.save()
    assert client.get(f"{V1}/me", headers=bearer(plaintext)).status_code == 401


@pytest.mark.django_db
def test_a_refused_token_is_logged_by_its_prefix_never_in_full(client, persona, caplog):
    token, plaintext = ApiToken.issue(persona("county_officer"), "移动端")
    token.revoke()
    with caplog.at_level("WARNING", logger="shouwang.api.auth"):
        assert client.get(f"{V1}/me", headers=bearer(plaintext)).status_code == 401
    assert token.prefix in caplog.text
    assert plaintext not in caplog.text


@pytest.mark.django_db
def test_a_bad_token_is_not_rescued_by_a_session(client, persona):
    user = persona("county_officer")
    client.force_login(user)
    assert client.get(f"{V1}/me").status_code == 200
    assert client.get(f"{V1}/me", headers=bearer("sw_unknown")).status_code == 401


@pytest.mark.django_db
def test_me_tells_who_is_calling_and_how(client, persona):
    user = persona("department_officer")
    token, plaintext = ApiToken.issue(user, "县医保局结算系统")
    body = client.get(f"{V1}/me", headers=bearer(plaintext)).json()
    assert body["username"] == "department_officer"
    assert body["role"] == "department_officer"
    assert body["region_code"] == COUNTY
    assert "upload_feeds" in body["capabilities"]
    assert body["auth"] == "token" and body["token_prefix"] == token.prefix


@pytest.mark.django_db
def test_last_used_is_recorded_at_most_once_a_minute(client, persona):
    token, plaintext = ApiToken.issue(persona("county_officer"), "移动端")
    client.get(f"{V1}/me", headers=bearer(plaintext))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get(f"{V1}/me", headers=bearer(plaintext))
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    client.get(f"{V1}/me", headers=bearer(plaintext))
    token.refresh_from_db()
    assert token.last_used_at > first - dt.timedelta(minutes=2)


@pytest.mark.django_db
def test_too_many_requests_get_429_with_a_chinese_message(client, persona, settings):
    settings.SHOUWANG_API_RATE_LIMIT = 3
    plaintext = token_for(persona("county_officer"))
    statuses = [client.get(f"{V1}/me", headers=bearer(plaintext)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(f"{V1}/me", headers=bearer(plaintext))
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert "请求过于频繁" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1
    # the limit is per token: another token of the same user is not affected
    assert client.get(f"{V1}/me", headers=bearer(token_for(persona("county_officer")))).status_code == 200


@pytest.mark.django_db
def test_session_calls_need_the_csrf_token_for_unsafe_methods(persona):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(persona("county_officer"))
    assert browser.get(f"{V1}/me").status_code == 200
    response = browser.post(f"{V1}/tokens", {"label": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not ApiToken.objects.exists()


# -- tokens ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_cannot_create_tokens(client, persona):
    plaintext = token_for(persona("county_officer"))
    payload = {"label": "由令牌创建"}
    response = client.post(f"{V1}/tokens", payload, content_type="application/json", headers=bearer(plaintext))
    assert response.status_code == 401
    assert client.get(f"{V1}/tokens", headers=bearer(plaintext)).status_code == 401
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
def test_a_user_creates_a_token_sees_its_plaintext_once_and_revokes_it(client, persona):
    user = persona("village_cadre")
    client.force_login(user)
    created = client.post(
        f"{V1}/tokens", {"label": "村级移动端", "expires_in_days": 30}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    plaintext = body["token"]
    assert plaintext.startswith(body["prefix"]) and body["state"] == "active"
    listing = client.get(f"{V1}/tokens").content.decode()
    assert plaintext not in listing and body["prefix"] in listing
    client.logout()
    assert client.get(f"{V1}/me", headers=bearer(plaintext)).status_code == 200
    client.force_login(user)
    assert client.delete(f"{V1}/tokens/{body['id']}").status_code == 204
    client.logout()
    assert client.get(f"{V1}/me", headers=bearer(plaintext)).status_code == 401
    actions = list(AuditEvent.objects.filter(action__startswith="api.token").values_list("action", flat=True))
    assert sorted(actions) == ["api.token_create", "api.token_revoke"]
    assert plaintext not in json.dumps(list(AuditEvent.objects.values("detail")), ensure_ascii=False)


@pytest.mark.django_db
def test_nobody_revokes_or_lists_another_users_token(client, persona):
    token, _plaintext = ApiToken.issue(persona("county_officer"), "县级移动端")
    client.force_login(persona("township_officer"))
    assert client.get(f"{V1}/tokens").json() == []
    assert client.delete(f"{V1}/tokens/{token.pk}").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_administrators_hold_no_tokens(client, persona):
    admin = persona("security_admin")
    client.force_login(admin)
    response = client.post(f"{V1}/tokens", {"label": "x"}, content_type="application/json")
    assert response.status_code == 403
    # and a token that somehow exists for one is refused
    plaintext = token_for(admin)
    client.logout()
    assert client.get(f"{V1}/me", headers=bearer(plaintext)).status_code == 401


@pytest.mark.django_db
def test_the_token_page_shows_the_new_plaintext_once(client, persona):
    client.force_login(persona("department_officer"))
    response = client.post("/api/tokens/create/", {"label": "县医保局结算系统", "expires_in_days": "365"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    page = response.content.decode()
    match = re.search(r'value="(sw_[^"]+)"', page)
    assert match and hash_token(match.group(1)) == token.token_hash
    assert response["Cache-Control"] == "no-store"
    again = client.get("/api/tokens/").content.decode()
    assert match.group(1) not in again and token.prefix in again
    revoked = client.post(f"/api/tokens/{token.pk}/revoke/")
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


# -- jobs --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_job_status_is_scoped_like_the_web(client, persona):
    county = persona("county_officer")
    job = Job.objects.create(kind="registry_import", region_id=COUNTY, created_by=county, total=10, progress=5)
    mine = client.get(f"{V1}/jobs/{job.pk}", headers=bearer(token_for(county))).json()
    assert mine["percent"] == 50 and mine["status"] == "queued"
    assert client.get(f"{V1}/jobs/{job.pk}", headers=bearer(token_for(persona("township_officer")))).status_code == 404
    other = client.get(f"{V1}/jobs/{job.pk}", headers=bearer(token_for(persona("other_county_cadre"))))
    assert other.status_code == 404


# -- feeds -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_feed_declarations_follow_the_one_schema(client, persona):
    from engine.schemas.feeds import FEED_SCHEMAS

    token = token_for(persona("department_officer"))
    kinds = client.get(f"{V1}/feeds/kinds", headers=bearer(token)).json()
    assert [k["kind"] for k in kinds] == list(FEED_SCHEMAS)
    claims = client.get(f"{V1}/feeds/kinds/medical_claims", headers=bearer(token)).json()
    columns = {c["name"]: c for c in claims["columns"]}
    assert columns["out_of_pocket"]["label"] == "个人自付"
    assert "个人负担" in columns["out_of_pocket"]["aliases"]
    assert columns["out_of_pocket"]["required"] and columns["out_of_pocket"]["type"] == "amount"
    assert columns["visit_type"]["choices"] == ["门诊", "住院", "门诊慢特病"]
    unknown = client.get(f"{V1}/feeds/kinds/lottery", headers=bearer(token))
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_request"


@dataclass
class FakeOutcome:
    values: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.values


@pytest.fixture
def fake_import(monkeypatch):
    """Stands in for shouwang.exchange.actions.do_import_feed and records its arguments."""
    calls: list[dict[str, Any]] = []
    bad_id = make_id_number(COUNTY, dt.date(1990, 1, 1), 3, "F")

    def do_import_feed(source, **kwargs):
        data = source if isinstance(source, bytes) else source.read_bytes()
        calls.append({"source": data, **kwargs})
        return FakeOutcome(
            {
                "total": 2,
                "valid": 1,
                "rejected": 1,
                "duplicates": 0,
                "already_imported": False,
                "batch_id": 7,
                "message": "预检发现 1 行错误",
                "errors": [{"line": 3, "column": "id_number", "reason_zh": f"校验码错误：{bad_id}"}],
            }
        )

    from shouwang.exchange import actions

    monkeypatch.setattr(actions, "do_import_feed", do_import_feed)
    return calls


CSV = "身份证号,姓名,结算日期,医疗总费用,个人自付\n".encode()


def push(client, token, kind="medical_claims", content=CSV, name="claims.csv", **form):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **form}
    return client.post(f"{V1}/feeds/{kind}", data, headers=bearer(token))


@pytest.mark.django_db
def test_a_department_token_pushes_a_feed_for_its_county(client, persona, fake_import):
    token = token_for(persona("department_officer"))
    response = push(client, token, dry_run="true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total"], body["valid"], body["rejected"], body["batch_id"]) == (2, 1, 1, 7)
    assert body["county"] == COUNTY and body["dry_run"] is True
    assert body["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert not FULL_ID.search(response.content.decode())  # the row error's ID comes back masked
    [call] = fake_import
    assert call["source"] == CSV
    assert call["kind"] == "medical_claims" and call["county"] == COUNTY and call["channel"] == "api"
    assert call["dry_run"] is True and call["valid_rows_only"] is False and call["filename"] == "claims.csv"
    event = AuditEvent.objects.get(action="api.feed_push")
    assert event.detail["sha256"] == body["sha256"] and event.detail["kind"] == "medical_claims"
    assert event.detail["total"] == 2 and event.region_code == COUNTY
    assert not FULL_ID.search(json.dumps(event.detail))


@pytest.mark.django_db
def test_a_department_token_cannot_push_for_another_county(client, persona, fake_import):
    token = token_for(persona("department_officer"))
    other = push(client, token, county=OTHER_COUNTY)
    absent = push(client, token, county="529999")
    assert other.status_code == absent.status_code == 404
    assert other.json() == absent.json()
    assert fake_import == []


@pytest.mark.django_db
def test_only_department_officers_push_feeds(client, persona, fake_import):
    response = push(client, token_for(persona("county_officer")))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert fake_import == []


@pytest.mark.django_db
def test_bad_pushes_get_422_or_413_with_chinese_messages(client, persona, fake_import, settings):
    token = token_for(persona("department_officer"))
    unknown = push(client, token, kind="lottery")
    assert unknown.status_code == 422 and "未知的数据类型" in unknown.json()["detail"]
    wrong_type = push(client, token, name="claims.exe")
    assert wrong_type.status_code == 422 and "csv" in wrong_type.json()["detail"]
    fake_xlsx = push(client, token, name="claims.xlsx", content=b"not a zip")
    assert fake_xlsx.status_code == 422
    no_file = client.post(f"{V1}/feeds/medical_claims", {"dry_run": "true"}, headers=bearer(token))
    assert no_file.status_code == 422 and "file" in no_file.json()["detail"]
    bad_flag = push(client, token, dry_run="perhaps")
    assert bad_flag.status_code == 422 and bad_flag.json()["code"] == "invalid_request"
    settings.SHOUWANG_API_UPLOAD_MAX_BYTES = 10
    too_big = push(client, token)
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
    assert fake_import == []


@pytest.mark.django_db
def test_the_real_import_runs_through_the_api(client, persona, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.FEED_PARSE_SANDBOX = False
    idn = make_id_number(COUNTY, dt.date(1970, 3, 1), 1, "M")
    wrong = idn[:-1] + ("0" if idn[-1] != "0" else "1")  # a wrong check digit
    content = (
        "台江县2025年第三季度医保结算数据\n身份证号,姓名,结算日期,医疗总费用,个人自付\n"
        f"{idn},张三,2025-05-01,12000,3000\n{wrong},李四,2025-05-02,100,50\n"
    ).encode()
    token = token_for(persona("department_officer"))
    response = push(client, token, content=content, dry_run="true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total"], body["valid"], body["rejected"], body["status"]) == (2, 1, 1, "dry_run")
    assert body["county"] == COUNTY and body["errors"][0]["line"] == "4"
    text = response.content.decode()
    assert idn not in text and wrong not in text and not FULL_ID.search(text)
    committed = push(client, token, content=content, valid_rows_only="true")
    assert committed.status_code == 200, committed.content
    assert committed.json()["committed"] is True and committed.json()["stored"] == 1
    again = push(client, token, content=content, valid_rows_only="true")
    assert again.json()["already_imported"] is True and again.json()["stored"] == 0
    garbage = push(client, token, content=b"\x00\x01\x02 not a table")
    assert garbage.status_code == 422 and garbage.json()["code"] == "file_rejected"
    assert garbage.json()["outcome"]["file_error"]["code"] == "binary"
    from shouwang.exchange.models import FeedBatch

    assert FeedBatch.objects.filter(status="committed").count() == 1
    assert len(list((tmp_path / "feeds").rglob("*.parquet"))) == 1


def two_sheet_workbook() -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"  # blank: skipped by default
    for title, day, person in (("一季度", "2025-02-01", 1), ("二季度", "2025-05-01", 2)):
        sheet = book.create_sheet(title)
        sheet.append(["身份证号", "姓名", "结算日期", "医疗总费用", "个人自付"])
        sheet.append([make_id_number(COUNTY, dt.date(1970, 3, 1), person, "M"), "张三", day, 100, 30])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_push_may_name_the_sheet_and_an_unknown_one_lists_the_sheets(client, persona, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.FEED_PARSE_SANDBOX = False
    token = token_for(persona("department_officer"))
    book = two_sheet_workbook()
    second = push(client, token, content=book, name="q.xlsx", sheet="二季度")
    assert second.status_code == 200, second.content
    assert second.json()["sheet"] == "二季度" and second.json()["periods"] == ["2025-05"]
    first = push(client, token, content=book, name="q.xlsx")  # the same file, its first sheet with data
    assert first.json()["sheet"] == "一季度" and first.json()["committed"] and not first.json()["already_imported"]
    again = push(client, token, content=book, name="q.xlsx", sheet="二季度")
    assert again.json()["already_imported"] and again.json()["batch_id"] == second.json()["batch_id"]
    unknown = push(client, token, content=book, name="q.xlsx", sheet="三季度")
    assert unknown.status_code == 422 and unknown.json()["code"] == "file_rejected"
    assert (
        unknown.json()["outcome"]["file_error"]["reason_zh"]
        == "找不到工作表“三季度”；文件中的工作表：说明、一季度、二季度"
    )


# -- the document and the errors ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_openapi_document_lists_every_endpoint(client, persona):
    token = token_for(persona("county_officer"))
    doc = client.get(f"{V1}/openapi.json", headers=bearer(token)).json()
    assert doc["info"]["title"] == "守望 Shouwang API" and doc["info"]["version"] == "1"
    operations = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert operations == {
        (f"{V1}/me", "get"),
        (f"{V1}/households", "get"),
        (f"{V1}/households/{{household_id}}", "get"),
        (f"{V1}/jobs/{{job_id}}", "get"),
        (f"{V1}/feeds/kinds", "get"),
        (f"{V1}/feeds/kinds/{{kind}}", "get"),
        (f"{V1}/feeds/{{kind}}", "post"),
        (f"{V1}/tokens", "get"),
        (f"{V1}/tokens", "post"),
        (f"{V1}/tokens/{{token_id}}", "delete"),
    }
    schemes = doc["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert client.get(f"{V1}/openapi.json").status_code == 401


@pytest.mark.django_db
def test_the_docs_page_loads_without_the_internet(client, persona):
    client.force_login(persona("county_officer"))
    page = client.get(f"{V1}/docs").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    for asset in assets:
        assert not asset.startswith(("http:", "https:", "//")), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert '"validatorUrl": null' in page  # no call-out to validator.swagger.io


@pytest.mark.django_db
def test_a_crash_answers_a_generic_json_error_without_a_traceback(client, persona, monkeypatch):
    from shouwang.api.routers import feeds as module

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals " + make_id_number(COUNTY, dt.date(1990, 1, 1), 1, "M"))

    monkeypatch.setattr(module, "feed_summary", explode)
    response = client.get(f"{V1}/feeds/kinds", headers=bearer(token_for(persona("county_officer"))))
    assert response.status_code == 500
    assert response.json() == {"detail": "服务器内部错误，请稍后重试或联系系统管理员。", "code": "server_error"}


@pytest.mark.django_db
def test_api_responses_are_not_cached(client, persona):
    response = client.get(f"{V1}/me", headers=bearer(token_for(persona("county_officer"))))
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_pagination_parameters_are_validated(client, persona, world):
    token = token_for(persona("county_officer"))
    response = client.get(f"{V1}/households", {"page": 0}, headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request" and response.json()["errors"]
    assert client.get(f"{V1}/households", {"page_size": 1}, headers=bearer(token)).json()["count"] == 2


def test_the_township_constant_is_in_the_county():
    assert TOWNSHIP.startswith(COUNTY)


# -- the console -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_security_administrator_lists_and_revokes_tokens_of_their_region_only(client, persona):
    ours, _ = ApiToken.issue(persona("department_officer"), "县医保局结算系统")
    theirs, _ = ApiToken.issue(persona("other_county_cadre"), "黎平县移动端")
    client.force_login(persona("security_admin"))
    page = client.get("/admin/api/apitoken/")
    assert page.status_code == 200
    text = page.content.decode()
    assert ours.prefix in text and theirs.prefix not in text and ours.token_hash not in text
    response = client.post(
        "/admin/api/apitoken/", {"action": "revoke", "_selected_action": [ours.pk, theirs.pk]}, follow=True
    )
    assert response.status_code == 200
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.revoked_at is not None and theirs.revoked_at is None
    event = AuditEvent.objects.get(action="api.token_revoke")
    assert event.detail["channel"] == "admin" and event.actor_name == "security_admin"


@pytest.mark.django_db
def test_the_system_administrator_does_not_manage_tokens(client, persona):
    client.force_login(persona("system_admin"))
    assert client.get("/admin/api/apitoken/").status_code == 403
