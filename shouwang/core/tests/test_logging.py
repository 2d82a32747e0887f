import datetime as dt
import logging

from engine.ids import make_id_number
from shouwang.core.logging import MaskIDNumbersFilter, mask_id_like


def test_an_id_number_in_a_log_message_is_masked():
    number = make_id_number("522630", dt.date(1990, 1, 1), 5, "M")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "member %s failed", (number,), None)
    MaskIDNumbersFilter().filter(record)
    assert number not in record.getMessage()
    assert record.getMessage().startswith("member 5226")


def test_longer_digit_runs_and_short_numbers_are_left_alone():
    assert mask_id_like("batch 12345") == "batch 12345"
    assert mask_id_like("x" + "1" * 25) == "x" + "1" * 25
