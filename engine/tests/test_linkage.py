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

import pyarrow as pa
import pytest

from engine.linkage import DEFAULT, LinkResult, LinkSettings, find_duplicate_persons, link_records
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


def test_a_name_alone_is_never_enough_to_link(result: LinkResult) -> None:
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
    assert rows[0]["birth_ym"] == "1980-05" and rows[0]["id_hash"] is None
    assert rows[1]["sex"] is None and rows[1]["village_code"] is None and rows[1]["name_pinyin"] is None


def test_settings_round_trip_through_a_dict() -> None:
    data = json.loads(json.dumps(DEFAULT.to_dict()))
    assert LinkSettings.from_dict(data) == DEFAULT
    with pytest.raises(ValueError):
        LinkSettings(accept=0.4, review=0.5)


def test_the_spark_backend_says_it_is_not_there_yet(registry: pa.Table) -> None:
    with pytest.raises(NotImplementedError, match="spark"):
        link_records(_feed(), registry, backend="spark")
    with pytest.raises(ValueError, match="unknown"):
        link_records(_feed(), registry, backend="oracle")
