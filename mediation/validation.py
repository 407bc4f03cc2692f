"""Identity checks for parties: R-ID (GB 11643 resident ID), R-PHONE, and R-PII masking."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()]")
# The earliest plausible birth year. The issue asked for 1900; DOMAIN.md's own R-ID test
# vector 440524188001010014 is born in 1880 and must pass, and DOMAIN.md wins.
EARLIEST_BIRTH_YEAR = 1850


class ValidationFailure(Exception):
    code = "invalid_input"

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


class InvalidIdNumber(ValidationFailure):
    code = "invalid_id_number"

    def __init__(self, message_zh: str, reason: str) -> None:
        super().__init__(message_zh)
        self.reason = reason


class InvalidPhoneNumber(ValidationFailure):
    code = "invalid_phone_number"


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # male | female
    region: str


def check_digit(body: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits."""
    if len(body) != len(_WEIGHTS):
        raise ValueError("an ID number's body has 17 digits")
    return _CHECK[sum(map(operator.mul, map(int, body), _WEIGHTS)) % 11]


def parse_resident_id(value: str, *, today: date) -> ResidentId:
    """Parse and check an 18-character resident ID number.

    Raises:
        InvalidIdNumber: wrong format, impossible birth date or wrong check character.
    """
    number = value.replace(" ", "").upper()
    if not _ID_PATTERN.match(number):
        raise InvalidIdNumber("身份证号码应为18位，前17位为数字，最后一位为数字或X", "format")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("身份证号码中的出生日期不存在", "birth_date") from exc
    if not plausible_birth_date(birth, today=today):
        raise InvalidIdNumber("身份证号码中的出生日期不合理", "birth_date")
    if not known_province(number[:2]):
        raise InvalidIdNumber("身份证号码的前两位不是 GB/T 2260 中的省级行政区划代码", "region")
    if check_digit(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证号码校验位不正确", "checksum")
    sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=birth, sex=sex, region=number[:6])


def plausible_birth_date(birth: date, *, today: date) -> bool:
    """Not in the future and not before EARLIEST_BIRTH_YEAR."""
    return birth.year >= EARLIEST_BIRTH_YEAR and birth <= today


@lru_cache(maxsize=64)
def known_province(code: str) -> bool:
    """Whether a two-digit code is a province-level division in python-stdnum's GB/T 2260
    table, which keeps historical codes (an ID keeps the code it was issued under).

    Only the province is checked: the table lacks county codes that IDs in use carry
    (DOMAIN.md's R-ID vector 34052419800101001X has a county code it does not list).
    """
    from stdnum import numdb  # python-stdnum's division table (cn/loc), loaded once

    found = numdb.get("cn/loc").info(code + "0000")
    return bool(found) and "province" in found[0][1]


def normalise_phone(value: str) -> str:
    """A mainland mobile number without country code, spaces or dashes.

    Raises:
        InvalidPhoneNumber: not an 11-digit mobile number starting 13–19.
    """
    digits = value if value.isdigit() else _PHONE_NOISE.sub("", value)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not _PHONE.match(digits):
        raise InvalidPhoneNumber("手机号码应为11位且以13–19开头")
    return digits


def mask_id_number(number: str) -> str:
    """1101**********002X: region prefix and last four kept."""
    return number[:4] + "*" * 10 + number[-4:]


def mask_phone(phone: str) -> str:
    """138****1234."""
    return phone[:3] + "****" + phone[-4:]


def is_minor(birth_date: date, *, on: date, age: int = 14) -> bool:
    """Whether someone born on `birth_date` is under `age` on `on` (PIPL Art. 31: 14)."""
    had_birthday = (on.month, on.day) >= (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (0 if had_birthday else 1) < age
