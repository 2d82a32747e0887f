"""Screening keeps itself current: after each department batch, and every month.

A committed batch re-screens, for the years it covers, only the rules that read its kind and
only the households it touched; a withdrawn batch lets the warnings it alone raised lapse.
Every county with households is screened monthly (on the 1st by default, for the year of the
month just ended), once a month, unless its county officer chose another day or switched it
off.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from shouwang.core.models import AuditEvent
from shouwang.exchange.actions import do_import_feed, do_withdraw_batch
from shouwang.jobs.models import Job
from shouwang.jobs.runner import run_job
from shouwang.registry.actions import reveal_id_number
from shouwang.screening.actions import do_screen
from shouwang.screening.models import ScreeningRun, ScreeningSchedule, Warning
from shouwang.screening.schedule import enqueue_due_screenings, schedule_of, screening_year
from shouwang.testing.personas import COUNTY, TOWNSHIP, first_village, make_household, second_village

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture(autouse=True)
def committed(django_capture_on_commit_callbacks):
    """The re-screen is queued once the import's transaction commits; the test transaction
    never does, so run the on-commit callbacks of each import and withdrawal as they come."""
    global _commit
    _commit = django_capture_on_commit_callbacks
    yield


_commit = None


@pytest.fixture(autouse=True)
def county_screens_2025(db):
    """The county has screened 2025 before: a new batch brings that year's warnings up to date."""
    ScreeningRun.objects.create(region_id=COUNTY, year=2025, status="succeeded")


def deaths_csv(members, when: str = "2025-03-09") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "死亡日期"])
    for m in members:
        writer.writerow([reveal_id_number(m), m.name, when])
    return out.getvalue().encode("utf-8-sig")


def import_deaths(members, persona, when: str = "2025-03-09", name: str = "deaths.csv"):
    with _commit(execute=True):
        outcome = do_import_feed(
            deaths_csv(members, when),
            filename=name,
            kind="deaths",
            county=COUNTY,
            user=persona("department_officer"),
            dry_run=False,
            channel="web",
        )
    assert outcome.committed, outcome.as_dict()
    return outcome.batch


def head(household):
    return household.members.order_by("pk").first()


def screening_jobs():
    return list(Job.objects.filter(kind="screening").order_by("pk"))


# -- After a feed batch ---------------------------------------------------------------------


def test_a_new_batch_re_screens_only_the_households_it_touched_with_the_rules_of_its_kind(persona):
    touched, untouched = make_household(first_village(TOWNSHIP)), make_household(second_village(TOWNSHIP))

    batch = import_deaths([head(touched)], persona)

    [job] = screening_jobs()
    assert job.params["trigger"] == "feed_batch" and job.params["year"] == 2025
    assert job.params["household_keys"] == [touched.pk]
    assert set(job.params["rules"]) == {"labourer_death", "deceased_still_listed"}
    assert job.params["feed_batches"] == [batch.pk]
    run_job(job)
    run = ScreeningRun.objects.get(job=job)
    assert (run.trigger, run.households_screened, run.feed_batches) == ("feed_batch", 1, [batch.pk])
    assert set(Warning.objects.values_list("household_id", "rule_id")) == {
        (touched.pk, "labourer_death"),
        (touched.pk, "deceased_still_listed"),
    }
    assert set(run.manifest["rules"]) == {"labourer_death", "deceased_still_listed"}
    assert not Warning.objects.filter(household=untouched).exists()


def test_batches_arriving_before_the_re_screen_starts_join_one_job(persona):
    first, second = make_household(first_village(TOWNSHIP)), make_household(second_village(TOWNSHIP))

    one = import_deaths([head(first)], persona, name="deaths-03.csv")
    two = import_deaths([head(second)], persona, when="2025-04-02", name="deaths-04.csv")

    [job] = screening_jobs()
    assert job.params["household_keys"] == sorted([first.pk, second.pk])
    assert job.params["feed_batches"] == [one.pk, two.pk]


