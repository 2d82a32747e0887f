from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "shouwang.core"
    verbose_name = "核心"

    def ready(self) -> None:
        from shouwang.core.logging import install_record_masking

        install_record_masking()
