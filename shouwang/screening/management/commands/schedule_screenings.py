"""`shouwang schedule-screenings [--date YYYY-MM-DD] [--dry-run] [--json]`.

Queues the monthly screenings that are due (the job worker does this by itself every few
minutes; this command is for cron and for checking what would run). The worker runs them.
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from shouwang.screening.schedule import enqueue_due_screenings


class Command(BaseCommand):
    help = "定期筛查：为今天到期的县排入筛查任务（由后台任务进程执行）"

    def add_arguments(self, parser):
        parser.add_argument("--date", default="", help="按这一天计算（默认今天），如 2026-12-01")
        parser.add_argument("--dry-run", action="store_true", help="只列出到期的县，不排入任务")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")

    def handle(self, *args, date, dry_run, json, **options):
        try:
            today = dt.date.fromisoformat(date) if date else dt.date.today()
        except ValueError:
            raise CommandError(f"日期无效：{date}（应为 YYYY-MM-DD，如 2026-12-01）") from None
        queued = enqueue_due_screenings(today, dry_run=dry_run)
        if json:
            self.stdout.write(jsonlib.dumps({"date": today.isoformat(), "dry_run": dry_run, "queued": queued}))
            return
        if not queued:
            self.stdout.write(f"{today}：没有到期的定期筛查")
        for q in queued:
            where = f"任务 #{q['job_id']}" if "job_id" in q else "（试运行，未排入）"
            self.stdout.write(f"{q['name']}（{q['county']}）{q['year']} 年：{where}")
