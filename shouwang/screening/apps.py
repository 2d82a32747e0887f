from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "shouwang.screening"
    verbose_name = "筛查预警"

    def ready(self) -> None:
        # The job handler, the re-screen after feed batches, the monthly schedule's housekeeping.
        from shouwang.screening import jobs, rescreen, schedule  # noqa: F401
