"""Page latency at province scale (issue 6): `make bench-pages`, or
`python benchmarks/bench_pages.py --database-url postgres://…/sw_scale [--users 10 --duration 60]`.

Against a database filled by `benchmarks/province_db.py` (10M members of 贵州 for the issue's
figures), this script

1. creates one official per level — province viewer (52), prefecture viewer, county officer,
   township officer, village cadre — in the county, township and village with the most
   households (`bench_*` accounts, a fresh password each run);
2. starts the app under gunicorn (`--workers`, `--threads`) on that database;
3. signs every persona in and requests each page of its plan once, twice: a page answering
   404 is left out (with a note: the dashboards before the insights app exists), any other
   failure too, and the second time of each page is its unloaded ("serial") latency;
4. runs Locust headless in a process of its own — `--users` officials spread over the five
   personas, each requesting the pages of its plan in random order with a think time of
   `--think` seconds — for `--duration` seconds;
5. prints p50 / p95 / p99 per page class (list pages, dashboards) and level, per page, the
   requests per second, and last one JSON line with the targets of issue 6 — dashboards and
   drill-down p95 < 300 ms, list pages p95 < 150 ms — each with its value and pass / fail.

The pages are templates (`PAGES`, or `--page CLASS:LABEL:PATH`): `{region}` is the persona's
own region code, `{child}` one region below it (its largest), `{name}` / `{tail}` a member's
name / last four ID characters in its region. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (class, label, path template): the pages an official opens most.
PAGES: list[tuple[str, str, str]] = [
    ("list", "户籍名册", "/registry/"),
    ("list", "户籍名册 第2页", "/registry/?page=2"),
    ("list", "户籍名册 第10页", "/registry/?page=10"),
    ("list", "户籍名册 脱贫户", "/registry/?household_type=%E8%84%B1%E8%B4%AB%E6%88%B7"),
    ("list", "户籍名册 监测中", "/registry/?monitoring_state=%E7%9B%91%E6%B5%8B%E4%B8%AD"),
    ("list", "户籍名册 下级区划", "/registry/?region={child}"),
    ("list", "户籍名册 按姓名", "/registry/?name={name}"),
    ("list", "成员查询 姓名", "/registry/members/?q={name}"),
    ("list", "成员查询 身份证后四位", "/registry/members/?q={tail}"),
    ("list", "监测待办", "/monitoring/"),
    ("list", "监测案件", "/monitoring/cases/"),
    ("list", "监测案件 入户核实", "/monitoring/cases/?step=verification"),
    ("list", "预警线索", "/screening/"),
    ("list", "预警线索 红色", "/screening/?severity=red"),
    ("list", "预警线索 第2页", "/screening/?page=2"),
    ("dashboard", "驾驶舱", "/insights/"),
    ("dashboard", "驾驶舱 下钻", "/insights/{child}/"),
]
TARGETS_MS = {"dashboard": 300.0, "list": 150.0}
LEVELS = ("province", "prefecture", "county", "township", "village")


def percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {"n": 0}
    a = np.asarray(values)
    return {
        "n": len(values),
        "p50": round(float(np.percentile(a, 50)), 1),
        "p95": round(float(np.percentile(a, 95)), 1),
        "p99": round(float(np.percentile(a, 99)), 1),
        "max": round(float(a.max()), 1),
    }


def setup_personas() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The five officials and the facts their page templates need."""
    from django.db import connection

    from shouwang.accounts.models import User
    from shouwang.accounts.roles import Role
    from shouwang.regions.models import Region

    def largest(prefix: str, width: int) -> str:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT substr(village_id, 1, %s) c, count(*) n FROM registry_household "
                "WHERE village_id LIKE %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
                [width, prefix + "%"],
            )
            row = cur.fetchone()
        if row is None:
            raise SystemExit("the database holds no households: run benchmarks/province_db.py first")
        return row[0]

    province = largest("", 2)
    prefecture = largest(province, 4)
    county = largest(prefecture, 6)
    township = largest(county, 9)
    village = largest(township, 12)
    codes = {"province": province, "prefecture": prefecture, "county": county, "township": township, "village": village}
    children = {
        "province": prefecture,
        "prefecture": county,
        "county": township,
        "township": village,
        "village": village,
    }
    roles = {
        "province": Role.PROVINCE_VIEWER,
        "prefecture": Role.PREFECTURE_VIEWER,
        "county": Role.COUNTY_OFFICER,
        "township": Role.TOWNSHIP_OFFICER,
        "village": Role.VILLAGE_CADRE,
    }
    with connection.cursor() as cur:
        cur.execute(
            "SELECT m.name, m.id_number_tail FROM registry_member m JOIN registry_household h ON h.id = m.household_id "
            "WHERE h.village_id = %s ORDER BY h.number, m.id LIMIT 1",
            [village],
        )
        name, tail = cur.fetchone()
    personas = []
    for level in LEVELS:
        username = f"bench_{level}"
        password = f"Bench-{secrets.token_urlsafe(12)}"
        user, _ = User.objects.get_or_create(username=username)
        user.role, user.region_id, user.is_active = roles[level], codes[level], True
        user.set_password(password)
        user.save()
        personas.append(
            {
                "level": level,
                "username": username,
                "password": password,
                "region": codes[level],
                "region_name": Region.objects.get(code=codes[level]).name,
                "child": children[level],
                "name": name,
                "tail": tail,
            }
        )
    return personas, codes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: argparse.Namespace, port: int, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shouwang.settings.dev",
        # The keys the data was generated with (another --app-dir would have a var/ of its own).
        "SHOUWANG_DATA_DIR": os.environ.get("SHOUWANG_DATA_DIR", str(ROOT / "var")),
        "SHOUWANG_CONN_MAX_AGE": "600",
        "SHOUWANG_DEBUG": "",
    }
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "shouwang.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--worker-class",
        "gthread" if args.threads > 1 else "sync",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    app = Path(args.app_dir).resolve() if args.app_dir else ROOT
    env["PYTHONPATH"] = str(app)
    server = subprocess.Popen(cmd, cwd=app, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)  # noqa: S603
    import requests

    for _ in range(120):
        try:
            if requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: see {log_path}")
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer: see {log_path}")


