"""`shouwang purge-uploads [--hours N]`: delete the encrypted feed uploads that dry runs kept
for a confirmation that never came.

A long-running job worker (`shouwang run-worker`) does this every hour as its housekeeping;
the command is for platforms that run `run-worker --once` from cron, or to purge at once
(`--hours 0`).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from shouwang.exchange.jobs import keep_hours, purge_expired_uploads


class Command(BaseCommand):
    help = "删除预检后未确认导入、已过保留期的加密上传文件（默认保留 24 小时，FEED_UPLOAD_KEEP_HOURS）"

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=None, help="保留小时数（默认取设置 FEED_UPLOAD_KEEP_HOURS）")

    def handle(self, *args, hours, **options):
        if hours is not None and hours < 0:
            raise CommandError("--hours 不能为负数")
        count = purge_expired_uploads(hours=hours)
        kept = keep_hours() if hours is None else hours
        self.stdout.write(f"已删除 {count} 个超过 {kept:g} 小时未确认导入的上传文件")
