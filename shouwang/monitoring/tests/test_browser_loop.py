"""The monitoring loop in a real browser (Debian's chromium through Playwright), as the three
levels live it: a village cadre, a township officer and a county officer take one screening
warning through verification, democratic appraisal, notice, township audit and county
approval, then an assistance plan, a visit and risk elimination; and a household's own
online application through to approval.

Time passes where the policy makes people wait: a notice's five days and the six months
before elimination are moved back in the database, as the calendar would move them.
Screenshots of the key pages are kept in `var/test-artifacts/monitoring/` (or
$SHOUWANG_TEST_ARTIFACTS) for people to look at.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import time
from decimal import Decimal
from pathlib import Path

import pytest

from shouwang.testing.personas import PASSWORD, TOWNSHIP, first_village, make_household

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # The live server answers each browser socket in a thread with a SQLite connection of its
    # own; a keep-alive socket's thread may be gone before Django closes it, and the
    # connection is then closed by the garbage collector (collected below, inside this test).
    pytest.mark.filterwarnings("ignore:unclosed database:ResourceWarning"),
]

ARTIFACTS = Path(
    os.environ.get("SHOUWANG_TEST_ARTIFACTS", Path(__file__).resolve().parents[3] / "var" / "test-artifacts")
)
PDF = "%PDF-1.4\n% 承诺授权书\n%%EOF\n".encode()


class Level:
    """One persona's browser tab."""

    def __init__(self, browser, live_server, user, shots: Path) -> None:
        self.base, self.shots = live_server.url, shots
        # A context of its own, closed at the end: its keep-alive sockets (and the live server's
        # threads holding a database connection for them) go with it.
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.fill("#id_username", user.username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("form[action$='/accounts/login/'] button[type=submit]")
        self.page.wait_for_url(f"{self.base}/")

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")

    def shot(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def text(self) -> str:
        return self.page.inner_text("body")

    def submit(self, form: str) -> None:
        with self.page.expect_navigation():
            self.page.click(f"{form} button[type=submit]")
        assert "请检查填写的内容" not in self.text(), self.text()[:500]


def case_path(case) -> str:
    return f"/monitoring/cases/{case.pk}/"


def village_steps(village: Level, case, tmp_path: Path, name: str, *, identification: bool = True) -> None:
    """入户核实 → 提请评议 → 民主评议 → 公示 (its days passed) → 公示期满."""
    from shouwang.monitoring.models import Notice

    village.go(case_path(case))
    village.page.fill("#home-visit-form textarea[name=findings]", "入户核实：家中收入下降，存在返贫风险")
    authorisation = tmp_path / "承诺授权书.pdf"
    authorisation.write_bytes(PDF)
    village.page.set_input_files("#home-visit-form input[name=authorisation]", str(authorisation))
    village.submit("#home-visit-form")
    if identification:
        village.page.select_option("#propose-form select[name=category]", "边缘易致贫户")
        village.page.check("#propose-form input[value='因病']")
    village.shot(f"{name}-1-village-verification")
    village.submit("#propose-form")
    village.page.fill("#appraisal-form input[name=participants]", "11")
    village.page.fill("#appraisal-form input[name=agree]", "10")
    village.page.fill("#appraisal-form input[name=disagree]", "1")
    village.submit("#appraisal-form")
    village.page.click("#post-notice")
    village.page.wait_for_selector("#notice-form")
    village.submit("#notice-form")
    assert "公示" in village.text()
    notice = Notice.objects.filter(cases=case).latest("pk")
    # The printable notice opens in a tab of its own; read it in this one.
    assert village.page.get_attribute("#print-notice", "href") == f"/monitoring/notices/{notice.pk}/print/"
    village.go(f"/monitoring/notices/{notice.pk}/print/")
    printed = village.text()
    assert "因病" not in printed and "*" not in printed  # no health detail, no ID number
    village.shot(f"{name}-2-village-notice")
    past = dt.date.today() - dt.timedelta(days=7)  # the five days of the notice have gone by
    Notice.objects.filter(pk=notice.pk).update(starts_on=past, ends_on=past + dt.timedelta(days=4))
    village.go(f"/monitoring/notices/{notice.pk}/")
    with village.page.expect_navigation():
        village.page.click("#close-notice")


def decide(level: Level, case, name: str, *, method: str = "") -> None:
    level.go("/monitoring/")
    assert f"/monitoring/cases/{case.pk}/" in level.page.content()  # in their inbox
    level.go(case_path(case))
    level.page.check("#decision-form input[value=approve]")
    if method:
        level.page.select_option("#decision-form select[name=method]", method)
    level.shot(name)
    level.submit("#decision-form")


def test_three_levels_take_a_warning_through_monitoring_and_out_and_an_application_in(
    live_server, browser, persona, tmp_path, settings
):
    from shouwang.monitoring.models import Case, MonitoringRecord
    from shouwang.regions.loading import load_divisions
    from shouwang.registry.models import AnnualAccount
    from shouwang.screening.models import Warning

    settings.DATA_DIR = tmp_path
    load_divisions("522630")
    household = make_household(first_village(TOWNSHIP))
    warning = Warning.objects.create(
        household=household,
        rule_id="income_below_line",
        period="2025",
        severity="red",
        cause="收入低于监测范围",
        evidence={"per_capita_net_income": "4000.00", "monitoring_line": "8500"},
        evidence_hash="1" * 64,
    )
    shots = ARTIFACTS / "monitoring"
    village = Level(browser, live_server, persona("village_cadre"), shots)
    township = Level(browser, live_server, persona("township_officer"), shots)
    county = Level(browser, live_server, persona("county_officer"), shots)

    # The warning, in the village's inbox, taken up.
    village.go("/monitoring/")
    assert "预警线索" in village.text() and household.number in village.text()
    village.shot("a-0-village-inbox")
    village.go(f"/screening/warnings/{warning.pk}/")
    with village.page.expect_navigation():
        village.page.click("#start-case")
    case = Case.objects.get(household=household)

    village_steps(village, case, tmp_path, "a")
    decide(township, case, "a-3-township-audit")
    decide(county, case, "a-4-county-approval")
    household.refresh_from_db()
    assert household.monitoring_state == "监测中"

    # The plan and a visit.
    village.go(f"/monitoring/households/{household.pk}/")
    for kind, content in (("健康帮扶|医疗救助", "落实医疗救助"), ("就业帮扶|转移就业", "介绍到园区务工")):
        village.page.select_option("#measure-form select[name=kind]", kind)
        village.page.fill("#measure-form input[name=content]", content)
        village.page.fill("#measure-form input[name=responsible]", "王书记")
        village.submit("#measure-form")
    village.page.fill("#visit-form textarea[name=findings]", "病情稳定，已在园区务工")
    village.submit("#visit-form")
    assert "介绍到园区务工" in village.text() and "病情稳定" in village.text()
    village.shot("a-5-village-plan-and-visit")

    # Six months on, income above the line: the risk is eliminated by the same procedure.
    MonitoringRecord.objects.filter(household=household).update(identified_on=dt.date.today() - dt.timedelta(days=200))
    AnnualAccount.objects.filter(household=household).update(wage_income=Decimal(60000))
    village.go(f"/monitoring/households/{household.pk}/")
    assert "✗" not in village.page.inner_text("#checklist")
    with village.page.expect_navigation():
        village.page.click("#start-elimination")
    elimination = Case.objects.get(household=household, kind="elimination")
    village_steps(village, elimination, tmp_path, "b", identification=False)
    decide(township, elimination, "b-3-township-audit")
    decide(county, elimination, "b-4-county-approval", method="帮扶消除")
    household.refresh_from_db()
    assert household.monitoring_state == "风险已消除"
    dossier = county.page.request.get(f"{county.base}/monitoring/households/{household.pk}/dossier.pdf")
    assert dossier.ok and dossier.body().startswith(b"%PDF")

    # A household applies online through its village's QR link; the township passes it on.
    applicant = make_household(first_village(TOWNSHIP))
    from shouwang.registry.actions import reveal_id_number

    village.go("/monitoring/applications/poster/")
    link = village.page.locator("a[href*='/apply/']").get_attribute("href")
    village.shot("c-0-village-qr-poster")
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    public = phone.new_page()
    public.goto(link)
    public.fill("input[name=name]", applicant.head.name)
    public.fill("input[name=id_number]", reveal_id_number(applicant.head))
    public.fill("input[name=phone]", "13800138000")
    public.fill("textarea[name=reason]", "母亲重病住院，家中无力承担")
    with public.expect_navigation():
        public.click("#apply-form button[type=submit]")
    assert "申报已提交" in public.inner_text("body")
    public.screenshot(path=str(shots / "c-1-public-application.png"), full_page=True)
    phone.close()
    application = Case.objects.get(household=applicant)
    township.go(case_path(application))
    township.shot("c-2-township-routing")
    with township.page.expect_navigation():
        township.page.click("#route")
    village_steps(village, application, tmp_path, "c")
    decide(township, application, "c-3-township-audit")
    decide(county, application, "c-4-county-approval")
    applicant.refresh_from_db()
    assert applicant.monitoring_state == "监测中"
    for level in (village, township, county):
        level.context.close()
    time.sleep(0.5)  # the server's threads see their sockets closed
    gc.collect()
