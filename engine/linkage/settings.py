"""Linkage settings: thresholds, blocking rules and the probabilistic model, as frozen dataclasses.

Authoring, not implementing (Splink's own motto): everything that decides a link is here, named
and serialisable (`to_dict` / `from_dict`), so a run's manifest can record exactly which model
linked a batch. `splink_settings()` turns it into the settings dictionary Splink reads; the SQL
in it is plain (`=`, `IS NULL`, `jaro_winkler_similarity`), so DuckDB and Spark both run it.

The m and u probabilities are fixed, not trained per batch: a department batch has a few
hundred rows without a usable ID, too few for expectation maximisation to be stable, and a
model that changes with every batch would link the same row differently on Monday and
Tuesday. The values below are documented estimates (docs/linkage.md), checked against the
synthetic county's planted noise; the per-value u of names comes from term frequencies in the
data (a common name like 王伟 is weaker evidence than a rare one), which Splink computes at run
time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level: how often true matches (m) and non-matches (u) fall in it."""

    label: str
    m: float
    u: float


@dataclass(frozen=True, slots=True)
class ComparisonSpec:
    """The m/u probabilities of one compared column, levels in decreasing agreement."""

    column: str
    levels: tuple[Level, ...]

    def level(self, label: str) -> Level:
        for lv in self.levels:
            if lv.label == label:
                return lv
        raise KeyError(f"{self.column}: no level {label!r}")


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
)
BIRTH_DATE = ComparisonSpec(
    "birth_date",
    (
        Level("exact", 0.95, 0.00004),  # ~1 / (365 × 70)
        Level("year_month", 0.02, 0.0012),  # day mistyped
        Level("year", 0.01, 0.014),
        Level("else", 0.02, 0.98476),
    ),
)
SEX = ComparisonSpec("sex", (Level("exact", 0.98, 0.5), Level("else", 0.02, 0.5)))
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
)
# A row reaches the probabilistic step only if its ID hash matched nobody; a *valid* ID that
# differs from a candidate's is strong evidence against that candidate (a person outside the
# registry), while a missing or invalid ID (null hash) says nothing.
ID_HASH = ComparisonSpec("id_hash", (Level("exact", 0.99, 0.000001), Level("different", 0.002, 0.999999)))


