"""`shouwang run-worker`: run queued background jobs (imports, later screening and reports)."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from shouwang.jobs.runner import work


class Command(BaseCommand):
    help = "运行后台任务队列（数据库队列，无需额外服务）"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="处理完当前队列后退出")

    def handle(self, *args, once: bool, **options):
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("后台任务进程已启动")
        count = work(once=once, poll=settings.JOBS_POLL_INTERVAL, stop=lambda: stopping)
        self.stdout.write(f"已处理 {count} 个任务")
