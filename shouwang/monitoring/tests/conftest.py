"""Fixtures of the monitoring tests: a household of the village cadre's village, a warning on
it, the signed authorisation a household gives, and the procedure walked step by step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from shouwang.monitoring import procedure as p
from shouwang.monitoring.models import Case, Step
from shouwang.registry.models import AnnualAccount
from shouwang.testing.personas import TOWNSHIP, first_village, make_household

PDF = "%PDF-1.4\n% signed 承诺授权书 (test)\n%%EOF\n".encode()


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def household(db):
    return make_household(first_village(TOWNSHIP), members=3)


def poor(household, per_head: int = 4000, year: int = 2025):
    AnnualAccount.objects.filter(household=household, year=year).update(
        wage_income=Decimal(per_head * household.members.count()),
        operating_income=0,
        operating_cost=0,
        property_income=0,
        transfer_income=0,
    )
    return household


def warning_on(household, rule_id: str = "income_below_line", days_ago: int = 0):
    from shouwang.screening.models import Warning

    warning = Warning.objects.create(
        household=household,
        rule_id=rule_id,
        period="2025",
        severity="red",
        cause="收入低于监测范围",
        evidence={"per_capita_net_income": "4000.00"},
        evidence_hash=f"{household.pk:064x}",
    )
    if days_ago:
        Warning.objects.filter(pk=warning.pk).update(created_at=timezone.now() - dt.timedelta(days=days_ago))
        warning.refresh_from_db()
    return warning


class Walk:
    """The procedure as the three levels walk it, each step with the version it saw."""

    def __init__(self, persona):
        self.village = persona("village_cadre")
        self.township = persona("township_officer")
        self.county = persona("county_officer")

    @staticmethod
    def fresh(case: Case) -> Case:
        return Case.objects.get(pk=case.pk)

    def verify(self, case: Case, *, authorised: bool = True) -> Case:
        case = self.fresh(case)
        p.do_record_home_visit(
            case,
            version=case.version,
            user=self.village,
            visited_on=timezone.localdate(),
            findings="家中一人住院，收入下降，存在返贫风险",
            authorisation=(PDF, "承诺授权书.pdf") if authorised else None,
        )
        return self.fresh(case)

    def propose(self, case: Case, category: str = "突发严重困难户", causes=("因病",)) -> Case:
        case = self.fresh(case)
        p.do_propose(case, version=case.version, user=self.village, category=category, causes=list(causes))
        return self.fresh(case)

    def appraise(self, case: Case, agree: int = 9, participants: int = 11) -> Case:
        case = self.fresh(case)
        p.do_record_appraisal(
            case,
            version=case.version,
            user=self.village,
            held_on=timezone.localdate(),
            participants=participants,
            agree=agree,
            disagree=participants - agree,
            opinion="同意纳入",
        )
        return self.fresh(case)

    def notice(self, *cases: Case, days: int = 5):
        start = timezone.localdate()
        fresh = [self.fresh(c) for c in cases]
        return p.do_post_notice(
            fresh[0].village, fresh, user=self.village, starts_on=start, ends_on=start + dt.timedelta(days=days - 1)
        )

    def close(self, notice, *, after_days: int = 6):
        return p.do_close_notice(notice, user=self.village, today=timezone.localdate() + dt.timedelta(days=after_days))

    def township_audit(self, case: Case, approve: bool = True, opinion: str = "") -> Case:
        case = self.fresh(case)
        p.do_township_audit(case, version=case.version, user=self.township, approve=approve, opinion=opinion)
        return self.fresh(case)

    def county_decide(self, case: Case, approve: bool = True, opinion: str = "", method: str = "") -> Case:
        case = self.fresh(case)
        p.do_county_decision(
            case, version=case.version, user=self.county, approve=approve, opinion=opinion, method=method
        )
        return self.fresh(case)

    def through(self, case: Case, **propose) -> Case:
        """From verification to the county's approval, nothing in the way."""
        case = self.verify(case)
        case = self.propose(case, **propose) if case.kind == "identification" else self._confirm(case)
        case = self.appraise(case)
        self.close(self.notice(case))
        case = self.township_audit(self.fresh(case))
        assert case.step == Step.COUNTY_APPROVAL
        return case

    def _confirm(self, case: Case) -> Case:
        p.do_propose(case, version=case.version, user=self.village, category="", causes=[])
        return self.fresh(case)


@pytest.fixture
def walk(persona):
    return Walk(persona)
