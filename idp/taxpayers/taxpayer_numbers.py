"""Unified social credit codes and taxpayer numbers (docs/domain.md §2.2).

A taxpayer is named by its unified social credit code (USCC, GB 32100-2015) where it has one;
older taxpayers keep legacy numbers built from a document number. Both are validated and
normalised here before they are stored or looked up.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from idp.people.identity_documents import LocalizedValueError, check_mod11_2, clean_input

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z: they read as digits
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

MESSAGES: dict[str, dict[str, str]] = {
    "empty": {"zh-CN": "请输入{subject}。", "en": "Enter the {subject}."},
    "length": {"zh-CN": "{subject}位数不正确，请核对后重新输入。",
               "en": "The {subject} has the wrong length; check it and try again."},
    "characters": {"zh-CN": "{subject}含有不应出现的字符，请核对后重新输入。",
                   "en": "The {subject} contains characters it cannot contain; check it and try again."},
    "check_digit": {"zh-CN": "{subject}校验位不符，可能输错了某一位，请核对后重新输入。",
                    "en": "The {subject} fails its check character; a character is probably mistyped."},
    "format": {"zh-CN": "{subject}格式不正确，请核对后重新输入。",
               "en": "The {subject} is not in a format the tax bureau issues; check it and try again."},
}

_SUBJECTS = {
    "uscc": {"zh-CN": "统一社会信用代码", "en": "unified social credit code"},
    "taxpayer_number": {"zh-CN": "纳税人识别号", "en": "taxpayer number"},
}


class TaxpayerNumberError(LocalizedValueError):
    """A USCC or taxpayer number that cannot be accepted; see ``code``."""

    MESSAGES = MESSAGES

    def __init__(self, code: str, subject: str = "taxpayer_number") -> None:
        super().__init__(code)
        self.subject = subject

    def __str__(self) -> str:
        return f"{self.subject}: {self.code}"

    def message_fields(self, locale: str) -> dict[str, str]:
        return {"subject": _SUBJECTS[self.subject][locale]}


def check_uscc(code: str) -> bool:
    """Whether ``code`` is 18 USCC characters whose last is the GB 32100-2015 check character."""
    if len(code) != 18 or any(char not in USCC_ALPHABET for char in code):
        return False
    values = [USCC_ALPHABET.index(char) for char in code[:17]]
    total = sum(value * weight for value, weight in zip(values, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def normalise_uscc(code: str) -> str:
    """Validate a unified social credit code and return it as stored (upper-case, no spaces).

    The first character may be a letter (``Y``, ``A``, ``N`` registration authorities). Raises
    ``TaxpayerNumberError`` whose ``code`` is ``empty``, ``length``, ``characters`` or ``check_digit``.
    """
    cleaned = clean_input(code)
    if not cleaned:
        raise TaxpayerNumberError("empty", "uscc")
    if len(cleaned) != 18:
        raise TaxpayerNumberError("length", "uscc")
    if any(char not in USCC_ALPHABET for char in cleaned):
        raise TaxpayerNumberError("characters", "uscc")
    if not check_uscc(cleaned):
        raise TaxpayerNumberError("check_digit", "uscc")
    return cleaned


# Legacy numbers were issued before the USCC and can never be re-issued: refusing a real one locks
# a taxpayer out, while a mistyped one that passes merely finds no taxpayer. So each form is held
# to its shape, and to a check character only where the embedded document has an unambiguous one.

def _validate_legacy_15(number: str) -> str:
    # 6-digit area code + 9-character organisation code, or a 15-digit first-generation ID card.
    if not re.fullmatch(r"[0-9]{6}[0-9A-Z]{9}", number):
        raise TaxpayerNumberError("format")
    return number


def _validate_legacy_17(number: str) -> str:
    # 15-digit first-generation ID card (no check digit) + 2-digit sequence.
    if not re.fullmatch(r"[0-9]{17}", number):
        raise TaxpayerNumberError("format")
    return number


def _validate_uscc_or_document_18(number: str) -> str:
    # A USCC, or a natural person's 18-character ID-card-style number used as the taxpayer number.
    if check_uscc(number) or check_mod11_2(number):
        return number
    if re.fullmatch(r"[0-9]{17}[0-9X]", number) or all(char in USCC_ALPHABET for char in number):
        raise TaxpayerNumberError("check_digit")
    raise TaxpayerNumberError("characters")


def _validate_legacy_20(number: str) -> str:
    # 18-character ID-card-style number (ID card, residence permit, 2023 PR card) + 2-digit sequence.
    if not re.fullmatch(r"[0-9]{17}[0-9X][0-9]{2}", number):
        raise TaxpayerNumberError("format")
    if not check_mod11_2(number[:18]):
        raise TaxpayerNumberError("check_digit")
    return number


def _validate_temporary(number: str) -> str:
    # "L" + a code: no published layout, so only the length is held to the other forms' range.
    if not 7 <= len(number) <= 21:
        raise TaxpayerNumberError("length")
    return number


_VALIDATORS_BY_LENGTH: dict[int, Callable[[str], str]] = {
    15: _validate_legacy_15,
    17: _validate_legacy_17,
    18: _validate_uscc_or_document_18,
    20: _validate_legacy_20,
}


def normalise_taxpayer_number(number: str) -> str:
    """Validate a taxpayer number and return it as stored (upper-case, no spaces).

    Accepted: a valid USCC; a legacy number of 15, 17, 18 or 20 characters (area + organisation
    code, or document number [+ 2-digit sequence]); a temporary taxpayer's ``L`` + code. Raises
    ``TaxpayerNumberError`` whose ``code`` is ``empty``, ``length``, ``characters``, ``check_digit``
    or ``format``.
    """
    cleaned = clean_input(number)
    if not cleaned:
        raise TaxpayerNumberError("empty")
    if not re.fullmatch(r"[0-9A-Z]+", cleaned):
        raise TaxpayerNumberError("characters")
    # No USCC registration authority is coded L, so an L-number that is not a valid USCC is temporary.
    if cleaned.startswith("L") and not check_uscc(cleaned):
        return _validate_temporary(cleaned)
    validator = _VALIDATORS_BY_LENGTH.get(len(cleaned))
    if validator is None:
        raise TaxpayerNumberError("length")
    return validator(cleaned)
