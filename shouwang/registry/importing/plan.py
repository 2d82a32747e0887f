"""Planning: the registry's own checks over the whole file set, and the creates and updates
they lead to, worked out against existing rows loaded in bulk — nothing is written here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q

from engine.ids import IDNumber
from engine.schema import TableSchema
from engine.schemas.registry import DISABLED, ILLNESSES, REGISTRY_ACCOUNTS, REGISTRY_MEMBERS
from engine.validate import RowError, ValidRow, display_value
from shouwang.core.protection import protector
from shouwang.regions.models import Level, Region
from shouwang.registry.actions import diff
from shouwang.registry.choices import HEALTHY
from shouwang.registry.importing.fields import (
    ACCOUNT_FIELDS,
    ESCAPED,
    EXIT_YEARS,
    HEAD,
    HOUSEHOLD_FIELDS,
    MEMBER_FIELDS,
    _blank_value,
)
from shouwang.registry.importing.outcome import ImportOutcome
from shouwang.registry.models import AnnualAccount, Household, Member

QUERY_CHUNK = 900  # stays under SQLite's bound-parameter limit on every version


def _chunks(items: list[Any], size: int = QUERY_CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class _NewMember:
    household_number: str
    id_number: IDNumber
    values: dict[str, Any]


class _Plan:
    """Everything the import would write, worked out against the database before writing."""

    def __init__(self, *, user: Any, outcome: ImportOutcome, bad_households: set[str]) -> None:
        self.user = user
        self.prefix = (user.region_prefix or "\x00") if user is not None else ""
        self.outcome = outcome
        self.bad_households = bad_households
        self.households: dict[str, Household] = {}  # number → existing, in scope
        self.new_households: dict[str, dict[str, Any]] = {}  # number → field values
        self.household_changes: list[tuple[Household, dict[str, tuple[Any, Any]]]] = []
        self.new_members: list[_NewMember] = []
        self.member_changes: list[tuple[Member, str, dict[str, tuple[Any, Any]]]] = []
        self.living: dict[str, int] = {}  # household number → living members after the import
        self.new_accounts: list[tuple[str, dict[str, Any]]] = []
        self.account_changes: list[tuple[AnnualAccount, str, dict[str, tuple[Any, Any]]]] = []

    def error(self, line: str, schema: TableSchema, column: str, value: Any, zh: str, en: str) -> None:
        col = schema.column(column)
        self.outcome.errors.append(RowError(line, col.label, display_value(value, is_id=column == "id_number"), zh, en))

    def in_scope(self, code: str) -> bool:
        return code.startswith(self.prefix)

    def load_households(self, numbers: Iterable[str]) -> dict[str, Household]:
        found: dict[str, Household] = {}
        for chunk in _chunks(sorted(set(numbers))):
            found.update({h.number: h for h in Household.objects.filter(number__in=chunk)})
        return found

    # -- members ------------------------------------------------------------------------------

    def split_health(self, rows: list[ValidRow]) -> None:
        """健康状况 (one or more of 健康/长期慢性病/患有大病/残疾) → Member.health + Member.disabled."""
        for row in rows:
            codes = row.values.get("health")
            if codes is None:
                row.values["disabled"] = None
                continue
            illnesses = [code for code in codes if code in ILLNESSES and code != HEALTHY]
            if HEALTHY in codes and illnesses:
                self.error(
                    row.line,
                    REGISTRY_MEMBERS,
                    "health",
                    "、".join(codes),
                    "“健康”不能与疾病同时填写",
                    "健康 (healthy) cannot be combined with an illness",
                )
                self.bad_households.add(row.values["household_number"])
            # Both illnesses: the serious one is recorded (the column's help says so).
            row.values["health"] = illnesses[-1] if illnesses else HEALTHY
            row.values["disabled"] = DISABLED in codes

    def plan_members(self, rows: list[ValidRow], present: set[str]) -> None:
        S = REGISTRY_MEMBERS
        if "health" in present:
            self.split_health(rows)
            present = present | {"disabled"}
        groups: dict[str, list[ValidRow]] = defaultdict(list)
        for row in rows:
            groups[row.values["household_number"]].append(row)
        hh_columns = [c for c in HOUSEHOLD_FIELDS if c in present]
        member_columns = [c for c in MEMBER_FIELDS if c in present]
        bad = set(self.bad_households)

        # Household columns must agree across the household's rows.
        for number, group in groups.items():
            first = group[0]
            for row in group[1:]:
                for c in hh_columns:
                    if row.values.get(c) != first.values.get(c):
                        label = S.column(c).label
                        self.error(
                            row.line,
                            S,
                            c,
                            row.values.get(c),
                            f"与本户第 {first.line} 行的“{label}”不一致",
                            f"differs from row {first.line} of the same household",
                        )
                        bad.add(number)

        existing = self.load_households(groups)
        villages = self._villages({g[0].values["village_code"] for g in groups.values()})
        for number, group in groups.items():
            line, code = group[0].line, group[0].values["village_code"]
            hh = existing.get(number)
            if hh is not None and not self.in_scope(hh.village_id):
                self.error(
                    line,
                    S,
                    "household_number",
                    number,
                    "该户编号已在您管辖范围以外登记",
                    "this household number is registered outside your region",
                )
                bad.add(number)
            elif code not in villages:
                self.error(
                    line,
                    S,
                    "village_code",
                    code,
                    "村代码不存在或不是村级（12位）区划",
                    "no such village code (a 12-digit village-level division)",
                )
                bad.add(number)
            elif not self.in_scope(code):
                self.error(
                    line, S, "village_code", code, "该村不在您的管辖范围内", "the village is outside your region"
                )
                bad.add(number)
        self.households.update({n: h for n, h in existing.items() if n not in bad})

        unsure: set[str] = set()  # households with a member row set aside: head count unknown
        p = protector()
        digests = {row.line: p.hash(row.values["id_number"].value) for row in rows}
        by_hash = self._members_by_hash(list(digests.values()))
        others = self._other_members([h.pk for h in self.households.values()], set(digests.values()))

        for number, group in groups.items():
            hh = existing.get(number)
            effective = {c: group[0].values.get(c) for c in hh_columns}
            if hh is not None:
                for c, f in HOUSEHOLD_FIELDS.items():
                    if c not in effective:
                        effective[c] = getattr(hh, "village_id" if f == "village" else f)
            hh_type, exit_year = effective.get("household_type"), effective.get("poverty_exit_year")
            line = group[0].line
            if hh_type == ESCAPED and not (exit_year and EXIT_YEARS[0] <= exit_year <= EXIT_YEARS[1]):
                self.error(
                    line,
                    S,
                    "poverty_exit_year",
                    exit_year,
                    "脱贫户须填写脱贫年度（2014–2020）",
                    "an escaped-poverty household needs its exit year (2014–2020)",
                )
                bad.add(number)
            elif hh_type != ESCAPED and exit_year:
                self.error(
                    line,
                    S,
                    "poverty_exit_year",
                    exit_year,
                    "只有脱贫户填写脱贫年度",
                    "only escaped-poverty households have an exit year",
                )
                bad.add(number)

            heads: list[str] = []
            living = 0
            for row in group:
                v = row.values
                digest = digests[row.line]
                current = by_hash.get(digest)
                if current is not None and current[1] != number:
                    other = current[1] if self.in_scope(current[2]) else "（辖区外）"
                    other_en = current[1] if self.in_scope(current[2]) else "(outside your region)"
                    self.error(
                        row.line,
                        S,
                        "id_number",
                        v["id_number"].value,
                        f"该身份证号已登记在户 {other}",
                        f"this ID number is already registered in household {other_en}",
                    )
                    bad.add(number)
                    unsure.add(number)
                    continue
                member = current[0] if current is not None else None
                disabled = v.get("disabled") if "disabled" in present else (member.disabled if member else False)
                for c in ("disability_type", "disability_grade"):
                    if v.get(c) and not disabled:
                        self.error(
                            row.line,
                            S,
                            c,
                            v.get(c),
                            "健康状况未含“残疾”时不应填写残疾类别或等级",
                            "disability type and grade only apply when health includes 残疾 (disabled)",
                        )
                        bad.add(number)
                relationship = v.get("relationship")
                if relationship == HEAD:
                    heads.append(row.line)
                death = v.get("death_date") if "death_date" in present else (member.death_date if member else None)
                living += death is None
            kept = others.get(hh.pk, []) if hh is not None else []
            heads_kept = sum(1 for rel, _death in kept if rel == HEAD)
            living += sum(1 for _rel, death in kept if death is None)
            self.living[number] = living
            if number in self.bad_households or number in unsure:
                pass  # a rejected row may be the head: do not guess on top of the real error
            elif len(heads) + heads_kept == 0:
                self.error(
                    line,
                    S,
                    "relationship",
                    "",
                    "本户没有户主（与户主关系须有一人为“户主”）",
                    "the household has no head (one member's relationship must be 户主)",
                )
                bad.add(number)
            elif len(heads) + heads_kept > 1:
                where = heads[1] if len(heads) > 1 else heads[0]
                self.error(where, S, "relationship", HEAD, "本户有多名户主", "the household has more than one head")
                bad.add(number)

        if bad or not self.outcome.ok:
            return
        # Every check passed: work out the writes.
        for number, group in groups.items():
            hh = existing.get(number)
            values = {
                HOUSEHOLD_FIELDS[c]: self._value(Household, HOUSEHOLD_FIELDS[c], group[0].values.get(c))
                for c in hh_columns
            }
            if hh is None:
                self.new_households[number] = {
                    "number": number,
                    **{("village_id" if f == "village" else f): v for f, v in values.items()},
                }
                self.outcome.households.created += 1
            else:
                changes = diff(hh, values)
                if changes:
                    self.household_changes.append((hh, changes))
                    self.outcome.households.updated += 1
                else:
                    self.outcome.households.unchanged += 1
            for row in group:
                values = {
                    MEMBER_FIELDS[c]: self._value(Member, MEMBER_FIELDS[c], row.values.get(c)) for c in member_columns
                }
                current = by_hash.get(digests[row.line])
                if current is None:
                    self.new_members.append(_NewMember(number, row.values["id_number"], values))
                    self.outcome.members.created += 1
                    continue
                member = current[0]
                changes = diff(member, values)
                if changes:
                    self.member_changes.append((member, number, changes))
                    self.outcome.members.updated += 1
                else:
                    self.outcome.members.unchanged += 1

    @staticmethod
    def _value(model: Any, name: str, value: Any) -> Any:
        return _blank_value(model, name) if value is None else value

    def _villages(self, codes: set[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(c for c in codes if len(c) == 12)):
            found.update(Region.objects.filter(code__in=chunk, level=Level.VILLAGE).values_list("code", flat=True))
        return found

    def _members_by_hash(self, digests: list[str]) -> dict[str, tuple[Member, str, str]]:
        """Existing members with these ID hashes: (member, household number, village code)."""
        found: dict[str, tuple[Member, str, str]] = {}
        for chunk in _chunks(sorted(set(digests))):
            query = Member.objects.filter(id_number_hash__in=chunk).annotate(
                household_number=F("household__number"), household_village=F("household__village_id")
            )
            for m in query:
                found[m.id_number_hash] = (m, m.household_number, m.household_village)
        return found

    def _other_members(self, household_ids: list[int], in_file: set[str]) -> dict[int, list[tuple[str, Any]]]:
        """Members of these households that the file does not mention: (relationship, death date)."""
        found: dict[int, list[tuple[str, Any]]] = defaultdict(list)
        for chunk in _chunks(household_ids):
            query = Member.objects.filter(household_id__in=chunk).values_list(
                "household_id", "id_number_hash", "relationship", "death_date"
            )
            for hh_id, digest, relationship, death in query:
                if digest not in in_file:
                    found[hh_id].append((relationship, death))
        return found

    # -- accounts -----------------------------------------------------------------------------

    def plan_accounts(self, rows: list[ValidRow], present: set[str]) -> None:
        S = REGISTRY_ACCOUNTS
        numbers = {r.values["household_number"] for r in rows}
        unknown = numbers - self.households.keys() - self.new_households.keys() - self.living.keys()
        for number, found in self.load_households(unknown).items():
            if self.in_scope(found.village_id):
                self.households[number] = found
        living_db = self._living_counts(
            [self.households[n].pk for n in numbers if n in self.households and n not in self.living]
        )
        accounts = self._accounts([self.households[n].pk for n in numbers if n in self.households])
        columns = [c for c in ACCOUNT_FIELDS if c in present]
        planned: list[tuple[ValidRow, Household | None, dict[str, Any]]] = []
        for row in rows:
            v = row.values
            number = v["household_number"]
            hh = self.households.get(number)
            if hh is None and number not in self.new_households:
                if number in self.living:  # in this file set, but its member rows were rejected
                    continue
                self.error(
                    row.line,
                    S,
                    "household_number",
                    number,
                    "户编号不存在或不在您的管辖范围内",
                    "no such household in your region",
                )
                continue
            values = {ACCOUNT_FIELDS[c]: self._value(AnnualAccount, ACCOUNT_FIELDS[c], v.get(c)) for c in columns}
            if values.get("population") is None:
                current = accounts.get((hh.pk, v["year"])) if hh is not None else None
                if current is not None and "population" not in present:
                    values.pop("population", None)
                else:
                    count = self.living.get(number, living_db.get(hh.pk if hh else 0, 0))
                    if count < 1:
                        self.error(
                            row.line,
                            S,
                            "population",
                            "",
                            "无法按在世成员计算家庭人口数，请填写",
                            "cannot derive the household size from living members; fill it in",
                        )
                        continue
                    values["population"] = count
            elif values["population"] < 1:
                self.error(
                    row.line,
                    S,
                    "population",
                    values["population"],
                    "家庭人口数应不少于1",
                    "household size must be at least 1",
                )
                continue
            planned.append((row, hh, values))
        if not self.outcome.ok:
            return
        for row, hh, values in planned:
            number, year = row.values["household_number"], row.values["year"]
            current = accounts.get((hh.pk, year)) if hh is not None else None
            if current is None:
                self.new_accounts.append((number, {"year": year, **values}))
                self.outcome.accounts.created += 1
                continue
            changes = diff(current, values)
            if changes:
                self.account_changes.append((current, number, changes))
                self.outcome.accounts.updated += 1
            else:
                self.outcome.accounts.unchanged += 1

    def _living_counts(self, household_ids: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for chunk in _chunks(household_ids):
            query = (
                Member.objects.filter(household_id__in=chunk)
                .values("household_id")
                .annotate(n=Count("id", filter=Q(death_date__isnull=True)))
            )
            found.update({r["household_id"]: r["n"] for r in query})
        return found

    def _accounts(self, household_ids: list[int]) -> dict[tuple[int, int], AnnualAccount]:
        found: dict[tuple[int, int], AnnualAccount] = {}
        for chunk in _chunks(household_ids):
            found.update({(a.household_id, a.year): a for a in AnnualAccount.objects.filter(household_id__in=chunk)})
        return found
