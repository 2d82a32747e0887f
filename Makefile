# Shouwang — two commands on a fresh machine: `make demo` and `make test`.
# Needs only Python >= 3.12 and make; uv is installed if absent.

SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# pyenv hides non-default interpreters behind its shims unless they are named.
export PYENV_VERSION ?= $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[1-9])' | tr '\n' ':' | sed 's/:$$//')
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
HOUSEHOLDS ?= 30000
COUNTY ?= 522630
HOST ?= 127.0.0.1
PORT ?= 8000
# Test databases: SQLite always; PostgreSQL when TEST_POSTGRES_URL answers (CI sets it).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: demo serve env-test bench sql-templates test test-sqlite test-postgres lint typecheck check-seam check-migrations env bench-divisions clean bench-import linkage-quality bench-pages

# uv from pip (a distribution's Python may refuse --user installs without
# --break-system-packages), else pipx, else astral's installer; otherwise say what to do.
$(UV):
	@echo "uv not found: installing it into $(HOME)/.local/bin"
	@python3 -m pip install --user --quiet uv 2>/dev/null \
	  || python3 -m pip install --user --quiet --break-system-packages uv 2>/dev/null \
	  || pipx install --quiet uv 2>/dev/null \
	  || (command -v curl >/dev/null && curl -LsSf https://astral.sh/uv/install.sh | UV_NO_MODIFY_PATH=1 sh) \
	  || (command -v wget >/dev/null && wget -qO- https://astral.sh/uv/install.sh | UV_NO_MODIFY_PATH=1 sh) \
	  || { echo >&2 "Could not install uv (no pip, pipx, curl or wget that worked)."; \
	       echo >&2 "Install it by hand — see https://docs.astral.sh/uv/getting-started/installation/ —"; \
	       echo >&2 "or put a uv binary on PATH (offline: copy one from a machine that has it), then run make again."; \
	       exit 1; }
	@test -x "$(UV)" || { echo >&2 "uv was installed but not at $(UV): put it on PATH and run make again."; exit 1; }

env: $(UV)
	$(UV) sync --frozen

# The tests also run the screening rules on local Spark (the `spark` group: PySpark, ~450 MB)
# and check them against the pandas baseline of the benchmark (the `bench` group).
env-test: $(UV)
	$(UV) sync --frozen --group spark --group bench

demo: env
	$(RUN) shouwang migrate --no-input -v0
	$(RUN) shouwang setup-demo --county $(COUNTY) --households $(HOUSEHOLDS)
	$(MAKE) --no-print-directory serve

serve:
	@bash scripts/serve-demo.sh $(HOST) $(PORT)

test: env-test lint check-seam typecheck check-migrations test-sqlite test-postgres

test-sqlite:
	$(RUN) pytest -q -p no:cacheprovider -n 2 --dist loadfile

test-postgres:
	@if $(RUN) python scripts/db_available.py "$(TEST_POSTGRES_URL)"; then \
		DATABASE_URL="$(TEST_POSTGRES_URL)" $(RUN) pytest -q -p no:cacheprovider -n 2 --dist loadfile -m "not browser and not slow and not spark"; \
	else echo "PostgreSQL at $(TEST_POSTGRES_URL) not reachable: PostgreSQL run skipped"; \
		if [ -n "$$CI" ]; then exit 1; fi; fi

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck:
	$(RUN) mypy engine shouwang

check-seam:
	$(RUN) lint-imports

bench-divisions: env
	SHOUWANG_DATA_DIR=$$(mktemp -d) bash -c '$(RUN) shouwang migrate -v0 && $(RUN) shouwang load-divisions --json'

clean:
	rm -rf var .venv

check-migrations:
	DJANGO_SETTINGS_MODULE=shouwang.settings.test $(RUN) python manage.py makemigrations --check --dry-run -v0

# The rule library's SQL transpiled ahead (engine/screening/compiled.json), after a rule changes;
# engine/tests/test_screening_compiled.py fails until it is written again.
sql-templates: env-test
	$(RUN) python -m engine.screening.compiled

# Screening throughput against DuckDB's own bound and a pandas baseline; SCALE=10 for a province.
bench: env-test
	$(RUN) python benchmarks/bench_screening.py $(if $(SCALE),--scale $(SCALE),)

bench-import: env
	$(RUN) python benchmarks/bench_import.py $(if $(ROWS),--rows $(ROWS),)

# Page latency at province scale (issue 6), on PostgreSQL only: fills BENCH_DB (emptied first)
# with MEMBERS synthetic members of 贵州 (10M ≈ 15 min), refreshes the dashboards' figures,
# then loads the pages from a second process (Locust). MEMBERS=0 reuses the data already there.
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/sw_scale
MEMBERS ?= 10000000
bench-pages: $(UV)
	$(UV) sync --frozen --inexact --group bench
	DATABASE_URL="$(BENCH_DB)" $(RUN) shouwang migrate --no-input -v0
	DATABASE_URL="$(BENCH_DB)" $(RUN) shouwang load-divisions --region 52
	@if [ "$(MEMBERS)" != "0" ]; then \
		DATABASE_URL="$(BENCH_DB)" $(RUN) python benchmarks/province_db.py --members $(MEMBERS) --reset && \
		DATABASE_URL="$(BENCH_DB)" $(RUN) shouwang refresh-insights; fi
	DATABASE_URL="$(BENCH_DB)" $(RUN) python benchmarks/bench_pages.py $(if $(USERS),--users $(USERS),) $(if $(DURATION),--duration $(DURATION),)

linkage-quality: env
	$(RUN) python benchmarks/linkage_quality.py --households $(HOUSEHOLDS)
