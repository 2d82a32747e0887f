"""The twelve department feed kinds (部门数据比对), declared once after /shared/FEEDS.md.

Every kind carries the common columns (``id_number``, ``name``, ``county_code`` and the
optional ``birth_date``, which helps linkage when the ID is missing) followed by its own and
the optional linkage hints ``stated_sex`` 性别, ``township`` 乡镇（街道） and ``village`` 所在村;
``water_safety`` is about a village, so ``village_code`` takes the place of ``id_number``
(and it has no ``birth_date``). The Chinese ``label`` of a column is the first alias FEEDS.md gives it (the
header written in templates); the further aliases and the canonical English name are accepted
as headers too. Code lists are closed: a value outside ``choices`` is an error.
"""

from __future__ import annotations

from engine.i18n import gettext_noop
from engine.schema import Column, TableSchema
from engine.schema import ColumnType as T

YES_NO = ("是", "否")

VISIT_TYPES = ("门诊", "住院", "门诊慢特病")
HOSPITAL_LEVELS = ("乡镇", "县级", "市级", "省级及以上")
ENROLMENT_STATES = ("已参保", "未参保")
SUBSIDY_CLASSES = ("全额", "定额", "无")
ASSISTANCE_TYPES = ("低保", "特困", "临时救助", "残疾人两项补贴")
ASSISTANCE_STATES = ("纳入", "退出", "停发")
SCHOOL_STAGES = ("学前", "小学", "初中", "高中", "中职", "高职", "本科")
SCHOOL_RECORD_STATES = ("在读", "休学", "辍学", "毕业", "转出")
EMPLOYMENT_STATES = ("就业", "灵活就业", "失业登记", "务工返乡")
WORK_LOCATIONS = ("县内", "省内县外", "省外")
HOUSING_GRADES = ("A", "B", "C", "D")
DISASTER_TYPES = ("洪涝", "干旱", "地震", "地质灾害", "风雹", "低温冷冻", "火灾", "其他")
HOUSE_DAMAGE = ("无", "一般损坏", "严重损坏", "倒塌")
DISABILITY_TYPES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
DISABILITY_GRADES = ("一级", "二级", "三级", "四级")
CERTIFICATE_STATES = ("有效", "注销")
WATER_PROBLEMS = ("水量", "水质", "用水方便程度", "供水保证率")


def id_number_column(*, required: bool = True, help: str = "") -> Column:
    return Column(
        "id_number",
        "身份证号",
        T.ID_NUMBER,
        required=required,
        aliases=("公民身份号码", "证件号码", "身份证号码"),
        help=help or "18位公民身份号码（15位旧号自动升位）",
        example="522630199001011234",
        max_length=18,
    )


NAME = Column("name", "姓名", max_length=50, help="身份证号缺失或错误时用于关联", example="张三")
COUNTY_CODE = Column(
    "county_code",
    "县区代码",
    T.DIVISION,
    aliases=("行政区划代码",),
    help="可不填；默认为上传者所在县",
    example="522630",
    max_length=12,
)
BIRTH_DATE = Column(
    "birth_date",
    "出生日期",
    T.DATE,
    aliases=("出生年月日",),
    help="可不填；身份证号有效时以身份证号中的出生日期为准，缺失或错误时用于关联",
    example="1990-01-01",
)


# What many department files carry besides the ID and that linkage uses when the ID is missing
# or wrong: the person's sex as the file states it (the ID's own wins when the ID is valid) and
# where they live, by name. Optional text (refused only as any text is: too long, a formula);
# names become division codes only when unambiguous in the county (engine.linkage.places).
STATED_SEX = Column("stated_sex", "性别", help="可不填；身份证号缺失或错误时用于关联", example="男", max_length=20)
TOWNSHIP = Column(
    "township",
    "乡镇（街道）",
    aliases=("乡镇", "乡镇街道", "街道", "所属乡镇", "乡(镇)"),
    help="可不填；身份证号缺失或错误时用于关联",
    example="台拱街道",
    max_length=100,
)
VILLAGE = Column(
    "village",
    "所在村",
    aliases=("村", "村名", "行政村", "所属村", "村(社区)"),
    help="可不填；身份证号缺失或错误时用于关联",
    example="红阳村",
    max_length=100,
)
LINKAGE_HINTS = (STATED_SEX, TOWNSHIP, VILLAGE)

# The department that sends each kind (医保局, 民政局, …): statistics count warnings by it.
FEED_DEPARTMENTS: dict[str, str] = {}


