"""shouwang refresh-insights [--region CODE] [--stale] [--json]: recompute the statistics."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shouwang.insights.refresh import counties_with_households, refresh_many, refresh_stale
from shouwang.regions.models import Region


class Command(BaseCommand):
    help = "重新计算统计汇总（默认：所有有农户的县）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", help="区划代码：只计算该区划")
        parser.add_argument("--stale", action="store_true", help="只计算标记为待更新的部分")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stale"]:
            summaries = refresh_stale()
        else:
            if options["region"]:
                if not Region.objects.filter(code=options["region"]).exists():
                    raise CommandError(f"区划代码 {options['region']} 不存在")
                prefixes = [options["region"]]
            else:
                prefixes = counties_with_households()
            summaries = refresh_many(prefixes)
        out = [s.__dict__ for s in summaries]
        if options["json"]:
            self.stdout.write(json.dumps({"refreshed": out}, ensure_ascii=False))
        else:
            for s in summaries:
                self.stdout.write(f"{s.prefix}：{s.villages} 个村，{s.rows} 项统计，{s.seconds:.2f} 秒")
