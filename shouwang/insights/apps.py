from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "shouwang.insights"
    verbose_name = _("统计分析")

    def ready(self) -> None:
        # The change hooks, the worker's housekeeping and the report job.
        from shouwang.insights import refresh, reports, signals  # noqa: F401
