"""The registry import files (户籍信息导入模板), after the national collection form (信息采集表).

Two kinds, each its own sheet or CSV file:

- ``registry_members``: one row per person; the household columns repeat on each row of the
  household and must agree (the way counties keep their spreadsheets today);
- ``registry_accounts``: one row per household and year: income components and rigid
  expenditures (年度收支). Net and per-capita net income are derived, never imported.
"""

from __future__ import annotations

from engine.i18n import gettext_noop
from engine.schema import Column, TableSchema
from engine.schema import ColumnType as T

YES_NO = ("是", "否")

HOUSEHOLD_TYPES = ("脱贫户", "一般农户")
MONITORING_CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
MONITORING_STATES = ("未纳入", "监测中", "风险已消除")
HOUSING_GRADES = ("A", "B", "C", "D")
RELATIONSHIPS = ("户主", "配偶", "子", "女", "儿媳", "女婿", "孙子女", "父母", "祖父母", "兄弟姐妹", "其他")
EDUCATION_LEVELS = ("文盲或半文盲", "学龄前", "小学", "初中", "高中", "中职", "大专", "本科及以上")
SCHOOL_STATUSES = (
    "非在校生",
    "学龄前儿童",
    "学前教育",
    "小学",
    "七至九年级",
    "普通高中",
    "中职",
    "高职高专",
    "本科",
    "硕士及以上",
    "失学辍学",
)
# 健康状况 of the collection form: "combinations allowed" (policy.md §11), e.g. 长期慢性病、残疾.
# The registry keeps illness (one of ILLNESSES) and disability (DISABLED) apart.
HEALTH_STATUSES = ("健康", "长期慢性病", "患有大病", "残疾")
ILLNESSES = ("健康", "长期慢性病", "患有大病")
DISABLED = "残疾"
DISABILITY_TYPES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
DISABILITY_GRADES = ("一级", "二级", "三级", "四级")
LABOUR_CAPACITIES = ("技能劳动力", "普通劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力")
WORK_STATUSES = ("务农", "县内务工", "省内县外务工", "省外务工", "公益岗位", "自主创业", "无业", "在校", "不适用")
ETHNICITIES = (
    "汉族",
    "苗族",
    "侗族",
    "布依族",
    "水族",
    "彝族",
    "土家族",
    "仡佬族",
    "瑶族",
    "壮族",
    "回族",
    "蒙古族",
    "藏族",
    "维吾尔族",
    "满族",
    "白族",
    "哈尼族",
    "傣族",
    "其他",
)

