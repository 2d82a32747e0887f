"""`shouwang synth --county CODE --households N --seed S --out DIR [--year Y] [--json]`.

A thin wrapper around engine.synth.generate_county (plain Python): a progress bar, a summary,
and a Chinese CommandError for bad arguments.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from engine.synth import STEPS_PER_HOUSEHOLD, generate_county


class Command(BaseCommand):
    # Writes files only (no database, no URLs): the system checks have nothing to check here.
    requires_system_checks: list[str] = []
    help = "生成一个确定性的合成县：户籍导入文件、一年的部门比对数据（含植入的风险冲击与噪声）和真值"

    def add_arguments(self, parser):
        parser.add_argument("--county", required=True, help="县级区划代码（6位），例如 522630（台江县）")
        parser.add_argument("--households", required=True, type=int, help="户数，例如 30000")
        parser.add_argument("--seed", type=int, default=1, help="随机种子；相同参数生成相同的文件")
        parser.add_argument("--out", required=True, help="输出目录")
        parser.add_argument("--year", type=int, default=2025, help="数据年度（默认 2025）")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")

    def handle(
        self, *args, county: str, households: int, seed: int, out: str, year: int, json: bool, verbosity: int, **options
    ):
        if households < 1:
            raise CommandError(f"户数必须是正整数：{households}")
        bars: list[tqdm] = []

        def progress(n: int) -> None:
            if not bars:  # opened on first progress, so a bad argument prints no empty bar
                bars.append(
                    tqdm(
                        total=households * STEPS_PER_HOUSEHOLD,
                        unit=" 步",
                        desc="生成合成县",
                        disable=json or verbosity == 0,
                    )
                )
            bars[0].update(n)

        try:
            summary = generate_county(county, households, seed, Path(out), year=year, progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"无法写入输出目录 {out}：{exc.strerror or exc}") from None
        finally:
            for bar in bars:
                bar.close()
        data = summary.to_dict()
        if json:
            self.stdout.write(_json(data))
            return
        feeds = {k: v for k, v in summary.files.items() if k.startswith("feeds/")}
        self.stdout.write(
            f"{summary.county_name}（{summary.county_code}）{summary.year}年：{summary.households} 户、"
            f"{summary.members} 人（在世 {summary.living_members}），分布于 {summary.villages} 个村；"
            f"脱贫户 {summary.escaped_households}，监测中 {summary.monitored_households}"
        )
        self.stdout.write(
            f"部门数据文件 {len(feeds)} 个，植入冲击 {sum(summary.shocks.values())} 条，"
            f"噪声 {sum(summary.noise.values())} 处"
        )
        for name, n in summary.shocks.items():
            self.stdout.write(f"  {name}: {n}")
        self.stdout.write(
            f"输出目录 {summary.out_dir}；用时 {summary.seconds:.1f} 秒，{summary.households_per_second:,.0f} 户/秒"
        )


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
