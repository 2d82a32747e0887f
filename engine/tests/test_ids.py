import datetime as dt

import pytest

from engine.ids import IDNumberError, check_digit, make_id_number, mask, parse_id_number


def test_a_valid_number_yields_its_birth_date_and_sex():
    number = make_id_number("522630", dt.date(1988, 2, 29), 7, "F")
    parsed = parse_id_number(number)
    assert parsed.birth_date == dt.date(1988, 2, 29)
    assert parsed.sex == "F"
    assert parsed.region_code == "522630"


def test_full_width_digits_spaces_and_lowercase_x_are_normalised():
    number = "11010519491231002X"
    assert check_digit(number[:17]) == "X"
    wide = " " + number[:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "ｘ "
    assert parse_id_number(wide).value == number
    assert parse_id_number(number.lower()).value == number


def test_a_fifteen_digit_number_is_upgraded_to_eighteen():
    assert parse_id_number("110105491231002").value == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("5226301990010112", "length"),
        ("52263019900101123A", "chars"),
        ("99263019900101123X", "region"),
        ("522630199002301231", "birth_date"),
        ("522630209901011231", "birth_date"),
    ],
)
def test_invalid_numbers_are_rejected_with_a_reason(raw, code):
    with pytest.raises(IDNumberError) as err:
        parse_id_number(raw)
    assert err.value.code == code
    assert err.value.reason_zh and err.value.reason_en
    if raw:
        assert raw not in str(err.value)


def test_a_wrong_check_digit_is_rejected():
    number = make_id_number("522630", dt.date(1990, 1, 1), 1, "M")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(IDNumberError) as err:
        parse_id_number(wrong)
    assert err.value.code == "check_digit"


def test_masking_keeps_only_the_prefecture_and_the_last_four():
    assert mask("52263019900101123X") == "5226**********123X"
    assert mask("") == ""
