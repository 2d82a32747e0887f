"""The registry import as policy: what a county's file may look like and what it does."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook, load_workbook

from engine.ids import make_id_number, mask
from shouwang.core.models import AuditEvent
from shouwang.registry import importing
from shouwang.registry.importing import (
    read_upload,
    run_registry_import,
    store_upload,
    upload_dir,
)
from shouwang.registry.models import AnnualAccount, ChangeRecord, Household, Member
from shouwang.testing.personas import make_household

pytestmark = pytest.mark.django_db

VILLAGE = "522630001001"  # 秀眉社区, 台拱街道, 台江县
VILLAGE2 = "522630001002"
OTHER_COUNTY_VILLAGE = "522631001001"  # 黎平县
MEMBER_HEADER = [
    "户编号",
    "村代码",
    "户类型",
    "脱贫年度",
    "姓名",
    "身份证号",
    "与户主关系",
    "健康状况",
    "残疾类别",
    "参加基本医疗保险",
    "死亡日期",
]


def idn(n: int, born: dt.date = dt.date(1980, 1, 1), sex: str = "M") -> str:
    return make_id_number("522630", born, n, sex)


def member(
    number="5226300001",
    name="张三",
    id_number=None,
    rel="户主",
    *,
    village=VILLAGE,
    hh_type="一般农户",
    exit_year="",
    health="健康",
    disability="",
    insured="是",
    died="",
    n=1,
):
    return [number, village, hh_type, exit_year, name, id_number or idn(n), rel, health, disability, insured, died]


def household(number="5226300001", size=3, start=1, **kw):
    rels = ["户主", "配偶", "子", "女"]
    return [member(number, f"成员{start + i}", rel=rels[i % 4], n=start + i, **kw) for i in range(size)]


def csv_file(tmp_path, rows, header=MEMBER_HEADER, name="members.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def counts(outcome):
    return outcome.counts()


# -- the happy path ---------------------------------------------------------------------------


def test_a_clean_file_creates_households_members_and_one_history_record_each(tmp_path, persona):
    officer = persona("county_officer")
    path = csv_file(tmp_path, household("5226300001", 3, 1) + household("5226300002", 2, 10))
    outcome = run_registry_import(path, filename=path.name, user=officer, dry_run=False)
    assert outcome.ok, outcome.errors
    assert outcome.committed
    c = counts(outcome)
    assert c["households"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert c["members"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert Household.objects.count() == 2 and Member.objects.count() == 5
    head = Member.objects.get(name="成员1")
    assert head.id_number_masked == mask(idn(1))
    assert head.birth_date == dt.date(1980, 1, 1)
    # One "新建" record per new object, not one per field.
    assert ChangeRecord.objects.filter(field="新建").count() == 7
    assert ChangeRecord.objects.exclude(field="新建").count() == 0
    assert ChangeRecord.objects.filter(actor=officer).count() == 7


def test_a_dry_run_counts_what_would_change_and_writes_nothing(tmp_path, persona):
    path = csv_file(tmp_path, household())
    outcome = run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=True)
    assert outcome.ok and not outcome.committed
    assert counts(outcome)["members"]["created"] == 3
    assert Household.objects.count() == 0 and ChangeRecord.objects.count() == 0


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tmp_path, persona):
    officer = persona("county_officer")
    path = csv_file(tmp_path, household("5226300001", 3, 1) + household("5226300002", 2, 10))
    run_registry_import(path, filename=path.name, user=officer, dry_run=False)
    history = ChangeRecord.objects.count()
    again = run_registry_import(path, filename=path.name, user=officer, dry_run=False)
    assert again.ok
    c = counts(again)
    assert c["households"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert c["members"] == {"created": 0, "updated": 0, "unchanged": 5}
    assert ChangeRecord.objects.count() == history
    assert again.seen_before and "此前已导入" in again.message()


def test_a_changed_field_creates_exactly_one_change_record_with_before_and_after(tmp_path, persona):
    officer = persona("county_officer")
    rows = household()
    run_registry_import(csv_file(tmp_path, rows), filename="a.csv", user=officer, dry_run=False)
    rows[1][7] = "长期慢性病"  # 健康状况 of 成员2
    outcome = run_registry_import(csv_file(tmp_path, rows, name="b.csv"), filename="b.csv", user=officer, dry_run=False)
    assert counts(outcome)["members"] == {"created": 0, "updated": 1, "unchanged": 2}
    (record,) = ChangeRecord.objects.exclude(field="新建")
    assert (record.object_type, record.field, record.before, record.after) == ("member", "health", "健康", "长期慢性病")
    assert record.actor == officer
    assert Member.objects.get(name="成员2").health == "长期慢性病"


def test_a_household_change_is_recorded_once_not_once_per_member_row(tmp_path, persona):
    officer = persona("county_officer")
    rows = household(size=3)
    run_registry_import(csv_file(tmp_path, rows), filename="a.csv", user=officer, dry_run=False)
    for r in rows:
        r[1] = VILLAGE2
    outcome = run_registry_import(csv_file(tmp_path, rows, name="b.csv"), filename="b.csv", user=officer, dry_run=False)
    assert counts(outcome)["households"]["updated"] == 1
    (record,) = ChangeRecord.objects.exclude(field="新建")
    assert (record.field, record.before, record.after) == ("village", VILLAGE, VILLAGE2)


def test_columns_missing_from_the_file_are_left_alone_on_existing_members(tmp_path, persona):
    officer = persona("county_officer")
    rows = household(size=2)
    rows[0][9] = "否"  # not insured
    run_registry_import(csv_file(tmp_path, rows), filename="a.csv", user=officer, dry_run=False)
    header = MEMBER_HEADER[:7]
    slim = [r[:7] for r in rows]
    outcome = run_registry_import(
        csv_file(tmp_path, slim, header=header, name="b.csv"), filename="b.csv", user=officer, dry_run=False
    )
    assert counts(outcome)["members"]["unchanged"] == 2
    assert Member.objects.get(name="成员1").medical_insurance is False


def test_a_registry_file_with_a_fifteen_digit_id_number_is_upgraded(tmp_path, persona):
    fifteen = "522630800101001"  # 1980-01-01, sequence 001
    path = csv_file(tmp_path, [member(id_number=fifteen)])
    outcome = run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=False)
    assert outcome.ok, outcome.errors
    m = Member.objects.get()
    assert m.birth_date == dt.date(1980, 1, 1)
    assert m.id_number_tail == make_id_number("522630", dt.date(1980, 1, 1), 0, "M")[-4:]
    assert (
        importing.protector().decrypt(m.id_number_encrypted, context=b"member.id_number").startswith("52263019800101")
    )


def test_full_width_digits_lowercase_x_and_a_gbk_file_are_accepted(tmp_path, persona):
    x_number = next(
        make_id_number("522630", dt.date(1975, 5, 5), n, "M")
        for n in range(500)
        if make_id_number("522630", dt.date(1975, 5, 5), n, "M").endswith("X")
    )
    wide = x_number[:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "x"
    rows = [member(id_number=wide, number="５２２６３００００１")]
    path = csv_file(tmp_path, rows, encoding="gbk")
    outcome = run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=False)
    assert outcome.ok, outcome.errors
    assert Household.objects.get().number == "5226300001"
    assert Member.objects.get().id_number_tail == x_number[-4:]


def test_an_xlsx_with_both_sheets_imports_members_then_accounts(tmp_path, persona):
    book = Workbook()
    members = book.active
    members.title = "成员"
    members.append(["台江县户籍信息（2025）"])
    members.append(MEMBER_HEADER)
    for r in household(size=2):
        members.append(r)
    accounts = book.create_sheet("收支")
    accounts.append(["户编号", "年度", "工资性收入", "转移性收入", "家庭人口数"])
    accounts.append(["5226300001", 2025, "1,200元", "￥300", None])
    accounts.append(["合计", None, 1200, 300, None])
    book.create_sheet("填写说明").append(["户编号", "每户唯一"])
    path = tmp_path / "registry.xlsx"
    book.save(path)
    outcome = run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=False)
    assert outcome.ok, outcome.errors
    assert outcome.kinds == ["registry_members", "registry_accounts"]
    account = AnnualAccount.objects.get()
    assert str(account.wage_income) == "1200.00" and str(account.transfer_income) == "300.00"
    assert account.population == 2  # derived from the living members


def test_accounts_are_upserted_by_household_and_year(tmp_path, persona):
    officer = persona("county_officer")
    hh = make_household(VILLAGE, members=2)
    header = ["户编号", "年度", "工资性收入", "家庭人口数"]
    path = csv_file(tmp_path, [[hh.number, "2025", "20000", "2"], [hh.number, "2024", "18000", ""]], header=header)
    outcome = run_registry_import(path, filename=path.name, user=officer, dry_run=False)
    assert outcome.ok, outcome.errors
    assert counts(outcome)["accounts"] == {"created": 1, "updated": 0, "unchanged": 1}
    path = csv_file(tmp_path, [[hh.number, "2025", "21000", "2"]], header=header, name="b.csv")
    outcome = run_registry_import(path, filename=path.name, user=officer, dry_run=False)
    assert counts(outcome)["accounts"] == {"created": 0, "updated": 1, "unchanged": 0}
    record = ChangeRecord.objects.get(object_type="account", field="wage_income")
    assert (record.before, record.after) == ("20000.00", "21000.00")


# -- refusals ---------------------------------------------------------------------------------


def test_a_file_with_one_bad_check_digit_imports_nothing_and_names_the_line(tmp_path, persona):
    rows = household(size=3)
    good = rows[2][5]
    rows[2][5] = good[:-1] + ("0" if good[-1] != "0" else "1")
    path = csv_file(tmp_path, rows)
    outcome = run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=False)
    assert not outcome.ok and not outcome.committed
    (error,) = outcome.errors
    assert (error.line, error.column) == ("4", "身份证号")
    assert "校验位" in error.reason_zh and "check digit" in error.reason_en
    assert good[:-1] not in error.value
    assert Household.objects.count() == 0 and Member.objects.count() == 0 and ChangeRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (10, "2025年13月1日", "日期"),
        (7, "很好", "可选值"),
        (2, "贫困户", "脱贫户、一般农户"),
        (9, "也许", "是"),
    ],
)
def test_a_bad_value_is_reported_with_its_line_column_and_reason(tmp_path, persona, column, value, reason):
    rows = household(size=2)
    rows[1][column] = value
    if column == 2:  # the household type must agree across rows: change both
        rows[0][column] = value
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    assert not outcome.ok
    assert any(reason in e.reason_zh and e.column == MEMBER_HEADER[column] for e in outcome.errors)


def test_a_negative_amount_is_refused(tmp_path, persona):
    hh = make_household(VILLAGE)
    path = csv_file(tmp_path, [[hh.number, "2025", "-1,200"]], header=["户编号", "年度", "工资性收入"])
    outcome = run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=False)
    (error,) = outcome.errors
    assert error.column == "工资性收入" and "负数" in error.reason_zh


def test_a_duplicate_row_is_reported_and_kept_once(tmp_path, persona):
    rows = household(size=2)
    rows.append(list(rows[1]))
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=False
    )
    assert outcome.ok and outcome.committed
    assert counts(outcome)["duplicates"] == 1
    assert [e.line for e in outcome.errors if e.warning] == ["4"]
    assert Member.objects.count() == 2


def test_a_missing_required_column_rejects_the_file_naming_it(tmp_path, persona):
    header = [h for h in MEMBER_HEADER if h != "与户主关系"]
    rows = [[v for i, v in enumerate(r) if MEMBER_HEADER[i] != "与户主关系"] for r in household()]
    outcome = run_registry_import(
        csv_file(tmp_path, rows, header=header), filename="x.csv", user=persona("county_officer"), dry_run=False
    )
    assert outcome.file_error and "与户主关系" in outcome.file_error["reason_zh"]
    assert Household.objects.count() == 0


def test_an_extra_column_is_reported_and_ignored(tmp_path, persona):
    rows = [[*r, "备注内容"] for r in household()]
    outcome = run_registry_import(
        csv_file(tmp_path, rows, header=[*MEMBER_HEADER, "备注"]),
        filename="x.csv",
        user=persona("county_officer"),
        dry_run=False,
    )
    assert outcome.ok and outcome.extra_columns == ["备注"]


def test_a_village_outside_the_users_region_is_refused(tmp_path, persona):
    rows = household(village=OTHER_COUNTY_VILLAGE)
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=False
    )
    assert not outcome.ok
    (error,) = outcome.errors
    assert error.column == "村代码" and "管辖范围" in error.reason_zh
    assert Household.objects.count() == 0


def test_a_township_officer_may_import_only_into_their_township(tmp_path, persona):
    other_township_village = "522630101201"
    rows = household("5226300001") + household("5226300002", start=10, village=other_township_village)
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("township_officer"), dry_run=True
    )
    assert [e.line for e in outcome.errors] == ["5"]


def test_an_unknown_or_non_village_code_is_refused(tmp_path, persona):
    outcome = run_registry_import(
        csv_file(tmp_path, household(village="522630001999")),
        filename="x.csv",
        user=persona("county_officer"),
        dry_run=True,
    )
    assert "村代码不存在" in outcome.errors[0].reason_zh


def test_the_cli_without_a_user_may_import_into_any_region(tmp_path):
    outcome = run_registry_import(
        csv_file(tmp_path, household(village=OTHER_COUNTY_VILLAGE)), filename="x.csv", user=None, dry_run=False
    )
    assert outcome.ok and Household.objects.get().village_id == OTHER_COUNTY_VILLAGE


def test_an_id_number_registered_in_another_household_is_refused_naming_it(tmp_path, persona):
    existing = make_household(VILLAGE, members=2)
    taken = importing.protector().decrypt(existing.members.first().id_number_encrypted, context=b"member.id_number")
    rows = household("5226309999", size=1)
    rows[0][5] = taken
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=False
    )
    (error,) = outcome.errors
    assert existing.number in error.reason_zh and error.column == "身份证号"
    assert error.value == mask(taken)
    assert not Household.objects.filter(number="5226309999").exists()


def test_an_id_number_of_another_countys_household_does_not_reveal_that_household(tmp_path, persona):
    existing = make_household(OTHER_COUNTY_VILLAGE, members=1)
    decrypted = importing.protector().decrypt(existing.members.get().id_number_encrypted, context=b"member.id_number")
    rows = household(size=1)
    rows[0][5] = decrypted
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    (error,) = outcome.errors
    assert existing.number not in error.reason_zh and "辖区外" in error.reason_zh


def test_household_columns_must_agree_across_its_rows(tmp_path, persona):
    rows = household(size=2)
    rows[1][2] = "脱贫户"
    rows[1][3] = "2018"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    assert {e.column for e in outcome.errors} == {"户类型", "脱贫年度"}
    assert all(e.line == "3" and "不一致" in e.reason_zh for e in outcome.errors)


@pytest.mark.parametrize(("rels", "reason"), [(["配偶", "子"], "没有户主"), (["户主", "户主"], "多名户主")])
def test_a_new_household_needs_exactly_one_head(tmp_path, persona, rels, reason):
    rows = household(size=2)
    for r, rel in zip(rows, rels, strict=True):
        r[6] = rel
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    (error,) = outcome.errors
    assert reason in error.reason_zh


@pytest.mark.parametrize(("year", "ok"), [("2018", True), ("", False), ("2021", False), ("2013", False)])
def test_an_escaped_poverty_household_needs_an_exit_year_from_2014_to_2020(tmp_path, persona, year, ok):
    rows = household(size=1, hh_type="脱贫户", exit_year=year)
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    assert outcome.ok is ok


def test_a_disability_type_needs_health_disabled(tmp_path, persona):
    rows = household(size=2)
    rows[0][8] = "肢体"
    rows[1][7], rows[1][8] = "残疾", "视力"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename="x.csv", user=persona("county_officer"), dry_run=True
    )
    (error,) = outcome.errors
    assert error.line == "2" and error.column == "残疾类别"


def test_accounts_need_an_existing_household_in_scope(tmp_path, persona):
    elsewhere = make_household(OTHER_COUNTY_VILLAGE)
    header = ["户编号", "年度", "工资性收入"]
    path = csv_file(tmp_path, [["5226300404", "2025", "1"], [elsewhere.number, "2025", "1"]], header=header)
    outcome = run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=True)
    assert [e.line for e in outcome.errors] == ["2", "3"]
    assert all("户编号不存在" in e.reason_zh for e in outcome.errors)


def test_a_user_without_the_import_capability_is_refused(tmp_path, persona):
    outcome = run_registry_import(
        csv_file(tmp_path, household()), filename="x.csv", user=persona("village_cadre"), dry_run=False
    )
    assert outcome.file_error["code"] == "forbidden"
    assert Household.objects.count() == 0


# -- atomicity --------------------------------------------------------------------------------


def test_a_crash_in_the_middle_of_writing_leaves_nothing(tmp_path, persona, monkeypatch):
    real = importing.apply._insert_rows

    def crash(model, rows, *args, **kwargs):
        if model is Member:
            raise RuntimeError("disk full")
        return real(model, rows, *args, **kwargs)

    monkeypatch.setattr(importing.apply, "_insert_rows", crash)  # patched where the write looks it up
    path = csv_file(tmp_path, household())
    with pytest.raises(RuntimeError):
        run_registry_import(path, filename=path.name, user=persona("county_officer"), dry_run=False)
    assert Household.objects.count() == 0 and ChangeRecord.objects.count() == 0


# -- no raw ID numbers at rest ----------------------------------------------------------------


def test_an_upload_is_stored_encrypted_and_reads_back(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    raw = ",".join(household()[0]).encode()
    token = store_upload(raw)
    stored = (upload_dir() / f"{token}.bin").read_bytes()
    assert idn(1).encode() not in stored
    assert read_upload(token) == raw


def test_the_error_report_and_the_audit_event_hold_no_raw_id_number(tmp_path, persona):
    rows = household(size=2)
    bad = rows[1][5][:-1] + ("0" if rows[1][5][-1] != "0" else "1")
    rows[1][5] = bad
    filename = f"名单{idn(1)}.csv"
    outcome = run_registry_import(
        csv_file(tmp_path, rows), filename=filename, user=persona("county_officer"), dry_run=True
    )
    report = tmp_path / "report.csv"
    importing.write_error_report(outcome.errors, report)
    text = report.read_text(encoding="utf-8-sig")
    assert bad not in text and mask(bad) in text
    event = AuditEvent.objects.get(action="registry.import")
    detail = json.dumps(event.detail, ensure_ascii=False)
    assert idn(1) not in detail and bad not in detail
    assert event.detail["sha256"] == outcome.sha256
    assert idn(1) not in json.dumps(outcome.as_dict(), ensure_ascii=False)


def test_error_report_cells_that_look_like_formulas_are_neutralised(tmp_path):
    from engine.validate import RowError, report_rows, report_xlsx_bytes

    errors = [
        RowError("2", "姓名", '=HYPERLINK("http://x")', "原因", "reason"),
        RowError("3", "金额", "-1200", "@SUM", "+x"),
    ]
    rows = list(report_rows(errors))
    assert rows[0][2].startswith("'=") and rows[1][2] == "'-1200" and rows[1][3] == "'@SUM"
    sheet = load_workbook(io.BytesIO(report_xlsx_bytes(rows))).active
    assert sheet["C2"].value.startswith("'=") and sheet["C2"].data_type == "s"


# -- the command line -------------------------------------------------------------------------


def test_the_cli_imports_and_prints_one_json_object(tmp_path):
    path = csv_file(tmp_path, household())
    out = io.StringIO()
    call_command("import_registry", str(path), "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["kind"] == "registry_members" and summary["dry_run"] is False
    assert summary["counts"]["members"]["created"] == 3 and summary["error_count"] == 0
    assert Member.objects.count() == 3


def test_the_cli_rejects_a_bad_file_with_a_chinese_message_and_writes_the_report(tmp_path):
    rows = household()
    rows[0][10] = "去年"
    path = csv_file(tmp_path, rows)
    for suffix in ("csv", "xlsx"):
        report = tmp_path / f"errors.{suffix}"
        with pytest.raises(CommandError, match="未导入任何数据"):
            call_command("import_registry", str(path), "--report", str(report), stdout=io.StringIO())
        assert report.exists()
    assert "死亡日期" in (tmp_path / "errors.csv").read_text(encoding="utf-8-sig")
    assert load_workbook(tmp_path / "errors.xlsx").active["B2"].value == "死亡日期"
    assert Member.objects.count() == 0


def test_the_cli_dry_run_writes_nothing_and_checks_the_user(tmp_path, persona):
    persona("village_cadre")
    path = csv_file(tmp_path, household())
    call_command("import_registry", str(path), "--dry-run", stdout=io.StringIO())
    assert Member.objects.count() == 0
    with pytest.raises(CommandError, match="权限"):
        call_command("import_registry", str(path), "--user", "village_cadre", stdout=io.StringIO())
    with pytest.raises(CommandError, match="找不到"):
        call_command("import_registry", str(tmp_path / "absent.csv"), stdout=io.StringIO())


@pytest.mark.django_db
def test_a_row_that_fails_against_the_registry_counts_as_rejected_not_valid(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    path = tmp_path / "accounts.csv"
    path.write_text("户编号,年度,工资性收入\n522630999999,2025,100\n", encoding="utf-8-sig")
    outcome = importing.run_registry_import(path, filename="accounts.csv", dry_run=True)
    counts = outcome.counts()
    assert (counts["total_rows"], counts["valid_rows"], counts["rejected_rows"]) == (1, 0, 1)
