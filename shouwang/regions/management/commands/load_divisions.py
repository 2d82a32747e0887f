"""`shouwang load-divisions [--region CODE]`: load NBS 2023 division codes."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shouwang.regions.loading import DivisionError, load_divisions


class Command(BaseCommand):
    help = "载入国家统计局 2023 年统计用区划代码（全国，或某省/市/县的子树）"

    def add_arguments(self, parser):
        parser.add_argument("--region", default="", help="只载入该区划代码下的子树（及其上级），例如 522630")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")

    def handle(self, *args, region: str, json: bool, verbosity: int, **options):
        started = time.perf_counter()
        bar = tqdm(unit=" 区划", disable=json or verbosity == 0, desc="载入区划")
        try:
            counts = load_divisions(region.strip(), progress=bar.update)
        except DivisionError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        seconds = round(time.perf_counter() - started, 2)
        if json:
            self.stdout.write(_json({"region": region or "全国", "added": counts, "seconds": seconds}))
        else:
            self.stdout.write(f"新增区划 {sum(counts.values())} 个 {counts}，用时 {seconds} 秒")


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
