"""The monitoring loop's rows of the permission matrix (see shouwang/testing/matrix.py).

The world: an identification case at verification for the world's household (in the village
cadre's village), taking up the screening world's warning, with a home visit and its signed
authorisation; a monitored household of the same village with a measure; and a notice of the
village. Cases, notices, measures and households are registry data: registry viewers see
them, registry editors act (the procedure then decides whose turn it is: the others are sent
back to the page with a message, hence 302 for every editor); only the village holds its
notices; outside the area everything answers 404. The public application form is open to
everyone, through the village's signed link.
"""

from __future__ import annotations

from shouwang.testing.matrix import ALL, EDITORS, ELSEWHERE, VIEWERS, only

VILLAGE_CADRES = {"village_cadre", "sibling_village_cadre", "other_county_village_cadre"}

EXPECTED = {
    "monitoring:inbox": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "monitoring:overdue": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "monitoring:case_list": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "monitoring:export": ("get", only(VIEWERS | ELSEWHERE, other=403)),
    "monitoring:case_detail": ("get", only(VIEWERS)),
    "monitoring:case_act": ("post", only(EDITORS, ok=302)),
    "monitoring:case_document": ("get", only(EDITORS)),
    "monitoring:start_from_warning": ("post", only(EDITORS, ok=302)),
    "monitoring:household": ("get", only(VIEWERS)),
    "monitoring:dossier": ("get", only(VIEWERS)),
    "monitoring:measure_add": ("post", only(EDITORS, ok=302)),
    "monitoring:visit_add": ("post", only(EDITORS, ok=302)),
    "monitoring:report_risk": ("post", only(EDITORS, ok=302)),
    "monitoring:eliminate": ("post", only(EDITORS, ok=302)),
    "monitoring:measure_edit": ("get", only(EDITORS)),
    "monitoring:notice_new": ("get", only(VILLAGE_CADRES, other=403)),
    "monitoring:notice_detail": ("get", only(VIEWERS)),
    "monitoring:notice_print": ("get", only(VIEWERS)),
    "monitoring:notice_act": (
        "post",
        {**only({"village_cadre"}, ok=302), "township_officer": 403, "county_officer": 403},
    ),
    "monitoring:application_new": ("get", only(EDITORS | ELSEWHERE, other=403)),
    "monitoring:apply_poster": ("get", only(VILLAGE_CADRES, other=403)),
    "apply": ("get", only(ALL)),
}

ANONYMOUS = {"apply": 200}

KWARGS = {
    "monitoring:case_detail": lambda w: {"pk": w["case"].pk},
    "monitoring:case_act": lambda w: {"pk": w["case"].pk},
    "monitoring:case_document": lambda w: {"pk": w["case"].pk, "event_id": w["case_document"].pk},
    "monitoring:start_from_warning": lambda w: {"warning_id": w["warning"].pk},
    "monitoring:household": lambda w: {"pk": w["household"].pk},
    "monitoring:dossier": lambda w: {"pk": w["household"].pk},
    "monitoring:measure_add": lambda w: {"pk": w["monitored"].pk},
    "monitoring:visit_add": lambda w: {"pk": w["monitored"].pk},
    "monitoring:report_risk": lambda w: {"pk": w["household"].pk},
    "monitoring:eliminate": lambda w: {"pk": w["monitored"].pk},
    "monitoring:measure_edit": lambda w: {"pk": w["measure"].pk},
    "monitoring:notice_detail": lambda w: {"pk": w["notice"].pk},
    "monitoring:notice_print": lambda w: {"pk": w["notice"].pk},
    "monitoring:notice_act": lambda w: {"pk": w["notice"].pk},
    "apply": lambda w: {"token": w["apply_token"]},
    "monitoring:export": lambda w: {"kind": "households"},
}

DATA = {
    "monitoring:case_act": {"action": "dismiss", "version": "2", "reason": "入户核实：不属实"},
    "monitoring:visit_add": {"visited_on": "2025-06-01", "findings": "生活稳定"},
    "monitoring:measure_add": {
        "kind": "就业帮扶|转移就业",
        "content": "介绍到园区务工",
        "responsible": "王书记",
        "starts_on": "2025-06-01",
        "funds": "0",
        "status": "in_progress",
    },
    "monitoring:report_risk": {"reason": "户主重病住院"},
    "monitoring:notice_act": {"action": "objection", "case": "0", "received_on": "2025-06-01", "content": "异议"},
}


def build_world(world: dict, persona) -> None:
    import datetime as dt

    from shouwang.monitoring import procedure as p
    from shouwang.monitoring.models import Case, CaseEvent, CaseKind, Measure, MonitoringRecord, Notice, Source, Step
    from shouwang.monitoring.views_apply import village_token
    from shouwang.testing.personas import make_household

    household = world["household"]
    case = Case.objects.create(
        kind=CaseKind.IDENTIFICATION,
        village=household.village,
        household=household,
        source=Source.WARNING,
        step=Step.VERIFICATION,
        discovered_on=dt.date.today(),
        due_on=dt.date.today() + dt.timedelta(days=15),
        version=2,
    )
    if "warning" in world:
        case.warnings.add(world["warning"])
    token, name = p.store_document(b"%PDF-1.4 signed", "承诺授权书.pdf")
    world["case"] = case
    world["case_document"] = CaseEvent.objects.create(
        case=case,
        action="home_visit",
        to_step=Step.VERIFICATION,
        note="入户核实",
        attachment=token,
        attachment_name=name,
    )
    monitored = make_household(household.village_id, monitoring_state="监测中", monitoring_category="边缘易致贫户")
    MonitoringRecord.objects.create(
        household=monitored, identified_on=dt.date.today(), category="边缘易致贫户", risk_causes=["因病"]
    )
    world["monitored"] = monitored
    world["measure"] = Measure.objects.create(
        household=monitored,
        category="健康帮扶",
        subtype="医疗救助",
        content="医疗救助",
        responsible="王书记",
        starts_on=dt.date.today(),
    )
    notice = Notice.objects.create(
        village=household.village, kind=CaseKind.IDENTIFICATION, starts_on=dt.date.today(), ends_on=dt.date.today()
    )
    world["notice"] = notice
    world["apply_token"] = village_token(household.village_id)