@dataclass(frozen=True)
class LinkSettings:
    """How feed rows are linked to registry members.

    - `accept`: a candidate whose match probability (normalised over the row's candidates, so
      two equally good members share it) reaches this is linked;
    - `review`: below `accept`, a row whose best candidate reaches this on its own (pairwise)
      probability goes to the review queue; below it the row stays unmatched;
    - `probability_two_random_records_match`: the prior; `None` means 1 / registry size (each
      feed row is one of the registry's members or nobody);
    - `blocking_rules`: which pairs are compared at all (Splink syntax, `l.` feed, `r.` registry);
    - `comparisons`: m/u probabilities per column and level;
    - `name_jaro_winkler`: the two Jaro-Winkler thresholds on the names' pinyin;
    - `term_frequency_names`: adjust name agreement by the name's frequency;
    - `min_pair_probability`: pairs scoring below this are dropped before ranking;
    - `max_candidates`: candidates kept per row for the review queue.
    """

    accept: float = 0.95
    review: float = 0.5
    probability_two_random_records_match: float | None = None
    blocking_rules: tuple[str, ...] = (
        "l.birth_date = r.birth_date",
        "l.name_fuzzy = r.name_fuzzy",
        "l.village_code = r.village_code AND l.name_initials = r.name_initials",
        "l.birth_year = r.birth_year AND l.surname_fuzzy = r.surname_fuzzy AND l.sex = r.sex",
    )
    duplicate_blocking_rules: tuple[str, ...] = ("l.birth_date = r.birth_date AND l.name_fuzzy = r.name_fuzzy",)
    comparisons: tuple[ComparisonSpec, ...] = (NAME, BIRTH_DATE, SEX, VILLAGE, ID_HASH)
    name_jaro_winkler: tuple[float, float] = (0.92, 0.8)
    term_frequency_names: bool = True
    min_pair_probability: float = 1e-6
    max_candidates: int = 3

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.accept <= 1.0:
            raise ValueError("thresholds must satisfy 0 < review <= accept <= 1")
        for spec in self.comparisons:
            for lv in spec.levels:
                if not (0.0 < lv.m <= 1.0 and 0.0 < lv.u <= 1.0):
                    raise ValueError(f"{spec.column}/{lv.label}: m and u must be in (0, 1]")

    def comparison(self, column: str) -> ComparisonSpec:
        for spec in self.comparisons:
            if spec.column == column:
                return spec
        raise KeyError(column)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkSettings:
        data = dict(data)
        if "comparisons" in data:
            data["comparisons"] = tuple(
                ComparisonSpec(c["column"], tuple(Level(**lv) for lv in c["levels"])) for c in data["comparisons"]
            )
        for key in ("blocking_rules", "duplicate_blocking_rules", "name_jaro_winkler"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    # -- the Splink model ---------------------------------------------------------------------
    def splink_settings(self, *, prior: float, link_type: str = "link_only", with_id: bool = True) -> dict[str, Any]:
        """The Splink settings dictionary: fixed m/u, the comparisons below, our blocking rules.

        `link_type="dedupe_only"` (duplicates inside the registry) leaves the ID comparison out
        (duplicates are precisely members with different IDs) and uses the duplicate blocking.
        """
        comparisons = [self._name_comparison(), self._birth_comparison(), self._sex_comparison()]
        comparisons.append(self._village_comparison())
        if with_id:
            comparisons.append(self._id_comparison())
        rules = self.blocking_rules if link_type == "link_only" else self.duplicate_blocking_rules
        return {
            "link_type": link_type,
            "unique_id_column_name": "uid",
            "probability_two_random_records_match": prior,
            "blocking_rules_to_generate_predictions": list(rules),
            "comparisons": comparisons,
            "retain_matching_columns": False,
            "retain_intermediate_calculation_columns": False,
        }

    @staticmethod
    def _null(column: str) -> dict[str, Any]:
        return {"sql_condition": f'"{column}_l" IS NULL OR "{column}_r" IS NULL', "is_null_level": True}

    @staticmethod
    def _level(spec: ComparisonSpec, label: str, sql: str, **extra: Any) -> dict[str, Any]:
        lv = spec.level(label)
        return {"sql_condition": sql, "label_for_charts": label, "m_probability": lv.m, "u_probability": lv.u, **extra}

    def _name_comparison(self) -> dict[str, Any]:
        s = self.comparison("name")
        high, low = self.name_jaro_winkler
        tf_name = {"tf_adjustment_column": "name", "tf_adjustment_weight": 1.0} if self.term_frequency_names else {}
        tf_py = (
            {"tf_adjustment_column": "name_pinyin", "tf_adjustment_weight": 1.0} if self.term_frequency_names else {}
        )
        jw = 'jaro_winkler_similarity("name_pinyin_l", "name_pinyin_r")'
        return {
            "output_column_name": "name",
            "comparison_levels": [
                self._null("name"),
                self._level(s, "exact", '"name_l" = "name_r"', **tf_name),
                self._level(s, "pinyin", '"name_pinyin_l" = "name_pinyin_r"', **tf_py),
                self._level(s, "fuzzy_pinyin", '"name_fuzzy_l" = "name_fuzzy_r"'),
                self._level(s, "jaro_winkler_high", f"{jw} >= {high}"),
                self._level(s, "jaro_winkler_low", f"{jw} >= {low}"),
                self._level(s, "else", "ELSE"),
            ],
        }

    def _birth_comparison(self) -> dict[str, Any]:
        s = self.comparison("birth_date")
        return {
            "output_column_name": "birth_date",
            "comparison_levels": [
                self._null("birth_date"),
                self._level(s, "exact", '"birth_date_l" = "birth_date_r"'),
                self._level(s, "year_month", '"birth_ym_l" = "birth_ym_r"'),
                self._level(s, "year", '"birth_year_l" = "birth_year_r"'),
                self._level(s, "else", "ELSE"),
            ],
        }

    def _sex_comparison(self) -> dict[str, Any]:
        s = self.comparison("sex")
        return {
            "output_column_name": "sex",
            "comparison_levels": [
                self._null("sex"),
                self._level(s, "exact", '"sex_l" = "sex_r"'),
                self._level(s, "else", "ELSE"),
            ],
        }

    def _village_comparison(self) -> dict[str, Any]:
        s = self.comparison("village_code")
        return {
            "output_column_name": "village_code",
            "comparison_levels": [
                {
                    "sql_condition": '"township_code_l" IS NULL OR "township_code_r" IS NULL',
                    "is_null_level": True,
                },
                self._level(s, "exact", '"village_code_l" = "village_code_r"'),
                self._level(
                    s,
                    "township_only",
                    '("village_code_l" IS NULL OR "village_code_r" IS NULL) AND "township_code_l" = "township_code_r"',
                ),
                self._level(s, "township", '"township_code_l" = "township_code_r"'),
                self._level(s, "else", "ELSE"),
            ],
        }

    def _id_comparison(self) -> dict[str, Any]:
        s = self.comparison("id_hash")
        return {
            "output_column_name": "id_hash",
            "comparison_levels": [
                self._null("id_hash"),
                self._level(s, "exact", '"id_hash_l" = "id_hash_r"'),
                self._level(s, "different", "ELSE"),
            ],
        }


DEFAULT = LinkSettings()
