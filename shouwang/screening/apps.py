from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "shouwang.screening"
    verbose_name = _("筛查预警")

    def ready(self) -> None:
        # The job handler, the re-screen after feed batches, the monthly schedule's housekeeping.
        from shouwang.screening import jobs, rescreen, schedule  # noqa: F401
