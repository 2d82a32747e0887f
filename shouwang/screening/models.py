"""Screening runs and the warnings (预警线索) they raise, which a village must verify.

One warning per household, rule and period (the engine's unit): running a screen again
changes nothing, a dismissed warning stays dismissed for the same evidence and reopens when
the evidence changes (`evidence_hash`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shouwang.core.scoping import RegionScopedManager


class RunStatus(models.TextChoices):
    RUNNING = "running", _("运行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class Severity(models.TextChoices):
    RED = "red", _("红色")
    ORANGE = "orange", _("橙色")
    YELLOW = "yellow", _("黄色")


class WarningStatus(models.TextChoices):
    OPEN = "open", _("待核实")
    DISMISSED = "dismissed", _("已排除")
    # An open warning that a later screening of the same rule, year and household no longer
    # raises (a department withdrew or corrected its batch, the registry was updated): nobody
    # verified it, so it is not "dismissed"; it reopens if the finding comes back.
    LAPSED = "lapsed", _("证据已失效")
    # Verified and answered by the monitoring procedure: the household was identified (纳入监测).
    CONVERTED = "converted", _("已纳入监测")


class RunTrigger(models.TextChoices):
    MANUAL = "manual", _("手动")
    SCHEDULE = "schedule", _("定期")
    FEED_BATCH = "feed_batch", _("部门数据更新")


class ScreeningRun(models.Model):
    """One screening of a region for a year: what went in (the engine manifest) and what came out."""

    region_field = "region__pk"

    region = models.ForeignKey("regions.Region", verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    engine = models.CharField(_("计算引擎"), max_length=16, default="duckdb")
    rules = models.JSONField(_("指定规则"), default=list, blank=True)  # empty: every rule
    trigger = models.CharField(_("触发方式"), max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    # A re-screen after a feed batch covers only the households that batch touched; null = all.
    households_screened = models.PositiveIntegerField(_("筛查户数"), null=True, blank=True)
    feed_batches = models.JSONField(_("触发批次"), default=list, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    manifest = models.JSONField(_("运行清单"), default=dict, blank=True)
    skipped = models.JSONField(_("未运行的规则"), default=dict, blank=True)  # rule id → {reason, reason_zh}
    warnings_total = models.PositiveIntegerField(_("发现线索"), default=0)
    warnings_new = models.PositiveIntegerField(_("新增"), default=0)
    warnings_unchanged = models.PositiveIntegerField(_("未变化"), default=0)
    warnings_updated = models.PositiveIntegerField(_("证据更新"), default=0)
    warnings_reopened = models.PositiveIntegerField(_("重新打开"), default=0)
    warnings_suppressed = models.PositiveIntegerField(_("已排除未再提示"), default=0)
    warnings_lapsed = models.PositiveIntegerField(_("证据已失效"), default=0)
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    error = models.TextField(_("错误"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    job = models.ForeignKey(
        "jobs.Job", verbose_name=_("后台任务"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("筛查运行")
        verbose_name_plural = _("筛查运行")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"筛查 #{self.pk} {self.region_id} {self.year}"

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.pk,
            "region": self.region_id,
            "year": self.year,
            "engine": self.engine,
            "status": self.status,
            "warnings": self.warnings_total,
            "new": self.warnings_new,
            "unchanged": self.warnings_unchanged,
            "updated": self.warnings_updated,
            "reopened": self.warnings_reopened,
            "suppressed": self.warnings_suppressed,
            "lapsed": self.warnings_lapsed,
            "trigger": self.trigger,
            "households_screened": self.households_screened,
            "feed_batches": list(self.feed_batches or []),
            "counts": dict((self.manifest or {}).get("counts", {})),
            "skipped": {rule: v.get("reason_zh", "") for rule, v in (self.skipped or {}).items()},
            "seconds": self.seconds,
        }


class Warning(models.Model):
    """预警线索: a finding of one rule for one household and period, with the figures that fired it.

    `village` repeats the household's (a household never moves village): scoping, the counts
    by rule and colour and the order of the list read the warnings alone, not a province's
    2.7 million households as well.
    """

    region_field = "village__pk"

    household = models.ForeignKey(
        "registry.Household", verbose_name=_("农户"), on_delete=models.CASCADE, related_name="warnings"
    )
    village = models.ForeignKey(
        "regions.Region", verbose_name=_("所在村"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    member = models.ForeignKey(
        "registry.Member",
        verbose_name=_("家庭成员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="warnings",
    )
    rule_id = models.CharField(_("规则"), max_length=64, db_index=True)
    period = models.CharField(_("期间"), max_length=7)
    severity = models.CharField(_("预警等级"), max_length=8, choices=Severity.choices)
    cause = models.CharField(_("风险类型"), max_length=32)
    evidence = models.JSONField(_("证据"), default=dict)
    evidence_hash = models.CharField(_("证据哈希"), max_length=64)
    status = models.CharField(
        _("状态"), max_length=16, choices=WarningStatus.choices, default=WarningStatus.OPEN, db_index=True
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    dismissed_reason = models.CharField(_("排除理由"), max_length=300, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("排除人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    dismissed_at = models.DateTimeField(_("排除时间"), null=True, blank=True)
    first_run = models.ForeignKey(
        ScreeningRun, verbose_name=_("首次发现"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run = models.ForeignKey(
        ScreeningRun, verbose_name=_("最近发现"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("预警线索")
        verbose_name_plural = _("预警线索")
        ordering = ["household_id", "rule_id", "period"]
        constraints = [
            models.UniqueConstraint(fields=["household", "rule_id", "period"], name="one_warning_per_rule_period"),
        ]
        indexes = [
            models.Index(fields=["status", "severity"]),
            # The list's order, read from the index (a province has some 200,000 warnings).
            models.Index(
                fields=["status", "-last_run", "village", "household", "rule_id", "period"], name="warning_list_order"
            ),
            # Open warnings of an area: the badges' counts, the page count and what is overdue
            # in the inbox come from this index alone.
            models.Index(
                fields=["village", "rule_id", "severity", "created_at", "household", "id"],
                condition=models.Q(status="open"),
                name="open_warnings_by_village",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.period} #{self.household_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.village_id is None and self.household_id is not None:
            self.village_id = self.household.village_id
        super().save(*args, **kwargs)


class Grade(models.TextChoices):
    """Evidence grades of policy.md §0, as in data/policy/parameters.csv."""

    V1 = "V1", _("V1 正式文件")
    V2 = "V2", _("V2 官方转载")
    M = "M", _("M 媒体报道")
    I = "I", _("I 推算")  # noqa: E741
    ASSUMPTION = "assumption", _("假设")


class ParameterOverride(models.Model):
    """A county's local value of a rule parameter (本地设定), with the document that sets it.

    Versioned: an edit never changes a row, it adds a new one and marks this one superseded
    (`superseded_by`, `superseded_at`); a withdrawal supersedes without a successor. The rows
    with `superseded_at` empty are the ones in force.
    """

    region_field = "region__pk"

    name = models.CharField(_("参数"), max_length=64)
    region = models.ForeignKey("regions.Region", verbose_name=_("适用区划"), on_delete=models.PROTECT, related_name="+")
    first_year = models.PositiveSmallIntegerField(_("起始年度"))
    last_year = models.PositiveSmallIntegerField(_("截止年度"), null=True, blank=True)
    value = models.DecimalField(_("数值"), max_digits=14, decimal_places=4)
    unit = models.CharField(_("单位"), max_length=32, blank=True)
    source = models.CharField(_("依据文件"), max_length=500)
    grade = models.CharField(_("证据等级"), max_length=16, choices=Grade.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("设定人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("设定时间"), auto_now_add=True)
    superseded_by = models.ForeignKey(
        "self", verbose_name=_("被替换为"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    superseded_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("本地参数设定")
        verbose_name_plural = _("本地参数设定")
        ordering = ["name", "region_id", "first_year", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} {self.region_id} {self.first_year}: {self.value}"

    @property
    def current(self) -> bool:
        return self.superseded_at is None


class ScreeningSchedule(models.Model):
    """When a county is screened by itself (定期筛查): monthly, on a day the county chooses.

    Counties collect department clues every month and push them at month-end (policy.md §4.3,
    旺苍县); so every county with registry data is screened monthly by default, on the 1st,
    for the year of the month just ended. A row exists once a county changes that or once the
    first scheduled run was enqueued (`last_period` keeps a month from being screened twice).
    """

    region_field = "region__pk"

    region = models.OneToOneField(
        "regions.Region", verbose_name=_("县"), on_delete=models.PROTECT, related_name="+", primary_key=True
    )
    enabled = models.BooleanField(_("启用定期筛查"), default=True)
    day_of_month = models.PositiveSmallIntegerField(_("每月几日"), default=1)
    last_period = models.CharField(_("最近一次定期筛查的月份"), max_length=7, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("设定人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("设定时间"), auto_now=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("定期筛查")
        verbose_name_plural = _("定期筛查")
        constraints = [
            # 28: every month has the day, so no month is skipped
            models.CheckConstraint(
                condition=models.Q(day_of_month__gte=1, day_of_month__lte=28), name="schedule_day_in_every_month"
            ),
        ]

    def __str__(self) -> str:
        return f"定期筛查 {self.region_id} 每月{self.day_of_month}日"
