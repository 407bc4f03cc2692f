"""Identity checks for parties: R-ID (GB 11643 resident ID), R-PHONE, and R-PII masking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PHONE = re.compile(r"^1[3-9]\d{9}$")


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
    return _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


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
    if birth > today or birth.year < 1850:
        raise InvalidIdNumber("身份证号码中的出生日期不合理", "birth_date")
    if check_digit(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证号码校验位不正确", "checksum")
    sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=birth, sex=sex, region=number[:6])


def normalise_phone(value: str) -> str:
    """A mainland mobile number without country code, spaces or dashes.

    Raises:
        InvalidPhoneNumber: not an 11-digit mobile number starting 13–19.
    """
    digits = re.sub(r"[\s\-()]", "", value)
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
