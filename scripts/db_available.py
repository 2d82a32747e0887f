"""Exit 0 if the PostgreSQL URL given answers, 1 otherwise (used by `make test`)."""

import sys

import psycopg

try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
except Exception:
    sys.exit(1)
