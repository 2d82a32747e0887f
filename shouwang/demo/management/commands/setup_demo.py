"""`shouwang setup-demo`: everything `make demo` needs, safe and quick to run again.

Loads the divisions, generates the synthetic county (once per county/size/seed), imports its
registry (idempotent: a second run finds everything unchanged), creates one account per role
and prints the credentials.
"""

from __future__ import annotations

import io
import json
import secrets
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from shouwang.accounts.models import User
from shouwang.accounts.roles import Role
from shouwang.demo.plans import seed_plans
from shouwang.regions.models import Level, Region
from shouwang.registry.models import Household

ACCOUNTS_FILE = "demo-accounts.txt"
DEMO_YEAR = 2025  # the year `synth` writes feeds for by default


def busiest_village(county: str) -> str:
    """The village with the most households, so the village cadre has something to see."""
    from django.db.models import Count

    row = (
        Household.objects.filter(village__pk__startswith=county)
        .values("village_id")
        .annotate(n=Count("id"))
        .order_by("-n", "village_id")
        .first()
    )
    if row:
        return row["village_id"]
    return (
        Region.objects.filter(code__startswith=county, level=Level.VILLAGE)
        .order_by("code")
        .values_list("code", flat=True)[0]
    )


class Command(BaseCommand):
    help = "准备演示环境：区划、合成县、户籍导入、各角色演示账号"

    def add_arguments(self, parser):
        parser.add_argument("--county", default="522630", help="演示县的区划代码（默认 522630 台江县）")
        parser.add_argument("--households", type=int, default=30000, help="合成户数（默认 30000）")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--divisions", default="all", help="载入哪些区划：all（全国）或区划代码前缀")

    def handle(self, *args, county: str, households: int, seed: int, divisions: str, **options):
        timings: dict[str, float] = {}
        started = time.perf_counter()

        def step(name: str, fn) -> None:
            t = time.perf_counter()
            fn()
            timings[name] = round(time.perf_counter() - t, 1)
            self.stdout.write(f"  {name}：{timings[name]} 秒")

        if divisions == "all":
            step("载入区划", lambda: call_command("load_divisions", verbosity=0))
        else:
            step("载入区划", lambda: call_command("load_divisions", region=divisions, verbosity=0))
        if not Region.objects.filter(code=county, level=Level.COUNTY).exists():
            raise CommandError(f"区划代码 {county} 不是一个已载入的县级区划")

        state_path = Path(settings.DATA_DIR) / "demo-state.json"
        wanted = {"county": county, "households": households, "seed": seed, "feeds": True, "roster": True}
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        accounts = self.ensure_accounts(county)
        generated = False
        if state == wanted and Household.objects.filter(village__pk__startswith=county).exists():
            self.stdout.write("  合成县已导入，跳过生成与导入")
        else:
            # The generated files stand for the county's own spreadsheets and the departments'
            # files and carry raw ID numbers: they live in a private temporary directory only
            # until imported.
            with tempfile.TemporaryDirectory(prefix="shouwang-synth-") as tmp:
                out = Path(tmp)
                step(
                    "生成合成县",
                    lambda: call_command(
                        "synth", county=county, households=households, seed=seed, out=str(out), verbosity=0
                    ),
                )
                for name in ("registry_members.csv", "registry_accounts.csv"):
                    step(
                        f"导入 {name}",
                        lambda name=name: call_command("import_registry", str(out / name), verbosity=0),
                    )
                # The households the county identified before: when, in which category, why.
                step(
                    "导入监测对象台账",
                    lambda: call_command(
                        "import_monitoring", str(out / "monitoring_records.csv"), verbosity=0, stdout=io.StringIO()
                    ),
                )
                step("帮扶措施与回访", lambda: seed_plans(county, seed))
                step("导入部门数据", lambda: self.import_feeds(out, county))
            step("筛查预警", lambda: self.screen(county, DEMO_YEAR))
            state_path.write_text(json.dumps(wanted))
            accounts = self.ensure_accounts(county)  # the village cadre goes where the households are
            generated = True
        # The dashboards' figures; the worker keeps them current from here on.
        from shouwang.insights.models import Refresh
        from shouwang.insights.refresh import refresh

        if generated or not Refresh.objects.filter(code=county).exists():
            step("统计汇总", lambda: refresh(county))
        timings["合计"] = round(time.perf_counter() - started, 1)
        self.stdout.write(self.style.SUCCESS("演示环境已就绪。演示账号（用户名 / 密码 / 角色 / 区划）："))
        self.stdout.write(accounts)
        self.stdout.write(json.dumps({"timings_seconds": timings}, ensure_ascii=False))

    def import_feeds(self, out: Path, county: str) -> None:
        """Every department file of the synthetic year, as the demo department officer sends
        them: the valid rows are taken, the planted bad rows reported (see the batch pages)."""
        from shouwang.exchange.actions import do_import_feed

        officer = User.objects.get(username="department")
        files = json.loads((out / "truth" / "manifest.json").read_text(encoding="utf-8"))["counts"]["files"]
        for relative, info in sorted(files.items()):
            if not relative.startswith("feeds/"):
                continue
            outcome = do_import_feed(
                out / relative,
                filename=Path(relative).name,
                kind=info["kind"],
                county=county,
                user=officer,
                dry_run=False,
                valid_rows_only=True,
                channel="cli",
            )
            result = outcome.as_dict()
            self.stdout.write(f"    {Path(relative).name}：存储 {result['stored']} 行，错误 {result['rejected']} 行")

    def screen(self, county: str, year: int) -> None:
        from shouwang.screening.actions import do_screen

        run = do_screen(county, year, user=User.objects.get(username="county"))
        self.stdout.write(
            f"    筛查 {year} 年：预警线索 {run.warnings_total} 条（新增 {run.warnings_new}），用时 {run.seconds} 秒"
        )

    @transaction.atomic
    def ensure_accounts(self, county: str) -> str:
        """One account per role; passwords generated once and kept in the data directory."""
        path = Path(settings.DATA_DIR) / ACCOUNTS_FILE
        village = busiest_village(county)
        township = village[:9]
        plan = [
            ("village", Role.VILLAGE_CADRE, village),
            ("township", Role.TOWNSHIP_OFFICER, township),
            ("county", Role.COUNTY_OFFICER, county),
            ("prefecture", Role.PREFECTURE_VIEWER, county[:4]),
            ("province", Role.PROVINCE_VIEWER, county[:2]),
            ("department", Role.DEPARTMENT_OFFICER, county),
            ("sysadmin", Role.SYSTEM_ADMIN, county),
            ("secadmin", Role.SECURITY_ADMIN, county),
            ("auditor", Role.AUDIT_ADMIN, county),
        ]
        known = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    known[parts[0]] = parts[1]
        lines = []
        for username, role, region in plan:
            password = known.get(username) or f"Demo-{secrets.token_urlsafe(6)}"
            user, _ = User.objects.get_or_create(username=username, defaults={"role": role, "region_id": region})
            user.role, user.region_id = role, region
            user.set_password(password)
            user.save()
            region_name = Region.objects.get(code=region).name
            lines.append(f"{username}  {password}  {role.label}  {region_name}（{region}）")
        text = "\n".join(lines) + "\n"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        return text
