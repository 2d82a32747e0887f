"""Pre-aggregated statistics (统计汇总), one narrow table for every level.

A figure is (region, metric, key) → a count: "households | 脱贫户|监测中|边缘易致贫户 → 37".
Villages' rows are computed from the records; every level above is the sum of the level
below, so a province dashboard reads a few hundred rows instead of scanning millions. Only
counts are stored — sums roll up exactly — and what is not a sum (a median, a share) is
derived at display time from counts (a median from a histogram of days).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionStat(models.Model):
    region_code = models.CharField(_("区划代码"), max_length=12)
    level = models.PositiveSmallIntegerField(_("层级"))
    metric = models.CharField(_("指标"), max_length=32)
    key = models.CharField(_("分组"), max_length=96)
    value = models.BigIntegerField(_("数值"))

    class Meta:
        verbose_name = _("统计汇总")
        verbose_name_plural = _("统计汇总")
        constraints = [models.UniqueConstraint(fields=["region_code", "metric", "key"], name="one_stat_per_key")]
        indexes = [models.Index(fields=["level", "region_code"], name="stat_level_region")]

    def __str__(self) -> str:
        return f"{self.region_code} {self.metric} {self.key} = {self.value}"


class StaleRegion(models.Model):
    """A part of the country whose figures changed since they were last computed: a case
    moved, a screening ran, an import finished. The worker recomputes it within a minute."""

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    marked_at = models.DateTimeField(_("标记时间"), auto_now=True)

    class Meta:
        verbose_name = _("待更新统计")
        verbose_name_plural = _("待更新统计")

    def __str__(self) -> str:
        return self.code


class Refresh(models.Model):
    """When each region's figures were last computed (the dashboards show it)."""

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    computed_at = models.DateTimeField(_("统计时间"))
    as_of = models.DateField(_("统计日期"))  # "today" for the overdue counts
    seconds = models.FloatField(_("耗时（秒）"), default=0)

    class Meta:
        verbose_name = _("统计更新")
        verbose_name_plural = _("统计更新")

    def __str__(self) -> str:
        return f"{self.code} {self.computed_at:%Y-%m-%d %H:%M}"
