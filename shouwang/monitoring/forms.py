"""Forms of the monitoring pages. They check shapes (dates, numbers, lengths); the procedure
checks the rules (`procedure.ProcedureError`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shouwang.monitoring import catalogue
from shouwang.monitoring.models import Case, Category, EliminationMethod, MeasureStatus, RiskCause


class DateInput(forms.DateInput):
    """The browser's date picker, which takes only ISO dates (not the locale's format)."""

    input_type = "date"

    def __init__(self, attrs: Any = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def today() -> Any:
    return timezone.localdate()


class Styled(forms.Form):
    """Bootstrap's classes on every widget, small, for dense pages and phones alike."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.NullBooleanSelect):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control form-control-sm")


class VersionForm(Styled):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class HomeVisitForm(VersionForm):
    visited_on = forms.DateField(label=_("走访日期"), widget=DateInput, initial=today)
    findings = forms.CharField(label=_("核实情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    authorisation = forms.FileField(label=_("承诺授权书（签字扫描件或照片，PDF/JPG/PNG）"), required=False)


class ProposeForm(VersionForm):
    category = forms.ChoiceField(label=_("监测对象类别"), choices=[("", "—"), *Category.choices], required=False)
    causes = forms.MultipleChoiceField(
        label=_("风险类型（最多 5 项）"), choices=RiskCause.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class ReasonForm(VersionForm):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=300)


class AppraisalForm(VersionForm):
    held_on = forms.DateField(label=_("评议日期"), widget=DateInput, initial=today)
    participants = forms.IntegerField(label=_("参会人数"), min_value=1, max_value=10000)
    agree = forms.IntegerField(label=_("同意"), min_value=0, max_value=10000)
    disagree = forms.IntegerField(label=_("不同意"), min_value=0, max_value=10000)
    opinion = forms.CharField(label=_("评议意见"), required=False, max_length=300)
    minutes = forms.FileField(label=_("评议记录（可选，PDF/JPG/PNG）"), required=False)


class DecisionForm(VersionForm):
    decision = forms.ChoiceField(choices=[("approve", _("同意")), ("return", _("退回"))], widget=forms.RadioSelect)
    opinion = forms.CharField(label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=300)
    method = forms.ChoiceField(label=_("风险消除方式"), choices=[("", "—"), *EliminationMethod.choices], required=False)


class NoticeForm(Styled):
    starts_on = forms.DateField(label=_("公示开始"), widget=DateInput, initial=today)
    ends_on = forms.DateField(label=_("公示截止"), widget=DateInput)
    cases: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("公示对象"),
        queryset=Case.objects.none(),  # the village's, set in __init__
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, cases: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["cases"]
        field.queryset = cases  # type: ignore[attr-defined]
        field.label_from_instance = lambda c: (  # type: ignore[attr-defined]
            f"{c.household.number if c.household else c.applicant_name}（{c.get_kind_display()}）"
        )


class ObjectionForm(Styled):
    case = forms.IntegerField(widget=forms.HiddenInput)
    received_on = forms.DateField(label=_("收到日期"), widget=DateInput, initial=today)
    content = forms.CharField(label=_("异议内容"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)


class SettleForm(Styled):
    objection = forms.IntegerField(widget=forms.HiddenInput)
    upheld = forms.ChoiceField(label=_("处理结果"), choices=[("no", _("异议不成立")), ("yes", _("异议成立"))])
    resolution = forms.CharField(label=_("处理意见"), max_length=300)


def measure_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [(name, [(f"{name}|{sub}", sub) for sub in c.subtypes]) for name, c in catalogue.categories().items()]


class MeasureForm(Styled):
    kind = forms.ChoiceField(label=_("措施"), choices=measure_choices)
    content = forms.CharField(label=_("措施内容"), max_length=300)
    responsible = forms.CharField(label=_("责任人"), max_length=50)
    starts_on = forms.DateField(label=_("开始日期"), widget=DateInput, initial=today)
    ends_on = forms.DateField(label=_("结束日期"), widget=DateInput, required=False)
    funds = forms.DecimalField(label=_("投入资金（元）"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    status = forms.ChoiceField(label=_("状态"), choices=MeasureStatus.choices, initial=MeasureStatus.IN_PROGRESS)
    effect = forms.CharField(label=_("帮扶成效"), max_length=300, required=False)

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["category"], data["subtype"] = data.pop("kind").split("|", 1)
        return data


class Unchanged(forms.NullBooleanSelect):
    """A visit corrects a fact or leaves it as the registry has it."""

    def __init__(self, attrs: Any = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", _("不变")), ("true", _("是")), ("false", _("否"))]


class VisitForm(Styled):
    visited_on = forms.DateField(label=_("走访日期"), widget=DateInput, initial=today)
    findings = forms.CharField(label=_("走访情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    food_clothing_ok = forms.NullBooleanField(label=_("不愁吃穿"), required=False, widget=Unchanged)
    water_quantity_ok = forms.NullBooleanField(label=_("饮水水量达标"), required=False, widget=Unchanged)
    water_quality_ok = forms.NullBooleanField(label=_("饮水水质达标"), required=False, widget=Unchanged)
    water_convenience_ok = forms.NullBooleanField(label=_("用水方便"), required=False, widget=Unchanged)
    water_reliability_ok = forms.NullBooleanField(label=_("供水保证率达标"), required=False, widget=Unchanged)
    housing_grade = forms.ChoiceField(
        label=_("住房安全等级"),
        required=False,
        choices=[("", _("不变")), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")],
    )
    new_risk_causes = forms.MultipleChoiceField(
        label=_("发现新的风险"), choices=RiskCause.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    FLAGS = (
        "food_clothing_ok",
        "water_quantity_ok",
        "water_quality_ok",
        "water_convenience_ok",
        "water_reliability_ok",
    )

    def updates(self) -> dict[str, Any]:
        data = self.cleaned_data
        out = {name: data[name] for name in self.FLAGS if data.get(name) is not None}
        if data.get("housing_grade"):
            out["housing_grade"] = data["housing_grade"]
        return out


class ReportRiskForm(Styled):
    reason = forms.CharField(label=_("发现的风险情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class ApplicationForm(Styled):
    """自主申报: what the household says; nothing more is asked or kept."""

    name = forms.CharField(label=_("申请人姓名"), max_length=50)
    id_number = forms.CharField(label=_("身份证号"), max_length=24)
    phone = forms.CharField(label=_("联系电话"), max_length=20)
    reason = forms.CharField(
        label=_("遇到的困难"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
        help_text=_("如：家人患病住院、遭受灾害、失业返乡等"),
    )


class StaffApplicationForm(ApplicationForm):
    village = forms.ChoiceField(label=_("所在村"))
    channel = forms.ChoiceField(
        label=_("申报方式"), choices=[("self_hotline", _("热线电话")), ("self_in_person", _("到村申请"))]
    )

    def __init__(self, *args: Any, villages: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = villages  # type: ignore[attr-defined]
