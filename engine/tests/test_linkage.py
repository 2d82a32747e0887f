"""Linking department rows to registry members, as the policy reads.

A small county is built by hand: named members with the stories below, plus 1,500 filler
members with random names, birth dates and villages, so that name frequencies and the prior
(one feed row is one of ~1,500 members or nobody) look like a real, if small, registry.
Every test reads the result of one linkage run (Splink is the slow part: ~1 s per run).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.linkage import (
    DEFAULT,
    PLACES_SCHEMA,
    ComparisonSpec,
    Level,
    LinkResult,
    LinkSettings,
    estimate_settings,
    find_duplicate_persons,
    link_records,
    resolve_places,
)
from engine.linkage.prepare import name_spellings, normalize_name, prepare_records

V1, V2, V3 = "522630101201", "522630101202", "522630102203"  # V1, V2 in one township

# member_key: (name, birth date, sex, village, household_key)
PEOPLE = {
    1: ("张伟", dt.date(1980, 5, 1), "M", V1, 1),
    2: ("李秀英", dt.date(1956, 3, 12), "F", V1, 1),
    3: ("陈明", dt.date(1991, 7, 30), "M", V2, 2),
    4: ("杨洋", dt.date(2001, 9, 9), "M", V3, 3),  # two men of the same name and birth date
    5: ("杨洋", dt.date(2001, 9, 9), "M", V3, 4),  # in one village: ambiguous
    6: ("刘德华", dt.date(1961, 9, 27), "M", V2, 5),
    7: ("柳德华", dt.date(1961, 9, 27), "M", V3, 6),  # the same man registered again (一人多户)
    8: ("潘金莲", dt.date(1975, 2, 14), "F", V2, 7),
}
FILLER_SURNAMES = (
    "赵钱孙吴郑冯褚卫蒋沈韩朱秦尤许何吕施孔曹严华金魏陶姜戚谢邹喻柏窦章云苏葛奚范彭鲁韦昌马苗凤花方俞任袁柳"
)
FILLER_GIVEN = "一二三子文武国家和平安康乐永志忠良春夏秋冬山水林木云海天地光明月星东南西北红黄青白金银玉石"


def _hash(member_key: int) -> str:
    return f"{member_key:064x}"  # stands for Protector.hash(ID number): any fixed 64-hex string


def _registry() -> pa.Table:
    rng = random.Random(20250101)
    rows = [(k, _hash(k), *v) for k, v in PEOPLE.items()]
    villages = [f"5226301{t:02d}2{v:02d}" for t in range(1, 6) for v in range(1, 9)]
    names = {p[0] for p in PEOPLE.values()}
    key = 100
    while len(rows) < 1_500:
        name = rng.choice(FILLER_SURNAMES) + "".join(rng.choice(FILLER_GIVEN) for _ in range(rng.choice((1, 2))))
        if name in names:
            continue
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 70))
        rows.append((key, _hash(key), name, birth, rng.choice("MF"), rng.choice(villages), 1000 + key // 4))
        key += 1
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "member_key": pa.array(cols[0], pa.int64()),
            "id_hash": pa.array(cols[1], pa.string()),
            "name": pa.array(cols[2], pa.string()),
            "birth_date": pa.array(cols[3], pa.date32()),
            "sex": pa.array(cols[4], pa.string()),
            "village_code": pa.array(cols[5], pa.string()),
            "household_key": pa.array(cols[6], pa.int64()),
        }
    )


# row_id: (id_hash, name, birth date, sex, village) — what a department file gave us
FEED = {
    101: (_hash(2), "李秀英", None, None, None),  # the member's ID hash
    102: (None, "章伟", dt.date(1980, 5, 1), "男", V1),  # homophone typo 张→章, ID missing
    103: (None, "陈明", dt.date(1991, 7, 30), "M", None),  # wrong check digit: no hash, name + birth
    104: (None, "程明", dt.date(1991, 7, 30), "M", V2),  # 陈→程 (chen/cheng, 模糊音)
    105: ("f" * 64, "诸葛亮", dt.date(1981, 1, 1), "M", V1),  # not in the registry (valid, unknown ID)
    106: (None, "杨洋", dt.date(2001, 9, 9), "M", V3),  # two members fit equally: review
    107: (None, "潘金莲", None, None, None),  # a name and nothing else: never linked on that alone
    108: ("e" * 64, "张伟", dt.date(1950, 1, 1), "M", V3),  # same name, other ID, other birth date
    109: (None, "张 伟", dt.date(1980, 5, 1), "男", V1),  # a blank inside the name
}


def _feed() -> pa.Table:
    keys = list(FEED)
    cols = list(zip(*FEED.values(), strict=True))
    return pa.table(
        {
            "row_id": pa.array(keys, pa.int64()),
            "id_hash": pa.array(cols[0], pa.string()),
            "name": pa.array(cols[1], pa.string()),
            "birth_date": pa.array(cols[2], pa.date32()),
            "sex": pa.array(cols[3], pa.string()),
            "village_code": pa.array(cols[4], pa.string()),
        }
    )


@pytest.fixture(scope="module")
def registry() -> pa.Table:
    return _registry()


@pytest.fixture(scope="module")
def result(registry: pa.Table) -> LinkResult:
    return link_records(_feed(), registry)


def _row(result: LinkResult, row_id: int) -> dict:
    return next(r for r in result.links.to_pylist() if r["row_id"] == row_id)


def test_a_feed_row_with_the_members_id_hash_links_exactly(result: LinkResult) -> None:
    row = _row(result, 101)
    assert (row["member_key"], row["method"], row["status"], row["match_probability"]) == (
        2,
        "exact_id",
        "accepted",
        1.0,
    )


def test_a_homophone_typo_with_the_right_birth_date_and_village_is_linked(result: LinkResult) -> None:
    row = _row(result, 102)  # 章伟 for 张伟
    assert (row["member_key"], row["method"], row["status"]) == (1, "probabilistic", "accepted")
    assert row["match_probability"] >= DEFAULT.accept


def test_a_southwestern_mandarin_confusion_chen_cheng_is_linked(result: LinkResult) -> None:
    row = _row(result, 104)
    assert (row["member_key"], row["status"]) == (3, "accepted")


def test_a_wrong_check_digit_row_with_correct_name_and_birth_date_links_probabilistically(result: LinkResult) -> None:
    row = _row(result, 103)
    assert (row["member_key"], row["method"], row["status"]) == (3, "probabilistic", "accepted")


def test_a_blank_inside_the_name_does_not_matter(result: LinkResult) -> None:
    assert _row(result, 109)["member_key"] == 1


def test_a_person_not_in_the_registry_stays_unmatched(result: LinkResult) -> None:
    row = _row(result, 105)
    assert (row["member_key"], row["status"]) == (None, "unmatched")


def test_a_namesake_with_another_valid_id_and_birth_date_is_not_linked(result: LinkResult) -> None:
    row = _row(result, 108)
    assert row["status"] == "unmatched"
    assert row["member_key"] is None


def test_an_ambiguous_row_goes_to_review_not_accepted(result: LinkResult) -> None:
    row = _row(result, 106)
    assert row["status"] == "review"
    assert row["member_key"] in (4, 5)
    assert row["match_probability"] < 0.5  # the two members share the probability
    offered = [c["member_key"] for c in result.candidates.to_pylist() if c["row_id"] == 106]
    assert offered[:2] == [4, 5]  # the reviewer is shown both, ranked deterministically


def test_a_name_alone_is_not_enough_to_link(result: LinkResult) -> None:
    # (this batch's IDs are mostly outsiders': it gives no reason to think 潘金莲 is a member)
    assert _row(result, 107)["status"] != "accepted"


def test_counts_and_match_rate_describe_the_batch(result: LinkResult) -> None:
    c = result.counts
    assert c["rows"] == len(FEED)
    assert c["exact_id"] + c["probabilistic_accepted"] + c["review"] + c["unmatched"] == c["rows"]
    assert c["exact_id"] == 1
    assert result.match_rate == pytest.approx((c["exact_id"] + c["probabilistic_accepted"]) / c["rows"])
    assert result.links.column_names[:5] == ["row_id", "member_key", "match_probability", "pair_probability", "method"]
    json.dumps(result.summary())


def test_linking_is_deterministic(registry: pa.Table, result: LinkResult) -> None:
    again = link_records(_feed(), registry)
    assert again.links.equals(result.links)
    assert again.candidates.equals(result.candidates)


def test_probable_duplicate_persons_in_the_registry_are_listed(registry: pa.Table) -> None:
    pairs = find_duplicate_persons(registry).to_pylist()
    found = {(p["member_key_l"], p["member_key_r"]): p for p in pairs}
    assert (6, 7) in found  # 刘德华 / 柳德华, same birth date and sex, other household
    assert found[(6, 7)]["reason"] == "homophone_name"
    assert found[(6, 7)]["same_household"] is False
    assert (4, 5) in found  # the two 杨洋 are listed for a look, too
    assert all(p["match_probability"] >= DEFAULT.review for p in pairs)
    assert len(pairs) == 2  # filler members are never paired


def test_names_are_compared_in_pinyin_and_fuzzy_pinyin() -> None:
    assert name_spellings("张伟")[0] == name_spellings("章伟")[0] == "zhangwei"
    assert name_spellings("陈明")[0] != name_spellings("程明")[0]
    assert name_spellings("陈明")[1] == name_spellings("程明")[1]  # chen/cheng folded
    assert name_spellings("单雄")[0] == "shanxiong"  # surname reading of 单
    assert normalize_name(" 张　伟 ") == "张伟"
    assert normalize_name("阿依古丽•买买提") == "阿依古丽·买买提"


def test_prepared_columns_fold_sex_and_places() -> None:
    table = pa.table(
        {
            "row_id": pa.array([1, 2], pa.int64()),
            "id_hash": pa.array(["", None], pa.string()),
            "name": ["张伟", None],
            "birth_date": pa.array([dt.date(1980, 5, 1), None], pa.date32()),
            "sex": ["男", "x"],
            "village_code": ["５２２６３０１０１２０１", "5226"],
        }
    )
    rows = prepare_records(table, "row_id").to_pylist()
    assert rows[0]["sex"] == "M" and rows[0]["village_code"] == V1 and rows[0]["township_code"] == V1[:9]
    assert rows[0]["birth_date_ym"] == "1980-05" and rows[0]["id_hash"] is None
    assert rows[1]["sex"] is None and rows[1]["village_code"] is None and rows[1]["name_pinyin"] is None


def test_settings_round_trip_through_a_dict() -> None:
    data = json.loads(json.dumps(DEFAULT.to_dict()))
    assert LinkSettings.from_dict(data) == DEFAULT
    with pytest.raises(ValueError):
        LinkSettings(accept=0.4, review=0.5)


def test_an_unknown_backend_is_refused(registry: pa.Table) -> None:
    with pytest.raises(ValueError, match="unknown"):
        link_records(_feed(), registry, backend="oracle")


# -- what the batch itself says --------------------------------------------------------------
# A department batch is mostly registry members with IDs. Its rows with an ID tell how likely a
# row without one is a member, which members it lists already, and how often it repeats people.


def _batch(registry: pa.Table, listed: list[int], extra: dict[int, tuple], *, group: str | None = None) -> pa.Table:
    """Rows with the IDs of `listed` members (row_id 1000+), then the `extra` rows."""
    people = {r["member_key"]: r for r in registry.to_pylist()}
    rows = [
        (1000 + i, people[k]["id_hash"], people[k]["name"], people[k]["birth_date"], people[k]["sex"], None)
        for i, k in enumerate(listed)
    ]
    rows += [(k, *v) for k, v in extra.items()]
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "row_id": pa.array(cols[0], pa.int64()),
            "id_hash": pa.array(cols[1], pa.string()),
            "name": pa.array(cols[2], pa.string()),
            "birth_date": pa.array(cols[3], pa.date32()),
            "sex": pa.array(cols[4], pa.string()),
            "village_code": pa.array(cols[5], pa.string()),
            "group_key": pa.array([group] * len(rows), pa.string()),
        }
    )


def _status(result: LinkResult, row_id: int) -> tuple[int | None, str]:
    row = _row(result, row_id)
    return row["member_key"], row["status"]


def test_the_member_prior_comes_from_the_batchs_own_ids(registry: pa.Table) -> None:
    members = registry.filter(pc.greater_equal(registry.column("member_key"), 100))
    listed = members.column("member_key").to_pylist()[:200]
    # a name and its village: strong enough in a batch of members, not in a batch of outsiders
    ours = link_records(_batch(registry, listed, {1: (None, "陈明", None, None, V2)}), registry)
    assert ours.member_prior == DEFAULT.max_member_prior  # 200 of 200 IDs are members': capped
    assert _status(ours, 1) == (3, "accepted")
    outsiders = _batch(registry, [], {1: (None, "陈明", None, None, V2)})
    strangers = pa.table(
        {
            "row_id": pa.array(range(2000, 2200), pa.int64()),
            "id_hash": pa.array([f"{k:064x}"[::-1] for k in range(200)], pa.string()),
            "name": pa.array(["某人"] * 200, pa.string()),
        }
    )
    theirs = link_records(pa.concat_tables([outsiders, strangers], promote_options="default"), registry)
    assert theirs.member_prior < 0.01
    assert _status(theirs, 1)[1] != "accepted"


def test_a_rare_name_alone_links_only_when_the_batch_lists_its_bearer_by_id(registry: pa.Table) -> None:
    # a quarter's claims: people come back, most with their ID; 刘德华 (member 6) is listed,
    # 潘金莲 (member 8) is not, and each name is borne by one member only
    fillers = registry.filter(pc.greater_equal(registry.column("member_key"), 100))
    repeated = fillers.column("member_key").to_pylist()[:300]
    listed = [*repeated, *repeated[:200], 6, 6]
    rows = {1: (None, "刘德华", None, None, None), 2: (None, "潘金莲", None, None, None)}
    result = link_records(_batch(registry, listed, rows), registry)
    assert _status(result, 1) == (6, "accepted")
    assert _status(result, 2)[1] == "review"  # the right person, probably: a reviewer decides


def test_a_list_of_each_person_once_points_to_the_members_it_does_not_list_yet(registry: pa.Table) -> None:
    # an enrolment year: every member listed by ID except the two 杨洋 and 张伟; a row without an
    # ID named 杨洋 of V3 can only be one of the two; named 李秀英 (listed already) it is nobody
    everyone = [k for k in registry.column("member_key").to_pylist() if k not in (1, 4, 5)]
    rows = {1: (None, "杨洋", None, None, V3), 2: (None, "李秀英", None, None, V1), 3: (None, "张伟", None, None, V1)}
    result = link_records(_batch(registry, everyone, rows, group="2025"), registry)
    assert _status(result, 1)[1] == "review" and _status(result, 1)[0] in (4, 5)  # still two of them
    assert _status(result, 2)[1] != "accepted"
    assert _status(result, 3) == (1, "accepted")


def test_two_rows_of_one_list_are_never_linked_to_one_member(registry: pa.Table) -> None:
    everyone = [k for k in registry.column("member_key").to_pylist() if k != 1]
    rows = {1: (None, "张伟", dt.date(1980, 5, 1), "M", V1), 2: (None, "章伟", dt.date(1980, 5, 1), "M", V1)}
    result = link_records(_batch(registry, everyone, rows, group="2025"), registry)
    assert sorted([_status(result, 1), _status(result, 2)]) == [(1, "accepted"), (1, "review")]


def test_a_name_shared_by_many_members_is_no_question_for_a_reviewer(registry: pa.Table) -> None:
    crowd = [
        (k, f"{k:064x}", "王芳", dt.date(1960, 1, 1) + dt.timedelta(days=k), "F", V1, k) for k in range(5000, 5040)
    ]
    bigger = pa.concat_tables(
        [
            registry,
            pa.Table.from_pylist(
                [dict(zip(registry.column_names, r, strict=True)) for r in crowd], schema=registry.schema
            ),
        ]
    )
    listed = registry.column("member_key").to_pylist()[:300]
    result = link_records(_batch(bigger, listed, {1: (None, "王芳", None, None, None)}), bigger)
    assert _status(result, 1) == (None, "unmatched")  # forty namesakes: unmatched, not review


# -- places by name ----------------------------------------------------------------------------

PLACES = pa.table(
    {
        "village_code": ["522630001201", "522630101202", "522630102203", "522630102204", None],
        "village_name": ["红阳村村民委员会", "施洞村村民委员会", "红阳村村民委员会", "南宫社区居民委员会", None],
        "township_code": ["522630001", "522630101", "522630102", "522630102", "522630103"],
        "township_name": ["台拱街道", "施洞镇", "南宫镇", "南宫镇", "革一镇"],
    },
    schema=PLACES_SCHEMA,
)


def test_village_and_township_names_become_codes_only_when_unambiguous() -> None:
    villages = ["施洞村", "施洞", "红阳村", "红阳村", "南宫社区", None, None, "不存在村"]
    townships = [None, None, None, "南宫", None, "革一镇", None, "台拱街道"]
    addresses = [None, None, None, None, None, None, "台江县施洞镇施洞村3组", None]
    village, township = resolve_places(
        PLACES, len(villages), village=pa.array(villages), township=pa.array(townships), address=pa.array(addresses)
    )
    assert village.to_pylist() == [
        "522630101202",  # 施洞村
        "522630101202",  # 施洞: the 村 left out
        None,  # 红阳村: there is one in 台拱街道 and one in 南宫镇
        "522630102203",  # … the township tells which
        "522630102204",  # a 社区
        None,
        "522630101202",  # from a housing address
        None,
    ]
    assert township.to_pylist() == [
        "522630101",
        "522630101",
        None,
        "522630102",
        "522630102",
        "522630103",  # a township alone still counts
        "522630101",
        "522630001",  # an unknown village of a known township
    ]


# -- another kind of data: FEBRL's columns ------------------------------------------------------


def _people(rows: list[tuple], key: str) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            key: pa.array(cols[0], pa.int64()),
            "given_name": pa.array(cols[1], pa.string()),
            "surname": pa.array(cols[2], pa.string()),
            "date_of_birth": pa.array(cols[3], pa.string()),
            "group_key": pa.array(["a"] * len(rows), pa.string()),
        }
    )


def test_other_columns_are_compared_by_declared_generic_methods() -> None:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(4, 8)))

    people = [
        (i, word(), word(), f"19{rng.randint(10, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}")
        for i in range(400)
    ]
    left = [(i, g, s, d) for i, g, s, d in people[:200]]
    right = [(i, g if i % 3 else g[:-1] + "x", s, d if i % 5 else d[:6] + "99") for i, g, s, d in people]
    jw = (Level("exact", 0.85, 0.003), Level("close", 0.1, 0.01), Level("else", 0.05, 0.987))
    lev = (Level("exact", 0.85, 0.0005), Level("one_off", 0.1, 0.005), Level("else", 0.05, 0.9945))
    settings = LinkSettings(
        comparisons=(
            ComparisonSpec("given_name", jw, method="jaro_winkler", thresholds=(0.9,)),
            ComparisonSpec("surname", jw, method="jaro_winkler", thresholds=(0.9,)),
            ComparisonSpec("date_of_birth", lev, method="levenshtein", thresholds=(2,)),
        ),
        blocking_rules=("l.surname = r.surname", "l.date_of_birth = r.date_of_birth"),
    )
    trained = estimate_settings(
        _people(left, "row_id"),
        _people(right, "member_key"),
        settings,
        em_blocking_rules=("l.surname = r.surname", "l.date_of_birth = r.date_of_birth"),
        max_pairs=2e4,
    )
    assert trained != settings  # m/u from the data
    result = link_records(_people(left, "row_id"), _people(right, "member_key"), trained)
    links = result.links.to_pylist()
    accepted = [r for r in links if r["status"] == "accepted"]
    assert len(accepted) >= 190
    assert all(r["row_id"] == r["member_key"] for r in accepted)


def test_a_settings_declaration_is_checked() -> None:
    with pytest.raises(ValueError, match="levels"):
        ComparisonSpec("x", (Level("exact", 0.9, 0.1),), method="exact")
    with pytest.raises(ValueError, match="method"):
        ComparisonSpec("x", (Level("a", 0.9, 0.1), Level("b", 0.1, 0.9)), method="soundex")


# -- the same on Spark -------------------------------------------------------------------------


def _same_links(a: LinkResult, b: LinkResult) -> None:
    decided = ["row_id", "member_key", "method", "status", "candidates"]
    assert a.links.select(decided).to_pylist() == b.links.select(decided).to_pylist()
    for x, y in zip(a.links.to_pylist(), b.links.to_pylist(), strict=True):
        assert x["match_probability"] == pytest.approx(y["match_probability"], rel=1e-9, abs=1e-12)
    assert a.candidates.select(["row_id", "rank", "member_key"]).equals(
        b.candidates.select(["row_id", "rank", "member_key"])
    )
    assert a.counts == b.counts and a.member_prior == b.member_prior


@pytest.mark.spark
def test_spark_links_every_row_as_duckdb_does(registry: pa.Table, result: LinkResult, spark: Any) -> None:
    _same_links(link_records(_feed(), registry, backend="spark", spark=spark), result)
    # a batch that lists each person once, with the prior and the presence of the batch
    everyone = [k for k in registry.column("member_key").to_pylist() if k not in (1, 4, 5)]
    rows = {1: (None, "杨洋", None, None, V3), 3: (None, "张伟", None, None, V1), 4: (None, "程明", None, "M", V2)}
    batch = _batch(registry, everyone, rows, group="2025")
    _same_links(link_records(batch, registry, backend="spark", spark=spark), link_records(batch, registry))


@pytest.mark.spark
def test_spark_lists_the_same_duplicate_persons(registry: pa.Table, spark: Any) -> None:
    on_spark = find_duplicate_persons(registry, backend="spark", spark=spark)
    assert on_spark.select(["member_key_l", "member_key_r", "reason"]).equals(
        find_duplicate_persons(registry).select(["member_key_l", "member_key_r", "reason"])
    )
