"""Department feed batches (部门数据批次): the record of every file a department sent.

The rows themselves never enter this database (DESIGN.md): a committed batch lives as
Parquet files under `DATA_DIR/feeds/…` (`storage_paths`), and this model holds who sent
what, when, its content hash, the counts and where the files are. Dry runs and rejected
files are recorded too (counts and error report only, no rows), so an officer can see what
happened to every file.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shouwang.core.scoping import RegionScopedManager


class Channel(models.TextChoices):
    WEB = "web", _("网页上传")
    CLI = "cli", _("命令行")
    API = "api", _("接口推送")


class BatchStatus(models.TextChoices):
    DRY_RUN = "dry_run", _("预检")
    COMMITTED = "committed", _("已导入")
    REJECTED = "rejected", _("已拒绝")
    WITHDRAWN = "withdrawn", _("已撤回")


class FeedBatch(models.Model):
    """One department file of one feed kind for one county, and what became of it."""

    region_field = "county__pk"

    kind = models.CharField(_("数据类型"), max_length=32, db_index=True)
    county = models.ForeignKey(
        "regions.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT, related_name="feed_batches"
    )
    periods = models.JSONField(_("数据期间"), default=list, blank=True)
    filename = models.CharField(_("文件名"), max_length=200)
    # The workbook's sheet that was read ("" for a CSV): a file is the same by content and sheet.
    sheet = models.CharField(_("工作表"), max_length=100, blank=True, default="")
    sha256 = models.CharField(_("文件哈希"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("文件大小"), default=0)
    schema_version = models.PositiveSmallIntegerField(_("模板版本"), default=1)
    channel = models.CharField(_("来源"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("状态"), max_length=16, choices=BatchStatus.choices, db_index=True)
    valid_rows_only = models.BooleanField(_("仅导入有效行"), default=False)
    counts = models.JSONField(_("统计"), default=dict, blank=True)
    storage_paths = models.JSONField(_("存储文件"), default=list, blank=True)
    manifest_path = models.CharField(_("清单文件"), max_length=300, blank=True)
    report_path = models.CharField(_("错误报告"), max_length=300, blank=True)
    # The encrypted upload a web dry run may still be committed from; cleared once it is gone.
    upload_token = models.CharField(_("待导入文件"), max_length=32, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤回人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdraw_reason = models.CharField(_("撤回原因"), max_length=200, blank=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("部门数据批次")
        verbose_name_plural = _("部门数据批次")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["county", "kind", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "county", "sha256", "sheet"],
                condition=models.Q(status="committed"),
                name="one_committed_batch_per_file_sheet",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def label(self) -> str:
        from engine.schemas.feeds import FEED_SCHEMAS

        schema = FEED_SCHEMAS.get(self.kind)
        return gettext(schema.label) if schema else self.kind

    def count(self, name: str) -> Any:
        return (self.counts or {}).get(name)


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("待核实")
    ACCEPTED = "accepted", _("已确认关联")
    REJECTED = "rejected", _("不是库内人员")


class LinkReview(models.Model):
    """A feed row that probabilistic linkage could neither link nor dismiss (the grey zone):
    a person chooses one of its candidates or rejects them all.

    The row itself lives in the batch's Parquet (`row_id` is its identity there); this
    record keeps what a reviewer needs — the line, the name and birth date from the file
    (never an ID number) — and the ranked candidates.
    """

    region_field = "county__pk"

    batch = models.ForeignKey(FeedBatch, verbose_name=_("批次"), on_delete=models.CASCADE, related_name="reviews")
    county = models.ForeignKey("regions.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT, related_name="+")
    row_id = models.PositiveIntegerField(_("行标识"))
    line = models.CharField(_("行号"), max_length=40)
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    best_probability = models.FloatField(_("最高匹配概率"), default=0.0)
    status = models.CharField(
        _("状态"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING, db_index=True
    )
    member = models.ForeignKey(
        "registry.Member",
        verbose_name=_("确认的成员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核实人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("关联待核实")
        verbose_name_plural = _("关联待核实")
        ordering = ["-created_at", "batch_id", "row_id"]
        constraints = [models.UniqueConstraint(fields=["batch", "row_id"], name="one_review_per_feed_row")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line}"


class LinkReviewCandidate(models.Model):
    """One member a grey-zone row may be, with the model's probabilities (best first)."""

    review = models.ForeignKey(LinkReview, on_delete=models.CASCADE, related_name="candidates")
    member = models.ForeignKey("registry.Member", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("排序"))
    probability = models.FloatField(_("匹配概率"))
    pair_probability = models.FloatField(_("单对概率"), default=0.0)

    class Meta:
        ordering = ["review_id", "rank"]
        constraints = [models.UniqueConstraint(fields=["review", "member"], name="one_candidate_per_member")]

    def __str__(self) -> str:
        return f"{self.review_id}#{self.rank}"
