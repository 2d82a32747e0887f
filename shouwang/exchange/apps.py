from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "shouwang.exchange"
    verbose_name = "部门数据交换"

    def ready(self) -> None:
        from shouwang.exchange import jobs  # noqa: F401  (registers the job handler)
