"""The configured `Protector` for the operational app (keys from settings)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from engine.protect import Protector


@cache
def protector() -> Protector:
    return Protector.from_settings(
        settings.SHOUWANG_CIPHER_SUITE, settings.SHOUWANG_HASH_KEY, settings.SHOUWANG_DATA_KEY
    )