def _feed(
    kind: str,
    label: str,
    department: str,
    signals: str,
    columns: tuple[Column, ...],
    key: tuple[str, ...],
    *,
    id_column: Column | None = None,
) -> TableSchema:
    common = (id_column or id_number_column(), NAME, COUNTY_CODE, BIRTH_DATE)
    FEED_DEPARTMENTS[kind] = department
    return TableSchema(
        kind=kind,
        label=label,
        columns=common + columns + LINKAGE_HINTS,
        key=key,
        description=f"{department}：{signals}",
    )


MEDICAL_CLAIMS = _feed(
    "medical_claims",
    gettext_noop("医保结算"),
    "医保局",
    "大额刚性医疗支出（因病）",
    (
        Column("settle_date", "结算日期", T.DATE, required=True, example="2025-05-01"),
        Column("visit_type", "就诊类型", T.CODE, choices=VISIT_TYPES, example="住院"),
        Column("hospital_level", "医疗机构级别", T.CODE, choices=HOSPITAL_LEVELS, example="县级"),
        Column("total_cost", "医疗总费用", T.AMOUNT, required=True, example="12000.00"),
        Column("basic_paid", "基本医保支付", T.AMOUNT, example="7800.00"),
        Column("critical_paid", "大病保险支付", T.AMOUNT, example="0"),
        Column("assistance_paid", "医疗救助支付", T.AMOUNT, example="1200.00"),
        Column("out_of_pocket", "个人自付", T.AMOUNT, required=True, aliases=("个人负担",), example="3000.00"),
    ),
    key=("id_number", "settle_date", "visit_type", "total_cost", "out_of_pocket"),
)

MEDICAL_ENROLMENT = _feed(
    "medical_enrolment",
    gettext_noop("医保参保"),
    "医保局",
    "基本医疗有保障（参保）",
    (
        Column("year", "参保年度", T.YEAR, required=True, example="2025"),
        Column("enrolled", "参保状态", T.CODE, required=True, choices=ENROLMENT_STATES, example="已参保"),
        Column("subsidy", "资助类别", T.CODE, choices=SUBSIDY_CLASSES, example="无"),
    ),
    key=("id_number", "year"),
)

ASSISTANCE_RECIPIENTS = _feed(
    "assistance_recipients",
    gettext_noop("民政救助"),
    "民政局",
    "社会救助的纳入或退出",
    (
        Column("assistance_type", "救助类型", T.CODE, required=True, choices=ASSISTANCE_TYPES, example="低保"),
        Column("status", "状态", T.CODE, required=True, choices=ASSISTANCE_STATES, example="纳入"),
        Column("effective_date", "生效日期", T.DATE, required=True, example="2025-05-01"),
        Column("amount", "金额", T.AMOUNT, example="420.00"),
    ),
    key=("id_number", "assistance_type", "status", "effective_date"),
)

DEATHS = _feed(
    "deaths",
    gettext_noop("死亡"),
    "公安局 / 民政局（殡葬）/ 卫健委",
    "家庭成员死亡；劳动力死亡是冲击",
    (Column("death_date", "死亡日期", T.DATE, required=True, example="2025-05-01"),),
    key=("id_number",),
)

SCHOOL_ENROLMENT = _feed(
    "school_enrolment",
    gettext_noop("学籍"),
    "教育局",
    "义务教育有保障（辍学）",
    (
        Column("school_stage", "学段", T.CODE, required=True, choices=SCHOOL_STAGES, example="初中"),
        Column("status", "学籍状态", T.CODE, required=True, choices=SCHOOL_RECORD_STATES, example="在读"),
        Column("as_of_date", "统计日期", T.DATE, required=True, example="2025-09-01"),
        Column("school_name", "学校", example="台江县第一中学"),
    ),
    key=("id_number", "as_of_date"),
)

EMPLOYMENT = _feed(
    "employment",
    gettext_noop("就业失业"),
    "人社局",
    "工资性收入（务工就业不稳）",
    (
        Column("status", "就业状态", T.CODE, required=True, choices=EMPLOYMENT_STATES, example="就业"),
        Column("as_of_date", "统计日期", T.DATE, required=True, example="2025-06-30"),
        Column("work_location", "务工地点", T.CODE, choices=WORK_LOCATIONS, example="省外"),
        Column("monthly_wage", "月收入", T.AMOUNT, example="4500.00"),
    ),
    key=("id_number", "as_of_date"),
)

