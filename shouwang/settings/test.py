"""Tests: fixed throw-away keys, fast hashing, SQLite unless DATABASE_URL names PostgreSQL."""

from shouwang.settings.base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-for-production-0123456789"
SHOUWANG_HASH_KEY = "dGVzdC1oYXNoLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE="
SHOUWANG_DATA_KEY = "dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE="
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {**LOGGING, "root": {"handlers": ["file"], "level": "INFO"}}  # noqa: F405
# Tests run jobs inside their transaction, where a heartbeat from another connection would wait
# for it; the heartbeat's own tests set a short interval.
JOBS_HEARTBEAT_INTERVAL = 3600
