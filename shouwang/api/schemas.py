"""Request and response shapes of the API: English field names, Chinese descriptions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema


class ErrorOut(Schema):
    detail: str = Field(description="错误说明（中文）")
    code: str = Field(
        description="稳定的错误代码：unauthenticated / invalid_token / forbidden / not_found / "
        "invalid_request / file_rejected / payload_too_large / unavailable / rate_limited / csrf_failed / server_error"
    )
    errors: list[dict[str, Any]] | None = Field(None, description="参数校验错误明细（仅 invalid_request）")
    outcome: dict[str, Any] | None = Field(None, description="整份文件被拒绝时的导入结果（仅 file_rejected）")


class MeOut(Schema):
    username: str = Field(description="账号")
    full_name: str = Field(description="姓名")
    role: str = Field(description="角色代码")
    role_display: str = Field(description="角色名称")
    region_code: str | None = Field(description="所属区划代码")
    region_name: str | None = Field(description="所属区划名称")
    capabilities: list[str] = Field(description="角色拥有的权限")
    auth: str = Field(description="认证方式：session（网页会话）或 token（接口令牌）")
    token_prefix: str | None = Field(None, description="使用令牌认证时，令牌的可见前缀")


class HouseholdListItem(Schema):
    id: int = Field(description="农户内部编号（用于详情接口）")
    number: str = Field(description="户编号")
    village_code: str = Field(description="所在村区划代码")
    village_name: str = Field(description="所在村名称")
    household_type: str = Field(description="户类型：脱贫户 / 一般农户")
    monitoring_state: str = Field(description="监测状态：未纳入 / 监测中 / 风险已消除")
    monitoring_category: str = Field(description="监测对象类别（未纳入时为空）")
    head_name: str | None = Field(description="户主姓名")
    population: int = Field(description="在世家庭成员数")
    latest_year: int | None = Field(description="最近一年收支的年度")
    latest_per_capita_net_income: Decimal | None = Field(description="最近一年人均纯收入（元，派生值）")


class MemberOut(Schema):
    id: int = Field(description="成员内部编号")
    name: str = Field(description="姓名")
    id_number_masked: str = Field(description="身份证号（脱敏：前四位与后四位），接口从不返回完整号码")
    sex: str = Field(description="性别：M 男 / F 女")
    age: int = Field(description="周岁年龄")
    relationship: str = Field(description="与户主关系")
    ethnicity: str = Field(description="民族")
    education: str = Field(description="文化程度")
    school_status: str = Field(description="在校生情况")
    health: str = Field(description="健康状况")
    disability_type: str = Field(description="残疾类别")
    disability_grade: str = Field(description="残疾等级")
    labour_capacity: str = Field(description="劳动技能")
    work_status: str = Field(description="务工状况")
    medical_insurance: bool = Field(description="参加基本医疗保险")
    pension_insurance: bool = Field(description="参加基本养老保险")
    dibao: bool = Field(description="享受低保")
    tekun: bool = Field(description="特困供养")
    deceased: bool = Field(description="已死亡")


class IndicatorsOut(Schema):
    food_clothing_secure: bool = Field(description="不愁吃穿")
    education_secure: bool = Field(description="义务教育有保障（6–15 岁无失学辍学）")
    medical_secure: bool = Field(description="基本医疗有保障（在世成员均参保）")
    housing_secure: bool = Field(description="住房安全有保障（鉴定等级非 C/D）")
    water_secure: bool = Field(description="饮水安全有保障（水量、水质、用水方便程度、供水保证率均达标）")
    without_labour: bool = Field(description="整户无劳动能力")


class AccountOut(Schema):
    year: int = Field(description="年度")
    population: int = Field(description="家庭人口数")
    wage_income: Decimal = Field(description="工资性收入（元）")
    operating_income: Decimal = Field(description="生产经营性收入（元）")
    operating_cost: Decimal = Field(description="生产经营性支出（元）")
    property_income: Decimal = Field(description="财产性收入（元）")
    transfer_income: Decimal = Field(description="转移性收入（元）")
    medical_expense: Decimal = Field(description="合规自付医疗支出（元）")
    education_expense: Decimal = Field(description="教育支出（元）")
    net_income: Decimal = Field(description="家庭纯收入（元，派生值）")
    per_capita_net_income: Decimal = Field(description="人均纯收入（元，派生值）")
    rigid_expense: Decimal = Field(description="刚性支出合计（元，派生值）")


class HouseholdDetailOut(HouseholdListItem):
    address: str = Field(description="家庭住址")
    phone_masked: str = Field(description="联系电话（脱敏）")
    poverty_exit_year: int | None = Field(description="脱贫年度")
    housing_grade: str = Field(description="住房安全等级 A/B/C/D")
    indicators: IndicatorsOut = Field(description="两不愁三保障及饮水安全（派生值）")
    members: list[MemberOut] = Field(description="家庭成员")
    accounts: list[AccountOut] = Field(description="年度收支，按年度倒序")


class JobOut(Schema):
    id: int = Field(description="任务编号")
    kind: str = Field(description="任务类型")
    status: str = Field(description="状态：queued / running / succeeded / failed")
    status_display: str = Field(description="状态名称")
    percent: int = Field(description="完成百分比")
    progress: int = Field(description="已处理量")
    total: int = Field(description="总量")
    message: str = Field(description="当前步骤")
    finished: bool = Field(description="是否已结束")
    created_at: dt.datetime = Field(description="创建时间")
    started_at: dt.datetime | None = Field(description="开始时间")
    finished_at: dt.datetime | None = Field(description="结束时间")
    summary: dict[str, int | float] = Field(description="结果中的计数（不含行级明细）")
    error: str = Field(description="失败原因（仅已结束的任务）")


class ColumnOut(Schema):
    name: str = Field(description="规范英文列名")
    label: str = Field(description="中文表头（模板中使用）")
    aliases: list[str] = Field(description="可接受的其他表头")
    headers: list[str] = Field(description="可识别本列的全部表头：英文名、中文表头与别名")
    type: str = Field(
        description="类型：text / id_number / division / date / month / year / amount / integer / boolean / code"
    )
    required: bool = Field(description="是否必填")
    choices: list[str] = Field(description="代码表（仅 code 类型；封闭取值）")
    help: str = Field(description="填写说明")
    example: str = Field(description="示例值")
    max_length: int = Field(description="最大长度")


class FeedKindSummary(Schema):
    kind: str = Field(description="数据类型代码，如 medical_claims")
    label: str = Field(description="中文名称，如 医保结算")
    description: str = Field(description="提供部门与用途")
    version: int = Field(description="声明版本")
    required_columns: list[str] = Field(description="必填列（英文名）")


class FeedKindOut(FeedKindSummary):
    key: list[str] = Field(description="识别一行数据的列（用于文件内去重）")
    columns: list[ColumnOut] = Field(description="全部列")


class FeedPushOut(Schema):
    kind: str = Field(description="数据类型")
    county: str = Field(description="所属县区代码")
    filename: str = Field("", description="文件名（身份证号样式的内容已脱敏）")
    sheet: str = Field("", description="读取的工作表（XLSX；CSV 为空）")
    dry_run: bool = Field(description="是否仅校验不导入")
    valid_rows_only: bool = Field(description="是否仅导入有效行")
    sha256: str = Field(description="文件的 SHA-256（用于核对与重复识别）")
    status: str = Field("", description="批次状态：dry_run 预检 / committed 已导入 / rejected 被拒绝 等")
    ok: bool = Field(False, description="是否没有任何错误行")
    committed: bool = Field(False, description="是否已写入（预检时为 false）")
    total: int = Field(0, description="数据行总数")
    valid: int = Field(0, description="有效行数")
    rejected: int = Field(0, description="被拒绝的行数")
    duplicates: int = Field(0, description="文件内重复行数（保留一行）")
    stored: int = Field(0, description="实际写入的行数")
    already_imported: bool = Field(False, description="同一文件此前已导入（按内容识别），本次未导入任何数据")
    batch_id: int | str | None = Field(None, description="导入批次编号")
    periods: list[Any] = Field(default_factory=list, description="数据涉及的期间")
    links: dict[str, Any] = Field(default_factory=dict, description="与基础信息库的关联计数")
    message: str = Field("", description="结果说明（中文）")
    file_error: dict[str, Any] | None = Field(None, description="整份文件被拒绝的原因（如编码、表头不符）")
    error_count: int = Field(0, description="错误行总数")
    warning_count: int = Field(0, description="警告总数")
    errors: list[Any] = Field(
        default_factory=list, description="逐行错误（最多 200 条）：行号、列、原因（身份证号已脱敏）"
    )
    extra_columns: list[str] = Field(default_factory=list, description="文件中未识别、已忽略的列")


class TokenIn(Schema):
    label: str = Field(min_length=1, max_length=100, description="令牌名称，如 县医保局结算系统")
    expires_in_days: int = Field(365, ge=1, le=730, description="有效天数（1–730，默认 365）")


class TokenOut(Schema):
    id: int = Field(description="令牌编号")
    label: str = Field(description="名称")
    prefix: str = Field(description="令牌可见前缀（仅用于识别）")
    state: str = Field(description="状态：active 有效 / expired 已过期 / revoked 已吊销")
    created_at: dt.datetime = Field(description="创建时间")
    last_used_at: dt.datetime | None = Field(description="最近使用时间（每分钟至多更新一次）")
    expires_at: dt.datetime | None = Field(description="有效期至")
    revoked_at: dt.datetime | None = Field(description="吊销时间")


class TokenCreatedOut(TokenOut):
    token: str = Field(description="令牌明文：只在创建时显示这一次，请立即妥善保存")
