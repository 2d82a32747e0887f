"""The embedded default: SQLite, demo keys generated once into the data directory."""

from shouwang.core.keys import load_or_create_demo_keys
from shouwang.settings.base import *  # noqa: F403
from shouwang.settings.base import DATA_DIR

_keys = load_or_create_demo_keys(DATA_DIR / "demo-keys.env")
SECRET_KEY = SECRET_KEY or _keys["SHOUWANG_SECRET_KEY"]  # noqa: F405
SHOUWANG_HASH_KEY = SHOUWANG_HASH_KEY or _keys["SHOUWANG_HASH_KEY"]  # noqa: F405
SHOUWANG_DATA_KEY = SHOUWANG_DATA_KEY or _keys["SHOUWANG_DATA_KEY"]  # noqa: F405
SHOUWANG_SHOW_DEMO_HINT = True
# The demo serves static files straight from the source tree (no collectstatic step).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
