"""`shouwang import-registry FILE [--dry-run] [--report PATH] [--json] [--user USERNAME]`.

Imports a registry file (members or annual accounts, CSV or XLSX) synchronously with a
progress bar. Exits non-zero with a Chinese message when the file is rejected; `--report`
writes every bad row (IDs masked) as CSV or XLSX, by the path's extension.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shouwang.accounts.models import User
from shouwang.accounts.roles import Capability
from shouwang.core.progress import progress_bar
from shouwang.core.uploads import echo_errors, write_report_file
from shouwang.registry.importing import (
    run_registry_import,
)


class Command(BaseCommand):
    help = "导入户籍信息（家庭成员或年度收支，CSV 或 XLSX）；先校验全部行，有错误则不写入任何数据"

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的文件（.csv 或 .xlsx）")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--report", default="", help="把错误明细写入该文件（.csv 或 .xlsx）")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")
        parser.add_argument("--user", default="", help="以该用户的身份导入（村须在其管辖范围内）；省略则不限区划")
        parser.add_argument("--sheet", default=None, help="XLSX 中要导入的工作表名称（默认：所有含表头的工作表）")

    def handle(
        self,
        *args,
        file: str,
        dry_run: bool,
        report: str,
        json: bool,
        user: str,
        sheet: str | None,
        verbosity: int,
        **options,
    ):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        if report and Path(report).suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError("--report 的文件名须以 .csv 或 .xlsx 结尾")
        importer = None
        if user:
            importer = User.objects.filter(username=user).first()
            if importer is None:
                raise CommandError(f"找不到用户：{user}")
            if not importer.can(Capability.IMPORT_REGISTRY):
                raise CommandError(f"用户 {user} 没有导入户籍数据的权限")

        with progress_bar("导入户籍" if not dry_run else "校验户籍", disable=json or verbosity == 0) as progress:
            outcome = run_registry_import(
                path,
                filename=path.name,
                user=importer,
                dry_run=dry_run,
                report=progress,
                change_source="import:cli",
                sheet=sheet,
            )

        if report and (outcome.errors or outcome.file_error):
            write_report_file(outcome.errors, outcome.file_error, Path(report))

        if json:
            summary = {
                "file": path.name,
                "kind": outcome.kind,
                "dry_run": dry_run,
                "committed": outcome.committed,
                "ok": outcome.ok,
                "counts": outcome.counts(),
                "error_count": outcome.error_count,
                "warning_count": sum(1 for e in outcome.errors if e.warning),
                "file_error": outcome.file_error,
                "extra_columns": outcome.extra_columns,
                "seconds": outcome.seconds,
            }
            self.stdout.write(_json(summary))
        else:
            self._print(outcome, report)
        if not outcome.ok:
            raise CommandError(
                outcome.message() + (f"；错误明细见 {report}" if report else "；用 --report 导出错误明细")
            )

    def _print(self, outcome, report: str) -> None:
        c = outcome.counts()
        self.stdout.write(
            f"文件类型：{outcome.kind or '未识别'}；共 {c['total_rows']} 行，有效 {c['valid_rows']} 行，"
            f"错误 {c['rejected_rows']} 行，重复 {c['duplicates']} 行"
        )
        for name, label in (("households", "农户"), ("members", "家庭成员"), ("accounts", "年度收支")):
            t = c[name]
            if any(t.values()):
                verb = "将" if outcome.dry_run else ""
                self.stdout.write(
                    f"{label}：{verb}新增 {t['created']}，{verb}更新 {t['updated']}，不变 {t['unchanged']}"
                )
        if outcome.extra_columns:
            self.stdout.write("已忽略的多余列：" + "、".join(outcome.extra_columns))
        echo_errors(self.stdout.write, outcome.errors)
        if outcome.ok:
            self.stdout.write(self.style.SUCCESS(outcome.message()))


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