def test_a_batch_linked_to_nobody_queues_no_re_screen(persona):
    stranger = make_household(first_village(TOWNSHIP))
    member = head(stranger)
    payload = deaths_csv([member])
    member.household.delete()  # the department reports someone the registry no longer holds
    with _commit(execute=True):
        outcome = do_import_feed(
            payload,
            filename="deaths.csv",
            kind="deaths",
            county=COUNTY,
            user=persona("department_officer"),
            dry_run=False,
            valid_rows_only=True,
            channel="web",
        )
    assert outcome.committed
    assert screening_jobs() == []


def test_a_batch_of_a_year_the_county_never_screened_queues_nothing(persona):
    household = make_household(first_village(TOWNSHIP))
    import_deaths([head(household)], persona, when="2023-05-01")
    assert screening_jobs() == []


def test_a_dry_run_queues_nothing(persona):
    household = make_household(first_village(TOWNSHIP))
    with _commit(execute=True):
        do_import_feed(
            deaths_csv([head(household)]),
            filename="deaths.csv",
            kind="deaths",
            county=COUNTY,
            user=persona("department_officer"),
            dry_run=True,
            channel="web",
        )
    assert screening_jobs() == []


def test_a_withdrawn_batch_lets_the_warnings_it_alone_raised_lapse_and_they_return_with_the_data(persona):
    household = make_household(first_village(TOWNSHIP))
    batch = import_deaths([head(household)], persona)
    run_job(screening_jobs()[0])
    warning = Warning.objects.get(household=household, rule_id="labourer_death")
    assert warning.status == "open"

    with _commit(execute=True):
        do_withdraw_batch(batch, persona("county_officer"), "死亡信息有误，部门撤回")

    rescreen = screening_jobs()[-1]
    assert rescreen.params["household_keys"] is None  # the rows are gone: the whole county
    run_job(rescreen)
    warning.refresh_from_db()
    assert warning.status == "lapsed" and "未再发现" in warning.note
    assert ScreeningRun.objects.get(job=rescreen).warnings_lapsed == 2  # the death and 仍在册

    import_deaths([head(household)], persona, name="deaths-again.csv")
    run_job(screening_jobs()[-1])
    warning.refresh_from_db()
    assert warning.status == "open" and "再次发现" in warning.note


def test_a_warning_lapses_only_for_the_rules_households_and_year_a_run_covered(persona):
    from decimal import Decimal

    from shouwang.registry.models import AnnualAccount

    poor = make_household(first_village(TOWNSHIP))
    AnnualAccount.objects.filter(household=poor).update(wage_income=Decimal(3000), operating_income=0)
    do_screen(COUNTY, 2025, rules=["income_below_line"])
    dismissed_elsewhere = Warning.objects.get(household=poor)
    AnnualAccount.objects.filter(household=poor).update(wage_income=Decimal(90000))  # corrected

    do_screen(COUNTY, 2025, rules=["labourer_death"])  # another rule: the income warning stands
    assert Warning.objects.get(pk=dismissed_elsewhere.pk).status == "open"
    do_screen(COUNTY, 2025, rules=["income_below_line"], household_keys=[])  # nobody screened
    assert Warning.objects.get(pk=dismissed_elsewhere.pk).status == "open"

    run = do_screen(COUNTY, 2025, rules=["income_below_line"])
    assert run.warnings_lapsed == 1
    assert Warning.objects.get(pk=dismissed_elsewhere.pk).status == "lapsed"


def test_turning_re_screening_off_queues_nothing(settings, persona):
    settings.SHOUWANG_RESCREEN_ON_FEED = False
    import_deaths([head(make_household(first_village(TOWNSHIP)))], persona)
    assert screening_jobs() == []


# -- Every month ----------------------------------------------------------------------------


