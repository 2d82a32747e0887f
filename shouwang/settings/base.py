"""Settings shared by every deployment; configuration comes from the environment.

DATABASE_URL            default: SQLite file under the data directory (the embedded default)
SHOUWANG_DATA_DIR       columnar files, uploads, exports, logs (default: ./var)
SHOUWANG_SECRET_KEY     Django's signing key
SHOUWANG_HASH_KEY       keyed-hash key for ID numbers (urlsafe base64, 32 bytes)
SHOUWANG_DATA_KEY       encryption key for ID numbers (urlsafe base64, 32 bytes)
SHOUWANG_CIPHER_SUITE   "aes" (AES-256-GCM + HMAC-SHA-256) or "sm" (SM4-GCM + HMAC-SM3)
SHOUWANG_DEBUG          "1" for development
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(os.environ.get("SHOUWANG_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("SHOUWANG_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("SHOUWANG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "shouwang.core",
    "shouwang.regions",
    "shouwang.accounts",
    "shouwang.registry",
    "shouwang.jobs",
    "shouwang.exchange",
    "shouwang.screening",
    "shouwang.monitoring",
    "shouwang.insights",
    "shouwang.api",
    "ninja",
    "shouwang.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "shouwang.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shouwang.urls"
WSGI_APPLICATION = "shouwang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "shouwang" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shouwang.core.context_processors.navigation",
                "shouwang.monitoring.context_processors.task_count",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'shouwang.sqlite3'}",
        conn_max_age=int(os.environ.get("SHOUWANG_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the job worker write while the web process reads; a busy timeout instead of
    # "database is locked" errors under the two processes of `make demo`.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }

# A shared cache (API rate limits) needs Redis when several web processes serve; the
# embedded default is one process, where local memory suffices.
_redis = os.environ.get("SHOUWANG_REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis}
        if _redis
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shouwang"}
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "shouwang" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start-up about a missing one
STATICFILES_DIRS = [BASE_DIR / "shouwang" / "static"]
MEDIA_ROOT = DATA_DIR / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
REGISTRY_UPLOAD_MAX_BYTES = int(os.environ.get("SHOUWANG_UPLOAD_MAX_BYTES", 200 * 1024 * 1024))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Protected personal data (see engine.protect)
SHOUWANG_CIPHER_SUITE = os.environ.get("SHOUWANG_CIPHER_SUITE", "aes")
SHOUWANG_HASH_KEY = os.environ.get("SHOUWANG_HASH_KEY", "")
SHOUWANG_DATA_KEY = os.environ.get("SHOUWANG_DATA_KEY", "")
SECRET_KEY = os.environ.get("SHOUWANG_SECRET_KEY", "")

# The job worker polls this often when the queue is empty (seconds).
JOBS_POLL_INTERVAL = float(os.environ.get("SHOUWANG_JOBS_POLL_INTERVAL", "1.0"))
# A running job's worker renews its heartbeat this often (seconds); a job silent for
# JOBS_STALE_AFTER seconds has lost its worker and is failed (see shouwang.jobs.runner).
JOBS_HEARTBEAT_INTERVAL = float(os.environ.get("SHOUWANG_JOBS_HEARTBEAT_INTERVAL", "30"))
JOBS_STALE_AFTER = float(os.environ.get("SHOUWANG_JOBS_STALE_AFTER", "300"))
# A committed or withdrawn department batch re-screens what it touched (shouwang.screening.rescreen).
SHOUWANG_RESCREEN_ON_FEED = os.environ.get("SHOUWANG_RESCREEN_ON_FEED", "1") not in ("0", "false", "no")

LOG_DIR = DATA_DIR / "logs"
LOG_DIR.mkdir(parents=True, exist_ok=True)
# Every handler masks ID numbers (a filter on a handler also sees the records propagated to it;
# one on a logger would not). Django's own loggers are redefined here because Django configures
# them first with handlers of its own — runserver's access log among them, which would write a
# full ID number in a query string to the console — and a later dictConfig leaves the handlers
# of loggers it does not name in place. test_logging.py checks every handler of every logger.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_ids": {"()": "shouwang.core.logging.MaskIDNumbersFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_ids"], "formatter": "plain"},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(LOG_DIR / "shouwang.log"),
            "maxBytes": 20 * 1024 * 1024,
            "backupCount": 5,
            "encoding": "utf-8",
            "filters": ["mask_ids"],
            "formatter": "plain",
        },
        "django.server": {"class": "logging.StreamHandler", "filters": ["mask_ids"], "formatter": "django.server"},
    },
    "root": {"handlers": ["console", "file"], "level": "INFO"},
    "loggers": {
        # Django's default handlers (console when DEBUG, mail to ADMINS) give way to the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's access log: its own console format, and the log file.
        "django.server": {"handlers": ["django.server", "file"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "splink": {"level": "WARNING"},
    },
}

SHOUWANG_TITLE = _("守望 · 防止返贫动态监测")
