"""The monitoring roster (监测对象台账): households a county identified before Shouwang come in
with when and why, checked whole before anything is written, and a second import changes
nothing."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from shouwang.monitoring.assistance import plan_flags
from shouwang.monitoring.models import MonitoringRecord
from shouwang.monitoring.roster import run_roster_import
from shouwang.registry.models import Household
from shouwang.testing.personas import TOWNSHIP, first_village, make_household

pytestmark = pytest.mark.django_db

HEADER = "户编号,监测对象类别,识别监测时间,风险类型,风险消除时间,风险消除方式\n"


def roster(tmp_path, text: str):
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + text, encoding="utf-8-sig")
    return path


def test_the_synthetic_countys_roster_brings_its_monitored_households_in(tmp_path):
    from engine.synth import generate_county
    from shouwang.registry.importing import run_registry_import

    out = tmp_path / "county"
    generate_county("522630", households=200, seed=5, out_dir=out)
    assert run_registry_import(out / "registry_members.csv", filename="m.csv", dry_run=False).committed
    lines = (out / "monitoring_records.csv").read_text(encoding="utf-8-sig").splitlines()[1:]

    outcome = run_roster_import(out / "monitoring_records.csv", filename="roster.csv", dry_run=False)

    assert outcome.committed and outcome.errors == [] and outcome.new == len(lines) > 0
    assert MonitoringRecord.objects.count() == len(lines)
    eliminated = [line.split(",")[0] for line in lines if line.split(",")[4]]
    assert set(Household.objects.filter(monitoring_state="风险已消除").values_list("number", flat=True)) == set(
        eliminated
    )
    again = run_roster_import(out / "monitoring_records.csv", filename="roster.csv", dry_run=False)
    assert (again.new, again.changed, again.unchanged) == (0, 0, len(lines))


def test_an_imported_household_is_held_to_the_plan_checks_from_its_identification(tmp_path):
    household = make_household(first_village(TOWNSHIP), monitoring_state="监测中", monitoring_category="边缘易致贫户")
    run_roster_import(
        roster(tmp_path, f"{household.number},边缘易致贫户,2024-03,因病,,\n"), filename="r.csv", dry_run=False
    )
    household.refresh_from_db()
    assert {f.key for f in plan_flags(household)} >= {"no_measure", "no_development"}


def test_every_bad_row_is_reported_and_nothing_is_written(tmp_path):
    good = make_household(first_village(TOWNSHIP))
    other = make_household(first_village(TOWNSHIP))
    text = (
        f"{good.number},边缘易致贫户,2024-03,因病,,\n"
        "999999999999,边缘易致贫户,2024-03,因病,,\n"
        f"{other.number},边缘易致贫户,2024-03,因病,2023-01,帮扶消除\n"
    )
    outcome = run_roster_import(roster(tmp_path, text), filename="r.csv", dry_run=False)
    assert not outcome.committed
    assert [(e.line, e.column) for e in outcome.errors] == [("3", "户编号"), ("4", "风险消除时间")]
    assert not MonitoringRecord.objects.exists()
    good.refresh_from_db()
    assert good.monitoring_state == "未纳入"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("{n},边缘易致贫户,2024-13,因病,,", "识别监测时间"),
        ("{n},边缘户,2024-03,因病,,", "监测对象类别"),
        ("{n},边缘易致贫户,2024-03,因懒,,", "风险类型"),
        ("{n},边缘易致贫户,2024-03,因病,,帮扶消除", "风险消除方式"),
        ("{n},边缘易致贫户,2024-03,因病、因残、因学、因自然灾害、因意外事故、缺劳动力,,", "风险类型"),
    ],
)
def test_a_row_against_the_code_lists_or_the_rules_is_refused(tmp_path, row, column):
    household = make_household(first_village(TOWNSHIP))
    outcome = run_roster_import(roster(tmp_path, row.format(n=household.number) + "\n"), filename="r.csv")
    assert [e.column for e in outcome.errors] == [column]


def test_the_command_dry_runs_and_reports_in_json(tmp_path):
    household = make_household(first_village(TOWNSHIP))
    path = roster(tmp_path, f"{household.number},突发严重困难户,202405,因意外事故,,\n")
    out = StringIO()
    call_command("import_monitoring", str(path), "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["new"] == 1 and not MonitoringRecord.objects.exists()
    call_command("import_monitoring", str(path), stdout=StringIO())
    assert MonitoringRecord.objects.get().identified_on.isoformat() == "2024-05-01"
    bad = roster(tmp_path, "nope,突发严重困难户,202405,因意外事故,,\n")
    with pytest.raises(CommandError, match="1 行错误"):
        call_command("import_monitoring", str(bad), stdout=StringIO())


def test_the_app_and_the_roster_speak_the_same_code_lists():
    from engine.schemas import monitoring as spec
    from shouwang.monitoring.models import Category, EliminationMethod, RiskCause

    assert tuple(RiskCause.values) == spec.RISK_CAUSES
    assert tuple(Category.values) == spec.CATEGORIES
    assert tuple(EliminationMethod.values) == spec.ELIMINATION_METHODS
