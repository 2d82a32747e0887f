"""Linkage settings: thresholds, the prior, blocking rules and the probabilistic model, as frozen dataclasses.

Authoring, not implementing (Splink's own motto): everything that decides a link is here, named
and serialisable (`to_dict` / `from_dict`), so a run's manifest can record exactly which model
linked a batch. `splink_settings()` turns it into the settings dictionary Splink reads; the SQL
in it is plain (`=`, `IS NULL`, `jaro_winkler_similarity`, `levenshtein`), so DuckDB and Spark
both run it.

A comparison is declared by its column, a `method` (how its levels are told apart) and the
m/u probabilities of those levels: `name` (Chinese names: exact, homophone pinyin, 模糊音,
Jaro-Winkler on pinyin), `date`, `sex`, `place` (village, township), `id` (hashed ID numbers),
and the generic `exact`, `jaro_winkler` and `levenshtein` for other sources (FEBRL's columns).

The m and u probabilities of the default model are fixed, not trained per batch: a department
batch has a few hundred rows without a usable ID, too few for expectation maximisation to be
stable, and a model that changes with every batch would link the same row differently on
Monday and Tuesday. The values below are documented estimates (docs/linkage.md); the per-value
u of names comes from term frequencies among registry members (a common name like 王伟 is
weaker evidence than a rare one). A model for another kind of data is estimated once with
`engine.linkage.estimate_settings` and then frozen the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level: how often true matches (m) and non-matches (u) fall in it."""

    label: str
    m: float
    u: float


# Levels each method tells apart, in decreasing agreement (after the null level); `thresholds`
# add one level each where the method has them.
METHODS = ("name", "date", "sex", "place", "id", "exact", "jaro_winkler", "levenshtein")
_FIXED_LEVELS = {"name": 4, "date": 4, "sex": 2, "place": 4, "id": 2, "exact": 2, "jaro_winkler": 2, "levenshtein": 2}


@dataclass(frozen=True, slots=True)
class ComparisonSpec:
    """How one column is compared: its method, the thresholds of graded methods, and the m/u
    probabilities of its levels (in decreasing agreement, the last one "else")."""

    column: str
    levels: tuple[Level, ...]
    method: str = "exact"
    thresholds: tuple[float, ...] = ()
    term_frequency: bool = False  # adjust exact agreement by the value's frequency in the registry

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"{self.column}: unknown comparison method {self.method!r}")
        want = _FIXED_LEVELS[self.method] + (len(self.thresholds) if self.method in _GRADED else 0)
        if len(self.levels) != want:
            raise ValueError(f"{self.column}: method {self.method!r} has {want} levels, not {len(self.levels)}")

    def level(self, label: str) -> Level:
        for lv in self.levels:
            if lv.label == label:
                return lv
        raise KeyError(f"{self.column}: no level {label!r}")


_GRADED = ("name", "jaro_winkler", "levenshtein")

# m: how a department writes a registered person's value; u: how often two different people
# agree by chance in a county of ~100,000 members in ~60 villages, checked against Splink's
# estimate_u_using_random_sampling on the synthetic county (docs/linkage.md) and rounded
# towards caution where real names are more concentrated than synthetic ones.
NAME = ComparisonSpec(
    "name",
    (
        Level("exact", 0.93, 0.0005),  # u replaced by the name's own frequency (term frequency)
        Level("pinyin", 0.035, 0.0003),  # homophone: 张伟 / 章伟 (same pinyin, other characters)
        Level("fuzzy_pinyin", 0.012, 0.0001),  # 模糊音: 陈/程 (chen/cheng), 周/邹 (zhou/zou)
        Level("jaro_winkler_high", 0.01, 0.004),
        Level("jaro_winkler_low", 0.006, 0.03),
        Level("else", 0.007, 0.9651),
    ),
    method="name",
    thresholds=(0.92, 0.8),  # Jaro-Winkler on the names' pinyin
    term_frequency=True,
)
BIRTH_DATE = ComparisonSpec(
    "birth_date",
    (
        Level("exact", 0.95, 0.00004),  # ~1 / (365 × 70)
        Level("year_month", 0.02, 0.0012),  # day mistyped
        Level("year", 0.01, 0.014),
        Level("else", 0.02, 0.98476),
    ),
    method="date",
)
SEX = ComparisonSpec("sex", (Level("exact", 0.98, 0.5), Level("else", 0.02, 0.5)), method="sex")
VILLAGE = ComparisonSpec(
    "village_code",
    (
        Level("exact", 0.9, 0.016),  # ~60 villages in a county
        # u of a level is the chance among pairs in *its* situation: where one side knows only
        # the township (~8 per county), agreeing on it; else a same-township or other village.
        Level("township_only", 0.95, 0.12),
        Level("township", 0.05, 0.1),  # same 9-digit township prefix, other village
        Level("else", 0.05, 0.884),
    ),
    method="place",
)
# A row reaches the probabilistic step only if its ID hash matched nobody; a *valid* ID that
# differs from a candidate's is strong evidence against that candidate (a person outside the
# registry), while a missing or invalid ID (null hash) says nothing. GB 11643's check digit
# catches every single wrong digit and every swap of neighbours, so a registered person's
# number written as another *valid* one takes two errors at once (or a corrected number): about
# one in 5,000 numbers, m = 0.0002.
ID_HASH = ComparisonSpec("id_hash", (Level("exact", 0.99, 0.000001), Level("different", 0.0002, 0.999999)), method="id")


