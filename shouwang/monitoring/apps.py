from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "shouwang.monitoring"
    verbose_name = "监测帮扶"
