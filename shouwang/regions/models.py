"""Administrative divisions (行政区划), NBS statistical codes; the hierarchy is the code prefix."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("省")
    PREFECTURE = 2, _("市")
    COUNTY = 3, _("县")
    TOWNSHIP = 4, _("乡镇")
    VILLAGE = 5, _("村")


# Code length at each level: 52 / 5226 / 522630 / 522630101 / 522630101201
CODE_LENGTHS = {Level.PROVINCE: 2, Level.PREFECTURE: 4, Level.COUNTY: 6, Level.TOWNSHIP: 9, Level.VILLAGE: 12}
LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}


class Region(models.Model):
    """One division. Its code is its own prefix path: a subtree is `code LIKE '<code>%'`."""

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级区划"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def contains(self, code: str) -> bool:
        return code.startswith(self.code)

    def ancestors(self) -> list[Region]:
        """From the province down to the parent, in one query."""
        codes = [self.code[:n] for n in (2, 4, 6, 9) if n < len(self.code)]
        return list(Region.objects.filter(code__in=codes).order_by("level"))

    @property
    def full_name(self) -> str:
        return "".join(r.name for r in [*self.ancestors(), self] if r.name != "市辖区")