@dataclass(frozen=True)
class LinkSettings:
    """How feed rows are linked to registry members.

    - `accept`: a candidate whose match probability (normalised over the row's candidates and
      "not in the registry", so two equally good members share it) reaches this is linked;
    - `review`: below `accept`, a row whose best candidate reaches this on its own (pairwise)
      probability goes to the review queue; below it the row stays unmatched;
    - `member_prior`: the prior chance that a row without a usable ID is one of the registry's
      members; `None` estimates it from the batch itself — the share of its rows *with* a
      valid ID that matched a member exactly, (exact + 1) / (with ID + 2) — capped at
      `max_member_prior`, because people outside the registry may lack an ID more often than
      members do;
    - `probability_two_random_records_match`: Splink's prior per pair; when set it overrides
      `member_prior`;
    - `blocking_rules`: which pairs are compared at all (Splink syntax, `l.` feed, `r.` registry);
    - `comparisons`: method and m/u probabilities per column;
    - `repeat_in_group`: for rows sharing a `group_key` (a kind whose key allows a person once
      per year, per date …), the factor applied to a candidate already linked by ID in the same
      group — a department listing one person twice in one period, once without the ID;
    - `min_pair_probability`: pairs scoring below this are dropped before ranking;
    - `max_candidates`: candidates kept per row for the review queue.
    """

    accept: float = 0.95
    review: float = 0.5
    member_prior: float | None = None
    max_member_prior: float = 0.95
    probability_two_random_records_match: float | None = None
    blocking_rules: tuple[str, ...] = (
        "l.birth_date = r.birth_date",
        "l.name_fuzzy = r.name_fuzzy",
        "l.village_code = r.village_code AND l.name_initials = r.name_initials",
        "l.birth_date_year = r.birth_date_year AND l.name_surname = r.name_surname AND l.sex = r.sex",
    )
    duplicate_blocking_rules: tuple[str, ...] = ("l.birth_date = r.birth_date AND l.name_fuzzy = r.name_fuzzy",)
    comparisons: tuple[ComparisonSpec, ...] = (NAME, BIRTH_DATE, SEX, VILLAGE, ID_HASH)
    repeat_in_group: float = 0.01
    min_pair_probability: float = 1e-6
    max_candidates: int = 3

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.accept <= 1.0:
            raise ValueError("thresholds must satisfy 0 < review <= accept <= 1")
        for prior in (self.member_prior, self.max_member_prior):
            if prior is not None and not 0.0 < prior < 1.0:
                raise ValueError("member priors must lie strictly between 0 and 1")
        if not 0.0 < self.repeat_in_group <= 1.0:
            raise ValueError("repeat_in_group must be in (0, 1]")
        for spec in self.comparisons:
            for lv in spec.levels:
                if not (0.0 < lv.m <= 1.0 and 0.0 < lv.u <= 1.0):
                    raise ValueError(f"{spec.column}/{lv.label}: m and u must be in (0, 1]")

    def comparison(self, column: str) -> ComparisonSpec:
        for spec in self.comparisons:
            if spec.column == column:
                return spec
        raise KeyError(column)

    def with_levels(self, column: str, levels: tuple[Level, ...]) -> LinkSettings:
        """These settings with other m/u probabilities for one comparison."""
        specs = tuple(replace(s, levels=levels) if s.column == column else s for s in self.comparisons)
        return replace(self, comparisons=specs)

    def pair_prior(self, members: int, member_prior: float) -> float:
        """Splink's `probability_two_random_records_match` for a row that is one of `members`
        with probability `member_prior` (each equally likely) or nobody: its odds are
        member_prior / (members × (1 − member_prior)), so the normalised probabilities of a
        row's candidates (link.py) are the posterior of "which member, or nobody"."""
        if self.probability_two_random_records_match is not None:
            return self.probability_two_random_records_match
        n = max(members, 1)
        return member_prior / (member_prior + n * (1.0 - member_prior))

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkSettings:
        data = dict(data)
        if "comparisons" in data:
            data["comparisons"] = tuple(
                ComparisonSpec(
                    c["column"],
                    tuple(Level(**lv) for lv in c["levels"]),
                    method=c.get("method", "exact"),
                    thresholds=tuple(c.get("thresholds", ())),
                    term_frequency=bool(c.get("term_frequency", False)),
                )
                for c in data["comparisons"]
            )
        for key in ("blocking_rules", "duplicate_blocking_rules"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    # -- the Splink model ---------------------------------------------------------------------
    def splink_settings(
        self, *, prior: float, link_type: str = "link_only", with_id: bool = True, dialect: str = "duckdb"
    ) -> dict[str, Any]:
        """The Splink settings dictionary: fixed m/u, the comparisons, our blocking rules, in
        the SQL dialect of the backend (written for DuckDB, transpiled for Spark).

        `link_type="dedupe_only"` (duplicates inside the registry) leaves the ID comparison out
        (duplicates are precisely members with different IDs) and uses the duplicate blocking.
        """
        comparisons = [splink_comparison(s, dialect) for s in self.comparisons if with_id or s.method != "id"]
        rules = self.blocking_rules if link_type == "link_only" else self.duplicate_blocking_rules
        return {
            "link_type": link_type,
            "unique_id_column_name": "uid",
            "probability_two_random_records_match": prior,
            "blocking_rules_to_generate_predictions": [_in_dialect(r, dialect) for r in rules],
            "comparisons": comparisons,
            "retain_matching_columns": False,
            "retain_intermediate_calculation_columns": False,
        }

    def term_frequency_columns(self) -> list[str]:
        """Prepared columns whose per-value u comes from the registry's frequencies."""
        out: list[str] = []
        for s in self.comparisons:
            if s.term_frequency:
                out.append(s.column)
                if s.method == "name":
                    out.append(f"{s.column}_pinyin")
        return out


def _null(column: str) -> dict[str, Any]:
    return {"sql_condition": f'"{column}_l" IS NULL OR "{column}_r" IS NULL', "is_null_level": True}


def _level(lv: Level, sql: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": lv.label, "m_probability": lv.m, "u_probability": lv.u, **extra}


def _tf(spec: ComparisonSpec, column: str) -> dict[str, Any]:
    return {"tf_adjustment_column": column, "tf_adjustment_weight": 1.0} if spec.term_frequency else {}


def _in_dialect(sql: str, dialect: str) -> str:
    """A condition written for DuckDB, in `dialect` (Spark: backquoted names, and Splink's
    `jaro_winkler` UDF for DuckDB's built-in `jaro_winkler_similarity`)."""
    if dialect == "duckdb" or sql == "ELSE":
        return sql
    import sqlglot

    renamed = sql.replace("jaro_winkler_similarity(", "jaro_winkler(")
    return str(sqlglot.transpile(renamed, read="duckdb", write=dialect)[0])


def splink_comparison(spec: ComparisonSpec, dialect: str = "duckdb") -> dict[str, Any]:
    """One comparison in Splink's dictionary form, from its method (see the module doc)."""
    comparison = _comparison(spec)
    for level in comparison["comparison_levels"]:
        level["sql_condition"] = _in_dialect(level["sql_condition"], dialect)
    return comparison


def _comparison(spec: ComparisonSpec) -> dict[str, Any]:
    c, lv = spec.column, spec.levels
    eq = f'"{c}_l" = "{c}_r"'
    levels: list[dict[str, Any]]
    if spec.method == "name":
        jw = f'jaro_winkler_similarity("{c}_pinyin_l", "{c}_pinyin_r")'
        levels = [
            _null(c),
            _level(lv[0], eq, **_tf(spec, c)),
            _level(lv[1], f'"{c}_pinyin_l" = "{c}_pinyin_r"', **_tf(spec, f"{c}_pinyin")),
            _level(lv[2], f'"{c}_fuzzy_l" = "{c}_fuzzy_r"'),
            *(_level(level, f"{jw} >= {float(t)}") for level, t in zip(lv[3:-1], spec.thresholds, strict=True)),
            _level(lv[-1], "ELSE"),
        ]
    elif spec.method == "date":
        levels = [
            _null(c),
            _level(lv[0], eq),
            _level(lv[1], f'"{c}_ym_l" = "{c}_ym_r"'),
            _level(lv[2], f'"{c}_year_l" = "{c}_year_r"'),
            _level(lv[3], "ELSE"),
        ]
    elif spec.method == "place":
        levels = [
            {"sql_condition": '"township_code_l" IS NULL OR "township_code_r" IS NULL', "is_null_level": True},
            _level(lv[0], eq),
            _level(lv[1], f'("{c}_l" IS NULL OR "{c}_r" IS NULL) AND "township_code_l" = "township_code_r"'),
            _level(lv[2], '"township_code_l" = "township_code_r"'),
            _level(lv[3], "ELSE"),
        ]
    elif spec.method in ("jaro_winkler", "levenshtein"):

        def graded(t: float) -> str:
            if spec.method == "jaro_winkler":
                return f'jaro_winkler_similarity("{c}_l", "{c}_r") >= {float(t)}'
            return f'levenshtein("{c}_l", "{c}_r") <= {int(t)}'

        levels = [
            _null(c),
            _level(lv[0], eq, **_tf(spec, c)),
            *(_level(level, graded(t)) for level, t in zip(lv[1:-1], spec.thresholds, strict=True)),
            _level(lv[-1], "ELSE"),
        ]
    else:  # exact, sex, id: agree or not
        levels = [_null(c), _level(lv[0], eq, **_tf(spec, c)), _level(lv[1], "ELSE")]
    return {"output_column_name": c, "comparison_levels": levels}


DEFAULT = LinkSettings()
