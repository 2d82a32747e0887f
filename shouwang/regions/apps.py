from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "shouwang.regions"
    verbose_name = "行政区划"
