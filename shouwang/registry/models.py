"""The base registry (基础信息库): households, members, annual accounts and change history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from engine.ids import mask
from engine.schemas.registry import DISABLED
from shouwang.core.scoping import RegionScopedManager
from shouwang.registry import choices as c


def money(verbose_name: Any) -> models.DecimalField:
    """Yuan with two decimals; a missing amount is zero, as on the national form."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, default=Decimal(0))


class Household(models.Model):
    """户: one rural household living in one village."""

    region_field = "village__pk"
    # What people may change, on the web form and through the import (the rest is identity).
    EDITABLE_FIELDS = (
        "address",
        "phone",
        "household_type",
        "poverty_exit_year",
        "monitoring_category",
        "monitoring_state",
        "housing_grade",
        "housing_appraised_on",
        "food_clothing_ok",
        "water_quantity_ok",
        "water_quality_ok",
        "water_convenience_ok",
        "water_reliability_ok",
    )

    number = models.CharField(_("户编号"), max_length=32, unique=True)
    village = models.ForeignKey(
        "regions.Region", verbose_name=_("所在村"), on_delete=models.PROTECT, related_name="households"
    )
    address = models.CharField(_("家庭住址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    household_type = models.CharField(_("户类型"), max_length=8, choices=c.HOUSEHOLD_TYPES)
    poverty_exit_year = models.PositiveSmallIntegerField(_("脱贫年度"), null=True, blank=True)
    monitoring_category = models.CharField(
        _("监测对象类别"), max_length=16, blank=True, choices=c.MONITORING_CATEGORIES
    )
    monitoring_state = models.CharField(
        _("监测状态"), max_length=8, choices=c.MONITORING_STATES, default="未纳入", db_index=True
    )
    housing_grade = models.CharField(_("住房安全等级"), max_length=1, blank=True, choices=c.HOUSING_GRADES)
    housing_appraised_on = models.DateField(_("住房鉴定日期"), null=True, blank=True)
    water_quantity_ok = models.BooleanField(_("饮水水量达标"), default=True)
    water_quality_ok = models.BooleanField(_("饮水水质达标"), default=True)
    water_convenience_ok = models.BooleanField(_("用水方便"), default=True)
    water_reliability_ok = models.BooleanField(_("供水保证率达标"), default=True)
    food_clothing_ok = models.BooleanField(_("不愁吃穿"), default=True)
    created_at = models.DateTimeField(_("建档时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("农户")
        verbose_name_plural = _("农户")
        ordering = ["number"]
        indexes = [
            models.Index(fields=["village", "number"]),
            # The monitored households of an area without reading them (inbox), and in list order.
            models.Index(fields=["monitoring_state", "village", "number", "id"], name="household_state_village"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(household_type="脱贫户") | models.Q(poverty_exit_year__isnull=False),
                name="escaped_poverty_has_exit_year",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_escaped_poverty(self) -> bool:
        return self.household_type == c.POVERTY_ESCAPED

    @property
    def head(self) -> Member | None:
        return next((m for m in self.members.all() if m.relationship == "户主"), None)

    def living_members(self) -> list[Member]:
        return [m for m in self.members.all() if m.death_date is None]

    # 两不愁三保障 + 饮水安全, derived from the members and the household's own facts.
    @property
    def housing_secure(self) -> bool:
        return self.housing_grade not in c.UNSAFE_HOUSING

    @property
    def water_secure(self) -> bool:
        return all(
            (self.water_quantity_ok, self.water_quality_ok, self.water_convenience_ok, self.water_reliability_ok)
        )

    def education_secure(self, on: dt.date | None = None) -> bool:
        """No child of compulsory-school age (6–15) out of school."""
        on = on or dt.date.today()
        return not any(m.school_status == c.DROPOUT and 6 <= m.age(on) <= 15 for m in self.living_members())

    @property
    def medical_secure(self) -> bool:
        return all(m.medical_insurance for m in self.living_members())

    @property
    def without_labour(self) -> bool:
        """整户无劳动能力: no living member able to work."""
        return not any(m.labour_capacity in c.ABLE_BODIED for m in self.living_members())


class Member(models.Model):
    """家庭成员. The ID number is kept only as a keyed hash and a ciphertext."""

    region_field = "household__village__pk"
    # What people may change; the ID number and what derives from it are not among them.
    EDITABLE_FIELDS = (
        "name",
        "relationship",
        "ethnicity",
        "education",
        "school_status",
        "health",
        "disabled",
        "disability_type",
        "disability_grade",
        "labour_capacity",
        "work_status",
        "work_place",
        "medical_insurance",
        "pension_insurance",
        "dibao",
        "tekun",
        "death_date",
    )

    household = models.ForeignKey(Household, verbose_name=_("所属户"), on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    id_number_hash = models.CharField(_("身份证号哈希"), max_length=64, unique=True, editable=False)
    id_number_encrypted = models.TextField(_("身份证号密文"), editable=False)
    id_number_tail = models.CharField(_("身份证号后四位"), max_length=4, db_index=True, editable=False)
    id_region_prefix = models.CharField(_("身份证号地区码"), max_length=6, editable=False)
    sex = models.CharField(_("性别"), max_length=1, choices=c.SEXES, editable=False)
    birth_date = models.DateField(_("出生日期"), editable=False)
    relationship = models.CharField(_("与户主关系"), max_length=8, choices=c.RELATIONSHIPS)
    ethnicity = models.CharField(_("民族"), max_length=8, blank=True, choices=c.ETHNICITIES)
    education = models.CharField(_("文化程度"), max_length=8, blank=True, choices=c.EDUCATION_LEVELS)
    school_status = models.CharField(_("在校生情况"), max_length=8, blank=True, choices=c.SCHOOL_STATUSES)
    # 健康状况 allows combinations (policy.md §11): a disabled person may be chronically or
    # seriously ill as well. Illness and disability are therefore two fields.
    health = models.CharField(_("健康状况"), max_length=8, default="健康", choices=c.ILLNESSES)
    disabled = models.BooleanField(_("残疾"), default=False)
    disability_type = models.CharField(_("残疾类别"), max_length=4, blank=True, choices=c.DISABILITY_TYPES)
    disability_grade = models.CharField(_("残疾等级"), max_length=4, blank=True, choices=c.DISABILITY_GRADES)
    labour_capacity = models.CharField(_("劳动技能"), max_length=12, blank=True, choices=c.LABOUR_CAPACITIES)
    work_status = models.CharField(_("务工状况"), max_length=8, blank=True, choices=c.WORK_STATUSES)
    work_place = models.CharField(_("务工所在地"), max_length=100, blank=True)
    medical_insurance = models.BooleanField(_("参加基本医疗保险"), default=True)
    pension_insurance = models.BooleanField(_("参加基本养老保险"), default=False)
    dibao = models.BooleanField(_("享受低保"), default=False)
    tekun = models.BooleanField(_("特困供养"), default=False)
    death_date = models.DateField(_("死亡日期"), null=True, blank=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["household_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disabled=True) | (models.Q(disability_type="") & models.Q(disability_grade="")),
                name="disability_details_need_disabled",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number_masked(self) -> str:
        # Region prefix and tail are all a masked display needs; the ciphertext stays closed.
        return mask(self.id_region_prefix[:4] + "0" * 10 + self.id_number_tail)

    @property
    def is_deceased(self) -> bool:
        return self.death_date is not None

    @property
    def health_labels(self) -> list[str]:
        """健康状况 as the collection form writes it: 健康, or each illness and 残疾."""
        labels = [self.health] if self.health != c.HEALTHY or not self.disabled else []
        return [*labels, DISABLED] if self.disabled else labels

    @property
    def health_display(self) -> str:
        return "、".join(self.health_labels)

    def age(self, on: dt.date | None = None) -> int:
        on = on or dt.date.today()
        return on.year - self.birth_date.year - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))


class AnnualAccount(models.Model):
    """年度收支: a household's income components and rigid expenditures for one year.

    Net income (家庭纯收入) and per-capita net income (人均纯收入) are derived here and never
    stored (policy.md §4.2): net = wage + operating − operating cost + property + transfer.
    """

    region_field = "household__village__pk"

    household = models.ForeignKey(
        Household, verbose_name=_("所属户"), on_delete=models.CASCADE, related_name="accounts"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    wage_income = money(_("工资性收入"))
    operating_income = money(_("生产经营性收入"))
    operating_cost = money(_("生产经营性支出"))
    property_income = money(_("财产性收入"))
    transfer_income = money(_("转移性收入"))
    population = models.PositiveSmallIntegerField(_("家庭人口数"))
    medical_expense = money(_("合规自付医疗支出"))
    education_expense = money(_("教育支出"))

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("年度收支")
        verbose_name_plural = _("年度收支")
        ordering = ["household_id", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["household", "year"], name="one_account_per_household_year"),
            models.CheckConstraint(condition=models.Q(population__gte=1), name="account_population_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.year}"

    @property
    def net_income(self) -> Decimal:
        return (
            self.wage_income + self.operating_income - self.operating_cost + self.property_income + self.transfer_income
        )

    @property
    def per_capita_net_income(self) -> Decimal:
        return (self.net_income / self.population).quantize(Decimal("0.01"))

    @property
    def rigid_expense(self) -> Decimal:
        return self.medical_expense + self.education_expense


class ChangeRecord(models.Model):
    """One field's change on a household, member or account: who, when, before → after.

    Values of protected fields are recorded masked (the ID number) — history must not become
    a side door to the plaintext.
    """

    region_field = "household__village__pk"

    household = models.ForeignKey(Household, verbose_name=_("所属户"), on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(_("来源"), max_length=64)  # "web", "import:<job id>", "synth", …
    object_type = models.CharField(_("对象"), max_length=16)  # household / member / account
    object_label = models.CharField(_("对象名称"), max_length=100)
    field = models.CharField(_("字段"), max_length=64)
    before = models.TextField(_("修改前"), blank=True)
    after = models.TextField(_("修改后"), blank=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("变更记录")
        verbose_name_plural = _("变更记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.object_label}.{self.field}: {self.before} → {self.after}"


class DuplicateCandidate(models.Model):
    """疑似一人多户: two members that are probably one person, found by the linkage model.

    Found by a background job over a region's members; a person decides. A pair decided
    "distinct" is never proposed again; re-running the job keeps every decision.
    """

    region_field = "member_a__household__village__pk"

    class Decision(models.TextChoices):
        PENDING = "pending", _("待核实")
        SAME = "same", _("确认为同一人")
        DISTINCT = "distinct", _("不是同一人")

    member_a = models.ForeignKey(Member, verbose_name=_("成员甲"), on_delete=models.CASCADE, related_name="+")
    member_b = models.ForeignKey(Member, verbose_name=_("成员乙"), on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(_("匹配概率"))
    reason = models.CharField(_("依据"), max_length=32)
    found_at = models.DateTimeField(_("发现时间"), auto_now=True)
    decision = models.CharField(_("核实结论"), max_length=16, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核实人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("核实时间"), null=True, blank=True)

    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("疑似一人多户")
        verbose_name_plural = _("疑似一人多户")
        ordering = ["decision", "-probability", "id"]
        constraints = [
            models.UniqueConstraint(fields=["member_a", "member_b"], name="one_candidate_per_pair"),
            models.CheckConstraint(
                condition=models.Q(member_a__lt=models.F("member_b")), name="candidate_pair_ordered"
            ),
        ]

    REASONS = {
        "same_id_hash": _("身份证号相同"),
        "same_name": _("姓名相同"),
        "homophone_name": _("姓名同音"),
        "similar_name": _("姓名相近"),
    }

    def __str__(self) -> str:
        return f"{self.member_a_id} ~ {self.member_b_id}"

    @property
    def reason_display(self) -> str:
        return str(self.REASONS.get(self.reason, self.reason))
