from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "shouwang.screening"
    verbose_name = "筛查预警"

    def ready(self) -> None:
        from shouwang.screening import jobs  # noqa: F401  (registers the job handler)
