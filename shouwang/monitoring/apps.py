from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "shouwang.monitoring"
    verbose_name = _("监测帮扶")
