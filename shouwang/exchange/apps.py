from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "shouwang.exchange"
    verbose_name = _("部门数据交换")

    def ready(self) -> None:
        from shouwang.exchange import jobs  # noqa: F401  (registers the job handler)
