from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "shouwang.registry"
    verbose_name = _("农户信息库")

    def ready(self) -> None:
        # Registers the registry's job handlers, so the worker knows it without the URLconf.
        from shouwang.registry import duplicates, importing  # noqa: F401
