"""Parsing in a child process: hostile files and runaway parsers become file errors."""

from __future__ import annotations

import io
import os
import signal
import time
import zipfile

import pytest
from openpyxl import Workbook

from engine.feeds import SandboxLimits, call_in_sandbox, run_in_sandbox
from engine.protect import Protector, generate_key
from engine.schemas.feeds import FEED_SCHEMAS
from engine.tabular import FileError

PROTECTOR = Protector.from_settings("aes", generate_key(), generate_key())
CLAIMS = FEED_SCHEMAS["medical_claims"]
MiB = 1024 * 1024


# Targets run in the child: module-level, so a spawned interpreter can import them.
def allocate_too_much(*, progress) -> bytes:
    return bytes(4096 * MiB)


def sleep_forever(*, progress) -> None:
    time.sleep(60)


def die_hard(*, progress) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def report_and_answer(n: int, *, progress) -> int:
    progress(1, 2)
    return n * 2


def claims_xlsx() -> bytes:
    book = Workbook()
    book.active.append(["身份证号", "结算日期", "医疗总费用", "个人自付"])
    book.active.append(["11010519491231002X", "2025-05-01", 100, 20])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_result_and_progress_come_back_from_the_child():
    seen = []
    assert call_in_sandbox(report_and_answer, (21,), progress=lambda d, t: seen.append((d, t))) == 42
    assert seen == [(1, 2)]


def test_running_out_of_memory_is_a_file_error_not_a_dead_caller():
    with pytest.raises(FileError) as info:
        call_in_sandbox(allocate_too_much, (), limits=SandboxLimits(memory=1024 * MiB, seconds=30))
    assert info.value.code == "memory"
    assert "内存" in info.value.reason_zh


def test_a_parser_that_runs_too_long_is_stopped():
    started = time.monotonic()
    with pytest.raises(FileError) as info:
        call_in_sandbox(sleep_forever, (), limits=SandboxLimits(seconds=1.5))
    assert info.value.code == "timeout"
    assert time.monotonic() - started < 10


def test_a_child_killed_outright_is_reported():
    with pytest.raises(FileError) as info:
        call_in_sandbox(die_hard, (), limits=SandboxLimits(seconds=30))
    assert info.value.code == "worker_crashed"


def test_a_feed_parsed_in_the_sandbox_equals_the_direct_result():
    from engine.feeds import standardize_feed

    data = claims_xlsx()
    direct = standardize_feed(data, CLAIMS, protector=PROTECTOR, county_code="110105")
    boxed = run_in_sandbox(data, CLAIMS, protector=PROTECTOR, county_code="110105")
    assert boxed.table.equals(direct.table)
    assert boxed.stats == direct.stats and boxed.errors == direct.errors


def test_a_zip_bomb_is_refused_in_the_sandbox():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (30 * MiB))
    with pytest.raises(FileError) as info:
        run_in_sandbox(out.getvalue(), CLAIMS, protector=PROTECTOR, county_code="522630")
    assert info.value.code == "zip_bomb"


def test_an_xml_entity_attack_is_refused_in_the_sandbox():
    source = zipfile.ZipFile(io.BytesIO(claims_xlsx()))
    out = io.BytesIO()
    entity = b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = entity + content.split(b"?>", 1)[-1]
            archive.writestr(info, content)
    with pytest.raises(FileError) as info_:
        run_in_sandbox(out.getvalue(), CLAIMS, protector=PROTECTOR, county_code="522630")
    assert info_.value.code == "xml_entity"
