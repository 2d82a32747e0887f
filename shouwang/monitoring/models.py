"""The monitoring loop (监测帮扶): cases through the official procedure, assistance, visits.

A **case** (`Case`) is one household's way through one procedure, from the moment a risk is
found to the county's decision: identification (识别认定: 入户核实 → 民主评议 → 公示 → 乡镇审核 →
县级审定) or risk elimination (风险消除, the same steps). Every step is an event (`CaseEvent`):
who, when, what was seen and decided. A case's deadline runs from the day the risk was found
(identification ≤ 15 days by default, a parameter). Two people editing one case cannot
overwrite each other: each change names the version it saw (`Case.version`).

A case is found through one of three channels (policy.md §3.1): a screening warning, a
cadre's visit, or the household itself (自主申报: the public form of its village, the hotline,
or in person). A self-application whose person the registry does not hold yet waits in the
village queue without a household, until the cadre registers it or dismisses it.

Once the county approves, the household is monitored (`Household.monitoring_state` 监测中,
with its category and up to five risk causes); its assistance plan (一户一策) is a list of
`Measure`s and it is visited on a schedule (`Visit`). Risk elimination closes monitoring the
same way it opened, and can be rolled back (回退).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shouwang.core.scoping import RegionScopedManager


class CaseKind(models.TextChoices):
    IDENTIFICATION = "identification", _("识别纳入")
    ELIMINATION = "elimination", _("风险消除")


class Source(models.TextChoices):
    """How the risk was found (policy.md §3.1)."""

    WARNING = "warning", _("部门筛查预警")
    CADRE_VISIT = "cadre_visit", _("干部排查走访")
    SELF_ONLINE = "self_online", _("农户自主申报（扫码）")
    SELF_HOTLINE = "self_hotline", _("农户自主申报（热线电话）")
    SELF_IN_PERSON = "self_in_person", _("农户自主申报（到村申请）")
    ELIMINATION_REVIEW = "elimination_review", _("风险消除评估")


SELF_APPLICATION = {Source.SELF_ONLINE, Source.SELF_HOTLINE, Source.SELF_IN_PERSON}


class Step(models.TextChoices):
    """Where a case stands. The first five are the procedure (the same for both kinds);
    the last three are its ends."""

    ROUTING = "routing", _("乡镇分派")  # an online application waits for the township to pass it on
    VERIFICATION = "verification", _("入户核实")
    APPRAISAL = "appraisal", _("民主评议")
    NOTICE = "notice", _("村内公示")
    TOWNSHIP_AUDIT = "township_audit", _("乡镇审核")
    COUNTY_APPROVAL = "county_approval", _("县级审定")
    APPROVED = "approved", _("已审定")
    DISMISSED = "dismissed", _("已排除")
    ROLLED_BACK = "rolled_back", _("已回退")


OPEN_STEPS = (
    Step.ROUTING,
    Step.VERIFICATION,
    Step.APPRAISAL,
    Step.NOTICE,
    Step.TOWNSHIP_AUDIT,
    Step.COUNTY_APPROVAL,
)
VILLAGE_STEPS = (Step.VERIFICATION, Step.APPRAISAL, Step.NOTICE)
CLOSED_STEPS = (Step.APPROVED, Step.DISMISSED, Step.ROLLED_BACK)


class Category(models.TextChoices):
    """监测对象类别 (policy.md §2)."""

    UNSTABLE = "脱贫不稳定户", _("脱贫不稳定户")
    MARGINAL = "边缘易致贫户", _("边缘易致贫户")
    SUDDEN_HARDSHIP = "突发严重困难户", _("突发严重困难户")


class RiskCause(models.TextChoices):
    """致贫/返贫风险 of the national system (policy.md §5.1), up to five a household."""

    ILLNESS = "因病", _("因病")
    DISABILITY = "因残", _("因残")
    SCHOOLING = "因学", _("因学")
    DISASTER = "因自然灾害", _("因自然灾害")
    ACCIDENT = "因意外事故", _("因意外事故")
    INDUSTRY_FAILURE = "因产业项目失败", _("因产业项目失败")
    UNSTABLE_WORK = "因务工就业不稳", _("因务工就业不稳")
    LACK_OF_LABOUR = "缺劳动力", _("缺劳动力")
    HOUSING = "住房出现安全问题", _("住房出现安全问题")
    DROPOUT = "义务教育阶段失学辍学", _("义务教育阶段失学辍学")
    WATER = "饮水安全问题", _("饮水安全问题")
    NO_MEDICAL_INSURANCE = "未参加基本医疗保险", _("未参加基本医疗保险")
    OTHER = "其他", _("其他")


MAX_CAUSES = 5


class EliminationMethod(models.TextChoices):
    ASSISTED = "帮扶消除", _("帮扶消除")
    NATURAL = "自然消除", _("自然消除")


class Case(models.Model):
    """One household's way through identification or risk elimination."""

    region_field = "village__pk"

    kind = models.CharField(_("程序"), max_length=16, choices=CaseKind.choices)
    village = models.ForeignKey("regions.Region", verbose_name=_("所在村"), on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        "registry.Household",
        verbose_name=_("农户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    source = models.CharField(_("发现渠道"), max_length=24, choices=Source.choices)
    warnings = models.ManyToManyField("screening.Warning", verbose_name=_("预警线索"), blank=True, related_name="cases")
    returning = models.BooleanField(
        _("风险消除后返贫致贫风险"), default=False
    )  # a risk-eliminated household at risk again
    step = models.CharField(_("当前环节"), max_length=16, choices=Step.choices, db_index=True)
    discovered_on = models.DateField(_("发现日期"))
    due_on = models.DateField(_("办结时限"))
    routing_due_on = models.DateField(_("分派时限"), null=True, blank=True)  # online applications: to the village
    # A self-application: who applied, before the household is known (hash to find them, the
    # number itself only encrypted, shown masked).
    applicant_name = models.CharField(_("申请人"), max_length=50, blank=True)
    applicant_id_hash = models.CharField(_("申请人身份证号哈希"), max_length=64, blank=True, db_index=True)
    applicant_id_encrypted = models.TextField(_("申请人身份证号密文"), blank=True)
    applicant_phone_encrypted = models.TextField(_("联系电话密文"), blank=True)
    reason = models.TextField(_("申请事由 / 发现情况"), blank=True)
    # What the village proposes and the county decides.
    category = models.CharField(_("监测对象类别"), max_length=16, choices=Category.choices, blank=True)
    risk_causes = models.JSONField(_("风险类型"), default=list, blank=True)
    elimination_method = models.CharField(
        _("风险消除方式"), max_length=8, choices=EliminationMethod.choices, blank=True
    )
    decided_on = models.DateField(_("审定日期"), null=True, blank=True)
    closed_reason = models.CharField(_("排除或回退理由"), max_length=300, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("监测案件")
        verbose_name_plural = _("监测案件")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["step", "due_on"]),
            # The open cases' list in its order, and their count per area, from the index alone
            # (a province has some 40,000 open cases: sorting them for each page took 60 ms).
            models.Index(fields=["due_on", "id"], condition=models.Q(step__in=OPEN_STEPS), name="open_cases_by_due"),
            models.Index(
                fields=["village", "due_on"], condition=models.Q(step__in=OPEN_STEPS), name="open_cases_by_village"
            ),
        ]
        constraints = [
            # One open procedure a household at a time: a second warning joins the open case.
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(step__in=[s.value for s in OPEN_STEPS]),
                name="one_open_case_per_household",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.step in OPEN_STEPS

    def days_left(self, today: dt.date | None = None) -> int:
        return (self.due_on - (today or timezone.localdate())).days


ACTION_LABELS = {
    "opened": _("登记"),
    "routed": _("分派到村"),
    "household_linked": _("关联农户"),
    "warning_attached": _("新增预警线索"),
    "application_attached": _("再次申报"),
    "home_visit": _("入户核实"),
    "proposed": _("提请民主评议"),
    "dismissed": _("排除"),
    "appraised": _("民主评议通过"),
    "appraisal_failed": _("民主评议未通过"),
    "notice_posted": _("发布公示"),
    "objection": _("登记异议"),
    "objection_settled": _("异议处理"),
    "notice_passed": _("公示期满"),
    "township_approved": _("乡镇审核通过"),
    "approved": _("县级审定通过"),
    "returned": _("退回"),
    "rolled_back": _("回退"),
}


class CaseEvent(models.Model):
    """A step of a case: who did what when, what they saw and decided (the dossier's lines)."""

    region_field = "case__village__pk"

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=32)
    from_step = models.CharField(_("原环节"), max_length=16, choices=Step.choices, blank=True)
    to_step = models.CharField(_("新环节"), max_length=16, choices=Step.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.TextField(_("意见 / 情况"), blank=True)
    data = models.JSONField(_("记录"), default=dict, blank=True)  # findings, votes, objections …
    attachment = models.CharField(_("附件"), max_length=300, blank=True)  # encrypted file under DATA_DIR
    attachment_name = models.CharField(_("附件名"), max_length=200, blank=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("案件记录")
        verbose_name_plural = _("案件记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.action, self.action))


class Notice(models.Model):
    """公示: one village's notice of households proposed (or proposed for elimination), posted
    for at least the set number of days; shows no ID number, phone or health detail."""

    region_field = "village__pk"

    village = models.ForeignKey("regions.Region", verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("程序"), max_length=16, choices=CaseKind.choices)
    starts_on = models.DateField(_("公示开始"))
    ends_on = models.DateField(_("公示截止"))
    cases = models.ManyToManyField(Case, verbose_name=_("公示对象"), related_name="notices")
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("公示结束时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("公示")
        verbose_name_plural = _("公示")
        ordering = ["-starts_on", "-id"]

    def __str__(self) -> str:
        return f"公示 {self.village_id} {self.starts_on}–{self.ends_on}"


class Objection(models.Model):
    """An objection raised during a notice (异议), and how the village settled it."""

    region_field = "case__village__pk"

    notice = models.ForeignKey(Notice, verbose_name=_("公示"), on_delete=models.CASCADE, related_name="objections")
    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="objections")
    received_on = models.DateField(_("收到日期"))
    content = models.TextField(_("异议内容"))
    upheld = models.BooleanField(_("异议成立"), null=True)  # None: not settled yet
    resolution = models.TextField(_("处理意见"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("公示异议")
        verbose_name_plural = _("公示异议")
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return f"异议 {self.case_id}"


class MeasureStatus(models.TextChoices):
    PLANNED = "planned", _("计划")
    IN_PROGRESS = "in_progress", _("实施中")
    COMPLETED = "completed", _("已完成")
    STOPPED = "stopped", _("已终止")


class Measure(models.Model):
    """帮扶措施: one measure of a household's assistance plan (一户一策)."""

    region_field = "household__village__pk"

    household = models.ForeignKey(
        "registry.Household", verbose_name=_("农户"), on_delete=models.PROTECT, related_name="measures"
    )
    category = models.CharField(_("措施类别"), max_length=16)  # monitoring.catalogue
    subtype = models.CharField(_("具体措施"), max_length=32)
    content = models.CharField(_("措施内容"), max_length=300)
    responsible = models.CharField(_("责任人"), max_length=50)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    funds = models.DecimalField(_("投入资金（元）"), max_digits=12, decimal_places=2, default=0)
    status = models.CharField(_("状态"), max_length=16, choices=MeasureStatus.choices, default=MeasureStatus.PLANNED)
    effect = models.CharField(_("帮扶成效"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("帮扶措施")
        verbose_name_plural = _("帮扶措施")
        ordering = ["household_id", "starts_on", "id"]

    def __str__(self) -> str:
        return f"{self.category}·{self.subtype}"

    @property
    def active(self) -> bool:
        return self.status in (MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS, MeasureStatus.COMPLETED)


class Visit(models.Model):
    """回访: a cadre's follow-up visit to a monitored household, and what it found."""

    region_field = "household__village__pk"

    household = models.ForeignKey(
        "registry.Household", verbose_name=_("农户"), on_delete=models.PROTECT, related_name="visits"
    )
    visited_on = models.DateField(_("走访日期"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("走访人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    findings = models.TextField(_("走访情况"))
    new_risk = models.BooleanField(_("发现新的风险"), default=False)
    new_risk_causes = models.JSONField(_("新的风险类型"), default=list, blank=True)
    changes = models.JSONField(_("更新的户籍信息"), default=dict, blank=True)  # field → [before, after]
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"回访 {self.household_id} {self.visited_on}"


class MonitoringRecord(models.Model):
    """A household's standing in monitoring, as the county last decided it: when it was
    identified, in which category and for which risks, and when (and how) its risk was
    eliminated. `Household.monitoring_state` / `monitoring_category` mirror it, written by the
    same decision through the registry's change history."""

    region_field = "household__village__pk"

    household = models.OneToOneField(
        "registry.Household",
        verbose_name=_("农户"),
        on_delete=models.PROTECT,
        related_name="monitoring",
        primary_key=True,
    )
    identified_on = models.DateField(_("识别监测时间"), null=True, blank=True)
    category = models.CharField(_("监测对象类别"), max_length=16, choices=Category.choices, blank=True)
    risk_causes = models.JSONField(_("风险类型"), default=list, blank=True)
    eliminated_on = models.DateField(_("风险消除时间"), null=True, blank=True)
    elimination_method = models.CharField(
        _("风险消除方式"), max_length=8, choices=EliminationMethod.choices, blank=True
    )
    identification_case = models.ForeignKey(
        Case, verbose_name=_("识别案件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    elimination_case = models.ForeignKey(
        Case, verbose_name=_("风险消除案件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("监测记录")
        verbose_name_plural = _("监测记录")

    def __str__(self) -> str:
        return f"监测记录 {self.household_id}"
