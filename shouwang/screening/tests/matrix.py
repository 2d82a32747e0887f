"""Screening's rows of the permission matrix (see shouwang/testing/matrix.py).

The world: a county screening run of 台江县 started by the county officer, an open warning
on the world's household (in the village cadre's village) raised by that run, and a queued
screening job of the county. Warnings are registry data: registry viewers see them (the
cadre of 黎平县 gets the list of their own county, empty, and 404 on ours), registry editors
dismiss them; department officers and the administrators get 403 on the lists and 404 on an
object. The run's page (no personal data) is seen from the regions below it too; only a
county officer may start a screening (of their own county) and follow its job. The county's
local monitoring line (a ParameterOverride) is edited and withdrawn by the county officer only.
"""

from __future__ import annotations

from shouwang.testing.matrix import EDITORS, ELSEWHERE, VIEWERS, only

EXPECTED = {
    "screening:warning_list": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "screening:warning_detail": ("get", only(VIEWERS)),
    "screening:warning_dismiss": ("post", only(EDITORS, ok=302)),
    "screening:run_list": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "screening:run_detail": ("get", only(VIEWERS)),
    "screening:run_start": ("post", only({"county_officer"} | ELSEWHERE, ok=302, other=403)),
    # The monthly schedule of one's own county: county officers only (the other county's
    # officer sets their own county's, hence 302 too).
    "screening:schedule": ("post", only({"county_officer"} | ELSEWHERE, ok=302, other=403)),
    "screening:job": ("get", only({"county_officer"})),
    # Policy simulation: counts of one's county (county officer) or township, nothing written.
    "screening:simulate": ("get", only({"county_officer", "township_officer"} | ELSEWHERE, other=403)),
    # Parameters in force and the county's local values: county officers (RUN_SCREENING), of
    # their own county; another county's local value answers 404.
    "screening:parameter_list": ("get", only({"county_officer"} | ELSEWHERE, other=403)),
    "screening:parameter_new": ("get", only({"county_officer"} | ELSEWHERE, other=403)),
    "screening:parameter_edit": ("get", only({"county_officer"})),
    "screening:parameter_withdraw": ("post", only({"county_officer"}, ok=302)),
}

KWARGS = {
    "screening:warning_detail": lambda w: {"pk": w["warning"].pk},
    "screening:warning_dismiss": lambda w: {"pk": w["warning"].pk},
    "screening:run_detail": lambda w: {"pk": w["screening_run"].pk},
    "screening:job": lambda w: {"job_id": w["screening_job"].pk},
    "screening:parameter_edit": lambda w: {"pk": w["parameter_override"].pk},
    "screening:parameter_withdraw": lambda w: {"pk": w["parameter_override"].pk},
}

DATA = {
    "screening:warning_dismiss": {"reason": "入户核实不属实"},
    "screening:run_start": {"year": "2025"},
    "screening:schedule": {"enabled": "on", "day_of_month": "5"},
}


def build_world(world: dict, persona) -> None:
    from shouwang.jobs.models import Job
    from shouwang.screening.models import ParameterOverride, ScreeningRun, Warning

    county = persona("county_officer")
    run = ScreeningRun.objects.create(region_id="522630", year=2025, created_by=county, status="succeeded")
    world["screening_run"] = run
    world["warning"] = Warning.objects.create(
        household=world["household"],
        rule_id="income_below_line",
        period="2025",
        severity="red",
        cause="收入低于监测范围",
        evidence={"per_capita_net_income": "4000.00", "monitoring_line": "8500", "parameters": {}},
        evidence_hash="0" * 64,
        first_run=run,
        last_run=run,
    )
    world["screening_job"] = Job.objects.create(
        kind="screening", region_id="522630", created_by=county, params={"year": 2025}, status="running"
    )
    world["parameter_override"] = ParameterOverride.objects.create(
        name="monitoring_line",
        region_id="522630",
        first_year=2025,
        value=9000,
        unit="元/人·年",
        source="台江县乡村振兴局通知（测试）",
        grade="V1",
        created_by=county,
    )