REGISTRY_MEMBERS = TableSchema(
    kind="registry_members",
    label=gettext_noop("户籍及家庭成员信息"),
    key=("id_number",),
    description="每行一名家庭成员；同一户的户信息在该户每一行重复且必须一致。",
    columns=(
        # household (户基本信息)
        Column("household_number", "户编号", required=True, aliases=("户号", "户码"), example="5226300001"),
        Column(
            "village_code",
            "村代码",
            T.DIVISION,
            required=True,
            aliases=("行政村代码", "村级区划代码", "行政区划代码"),
            example="522630101201",
        ),
        Column("address", "家庭住址", aliases=("住址", "地址"), example="台江县台拱街道红阳村3组"),
        Column("phone", "联系电话", aliases=("电话", "手机号码"), example="13800000000"),
        Column("household_type", "户类型", T.CODE, required=True, choices=HOUSEHOLD_TYPES, example="一般农户"),
        Column(
            "poverty_exit_year", "脱贫年度", T.YEAR, aliases=("脱贫年份",), help="脱贫户必填（2014–2020）", example=""
        ),
        Column("monitoring_category", "监测对象类别", T.CODE, choices=MONITORING_CATEGORIES, aliases=("监测对象类型",)),
        Column("monitoring_state", "监测状态", T.CODE, choices=MONITORING_STATES, example="未纳入"),
        Column(
            "housing_grade",
            "住房安全等级",
            T.CODE,
            choices=HOUSING_GRADES,
            aliases=("危房等级", "房屋鉴定等级"),
            example="A",
        ),
        Column("housing_appraised_on", "住房鉴定日期", T.DATE, aliases=("鉴定日期",)),
        Column("water_quantity_ok", "饮水水量达标", T.BOOLEAN, choices=YES_NO, example="是"),
        Column("water_quality_ok", "饮水水质达标", T.BOOLEAN, choices=YES_NO, example="是"),
        Column("water_convenience_ok", "用水方便", T.BOOLEAN, choices=YES_NO, example="是"),
        Column("water_reliability_ok", "供水保证率达标", T.BOOLEAN, choices=YES_NO, example="是"),
        Column("food_clothing_ok", "不愁吃穿", T.BOOLEAN, choices=YES_NO, aliases=("两不愁",), example="是"),
        # member (家庭成员)
        Column("name", "姓名", required=True, max_length=50, example="张三"),
        Column("id_number", "身份证号", T.ID_NUMBER, required=True, aliases=("公民身份号码", "证件号码", "身份证号码")),
        Column("relationship", "与户主关系", T.CODE, required=True, choices=RELATIONSHIPS, example="户主"),
        Column("ethnicity", "民族", T.CODE, choices=ETHNICITIES, example="苗族"),
        Column("education", "文化程度", T.CODE, choices=EDUCATION_LEVELS, example="初中"),
        Column("school_status", "在校生情况", T.CODE, choices=SCHOOL_STATUSES, example="非在校生"),
        Column(
            "health",
            "健康状况",
            T.CODES,
            choices=HEALTH_STATUSES,
            help="可填多项，用顿号分隔，如“长期慢性病、残疾”；同时填长期慢性病和患有大病时按患有大病登记；"
            "残疾者请同时填写残疾类别和等级",
            example="健康",
        ),
        Column("disability_type", "残疾类别", T.CODE, choices=DISABILITY_TYPES),
        Column("disability_grade", "残疾等级", T.CODE, choices=DISABILITY_GRADES),
        Column(
            "labour_capacity",
            "劳动技能",
            T.CODE,
            choices=LABOUR_CAPACITIES,
            aliases=("劳动能力",),
            example="普通劳动力",
        ),
        Column("work_status", "务工状况", T.CODE, choices=WORK_STATUSES, aliases=("就业状况",), example="务农"),
        Column("work_place", "务工所在地", aliases=("务工地点",), example=""),
        Column(
            "medical_insurance",
            "参加基本医疗保险",
            T.BOOLEAN,
            choices=YES_NO,
            aliases=("是否参加城乡居民(职工)基本医疗保险",),
            example="是",
        ),
        Column(
            "pension_insurance",
            "参加基本养老保险",
            T.BOOLEAN,
            choices=YES_NO,
            aliases=("是否参加城乡居民(职工)基本养老保险",),
            example="是",
        ),
        Column("dibao", "享受低保", T.BOOLEAN, choices=YES_NO, aliases=("是否享受最低生活保障",), example="否"),
        Column("tekun", "特困供养", T.BOOLEAN, choices=YES_NO, aliases=("是否特困供养人员",), example="否"),
        Column("death_date", "死亡日期", T.DATE, help="已故成员填写；留空表示在世"),
    ),
)

REGISTRY_ACCOUNTS = TableSchema(
    kind="registry_accounts",
    label=gettext_noop("家庭年度收支"),
    key=("household_number", "year"),
    description="每行一户一年。家庭纯收入与人均纯收入由系统计算，不需填写。",
    columns=(
        Column("household_number", "户编号", required=True, aliases=("户号", "户码"), example="5226300001"),
        Column("year", "年度", T.YEAR, required=True, aliases=("收入年度",), example="2025"),
        Column("wage_income", "工资性收入", T.AMOUNT, example="24000"),
        Column("operating_income", "生产经营性收入", T.AMOUNT, example="8000"),
        Column("operating_cost", "生产经营性支出", T.AMOUNT, example="3000"),
        Column("property_income", "财产性收入", T.AMOUNT, example="500"),
        Column("transfer_income", "转移性收入", T.AMOUNT, example="2400"),
        Column("population", "家庭人口数", T.INTEGER, help="留空时按该户在世成员数计算", example="4"),
        Column("medical_expense", "合规自付医疗支出", T.AMOUNT, aliases=("医疗支出", "合规自付支出"), example="1200"),
        Column("education_expense", "教育支出", T.AMOUNT, example="800"),
    ),
)

REGISTRY_SCHEMAS = {s.kind: s for s in (REGISTRY_MEMBERS, REGISTRY_ACCOUNTS)}
