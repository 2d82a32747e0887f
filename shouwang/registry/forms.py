"""Forms of the registry's web UI: the household list filter and the edit forms.

Edit forms carry a `version` of the record as it was when the form was loaded; the view
refuses to save when the record has changed since (optimistic concurrency, see views).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, cast

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from shouwang.regions.models import Level, Region
from shouwang.registry import choices as c
from shouwang.registry.models import Household, Member
from shouwang.registry.templatetags.registry_ui import short_region_name

ID_TAIL = re.compile(r"^[0-9]{0,3}[0-9Xx]$")

HOUSEHOLD_EDITABLE = Household.EDITABLE_FIELDS
MEMBER_EDITABLE = Member.EDITABLE_FIELDS


# The labels of the national code lists are stored values (see choices.py); listed here so that
# makemessages picks them up and the English UI can show them ({% translate value %}).
CODE_LABELS = (
    gettext_noop("脱贫户"),
    gettext_noop("一般农户"),
    gettext_noop("脱贫不稳定户"),
    gettext_noop("边缘易致贫户"),
    gettext_noop("突发严重困难户"),
    gettext_noop("未纳入"),
    gettext_noop("监测中"),
    gettext_noop("风险已消除"),
    # 与户主关系 under its own context: "女" is a daughter here and female as a sex.
    pgettext_lazy("relationship", "户主"),
    pgettext_lazy("relationship", "配偶"),
    pgettext_lazy("relationship", "子"),
    pgettext_lazy("relationship", "女"),
    pgettext_lazy("relationship", "儿媳"),
    pgettext_lazy("relationship", "女婿"),
    pgettext_lazy("relationship", "孙子女"),
    pgettext_lazy("relationship", "父母"),
    pgettext_lazy("relationship", "祖父母"),
    pgettext_lazy("relationship", "兄弟姐妹"),
    pgettext_lazy("relationship", "其他"),
    gettext_noop("其他"),
    gettext_noop("健康"),
    gettext_noop("长期慢性病"),
    gettext_noop("患有大病"),
    gettext_noop("残疾"),
    gettext_noop("技能劳动力"),
    gettext_noop("普通劳动力"),
    gettext_noop("弱劳动力或半劳动力"),
    gettext_noop("丧失劳动力"),
    gettext_noop("无劳动力"),
    gettext_noop("务农"),
    gettext_noop("县内务工"),
    gettext_noop("省内县外务工"),
    gettext_noop("省外务工"),
    gettext_noop("公益岗位"),
    gettext_noop("自主创业"),
    gettext_noop("无业"),
    gettext_noop("在校"),
    gettext_noop("不适用"),
    gettext_noop("男"),
    gettext_noop("女"),
)


def translated(choices: list[tuple[str, str]], context: str = "") -> list[tuple[str, Any]]:
    """Choices whose labels follow the active language; the stored values stay Chinese."""
    if context:
        return [(value, pgettext_lazy(context, label)) for value, label in choices]
    return [(value, _(label)) for value, label in choices]


def _blank_first(choices: list[tuple[str, str]], label: Any = None) -> list[tuple[str, Any]]:
    return [("", label or _("全部")), *translated(choices)]


def region_choices(region: Region | None, *, depth: int = 2) -> list[tuple[str, Any]]:
    """The regions below `region`, down `depth` levels (a county: townships and their villages).

    Grouped by the first level below, so a county officer picks 乡镇 or a village under it.
    """
    if region is None or region.level >= Level.VILLAGE:
        return []
    lowest = min(region.level + depth, Level.VILLAGE)
    rows = list(
        Region.objects.filter(code__startswith=region.code, level__gt=region.level, level__lte=lowest)
        .order_by("code")
        .values_list("code", "name", "level")
    )
    choices: list[tuple[str, Any]] = [("", _("全部"))]
    for code, name, level in rows:
        indent = "\u3000" * (level - region.level - 1)
        choices.append((code, f"{indent}{short_region_name(name)}"))
    return choices


class PlainSelect(forms.Select):
    """A select written out in Python, the same markup as Django's templates give it.

    Django renders every option through two included templates (~0.3 ms each): a county's
    region filter lists some 600 townships and villages, which made the household list spend
    most of its time drawing one select.
    """

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts: list[str] = [format_html('<select name="{}"{}>', widget["name"], _attrs(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(
                    format_html(
                        '\n  <option value="{}"{}>{}</option>\n',
                        str(option["value"]),
                        _attrs(option["attrs"]),
                        option["label"],
                    )
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


def _attrs(attrs: dict[str, Any]) -> str:
    """Django's attrs.html: `name="value"`, a bare name for True, nothing for False."""
    out = []
    for key, value in attrs.items():
        if value is True:
            out.append(format_html(" {}", key))
        elif value is not False:
            out.append(format_html(' {}="{}"', key, str(value)))
    return mark_safe("".join(out))  # noqa: S308 - escaped by format_html


