"""Locust users of the page benchmark: officials of the five personas, requesting the pages of
their persona's plan in random order with a short think time. They share the persona's
session, signed in once through the login form by `bench_pages.py` (a password hash costs
hundreds of milliseconds and is no page of the benchmark).

Run by `benchmarks/bench_pages.py` (headless, a process of its own); it reads the plan from
the JSON file named by BENCH_PLAN and writes every request's time to BENCH_SAMPLES.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from typing import Any

from locust import HttpUser, between, events, task

PLAN = json.loads(open(os.environ["BENCH_PLAN"], encoding="utf-8").read())  # noqa: SIM115
PERSONAS = itertools.cycle(PLAN["personas"])
SAMPLES: list[tuple[str, float, bool]] = []


@events.request.add_listener
def _record(name: str, response_time: float, exception: Any, **_: Any) -> None:
    SAMPLES.append((name, response_time, exception is None))


@events.quitting.add_listener
def _dump(environment: Any, **_: Any) -> None:
    with open(os.environ["BENCH_SAMPLES"], "w", encoding="utf-8") as fh:
        json.dump(SAMPLES, fh)


class Official(HttpUser):
    wait_time = between(PLAN["think_min"], PLAN["think_max"])

    def on_start(self) -> None:
        self.persona = next(PERSONAS)
        self.client.cookies.set("sessionid", self.persona["session"])

    @task
    def page(self) -> None:
        url = random.choice(self.persona["urls"])
        with self.client.get(url["path"], name=url["name"], catch_response=True, allow_redirects=False) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
