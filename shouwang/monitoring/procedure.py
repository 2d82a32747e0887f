"""The identification and risk-elimination procedure, step by step (policy.md §3.2, §6).

```
 warning / visit / self-application ──> [routing: township passes an online application on, ≤2 days]
   ──> verification (village: home visit, signed authorisation) ──> dismissed (reason)
   ──> appraisal (village: 民主评议) ──> dismissed (not passed)
   ──> notice (village: ≥5 days, objections) ──> back to verification (objection upheld)
   ──> township audit ──> back to verification (returned, reason)
   ──> county approval ──> back to township audit (returned, reason)
   ──> approved: monitored (identification) / risk eliminated (elimination) ──> rolled back (county)
```

Every function here is a write: it checks who may do it and in which step, applies the
change only if the case still has the version the caller saw (`StaleCase` otherwise: two
people editing one case cannot overwrite each other), records a `CaseEvent` and an audit
event, and raises `ProcedureError` with a Chinese message for anything a user may get wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from engine.ids import IDNumber
from engine.screening import ParameterError, resolve_parameters
from shouwang.core.audit import record_event
from shouwang.core.protection import protector
from shouwang.core.uploads import EncryptedUploads
from shouwang.monitoring.models import (
    MAX_CAUSES,
    OPEN_STEPS,
    SELF_APPLICATION,
    Case,
    CaseEvent,
    CaseKind,
    Category,
    EliminationMethod,
    MonitoringRecord,
    Notice,
    Objection,
    RiskCause,
    Source,
    Step,
)
from shouwang.regions.models import Level, Region
from shouwang.registry.actions import do_update_household
from shouwang.registry.models import Household, Member
from shouwang.screening.parameters import effective_parameter_table

DOCUMENTS = EncryptedUploads("case_documents")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = {b"%PDF": "pdf", b"\x89PNG": "png", b"\xff\xd8\xff": "jpg"}

MONITORED, ELIMINATED, NOT_MONITORED = "监测中", "风险已消除", "未纳入"


class ProcedureError(ValueError):
    """A step that cannot be taken as asked; the message is Chinese, for the user."""


class StaleCase(ProcedureError):
    def __init__(self) -> None:
        super().__init__(gettext("该案件已被他人更新，您看到的是旧的内容。请刷新页面，查看最新情况后再操作。"))


# -- Parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    """The procedure's time limits for one village and year, each from the parameter table."""

    identification_days: int
    notice_min_days: int
    application_routing_days: int
    first_measure_months: int
    development_measure_months: int
    elimination_min_months: int
    visit_interval_days: int


def deadlines(village_code: str, year: int) -> Deadlines:
    params = resolve_parameters(effective_parameter_table(village_code[:6]), village_code, year)
    try:
        return Deadlines(**{name: int(params[name]) for name in Deadlines.__dataclass_fields__})
    except ParameterError as exc:
        raise ProcedureError(gettext("缺少程序时限参数：%(error)s") % {"error": exc}) from exc


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 exists in every month


# -- Who may act ---------------------------------------------------------------------------

VILLAGE_ACTIONS = {Step.VERIFICATION, Step.APPRAISAL, Step.NOTICE}


def _level(user: Any) -> int | None:
    region = getattr(user, "region", None)
    return region.level if region is not None else None


def may_act(user: Any, case: Case) -> bool:
    """Whether `user` is the one whose turn it is: the village for its steps, the township
    for routing and its audit, the county for its decision."""
    from shouwang.accounts.roles import Capability

    if not getattr(user, "is_authenticated", False) or not user.can(Capability.EDIT_REGISTRY):
        return False
    code, prefix = case.village_id, user.region_prefix or ""
    if not code.startswith(prefix):
        return False
    if case.step in VILLAGE_ACTIONS:
        return _level(user) == Level.VILLAGE
    if case.step in (Step.ROUTING, Step.TOWNSHIP_AUDIT):
        return _level(user) == Level.TOWNSHIP
    if case.step == Step.COUNTY_APPROVAL:
        return _level(user) == Level.COUNTY
    return False


def _require_turn(user: Any, case: Case, *steps: Step) -> None:
    if case.step not in steps:
        raise ProcedureError(
            gettext("该案件当前处于“%(step)s”环节，不能进行此操作") % {"step": case.get_step_display()}
        )
    if not may_act(user, case):
        raise ProcedureError(
            gettext("“%(step)s”环节由%(level)s办理")
            % {"step": case.get_step_display(), "level": _turn_label(case.step)}
        )