class HouseholdFilterForm(forms.Form):
    """The household list's filters; every value is optional and validated against the scope."""

    region = forms.ChoiceField(label=_("乡镇/村"), required=False, widget=PlainSelect)
    household_type = forms.ChoiceField(label=_("户类型"), required=False, choices=_blank_first(c.HOUSEHOLD_TYPES))
    monitoring_state = forms.ChoiceField(label=_("监测状态"), required=False, choices=_blank_first(c.MONITORING_STATES))
    housing_unsafe = forms.BooleanField(label=_("仅住房不安全（C/D级）"), required=False)
    name = forms.CharField(
        label=_("姓名"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("户主或成员姓名")}),
    )
    id_tail = forms.CharField(
        label=_("身份证号后四位"),
        required=False,
        max_length=4,
        widget=forms.TextInput(attrs={"placeholder": _("如 123X"), "inputmode": "text"}),
    )

    def __init__(self, *args: Any, scope: Region | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        choices = region_choices(scope)
        # A link may name a division deeper than the select lists (a village, for a prefecture
        # viewer): offer it too, if it lies inside the scope.
        wanted = str(self.data.get("region") or "") if self.is_bound else ""
        if scope is not None and wanted.startswith(scope.code) and wanted not in {code for code, _l in choices}:
            region = Region.objects.filter(code=wanted).first()
            if region is not None:
                choices.append((region.code, short_region_name(region.name)))
        cast(forms.ChoiceField, self.fields["region"]).choices = choices
        for field in self.fields.values():
            css = (
                "form-check-input"
                if isinstance(field.widget, forms.CheckboxInput)
                else (
                    "form-select form-select-sm"
                    if isinstance(field.widget, forms.Select)
                    else "form-control form-control-sm"
                )
            )
            field.widget.attrs.setdefault("class", css)

    def clean_region(self) -> str:
        code = self.cleaned_data.get("region") or ""
        if code and (self.scope is None or not code.startswith(self.scope.code)):
            raise forms.ValidationError(_("该区划不在您的管辖范围内"))
        return code

    def clean_id_tail(self) -> str:
        tail = (self.cleaned_data.get("id_tail") or "").strip().upper()
        if tail and not ID_TAIL.match(tail):
            raise forms.ValidationError(_("请输入身份证号的最后 1–4 位（数字或 X）"))
        return tail

    def clean_name(self) -> str:
        return (self.cleaned_data.get("name") or "").strip()


class StyledModelForm(forms.ModelForm):
    """Bootstrap classes on every widget, and the record's version as a hidden field."""

    version = forms.CharField(widget=forms.HiddenInput, required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["version"] = self.version_of(self.instance)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select) and isinstance(field, forms.ChoiceField):
                widget.attrs.setdefault("class", "form-select")
                choices: list[Any] = list(cast(Any, field.choices))
                context = "relationship" if name == "relationship" else ""
                if choices and choices[0][0] == "":
                    field.choices = [("", _("（未填写）")), *translated(choices[1:], context)]
                elif choices:
                    field.choices = translated(choices, context)
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    @staticmethod
    def version_of(instance: Any) -> str:
        raise NotImplementedError

    def changed_values(self) -> dict[str, Any]:
        """The cleaned values of the model fields (the action applies only what differs)."""
        return {name: self.cleaned_data[name] for name in self._meta.fields or () if name in self.cleaned_data}


class HouseholdForm(StyledModelForm):
    class Meta:
        model = Household
        fields = HOUSEHOLD_EDITABLE
        widgets = {
            "housing_appraised_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.TextInput(),
        }

    @staticmethod
    def version_of(instance: Household) -> str:
        return instance.updated_at.isoformat() if instance.updated_at else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("household_type") == c.POVERTY_ESCAPED and not data.get("poverty_exit_year"):
            self.add_error("poverty_exit_year", _("脱贫户必须填写脱贫年度"))
        year = data.get("poverty_exit_year")
        # Legacy values stay editable around it; only a newly typed year is checked.
        if year and "poverty_exit_year" in self.changed_data and not 2014 <= year <= 2020:
            self.add_error("poverty_exit_year", _("脱贫年度应在 2014–2020 年之间"))
        touched = {"monitoring_state", "monitoring_category"} & set(self.changed_data)
        if touched and data.get("monitoring_state") == "监测中" and not data.get("monitoring_category"):
            self.add_error("monitoring_category", _("监测中的农户必须选择监测对象类别"))
        return data


def member_version(member: Member) -> str:
    """A fingerprint of every stored value of the member: changes whenever anyone edits it."""
    values = [f"{f.attname}={getattr(member, f.attname)!r}" for f in Member._meta.concrete_fields]
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:32]


class MemberForm(StyledModelForm):
    class Meta:
        model = Member
        fields = MEMBER_EDITABLE
        widgets = {"death_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    @staticmethod
    def version_of(instance: Member) -> str:
        return member_version(instance)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("disabled"):
            if data.get("disability_type"):
                self.add_error("disability_type", _("只有勾选了“残疾”的成员才能填写残疾类别"))
            if data.get("disability_grade"):
                self.add_error("disability_grade", _("只有勾选了“残疾”的成员才能填写残疾等级"))
        return data


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        label=_("姓名或身份证号后四位"),
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={"class": "form-control", "autofocus": True, "placeholder": _("姓名、身份证号后四位或完整身份证号")}
        ),
    )
