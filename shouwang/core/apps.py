from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shouwang.core"
    verbose_name = _("核心")

    def ready(self) -> None:
        from shouwang.core.logging import install_record_masking

        install_record_masking()
