"""The county loop: `python benchmarks/bench_county_loop.py [--households N] [--database-url URL]`.

Issue 4 asks that a county of 300,000 members be screened end to end — the registry
snapshotted from the app database, every rule run, the warnings written back — in under 15 s.
This builds such a county the way `make demo` does (the synthetic county in its real
villages, the registry and every department file imported through the app's own import
path), in a fresh data directory and database (SQLite by default; PostgreSQL with
`--database-url postgres://…/<db>`: a scratch database is created beside it and dropped), and
then times `do_screen` for the whole county:

- first: every warning new (the screening that the demo ran is undone first);
- again: the same data, nothing changes (what the monthly run costs most months);
- each step of the run (snapshot, feeds, parameters, engine, write-back) from its progress.

Prints the figures and, last, one JSON line. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNTY, YEAR = "522630", 2025


def _scratch_postgres(url: str) -> tuple[str, Any]:
    """A new database next to the one named in `url`, and how to drop it."""
    import psycopg

    base = url.replace("postgres://", "postgresql://", 1)
    name = f"bench_loop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.rsplit("/", 1)[0] + "/" + name, drop


def timed_screen(label: str) -> dict[str, Any]:
    from shouwang.screening.actions import do_screen

    marks: list[tuple[str, float]] = []

    def report(done: int, total: int, message: str = "") -> None:
        marks.append((message, time.perf_counter()))

    started = time.perf_counter()
    run = do_screen(COUNTY, YEAR, report=report)
    seconds = time.perf_counter() - started
    steps = {marks[i][0]: round(marks[i + 1][1] - marks[i][1], 3) for i in range(len(marks) - 1)}
    figures = {
        "seconds": round(seconds, 3),
        "steps": steps,
        "engine_seconds": run.manifest.get("timings", {}).get("total"),
        "warnings": run.warnings_total,
        "new": run.warnings_new,
        "unchanged": run.warnings_unchanged,
    }
    print(f"{label}: {seconds:.2f} s, {run.warnings_total:,} warnings ({run.warnings_new:,} new); steps {steps}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=80_000, help="households (80,000 ≈ 300,000 members)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="", help="postgres://… to run on PostgreSQL (a scratch db is made)")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="build the county once into DIR (and, with --database-url, into that very database) "
        "and reuse it on the next runs: the build takes 15–20 min, the timed runs seconds",
    )
    args = parser.parse_args()

    drop = None
    with contextlib.ExitStack() as stack:
        tmp = args.keep or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-county-loop-"))
        Path(tmp).mkdir(parents=True, exist_ok=True)
        marker = Path(tmp) / "county-loop-built.json"
        built = json.loads(marker.read_text()) if args.keep and marker.exists() else None
        if built and built != {"households": args.households, "database_url": args.database_url}:
            raise SystemExit(f"{tmp} holds another build ({built}); use another --keep directory")
        os.environ["SHOUWANG_DATA_DIR"] = tmp
        os.environ["SHOUWANG_RESCREEN_ON_FEED"] = "0"  # the loop is timed as one run, not per batch
        if args.database_url and args.keep:
            os.environ["DATABASE_URL"] = args.database_url  # kept: the caller's database, as it is
        elif args.database_url:
            os.environ["DATABASE_URL"], drop = _scratch_postgres(args.database_url)
        else:
            os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings.dev")
        try:
            import django

            django.setup()
            from django.core.management import call_command
            from django.db import connection

            from shouwang.registry.models import Member
            from shouwang.screening.models import ScreeningRun, Warning

            started = time.perf_counter()
            call_command("migrate", verbosity=0)
            if built is None:
                quiet = io.StringIO()  # setup-demo prints the demo accounts' passwords: not for a benchmark log
                call_command(
                    "setup_demo", county=COUNTY, households=args.households, divisions=COUNTY, verbosity=0, stdout=quiet
                )
                if args.keep:
                    marker.write_text(json.dumps({"households": args.households, "database_url": args.database_url}))
            build = time.perf_counter() - started
            members = Member.objects.count()
            how = "reused" if built else "built"
            print(f"{how} {args.households:,} households, {members:,} members on {connection.vendor} in {build:.0f} s")

            Warning.objects.all().delete()
            ScreeningRun.objects.all().delete()
            first = timed_screen("first (every warning new)")
            again = timed_screen("again (nothing changes)")
            summary = {
                "database": connection.vendor,
                "households": args.households,
                "members": members,
                "first_seconds": first["seconds"],
                "again_seconds": again["seconds"],
                "first": first,
                "again": again,
                "target_seconds": 15,
                "meets_target": first["seconds"] < 15 and again["seconds"] < 15,
                "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "build_seconds": round(build, 1),
            }
            connection.close()
        finally:
            if drop is not None:
                drop()
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