def login(base: str, persona: dict[str, Any]) -> Any:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    r = session.post(
        f"{base}/accounts/login/",
        data={
            "username": persona["username"],
            "password": persona["password"],
            "csrfmiddlewaretoken": token.group(1) if token else "",
        },
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if r.status_code != 302:
        raise SystemExit(f"login of {persona['username']} failed ({r.status_code})")
    return session


def preflight(base: str, personas: list[dict[str, Any]], pages: list[tuple[str, str, str]]) -> tuple[dict, list]:
    """Each page of each persona twice; keeps the pages that answer 200."""
    serial: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, Any]] = []
    for p in personas:
        session = login(base, p)
        p["session"] = session.cookies.get("sessionid")
        p["urls"] = []
        values = {k: quote(str(p[k])) for k in ("region", "child", "name", "tail")}
        for cls, label, template in pages:
            path = template.format(**values)
            name = f"{p['level']}|{cls}|{label}"
            times, status = [], 0
            for _ in range(2):
                t = time.perf_counter()
                r = session.get(base + path, allow_redirects=False, timeout=120)
                times.append((time.perf_counter() - t) * 1000)
                status = r.status_code
                target = r.headers.get("Location", "")
                if status in (301, 302) and target.startswith("/") and not target.startswith("/accounts/login"):
                    path = target  # `/insights/` sends each official to their own region's page
                    r = session.get(base + path, allow_redirects=False, timeout=120)
                    status = r.status_code
                if status != 200 or times[-1] > 3000:  # a slow page is not fetched twice
                    break
            if status != 200:
                note = "page does not exist (yet)" if status == 404 else f"HTTP {status}"
                skipped.append({"level": p["level"], "page": label, "path": path, "status": status, "note": note})
                continue
            p["urls"].append({"name": name, "path": path})
            serial[name] = {"path": path, "cold_ms": round(times[0], 1), "warm_ms": round(times[-1], 1)}
    return serial, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--users", type=int, default=10, help="concurrent officials (spread over the five levels)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--think", default="0.5-2", help="think time between a user's requests, seconds: MIN-MAX")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--page", action="append", default=[], metavar="CLASS:LABEL:PATH", help="add a page (class list or dashboard)"
    )
    parser.add_argument("--only", default="", help="only pages whose label contains one of these, comma-separated")
    parser.add_argument("--json", dest="json_out", default="", help="write the full results to this file")
    parser.add_argument(
        "--app-dir", default="", help="serve the app from this source tree (another version, for a before/after)"
    )
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings.dev")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("note: not PostgreSQL — the issue's figures are for PostgreSQL", file=sys.stderr)
    pages = list(PAGES)
    for spec in args.page:
        cls, label, path = spec.split(":", 2)
        pages.append((cls, label, path))
    if args.only:
        wanted = [w for w in args.only.split(",") if w]
        pages = [p for p in pages if any(w in p[1] for w in wanted)]
    think_min, think_max = (float(x) for x in args.think.split("-"))
    personas, codes = setup_personas()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname IN "
            "('registry_household', 'registry_member', 'screening_warning', 'monitoring_case')"
        )
        sizes = dict(cur.fetchall())
    connection.close()
    print(f"data: {json.dumps(sizes)}; personas in {json.dumps(codes)}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(args, port, tmp / "server.log")
    try:
        serial, skipped = preflight(base, personas, pages)
        for s in skipped:
            print(f"skipped {s['level']} {s['page']} ({s['path']}): {s['note']}", flush=True)
        plan = {
            "think_min": think_min,
            "think_max": think_max,
            "personas": [p for p in personas if p["urls"]],
        }
        (tmp / "plan.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "BENCH_PLAN": str(tmp / "plan.json"), "BENCH_SAMPLES": str(tmp / "samples.json")}
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "benchmarks" / "locust_pages.py"),
            "--headless",
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.users),
            "--run-time",
            f"{args.duration}s",
            "--host",
            base,
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--stop-timeout",
            "30",
        ]
        print(f"load: {' '.join(cmd[2:])}", flush=True)
        load_before = os.getloadavg()
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own interpreter and arguments
            cmd, cwd=ROOT, env=env, check=False, stdout=(tmp / "locust.log").open("w"), stderr=subprocess.STDOUT
        )
        elapsed = time.perf_counter() - started
        load_after = os.getloadavg()
        samples = json.loads((tmp / "samples.json").read_text())
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    machine = {"cpus": os.cpu_count(), "load_average_before": load_before[0], "load_average_after": load_after[0]}
    report(args, samples, serial, skipped, sizes, codes, elapsed, tmp, machine)


