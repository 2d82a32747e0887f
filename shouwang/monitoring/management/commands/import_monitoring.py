"""`shouwang import-monitoring FILE [--dry-run] [--report PATH] [--json]`: the monitoring roster.

Validates the whole file first; with errors nothing is written and each bad row is listed
(line, column, value, reason), also as a CSV report with `--report`. Importing the same file
again changes nothing.
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine.validate import report_rows, write_report_csv
from shouwang.monitoring.roster import run_roster_import


class Command(BaseCommand):
    help = "导入监测对象台账（已纳入监测或已消除风险的农户：识别监测时间、类别、风险类型）"

    def add_arguments(self, parser):
        parser.add_argument("file", help="台账文件（CSV 或 XLSX）")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--report", default="", help="把错误写成 CSV 报告")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")

    def handle(self, *args, file, dry_run, report, json, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        outcome = run_roster_import(path, filename=path.name, dry_run=dry_run)
        if report and outcome.errors:
            with open(report, "w", encoding="utf-8", newline="") as f:
                write_report_csv(report_rows(outcome.errors), f)
        summary = outcome.as_dict()
        if json:
            summary.pop("errors")
            self.stdout.write(jsonlib.dumps(summary, ensure_ascii=False))
        else:
            for e in outcome.errors[:50]:
                self.stdout.write(f"  第 {e.line} 行 {e.column}：{e.reason_zh}（{e.value}）")
            self.stdout.write(
                f"{path.name}：共 {outcome.total} 行，有效 {outcome.valid} 行；新增 {outcome.new}，"
                f"更新 {outcome.changed}，未变化 {outcome.unchanged}"
                + ("（试运行，未写入）" if dry_run else ("，已导入" if outcome.committed else ""))
            )
        if outcome.file_error:
            raise CommandError(outcome.file_error)
        if not outcome.ok:
            raise CommandError(f"有 {summary['rejected']} 行错误，未导入任何数据")
