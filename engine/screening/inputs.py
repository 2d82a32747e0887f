"""The relations a screening run reads, by name, and the columns the rules need from each.

Three come from the registry (the app snapshots them; the engine never reads the database):

- ``members`` — the member snapshot (`shouwang.registry.snapshot.SCHEMA`, copied here because
  the engine never imports the app): member_key, household_key, id_hash, name, birth_date,
  sex, village_code, deceased;
- ``households`` — one row per household: the flags the rules weigh (户类型, 监测状态) and
  the village it lives in;
- ``accounts`` — one row per household and year (年度收支, `AnnualAccount`): the four income
  components, the operating cost and the population; net and per-capita net income are
  derived by the rules (policy.md §4.2), never taken from the input.

The department feeds are the stored feed Parquet (`engine.feeds.storage`), one relation per
kind, linked (`member_key`, `household_key` from `engine.feeds.link_exact`) and carrying the
`batch_id` they were imported in. Rows that are not linked (null keys) are ignored.
"""

from __future__ import annotations

import pyarrow as pa

MEMBERS_SCHEMA = pa.schema(
    [
        ("member_key", pa.int64()),
        ("household_key", pa.int64()),
        ("id_hash", pa.string()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
        ("village_code", pa.string()),
        ("deceased", pa.bool_()),
    ]
)

HOUSEHOLDS_SCHEMA = pa.schema(
    [
        pa.field("household_key", pa.int64(), nullable=False),  # Household.pk
        pa.field("village_code", pa.string(), nullable=False),  # 12-digit NBS code of Household.village
        pa.field("household_type", pa.string(), nullable=False),  # 脱贫户 / 一般农户
        pa.field("monitoring_state", pa.string()),  # 未纳入 / 监测中 / 风险已消除
        pa.field("monitoring_category", pa.string()),  # 脱贫不稳定户 / 边缘易致贫户 / 突发严重困难户 / null
        pa.field("housing_grade", pa.string()),  # A–D or null
        pa.field("water_quantity_ok", pa.bool_()),
        pa.field("water_quality_ok", pa.bool_()),
        pa.field("water_convenience_ok", pa.bool_()),
        pa.field("water_reliability_ok", pa.bool_()),
    ]
)

MONEY = pa.decimal128(12, 2)
ACCOUNTS_SCHEMA = pa.schema(
    [
        pa.field("household_key", pa.int64(), nullable=False),  # AnnualAccount.household_id
        pa.field("year", pa.int16(), nullable=False),
        pa.field("wage_income", MONEY),  # 工资性收入
        pa.field("operating_income", MONEY),  # 生产经营性收入
        pa.field("operating_cost", MONEY),  # 生产经营性支出 (deducted)
        pa.field("property_income", MONEY),  # 财产性收入
        pa.field("transfer_income", MONEY),  # 转移性收入
        pa.field("population", pa.int16(), nullable=False),  # 家庭人口数 (≥ 1)
        pa.field("medical_expense", MONEY),  # 合规自付医疗支出 (not used by the rules yet)
        pa.field("education_expense", MONEY),  # 教育支出 (not used by the rules yet)
    ]
)

REGISTRY_INPUTS: dict[str, pa.Schema] = {
    "members": MEMBERS_SCHEMA,
    "households": HOUSEHOLDS_SCHEMA,
    "accounts": ACCOUNTS_SCHEMA,
}

# Columns every linked feed relation must carry besides its kind's own (engine.feeds).
FEED_LINK_COLUMNS = ("member_key", "household_key", "batch_id")