def _turn_label(step: str) -> str:
    if step in VILLAGE_ACTIONS:
        return gettext("村级")
    if step in (Step.ROUTING, Step.TOWNSHIP_AUDIT):
        return gettext("乡镇")
    return gettext("县级")


# -- Moving a case -------------------------------------------------------------------------


def _move(
    case: Case,
    *,
    version: int,
    user: Any,
    action: str,
    to_step: str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    attachment: tuple[str, str] = ("", ""),
    request: Any = None,
    **fields: Any,
) -> CaseEvent:
    """Apply the change if the case is still at `version`; one event, one audit record."""
    from_step = case.step
    values = dict(fields)
    if to_step is not None:
        values["step"] = to_step
    updated = Case.objects.filter(pk=case.pk, version=version).update(
        version=F("version") + 1, updated_at=timezone.now(), **values
    )
    if not updated:
        raise StaleCase
    for name, value in values.items():
        setattr(case, name, value)
    case.version = version + 1
    event = CaseEvent.objects.create(
        case=case,
        action=action,
        from_step=from_step,
        to_step=to_step or from_step,
        actor=user if getattr(user, "pk", None) else None,
        note=note,
        data=data or {},
        attachment=attachment[0],
        attachment_name=attachment[1],
    )
    record_event(
        f"monitoring.{action}",
        actor=user,
        request=request,
        obj=case,
        region_code=case.village_id,
        from_step=from_step,
        to_step=to_step or from_step,
        note=note[:200],
    )
    return event


def _causes(values: Iterable[str]) -> list[str]:
    causes = list(dict.fromkeys(v for v in values if v))
    unknown = [c for c in causes if c not in RiskCause.values]
    if unknown:
        raise ProcedureError(gettext("未知的风险类型：%(causes)s") % {"causes": "、".join(unknown)})
    if not causes:
        raise ProcedureError(gettext("请至少选择一项风险类型"))
    if len(causes) > MAX_CAUSES:
        raise ProcedureError(gettext("风险类型最多 %(max)s 项（全国系统的规定）") % {"max": MAX_CAUSES})
    return causes


def _reason(text: str, what: str | None = None) -> str:
    text = (text or "").strip()
    if not text:
        raise ProcedureError(gettext("请填写%(what)s") % {"what": what or gettext("理由")})
    return text[:300]


# -- Opening a case: the three channels ----------------------------------------------------


def _open_case_of(household: Household) -> Case | None:
    return Case.objects.filter(household=household, step__in=OPEN_STEPS).first()


def _new_case(
    *,
    kind: str,
    village: Region,
    household: Household | None,
    source: str,
    user: Any,
    discovered_on: dt.date,
    step: str,
    note: str,
    request: Any = None,
    **fields: Any,
) -> Case:
    limits = deadlines(village.code, discovered_on.year)
    case = Case.objects.create(
        kind=kind,
        village=village,
        household=household,
        source=source,
        step=step,
        discovered_on=discovered_on,
        due_on=discovered_on + dt.timedelta(days=limits.identification_days),
        returning=household is not None and household.monitoring_state == ELIMINATED,
        created_by=user if getattr(user, "pk", None) else None,
        **fields,
    )
    CaseEvent.objects.create(
        case=case, action="opened", to_step=step, actor=case.created_by, note=note, data={"source": source}
    )
    record_event("monitoring.opened", actor=user, request=request, obj=case, region_code=village.code, source=source)
    return case


def open_from_warning(warning: Any, *, user: Any = None, request: Any = None) -> Case | None:
    """A screening warning enters the village queue: a new identification case, or the
    household's open case if it has one. A monitored household opens none (its warnings
    are the village's to weigh in its assistance plan); a risk-eliminated one reopens."""
    household = warning.household
    with transaction.atomic():
        Household.objects.select_for_update().filter(pk=household.pk).first()
        case = _open_case_of(household)
        if case is not None:
            case.warnings.add(warning)
            CaseEvent.objects.create(case=case, action="warning_attached", data={"warning": warning.pk})
            return case
        if household.monitoring_state == MONITORED:
            return None
        case = _new_case(
            kind=CaseKind.IDENTIFICATION,
            village=household.village,
            household=household,
            source=Source.WARNING,
            user=user,
            discovered_on=timezone.localtime(warning.created_at).date(),
            step=Step.VERIFICATION,
            note=f"筛查预警：{warning.rule_id}",
            request=request,
        )
        case.warnings.add(warning)
        return case


