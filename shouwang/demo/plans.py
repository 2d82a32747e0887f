"""The synthetic county's assistance plans and visits (一户一策、回访记录).

The roster says who is monitored and why; a real county would also have helped them. Most
monitored households get a measure for each of their first two causes, from the categories
that answer the cause, and the able-bodied most often a development measure too; some get
nothing yet, so the auditors' checks have something to find. Visits follow the monthly
schedule with some households overdue. Drawn from a generator seeded by the county seed and
the household number, so the same seed gives the same plans.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from shouwang.monitoring import catalogue
from shouwang.monitoring.models import Measure, MeasureStatus, MonitoringRecord, Visit
from shouwang.registry import choices as c
from shouwang.registry.models import Member

CADRES = ("王书记", "李主任", "张驻村", "杨会计", "吴干部", "潘支书")
FINDINGS = ("生活稳定，措施落实中", "家中有人住院，已联系医疗救助", "务工收入恢复", "住房已修缮", "子女按时上学")


def seed_plans(county: str, seed: int) -> dict[str, int]:
    today = timezone.localdate()
    mapping = catalogue.cause_categories()
    kinds = catalogue.categories()
    development = sorted(catalogue.development_categories())
    records = MonitoringRecord.objects.filter(household__village__pk__startswith=county).select_related("household")
    able = set(
        Member.objects.filter(
            household__village__pk__startswith=county,
            death_date__isnull=True,
            labour_capacity__in=sorted(c.ABLE_BODIED),
        ).values_list("household_id", flat=True)
    )
    measures: list[Measure] = []
    visits: list[Visit] = []
    for record in records:
        household = record.household
        if household.measures.exists() or record.identified_on is None:
            continue  # plans already there (a second run, or entered by hand)
        rng = random.Random(f"{seed}:{household.number}")
        eliminated = record.eliminated_on is not None
        if not eliminated and rng.random() < 0.12:
            continue  # not helped yet: the checks flag it
        wanted = [sorted(mapping[cause]) for cause in record.risk_causes[:2] if cause in mapping]
        if household.pk in able and rng.random() < 0.75:
            wanted.append(development)
        for options in wanted:
            category = rng.choice(options)
            if category not in kinds:
                continue
            subtype = rng.choice(kinds[category].subtypes)
            starts = record.identified_on + dt.timedelta(days=rng.randint(5, 40))
            done = eliminated or ((today - starts).days > 365 and rng.random() < 0.6)
            measures.append(
                Measure(
                    household=household,
                    category=category,
                    subtype=subtype,
                    content=f"{subtype}（{household.number[-4:]}）",
                    responsible=rng.choice(CADRES),
                    starts_on=starts,
                    ends_on=min(starts + dt.timedelta(days=rng.randint(60, 360)), today) if done else None,
                    funds=Decimal(rng.choice((0, 0, 500, 1000, 2000, 3000, 5000, 8000))),
                    status=MeasureStatus.COMPLETED if done else MeasureStatus.IN_PROGRESS,
                    effect="收入稳定，风险已消除" if eliminated else "",
                )
            )
        if not eliminated:
            # Monthly visits; the last one 0–45 days ago, so about a third are overdue.
            last = today - dt.timedelta(days=rng.randint(0, 45))
            for k in range(rng.randint(1, 4)):
                day = last - dt.timedelta(days=30 * k)
                if day > record.identified_on:
                    visits.append(Visit(household=household, visited_on=day, findings=rng.choice(FINDINGS)))
    Measure.objects.bulk_create(measures, batch_size=2000)
    Visit.objects.bulk_create(visits, batch_size=2000)
    return {"measures": len(measures), "visits": len(visits)}