def report(
    args: argparse.Namespace,
    samples: list,
    serial: dict,
    skipped: list,
    sizes: dict,
    codes: dict,
    elapsed: float,
    tmp: Path,
    machine: dict[str, Any],
) -> None:
    page_samples = [s for s in samples if s[0] != "login"]
    errors = [s for s in page_samples if not s[2]]
    by_class: dict[str, list[float]] = {}
    by_level: dict[str, list[float]] = {}
    by_page: dict[str, list[float]] = {}
    for name, ms, _ok in page_samples:
        level, cls, _label = name.split("|", 2)
        by_class.setdefault(cls, []).append(ms)
        by_level.setdefault(f"{cls}|{level}", []).append(ms)
        by_page.setdefault(name, []).append(ms)
    rps = len(page_samples) / max(args.duration, 1)
    print(
        f"\n{len(page_samples):,} page requests in {args.duration} s of load: {rps:.1f} requests/s, "
        f"{len(errors)} failed"
    )
    print(f"\n{'class':<10} {'level':<11} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8}  (ms)")
    for cls in ("list", "dashboard"):
        if cls not in by_class:
            continue
        st = percentiles(by_class[cls])
        print(f"{cls:<10} {'all':<11} {st['n']:>6} {st['p50']:>8} {st['p95']:>8} {st['p99']:>8}")
        for level in LEVELS:
            values = by_level.get(f"{cls}|{level}")
            if values:
                st = percentiles(values)
                print(f"{'':<10} {level:<11} {st['n']:>6} {st['p50']:>8} {st['p95']:>8} {st['p99']:>8}")
    print(f"\n{'page':<44} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'serial':>8}  (ms)")
    pages_out = {}
    for name in sorted(by_page, key=lambda n: (LEVELS.index(n.split("|")[0]), n)):
        st = percentiles(by_page[name])
        warm = serial.get(name, {}).get("warm_ms", "")
        pages_out[name] = {**st, "serial_ms": warm, "path": serial.get(name, {}).get("path", "")}
        level, cls, label = name.split("|", 2)
        print(f"{level + ' ' + label:<44} {st['n']:>5} {st['p50']:>8} {st['p95']:>8} {st['p99']:>8} {warm:>8}")
    targets = []
    for cls, limit in TARGETS_MS.items():
        values = by_class.get(cls)
        if not values:
            targets.append(
                {"target": f"{cls} p95 < {limit:.0f} ms", "value": None, "pass": None, "note": "not measured"}
            )
            continue
        p95 = percentiles(values)["p95"]
        worst = max(
            ((lvl, percentiles(by_level[f"{cls}|{lvl}"])["p95"]) for lvl in LEVELS if f"{cls}|{lvl}" in by_level),
            key=lambda x: x[1],
        )
        targets.append(
            {
                "target": f"{cls} p95 < {limit:.0f} ms",
                "value": p95,
                "pass": p95 < limit,
                "worst_level": worst[0],
                "worst_level_p95": worst[1],
                "every_level_passes": all(
                    percentiles(by_level[f"{cls}|{lvl}"])["p95"] < limit for lvl in LEVELS if f"{cls}|{lvl}" in by_level
                ),
            }
        )
    result = {
        "benchmark": "pages",
        "data": sizes,
        "regions": codes,
        "users": args.users,
        "think_seconds": args.think,
        "duration_seconds": args.duration,
        "server": f"gunicorn {args.workers} workers × {args.threads} threads",
        "app_dir": args.app_dir or str(ROOT),
        "machine": machine,
        "serial": {
            cls: percentiles([v["warm_ms"] for k, v in serial.items() if k.split("|")[1] == cls])
            for cls in ("list", "dashboard")
        },
        "requests": len(page_samples),
        "failed": len(errors),
        "requests_per_second": round(rps, 1),
        "classes": {cls: percentiles(v) for cls, v in by_class.items()},
        "levels": {k: percentiles(v) for k, v in by_level.items()},
        "pages": pages_out,
        "skipped": skipped,
        "targets": targets,
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nserver and load logs: {tmp}")
    print(
        f"machine: {machine['cpus']} CPUs, load average {machine['load_average_before']:.1f} before the load, "
        f"{machine['load_average_after']:.1f} after"
    )
    summary = {"targets": targets, "requests_per_second": round(rps, 1), "failed": len(errors), "machine": machine}
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