def test_each_county_with_households_is_screened_on_the_first_for_the_year_of_the_month_just_ended():
    make_household(first_village(TOWNSHIP))

    queued = enqueue_due_screenings(dt.date(2026, 1, 1))

    assert [(q["county"], q["year"]) for q in queued] == [(COUNTY, 2025)]  # not 黎平县: no households
    [job] = screening_jobs()
    assert job.params == {"year": 2025, "engine": "duckdb", "trigger": "schedule"}
    assert screening_year(dt.date(2026, 2, 1)) == 2026


def test_a_month_is_screened_once_and_a_missed_day_is_caught_up():
    make_household(first_village(TOWNSHIP))
    assert len(enqueue_due_screenings(dt.date(2026, 3, 4))) == 1  # the worker was down on the 1st
    run_job(screening_jobs()[0])
    assert enqueue_due_screenings(dt.date(2026, 3, 5)) == []
    assert len(enqueue_due_screenings(dt.date(2026, 4, 1))) == 1


def test_no_second_screening_is_queued_while_one_waits():
    make_household(first_village(TOWNSHIP))
    enqueue_due_screenings(dt.date(2026, 3, 1))
    assert enqueue_due_screenings(dt.date(2026, 4, 1)) == []  # March's has not run yet
    assert len(screening_jobs()) == 1


def test_a_county_officer_chooses_the_day_or_switches_it_off_and_it_is_audited(client, persona):
    make_household(first_village(TOWNSHIP))
    client.force_login(persona("county_officer"))
    page = client.get(reverse("screening:run_list")).content.decode()
    assert "每月 1 日自动筛查" in page

    client.post(reverse("screening:schedule"), {"enabled": "on", "day_of_month": "10"})
    assert enqueue_due_screenings(dt.date(2026, 3, 9)) == []
    assert len(enqueue_due_screenings(dt.date(2026, 3, 10))) == 1
    assert AuditEvent.objects.filter(action="screening.schedule", actor__username="county_officer").exists()

    client.post(reverse("screening:schedule"), {"day_of_month": "10"})  # the box unticked
    assert ScreeningSchedule.objects.get(region_id=COUNTY).enabled is False
    assert enqueue_due_screenings(dt.date(2026, 4, 10)) == []
    assert "已停用定期筛查" in client.get(reverse("screening:run_list")).content.decode()


@pytest.mark.parametrize("day", ["0", "29", "三十", ""])
def test_a_day_that_not_every_month_has_is_refused_in_chinese(client, persona, day):
    client.force_login(persona("county_officer"))
    response = client.post(reverse("screening:schedule"), {"enabled": "on", "day_of_month": day}, follow=True)
    assert "1 日至 28 日" in response.content.decode()
    assert schedule_of(persona("county_officer").region).day_of_month == 1


def test_the_command_lists_what_is_due_and_a_dry_run_queues_nothing():
    make_household(first_village(TOWNSHIP))
    out = StringIO()
    call_command("schedule_screenings", "--date", "2026-05-01", "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["queued"][0]["county"] == COUNTY
    assert screening_jobs() == []
    out = StringIO()
    call_command("schedule_screenings", "--date", "2026-05-01", stdout=out)
    assert "台江县" in out.getvalue() and "任务 #" in out.getvalue()


def test_a_running_worker_queues_the_months_screenings_by_itself():
    from shouwang.jobs.runner import PERIODIC, run_periodic

    make_household(first_village(TOWNSHIP))
    every, _task = PERIODIC["screening.schedule"]
    last: dict[str, float] = {}
    assert "screening.schedule" in run_periodic(last, now=1000.0)
    assert len(screening_jobs()) == 1  # today is due: no county was screened this month yet
    assert "screening.schedule" not in run_periodic(last, now=1000.0 + every - 1)
    assert "screening.schedule" in run_periodic(last, now=1000.0 + every)
    assert len(screening_jobs()) == 1  # the month is taken
