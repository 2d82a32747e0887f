"""`shouwang import-feed --kind KIND FILE [--county CODE] [--user USERNAME] [--sheet NAME]
[--dry-run] [--valid-rows-only] [--report PATH] [--json]`.

Imports one department file through the same pipeline as the web upload and the REST API,
with a progress bar. `--json` prints the outcome as one JSON object. Exits non-zero with a
Chinese message when the file is rejected (or, in a dry run, has errors).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine.schemas.feeds import FEED_SCHEMAS
from shouwang.accounts.models import User
from shouwang.core.progress import progress_bar
from shouwang.core.uploads import echo_errors, error_report_xlsx_bytes, read_report_rows, write_report_file
from shouwang.exchange.actions import FeedImportOutcome, do_import_feed
from shouwang.exchange.models import Channel


class Command(BaseCommand):
    help = "导入部门数据文件（CSV 或 XLSX）：先校验全部行；有错误则不写入（除非 --valid-rows-only）"

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的文件（.csv 或 .xlsx）")
        parser.add_argument("--kind", required=True, choices=sorted(FEED_SCHEMAS), help="数据类型")
        parser.add_argument("--county", default="", help="县级区划代码（默认：--user 所在县）")
        parser.add_argument("--user", default="", help="以该用户（部门数据专员）的身份导入")
        parser.add_argument("--sheet", default="", help="Excel 文件要读取的工作表（默认：第一个有内容的工作表）")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--valid-rows-only", action="store_true", help="有错误行时仍导入其余有效行")
        parser.add_argument("--report", default="", help="把错误明细写入该文件（.csv 或 .xlsx）")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")

    def handle(
        self, *args, file, kind, county, user, sheet, dry_run, valid_rows_only, report, json, verbosity, **options
    ):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        if report and Path(report).suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError("--report 的文件名须以 .csv 或 .xlsx 结尾")
        uploader = None
        if user:
            uploader = User.objects.filter(username=user).first()
            if uploader is None:
                raise CommandError(f"找不到用户：{user}")
            if not county:
                if uploader.region_id is None or len(uploader.region_id) != 6:
                    raise CommandError(f"用户 {user} 不属于某一个县，请用 --county 指定县级区划代码")
                county = uploader.region_id
        if not county:
            raise CommandError("请用 --county 指定县级区划代码（或用 --user 指定所属县的用户）")

        label = FEED_SCHEMAS[kind].label
        with progress_bar(("校验" if dry_run else "导入") + label, disable=json or verbosity == 0) as progress:
            outcome = do_import_feed(
                path,
                filename=path.name,
                kind=kind,
                county=county,
                user=uploader,
                dry_run=dry_run,
                valid_rows_only=valid_rows_only,
                channel=Channel.CLI,
                sheet=sheet or None,
                progress=progress,
            )
            if report and (outcome.errors or outcome.file_error):
                _write_report(outcome, Path(report))
            if json:
                summary = outcome.as_dict(max_errors=20)
                self.stdout.write(_json(summary))
            else:
                self._print(outcome)
            if outcome.file_error or (not outcome.already_imported and not outcome.committed and not dry_run):
                raise CommandError(
                    outcome.message() + (f"；错误明细见 {report}" if report else "；用 --report 导出错误明细")
                )
            if dry_run and not outcome.ok:
                raise CommandError(outcome.message())

    def _print(self, outcome: FeedImportOutcome) -> None:
        s = outcome.stats
        if outcome.sheet:
            self.stdout.write(f"工作表：{outcome.sheet}")
        self.stdout.write(
            f"共 {s.total} 行，有效 {s.valid} 行，错误 {s.rejected} 行，重复 {s.duplicates} 行"
            + (f"；已存储 {outcome.stored_rows} 行" if outcome.committed else "")
        )
        if outcome.links:
            rate = outcome.links.get("exact_rate", 0) * 100
            self.stdout.write(
                f"与户籍库精确匹配 {outcome.links.get('exact', 0)} 行（{rate:.1f}%），"
                f"按姓名等概率匹配 {outcome.links.get('probabilistic', 0)} 行，"
                f"待人工核实 {outcome.links.get('review', 0)} 行，"
                f"未匹配 {outcome.links.get('unmatched', 0)} 行；"
                f"匹配率 {outcome.links.get('match_rate', 0) * 100:.1f}%"
            )
        if outcome.extra_columns:
            self.stdout.write("已忽略的多余列：" + "、".join(outcome.extra_columns))
        echo_errors(self.stdout.write, outcome.errors)
        if outcome.batch_id:
            self.stdout.write(f"批次号：{outcome.batch_id}")
        if outcome.ok or outcome.committed or outcome.already_imported:
            self.stdout.write(self.style.SUCCESS(outcome.message()))


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _write_report(outcome: FeedImportOutcome, path: Path) -> None:
    """`--report`: every error — from the batch's report when the outcome holds only the first."""
    batch = outcome.batch
    if outcome.errors_truncated and batch is not None and batch.report_path and not outcome.already_imported:
        from shouwang.exchange.actions import data_dir

        stored = data_dir() / batch.report_path
        if path.suffix.lower() == ".xlsx":
            path.write_bytes(error_report_xlsx_bytes(read_report_rows(stored)))
        else:
            shutil.copyfile(stored, path)
        return
    write_report_file(outcome.errors, outcome.file_error, path)
