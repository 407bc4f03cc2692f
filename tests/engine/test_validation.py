"""R-ID, R-PHONE and R-PII masking: the checks every party's data passes before it is stored."""

from __future__ import annotations

from datetime import date

import pytest

from mediation.validation import (
    InvalidIdNumber,
    InvalidPhoneNumber,
    check_digit,
    is_minor,
    mask_id_number,
    mask_phone,
    normalise_phone,
    parse_resident_id,
)

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        ("11010519491231002X", date(1949, 12, 31), "female"),
        ("440524188001010014", date(1880, 1, 1), "male"),
        ("34052419800101001X", date(1980, 1, 1), "male"),
    ],
)
def test_r_id_domain_vectors_pass(number: str, birth: date, sex: str) -> None:
    parsed = parse_resident_id(number, today=TODAY)
    assert (parsed.birth_date, parsed.sex, parsed.region) == (birth, sex, number[:6])


def test_r_id_lower_case_x_and_spaces_are_normalised() -> None:
    assert parse_resident_id("110105 19491231 002x", today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "format"),  # 17 characters
        ("1101051949123100X2", "format"),  # X not last
        ("11010519490231002X", "birth_date"),  # 31 February
        ("110105203001010011", "birth_date"),  # born in the future
        ("110105194912310021", "checksum"),  # right shape, wrong check character
    ],
)
def test_r_id_bad_numbers_are_refused_with_the_reason(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id(number, today=TODAY)
    assert caught.value.reason == reason
    assert "身份证" in caught.value.message_zh


def test_r_id_check_digit_is_iso_7064_mod_11_2() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_digit("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 19912345678", "19912345678"),
    ],
)
def test_r_phone_prefixes_and_separators_are_stripped(raw: str, normal: str) -> None:
    assert normalise_phone(raw) == normal


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "0571-8888888"])
def test_r_phone_non_mobile_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="手机号码"):
        normalise_phone(raw)


def test_r_pii_masks_keep_only_prefix_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"


def test_r_pii_under_14_counts_the_birthday_itself() -> None:
    born = date(2012, 11, 28)
    assert is_minor(born, on=date(2026, 11, 27))
    assert not is_minor(born, on=date(2026, 11, 28))
