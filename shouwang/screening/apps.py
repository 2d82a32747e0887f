from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "shouwang.screening"
    verbose_name = "筛查预警"

    def ready(self) -> None:
        from shouwang.screening import jobs, rescreen  # noqa: F401  (the job handler; re-screens after feed batches)