PENSION = _feed(
    "pension",
    gettext_noop("城乡居民养老保险"),
    "人社局",
    "养老保险覆盖与政府代缴",
    (
        Column("year", "年度", T.YEAR, required=True, example="2025"),
        Column(
            "insured",
            "参保状态",
            T.CODE,
            required=True,
            choices=ENROLMENT_STATES,
            help="FEEDS.md 未列代码表；取与医保参保相同的 已参保/未参保",
            example="已参保",
        ),
        Column("tier", "缴费档次", help="如 200元档", example="200元档"),
        Column("paid_on_behalf", "政府代缴", T.BOOLEAN, choices=YES_NO, example="否"),
    ),
    key=("id_number", "year"),
)

HOUSING_APPRAISAL = _feed(
    "housing_appraisal",
    gettext_noop("农房安全鉴定"),
    "住建局",
    "住房安全有保障（C/D 级为危房）",
    (
        Column("grade", "鉴定等级", T.CODE, required=True, choices=HOUSING_GRADES, example="B"),
        Column("appraisal_date", "鉴定日期", T.DATE, required=True, example="2025-05-01"),
        Column("address", "房屋地址", example="台江县台拱街道红阳村3组"),
    ),
    key=("id_number", "appraisal_date"),
    id_column=id_number_column(help="房屋所有人的身份证号"),
)

DISASTER_LOSSES = _feed(
    "disaster_losses",
    gettext_noop("灾情"),
    "应急管理局",
    "自然灾害等冲击（因灾）",
    (
        Column("disaster_type", "灾种", T.CODE, required=True, choices=DISASTER_TYPES, example="洪涝"),
        Column("occurred_on", "发生日期", T.DATE, required=True, example="2025-06-20"),
        Column("loss_amount", "直接经济损失", T.AMOUNT, required=True, example="30000.00"),
        Column("house_damage", "房屋损毁", T.CODE, choices=HOUSE_DAMAGE, example="严重损坏"),
    ),
    key=("id_number", "disaster_type", "occurred_on"),
)

DISABILITIES = _feed(
    "disabilities",
    gettext_noop("残疾人证"),
    "残联",
    "残疾（因残）",
    (
        Column("disability_type", "残疾类别", T.CODE, required=True, choices=DISABILITY_TYPES, example="肢体"),
        Column("grade", "等级", T.CODE, required=True, choices=DISABILITY_GRADES, example="二级"),
        Column("issued_on", "发证日期", T.DATE, required=True, example="2025-05-01"),
        Column("status", "状态", T.CODE, choices=CERTIFICATE_STATES, example="有效"),
    ),
    key=("id_number", "issued_on"),
)

SERIOUS_ILLNESS = _feed(
    "serious_illness",
    gettext_noop("大病专项救治"),
    "卫健委",
    "大病（因病）",
    (
        Column("diagnosis", "病种", required=True, example="终末期肾病"),
        Column("diagnosed_on", "确诊日期", T.DATE, required=True, example="2025-05-01"),
    ),
    key=("id_number", "diagnosis"),
)

WATER_SAFETY = TableSchema(
    kind="water_safety",
    label=gettext_noop("农村饮水"),
    description="水利局：饮水安全（村级问题）",
    key=("village_code", "problem", "reported_on"),
    columns=(
        Column(
            "village_code",
            "村代码",
            T.DIVISION,
            required=True,
            aliases=("行政村代码", "村级区划代码"),
            help="12位统计用区划代码，代替身份证号",
            example="522630001219",
            max_length=12,
        ),
        NAME,
        COUNTY_CODE,
        Column("problem", "问题类型", T.CODE, required=True, choices=WATER_PROBLEMS, example="水量"),
        Column("reported_on", "上报日期", T.DATE, required=True, example="2025-05-01"),
        Column("resolved_on", "解决日期", T.DATE, example=""),
    ),
)
FEED_DEPARTMENTS["water_safety"] = "水利局"

FEED_SCHEMAS: dict[str, TableSchema] = {
    s.kind: s
    for s in (
        MEDICAL_CLAIMS,
        MEDICAL_ENROLMENT,
        ASSISTANCE_RECIPIENTS,
        DEATHS,
        SCHOOL_ENROLMENT,
        EMPLOYMENT,
        PENSION,
        HOUSING_APPRAISAL,
        DISASTER_LOSSES,
        DISABILITIES,
        SERIOUS_ILLNESS,
        WATER_SAFETY,
    )
}