def open_from_visit(household: Household, *, user: Any, reason: str, request: Any = None) -> Case:
    """基层干部排查: a cadre found a risk on a visit."""
    reason = _reason(reason, gettext("发现的风险情况"))
    if household.monitoring_state == MONITORED:
        raise ProcedureError(gettext("该户已是监测对象：新发现的风险请在回访记录中登记，并调整帮扶措施"))
    with transaction.atomic():
        Household.objects.select_for_update().filter(pk=household.pk).first()
        if _open_case_of(household) is not None:
            raise ProcedureError(gettext("该户已有正在办理的识别或风险消除程序"))
        return _new_case(
            kind=CaseKind.IDENTIFICATION,
            village=household.village,
            household=household,
            source=Source.CADRE_VISIT,
            user=user,
            discovered_on=timezone.localdate(),
            step=Step.VERIFICATION,
            note=reason,
            reason=reason,
            request=request,
        )


def open_self_application(
    village: Region,
    *,
    name: str,
    id_number: IDNumber,
    phone: str,
    reason: str,
    channel: str,
    user: Any = None,
    request: Any = None,
) -> Case:
    """农户自主申报, from the village's public form (online), the hotline or at the village.

    The answer to the applicant never says whether the registry knows them: the case is
    opened either way, with the household if the ID number finds one, and the village sorts
    it out. An online application goes to the township first, which passes it to the village
    within the routing limit; the others are recorded by a cadre who names the village.
    """
    if channel not in SELF_APPLICATION:
        raise ValueError(channel)
    if village.level != Level.VILLAGE:
        raise ProcedureError(gettext("请选择申请人所在的村"))
    name, reason = _reason(name, gettext("申请人姓名"))[:50], _reason(reason, gettext("申请事由"))
    p = protector()
    digest = p.hash(id_number.value)
    member = Member.objects.select_related("household__village").filter(id_number_hash=digest).first()
    household = member.household if member is not None else None
    today = timezone.localdate()
    with transaction.atomic():
        if household is not None:
            Household.objects.select_for_update().filter(pk=household.pk).first()
            open_case = _open_case_of(household)
            if open_case is not None:
                CaseEvent.objects.create(
                    case=open_case, action="application_attached", note=reason, data={"channel": channel}
                )
                return open_case
        target = household.village if household is not None else village
        online = channel == Source.SELF_ONLINE
        case = _new_case(
            kind=CaseKind.IDENTIFICATION,
            village=target,
            household=household,
            source=channel,
            user=user,
            discovered_on=today,
            step=Step.ROUTING if online else Step.VERIFICATION,
            note=reason,
            request=request,
            applicant_name=name,
            applicant_id_hash=digest,
            applicant_id_encrypted=p.encrypt(id_number.value, context=b"case.applicant_id"),
            applicant_phone_encrypted=p.encrypt(phone.strip(), context=b"case.applicant_phone") if phone else "",
            reason=reason,
        )
        if online:
            limits = deadlines(target.code, today.year)
            case.routing_due_on = today + dt.timedelta(days=limits.application_routing_days)
            case.save(update_fields=["routing_due_on"])
        return case


def do_route(case: Case, *, version: int, user: Any, village: Region | None = None, request: Any = None) -> Case:
    """The township passes an online application to the village (another of its villages if
    the applicant chose the wrong one)."""
    _require_turn(user, case, Step.ROUTING)
    target = village or case.village
    if target.level != Level.VILLAGE or not target.code.startswith(case.village_id[:9]):
        raise ProcedureError(gettext("只能分派到本乡镇的村"))
    if case.household is not None and case.household.village_id != target.code:
        raise ProcedureError(gettext("申请人已在户籍库中登记于另一个村，案件只能分派到其所在村"))
    _move(case, version=version, user=user, action="routed", to_step=Step.VERIFICATION, village=target, request=request)
    return case


