from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "shouwang.screening"
    verbose_name = "筛查预警"
