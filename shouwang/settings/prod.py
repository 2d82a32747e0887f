"""Production: every key must come from the environment; nothing is generated."""

from django.core.exceptions import ImproperlyConfigured

from shouwang.settings.base import *  # noqa: F403

for _name in ("SECRET_KEY", "SHOUWANG_HASH_KEY", "SHOUWANG_DATA_KEY"):
    if not globals()[_name]:
        raise ImproperlyConfigured(f"{_name} must be set in the environment in production")

DEBUG = False
SESSION_COOKIE_SECURE = os.environ.get("SHOUWANG_HTTPS", "1") == "1"  # noqa: F405
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