def link_household(case: Case, *, version: int, user: Any, household: Household, request: Any = None) -> Case:
    """An application of someone the registry did not hold: the cadre registered the
    household (or found it under another number) and attaches it."""
    _require_turn(user, case, Step.VERIFICATION)
    if case.household_id is not None:
        raise ProcedureError(gettext("该案件已关联农户"))
    if household.village_id != case.village_id:
        raise ProcedureError(gettext("只能关联本村的农户"))
    if _open_case_of(household) is not None:
        raise ProcedureError(gettext("该户已有正在办理的识别或风险消除程序"))
    _move(case, version=version, user=user, action="household_linked", household=household, request=request)
    return case


# -- Village steps -------------------------------------------------------------------------


def store_document(data: bytes, filename: str) -> tuple[str, str]:
    """A signed authorisation or minutes, encrypted at rest; PDF or an image only."""
    if not data:
        raise ProcedureError(gettext("上传的文件是空的"))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ProcedureError(gettext("文件超过 %(mb)s MB") % {"mb": MAX_DOCUMENT_BYTES // (1024 * 1024)})
    if not any(data.startswith(magic) for magic in DOCUMENT_TYPES):
        raise ProcedureError(gettext("只能上传 PDF、PNG 或 JPG 格式的扫描件或照片"))
    return DOCUMENTS.store(data, filename=filename), (filename or "document")[:200]


def read_document(token: str) -> bytes:
    return DOCUMENTS.read(token)


def do_record_home_visit(
    case: Case,
    *,
    version: int,
    user: Any,
    visited_on: dt.date,
    findings: str,
    authorisation: tuple[bytes, str] | None = None,
    request: Any = None,
) -> CaseEvent:
    """入户核实: what the village saw at the household, with the signed 承诺授权书 (which lets
    the county query the family's assets) when the household signed one."""
    _require_turn(user, case, Step.VERIFICATION)
    if visited_on > timezone.localdate():
        raise ProcedureError(gettext("走访日期不能晚于今天"))
    findings = _reason(findings, gettext("核实情况"))
    attachment = store_document(*authorisation) if authorisation else ("", "")
    return _move(
        case,
        version=version,
        user=user,
        action="home_visit",
        note=findings,
        data={"visited_on": visited_on.isoformat(), "authorisation": bool(authorisation)},
        attachment=attachment,
        request=request,
    )


def has_authorisation(case: Case) -> bool:
    return case.events.filter(action="home_visit").exclude(attachment="").exists()


def do_dismiss(case: Case, *, version: int, user: Any, reason: str, request: Any = None) -> Case:
    """Not a risk after all (or not this household's): closed, and the reason goes back to
    the screening warnings that raised it — the department sees how its clue ended."""
    from shouwang.screening.actions import do_dismiss as dismiss_warning
    from shouwang.screening.models import WarningStatus

    _require_turn(user, case, Step.VERIFICATION)
    reason = _reason(reason, gettext("排除理由"))
    with transaction.atomic():
        _move(
            case,
            version=version,
            user=user,
            action="dismissed",
            to_step=Step.DISMISSED,
            note=reason,
            closed_reason=reason,
            request=request,
        )
        for warning in case.warnings.filter(status=WarningStatus.OPEN):
            dismiss_warning(warning, user=user, reason=f"入户核实后排除：{reason}", request=request)
    return case


def do_propose(
    case: Case, *, version: int, user: Any, category: str, causes: Sequence[str], request: Any = None
) -> Case:
    """The village proposes the household for identification (category, risk causes), or,
    in an elimination case, confirms the checklist still holds; on to 民主评议."""
    _require_turn(user, case, Step.VERIFICATION)
    if case.household is None:
        raise ProcedureError(gettext("请先在户籍库中登记申请人家庭，并关联到本案件"))
    if not case.events.filter(action="home_visit").exists():
        raise ProcedureError(gettext("请先登记入户核实情况"))
    fields: dict[str, Any] = {}
    if case.kind == CaseKind.IDENTIFICATION:
        if category not in Category.values:
            raise ProcedureError(gettext("请选择监测对象类别"))
        if not has_authorisation(case):
            raise ProcedureError(gettext("请上传农户签字的承诺授权书（授权查询家庭资产信息）"))
        fields = {"category": category, "risk_causes": _causes(causes)}
    else:
        failed = [c.label for c in elimination_checklist(case.household) if not c.ok]
        if failed:
            raise ProcedureError(gettext("风险消除条件不满足：%(failed)s") % {"failed": gettext("；").join(failed)})
    _move(
        case,
        version=version,
        user=user,
        action="proposed",
        to_step=Step.APPRAISAL,
        data=dict(fields),
        request=request,
        **fields,
    )
    return case


def do_record_appraisal(
    case: Case,
    *,
    version: int,
    user: Any,
    held_on: dt.date,
    participants: int,
    agree: int,
    disagree: int,
    opinion: str,
    minutes: tuple[bytes, str] | None = None,
    request: Any = None,
) -> Case:
    """民主评议: a majority of those present agreeing sends the case to the notice; otherwise
    the procedure ends here (the household is not identified, or not eliminated)."""
    _require_turn(user, case, Step.APPRAISAL)
    if held_on > timezone.localdate():
        raise ProcedureError(gettext("评议日期不能晚于今天"))
    if participants <= 0 or agree < 0 or disagree < 0 or agree + disagree > participants:
        raise ProcedureError(gettext("参会人数和表决票数不一致：同意与不同意之和不能超过参会人数"))
    attachment = store_document(*minutes) if minutes else ("", "")
    data = {"held_on": held_on.isoformat(), "participants": participants, "agree": agree, "disagree": disagree}
    passed = agree * 2 > participants
    opinion = (opinion or "").strip()[:300]
    if passed:
        _move(
            case,
            version=version,
            user=user,
            action="appraised",
            to_step=Step.NOTICE,
            note=opinion,
            data=data,
            attachment=attachment,
            request=request,
        )
    else:
        reason = f"民主评议未通过（参会 {participants} 人，同意 {agree} 人）" + (f"：{opinion}" if opinion else "")
        _move(
            case,
            version=version,
            user=user,
            action="appraisal_failed",
            to_step=Step.DISMISSED,
            note=reason,
            data=data,
            attachment=attachment,
            closed_reason=reason[:300],
            request=request,
        )
    return case


def do_post_notice(
    village: Region, cases: Sequence[Case], *, user: Any, starts_on: dt.date, ends_on: dt.date, request: Any = None
) -> Notice:
    """村内公示 of the village's appraised cases of one kind, for at least the set days."""
    cases = list(cases)
    if not cases:
        raise ProcedureError(gettext("请选择要公示的农户"))
    kinds = {c.kind for c in cases}
    if len(kinds) != 1:
        raise ProcedureError(gettext("识别纳入和风险消除请分别公示"))
    for case in cases:
        _require_turn(user, case, Step.NOTICE)
        if case.village_id != village.code:
            raise ProcedureError(gettext("只能公示本村的农户"))
        if case.notices.filter(closed_at__isnull=True).exists():
            raise ProcedureError(gettext("%(household)s已在公示中") % {"household": _household_label(case)})
    limits = deadlines(village.code, starts_on.year)
    if (ends_on - starts_on).days + 1 < limits.notice_min_days:
        raise ProcedureError(gettext("公示期不少于 %(days)s 天（含首尾两天）") % {"days": limits.notice_min_days})
    if starts_on < timezone.localdate() - dt.timedelta(days=1):
        raise ProcedureError(gettext("公示开始日期不能早于昨天"))
    with transaction.atomic():
        notice = Notice.objects.create(
            village=village, kind=kinds.pop(), starts_on=starts_on, ends_on=ends_on, posted_by=user
        )
        notice.cases.set(cases)
        for case in cases:
            CaseEvent.objects.create(
                case=case,
                action="notice_posted",
                from_step=Step.NOTICE,
                to_step=Step.NOTICE,
                actor=user,
                data={"notice": notice.pk, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
            )
        record_event(
            "monitoring.notice_posted",
            actor=user,
            request=request,
            obj=notice,
            region_code=village.code,
            cases=len(cases),
        )
    return notice


def _household_label(case: Case) -> str:
    return case.household.number if case.household else case.applicant_name


def do_record_objection(
    notice: Notice, case: Case, *, user: Any, received_on: dt.date, content: str, request: Any = None
) -> Objection:
    if notice.closed_at is not None:
        raise ProcedureError(gettext("公示已结束"))
    if not notice.cases.filter(pk=case.pk).exists():
        raise ProcedureError(gettext("该农户不在本次公示中"))
    _require_turn(user, case, Step.NOTICE)
    objection = Objection.objects.create(
        notice=notice,
        case=case,
        received_on=received_on,
        content=_reason(content, gettext("异议内容")),
        recorded_by=user,
    )
    CaseEvent.objects.create(
        case=case, action="objection", from_step=Step.NOTICE, to_step=Step.NOTICE, actor=user, note=objection.content
    )
    record_event("monitoring.objection", actor=user, request=request, obj=case, region_code=case.village_id)
    return objection


def do_settle_objection(objection: Objection, *, user: Any, upheld: bool, resolution: str, request: Any = None) -> None:
    _require_turn(user, objection.case, Step.NOTICE)
    objection.upheld, objection.resolution = upheld, _reason(resolution, gettext("处理意见"))
    objection.save(update_fields=["upheld", "resolution"])
    CaseEvent.objects.create(
        case=objection.case,
        action="objection_settled",
        from_step=Step.NOTICE,
        to_step=Step.NOTICE,
        actor=user,
        note=objection.resolution,
        data={"upheld": upheld},
    )


def do_close_notice(notice: Notice, *, user: Any, today: dt.date | None = None, request: Any = None) -> list[Case]:
    """After the last day of the notice: each case without an upheld objection goes to the
    township; a case whose objection was upheld goes back to verification."""
    today = today or timezone.localdate()
    if notice.closed_at is not None:
        raise ProcedureError(gettext("公示已结束"))
    if today <= notice.ends_on:
        raise ProcedureError(
            gettext("公示期到 %(date)s 为止，期满后才能结束公示") % {"date": f"{notice.ends_on:%Y-%m-%d}"}
        )
    if notice.objections.filter(upheld__isnull=True).exists():
        raise ProcedureError(gettext("还有未处理的异议，请先登记处理意见"))
    moved = []
    with transaction.atomic():
        for case in notice.cases.select_for_update().filter(step=Step.NOTICE):
            _require_turn(user, case, Step.NOTICE)
            if notice.objections.filter(case=case, upheld=True).exists():
                _move(
                    case,
                    version=case.version,
                    user=user,
                    action="returned",
                    to_step=Step.VERIFICATION,
                    note="公示期间异议成立，退回重新核实",
                    request=request,
                )
            else:
                _move(
                    case,
                    version=case.version,
                    user=user,
                    action="notice_passed",
                    to_step=Step.TOWNSHIP_AUDIT,
                    note=f"公示 {notice.starts_on:%Y-%m-%d} 至 {notice.ends_on:%Y-%m-%d} 无异议或异议不成立",
                    request=request,
                )
            moved.append(case)
        notice.closed_at = timezone.now()
        notice.save(update_fields=["closed_at"])
    return moved


# -- Township and county -------------------------------------------------------------------


def do_township_audit(case: Case, *, version: int, user: Any, approve: bool, opinion: str, request: Any = None) -> Case:
    """乡镇审核: on to the county, or back to the village to verify again (with the reason)."""
    _require_turn(user, case, Step.TOWNSHIP_AUDIT)
    if approve:
        _move(
            case,
            version=version,
            user=user,
            action="township_approved",
            to_step=Step.COUNTY_APPROVAL,
            note=(opinion or "").strip()[:300] or "审核通过",
            request=request,
        )
    else:
        _move(
            case,
            version=version,
            user=user,
            action="returned",
            to_step=Step.VERIFICATION,
            note=_reason(opinion, gettext("退回理由")),
            request=request,
        )
    return case


def do_county_decision(
    case: Case,
    *,
    version: int,
    user: Any,
    approve: bool,
    opinion: str,
    method: str = "",
    request: Any = None,
) -> Case:
    """县级审定: the household becomes monitored (or its risk is eliminated), or the case goes
    back to the township with the reason."""
    _require_turn(user, case, Step.COUNTY_APPROVAL)
    if not approve:
        _move(
            case,
            version=version,
            user=user,
            action="returned",
            to_step=Step.TOWNSHIP_AUDIT,
            note=_reason(opinion, gettext("退回理由")),
            request=request,
        )
        return case
    household = case.household
    assert household is not None  # proposed cases always have one
    today = timezone.localdate()
    with transaction.atomic():
        if case.kind == CaseKind.ELIMINATION:
            if method not in EliminationMethod.values:
                raise ProcedureError(gettext("请选择风险消除方式（帮扶消除或自然消除）"))
            failed = [c.label for c in elimination_checklist(household, today) if not c.ok]
            if failed:
                raise ProcedureError(gettext("风险消除条件不满足：%(failed)s") % {"failed": gettext("；").join(failed)})
        _move(
            case,
            version=version,
            user=user,
            action="approved",
            to_step=Step.APPROVED,
            note=(opinion or "").strip()[:300] or "审定通过",
            decided_on=today,
            elimination_method=method if case.kind == CaseKind.ELIMINATION else "",
            request=request,
        )
        _apply_decision(case, user, today)
    return case


def _apply_decision(case: Case, user: Any, today: dt.date) -> None:
    household = case.household
    assert household is not None
    record, _ = MonitoringRecord.objects.select_for_update().get_or_create(household=household)
    source = f"监测程序 #{case.pk}"
    if case.kind == CaseKind.IDENTIFICATION:
        from shouwang.screening.models import WarningStatus

        # The warnings that led here are answered: the household is monitored for them.
        case.warnings.filter(status=WarningStatus.OPEN).update(
            status=WarningStatus.CONVERTED, note=f"{today:%Y-%m-%d} 监测程序 #{case.pk} 县级审定纳入监测"
        )
        record.identified_on, record.category, record.risk_causes = today, case.category, list(case.risk_causes)
        record.eliminated_on, record.elimination_method, record.identification_case = None, "", case
        record.save()
        do_update_household(
            household, {"monitoring_state": MONITORED, "monitoring_category": case.category}, actor=user, source=source
        )
    else:
        record.eliminated_on, record.elimination_method, record.elimination_case = today, case.elimination_method, case
        record.save()
        do_update_household(household, {"monitoring_state": ELIMINATED}, actor=user, source=source)


def do_rollback(case: Case, *, version: int, user: Any, reason: str, request: Any = None) -> Case:
    """回退: the county undoes a decision made in error — an elimination (the household is
    monitored again) or an identification (the household goes back to where it was)."""
    if case.step != Step.APPROVED:
        raise ProcedureError(gettext("只能回退已审定的案件"))
    if _level(user) != Level.COUNTY or not case.village_id.startswith(user.region_prefix or "-"):
        raise ProcedureError(gettext("回退由县级办理"))
    household = case.household
    assert household is not None
    record = MonitoringRecord.objects.filter(household=household).first()
    latest = record and (record.elimination_case_id if record.eliminated_on else record.identification_case_id)
    if latest != case.pk:
        raise ProcedureError(gettext("只能回退该户最近一次审定的结果"))
    reason = _reason(reason, gettext("回退理由"))
    with transaction.atomic():
        _move(
            case,
            version=version,
            user=user,
            action="rolled_back",
            to_step=Step.ROLLED_BACK,
            note=reason,
            request=request,
        )
        assert record is not None
        source = f"回退 监测程序 #{case.pk}"
        if case.kind == CaseKind.ELIMINATION:
            record.eliminated_on, record.elimination_method, record.elimination_case = None, "", None
            record.save()
            do_update_household(household, {"monitoring_state": MONITORED}, actor=user, source=source)
        else:
            before = ELIMINATED if case.returning else NOT_MONITORED
            record.identified_on, record.identification_case = None, None
            if before == NOT_MONITORED:
                record.category, record.risk_causes = "", []
            record.save()
            values = {"monitoring_state": before}
            if before == NOT_MONITORED:
                values["monitoring_category"] = ""
            do_update_household(household, values, actor=user, source=source)
    return case


# -- Risk elimination ----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    ok: bool
    detail: str


def elimination_checklist(household: Household, today: dt.date | None = None) -> list[Check]:
    """The criteria of policy.md §6, computed from the data; all must hold."""
    from shouwang.monitoring.assistance import development_measures, measures_in_place
    from shouwang.screening.models import WarningStatus

    today = today or timezone.localdate()
    limits = deadlines(household.village_id, today.year)
    record = MonitoringRecord.objects.filter(household=household).first()
    identified = record.identified_on if record else None
    checks = []
    months_ok = identified is not None and add_months(identified, limits.elimination_min_months) <= today
    checks.append(
        Check(
            "months",
            gettext("纳入监测满 %(months)s 个月") % {"months": limits.elimination_min_months},
            months_ok,
            gettext("%(date)s 纳入监测") % {"date": f"{identified:%Y-%m-%d}"}
            if identified
            else gettext("未找到纳入监测日期"),
        )
    )
    measures = measures_in_place(household)
    checks.append(
        Check(
            "measure",
            gettext("至少落实一项帮扶措施"),
            bool(measures),
            gettext("已落实 %(n)s 项") % {"n": len(measures)},
        )
    )
    income_ok, income_detail = _income_above_line(household, today)
    checks.append(Check("income", gettext("近12个月人均纯收入稳定高于监测标准"), income_ok, income_detail))
    insecure = [name for name, ok in _secured(household, today) if not ok]
    checks.append(
        Check(
            "guarantees",
            gettext("两不愁三保障及饮水安全有保障"),
            not insecure,
            gettext("未保障：%(items)s") % {"items": gettext("、").join(insecure)} if insecure else gettext("均有保障"),
        )
    )
    open_warnings = household.warnings.filter(status=WarningStatus.OPEN).count()
    checks.append(
        Check(
            "warnings",
            gettext("没有未核实的预警线索"),
            open_warnings == 0,
            gettext("未核实 %(n)s 条") % {"n": open_warnings},
        )
    )
    able = not household.without_labour
    checks.append(
        Check(
            "labour",
            gettext("家庭有劳动能力（整户无劳动能力的暂不标注风险消除，落实兜底保障并持续监测）"),
            able,
            gettext("有劳动力") if able else gettext("整户无劳动能力"),
        )
    )
    if able and development_measures(household) == [] and measures:
        checks.append(
            Check(
                "development",
                gettext("有劳动能力的家庭已落实开发式帮扶"),
                False,
                gettext("未落实产业、就业、金融或公益岗位帮扶"),
            )
        )
    return checks


def _secured(household: Household, today: dt.date) -> list[tuple[str, bool]]:
    return [
        (gettext("不愁吃穿"), household.food_clothing_ok),
        (gettext("义务教育"), household.education_secure(today)),
        (gettext("基本医疗"), household.medical_secure),
        (gettext("住房安全"), household.housing_secure),
        (gettext("饮水安全"), household.water_secure),
    ]


def _income_above_line(household: Household, today: dt.date) -> tuple[bool, str]:
    """The latest complete year's per-capita net income against that year's line."""
    account = household.accounts.filter(year__lte=today.year).order_by("-year").first()
    if account is None:
        return False, gettext("没有年度收支记录")
    params = resolve_parameters(effective_parameter_table(household.village_id[:6]), household.village_id, account.year)
    if "monitoring_line" not in params:
        return False, gettext("%(year)s 年没有监测标准参数") % {"year": account.year}
    line = params["monitoring_line"]
    if account.population <= 0:
        return False, gettext("%(year)s 年家庭人口数为 0") % {"year": account.year}
    per_capita = account.per_capita_net_income
    detail = gettext("%(year)s 年人均纯收入 %(income)s 元，监测标准 %(line)s 元") % {
        "year": account.year,
        "income": f"{per_capita:,.2f}",
        "line": f"{line:,.0f}",
    }
    return Decimal(per_capita) > line, detail


def open_elimination(household: Household, *, user: Any, request: Any = None) -> Case:
    """The village starts the elimination procedure for a monitored household whose
    checklist holds (never for a household without labour capacity)."""
    from shouwang.accounts.roles import Capability

    if household.monitoring_state != MONITORED:
        raise ProcedureError(gettext("只有监测中的农户才能启动风险消除程序"))
    if _level(user) != Level.VILLAGE or not user.can(Capability.EDIT_REGISTRY):
        raise ProcedureError(gettext("风险消除由村级发起"))
    if not household.village_id.startswith(user.region_prefix or "-"):
        raise ProcedureError(gettext("只能为本村的农户发起"))
    failed = [c.label for c in elimination_checklist(household) if not c.ok]
    if failed:
        raise ProcedureError(gettext("风险消除条件不满足：%(failed)s") % {"failed": gettext("；").join(failed)})
    with transaction.atomic():
        Household.objects.select_for_update().filter(pk=household.pk).first()
        if _open_case_of(household) is not None:
            raise ProcedureError(gettext("该户已有正在办理的识别或风险消除程序"))
        return _new_case(
            kind=CaseKind.ELIMINATION,
            village=household.village,
            household=household,
            source=Source.ELIMINATION_REVIEW,
            user=user,
            discovered_on=timezone.localdate(),
            step=Step.VERIFICATION,
            note="发起风险消除",
            request=request,
        )
