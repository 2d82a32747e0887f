"""`shouwang screen --region CODE --year YYYY [--rules id,id] [--engine duckdb|spark] [--json]`.

Screens a region (a county or below) for a year and stores the warnings, with a progress
bar; `--json` prints one JSON object (run id, counts per rule, new/unchanged/suppressed,
skipped rules and why, seconds).
"""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from engine.screening import ScreeningError
from shouwang.accounts.models import User
from shouwang.screening.actions import STEPS, ScreeningRequestError, check_request, do_screen
from shouwang.screening.text import rule_title


class Command(BaseCommand):
    help = "部门数据筛查预警：对一个区划（县或以下）按年度运行筛查规则，写入预警线索"

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码（县级 6 位，或乡镇、村）")
        parser.add_argument("--year", required=True, help="筛查年度，如 2025")
        parser.add_argument("--rules", default="", help="只运行这些规则（逗号分隔的规则编号）")
        parser.add_argument("--engine", default="duckdb", help="计算引擎：duckdb（默认）或 spark")
        parser.add_argument("--user", default="", help="以该用户的名义记录")
        parser.add_argument("--force", action="store_true", help="允许用内置引擎筛查县以上区划")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")

    def handle(self, *args, region, year, rules, engine, user, force, json, verbosity, **options):
        try:
            year_number = int(str(year).strip())
        except ValueError:
            raise CommandError(f"年度无效：{year}（应为四位数字，如 2025）") from None
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"找不到用户：{user}")
        rule_ids = [r.strip() for r in rules.split(",") if r.strip()]
        try:
            check_request(region.strip(), year_number, rule_ids, engine, force)
        except ScreeningRequestError as exc:
            raise CommandError(str(exc)) from None
        bar = tqdm(total=STEPS, desc="筛查", unit=" 步", disable=json or verbosity == 0)

        def progress(done: int, total: int, message: str = "") -> None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(message, refresh=False)
            bar.refresh()

        try:
            run = do_screen(
                region.strip(),
                year_number,
                user=actor,
                rules=rule_ids or None,
                backend=engine,
                report=progress,
                force=force,
            )
        except ScreeningRequestError as exc:
            raise CommandError(str(exc)) from None
        except ScreeningError as exc:
            raise CommandError(f"筛查失败：{exc}") from None
        finally:
            bar.close()
        summary = run.summary()
        if json:
            self.stdout.write(jsonlib.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            f"筛查 #{run.pk}：{run.region_id} {run.year} 年，发现线索 {run.warnings_total} 条："
            f"新增 {run.warnings_new}，未变化 {run.warnings_unchanged}，证据更新 {run.warnings_updated}，"
            f"重新打开 {run.warnings_reopened}，已排除未再提示 {run.warnings_suppressed}；用时 {run.seconds} 秒"
        )
        for rule_id, n in summary["counts"].items():
            self.stdout.write(f"  {rule_title(rule_id)}（{rule_id}）：{n}")
        for rule_id, reason in summary["skipped"].items():
            self.stdout.write(f"  未运行 {rule_title(rule_id)}（{rule_id}）：{reason}")
        self.stdout.write(self.style.SUCCESS("筛查完成"))
