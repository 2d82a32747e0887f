from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "shouwang.registry"
    verbose_name = "农户信息库"

    def ready(self) -> None:
        # Registers the registry's job handlers, so the worker knows it without the URLconf.
        from shouwang.registry import duplicates, importing  # noqa: F401
