"""The 11 identity documents a natural person registers with (docs/domain.md §3).

Every document number is validated and normalised here before it is stored or looked up, so a
person's document always maps to one stored form whatever way it was typed. Errors never carry
the number itself: it is personal data and must not reach logs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import ClassVar

DEFAULT_LOCALE = "zh-CN"


def _resolve_locale(locale: str) -> str:
    # Browsers send "en-US", "en_GB", "zh-Hans": match on the language, default to Chinese.
    return "en" if locale.replace("_", "-").split("-")[0].lower() == "en" else DEFAULT_LOCALE


class LocalizedValueError(ValueError):
    """A validation error with a stable ``code`` and a message in the user's language.

    Subclasses set ``MESSAGES`` (code -> locale -> template) and may fill template fields by
    overriding :meth:`message_fields`.
    """

    MESSAGES: ClassVar[Mapping[str, Mapping[str, str]]] = {}

    def __init__(self, code: str) -> None:
        if code not in self.MESSAGES:
            # A typo in an error code must fail where it is raised, not when a page renders it.
            raise KeyError(f"{type(self).__name__} has no message for code {code!r}")
        super().__init__(code)
        self.code = code

    def message(self, locale: str = DEFAULT_LOCALE) -> str:
        """The message for this error in ``locale`` ("zh-CN", the default, or "en")."""
        resolved = _resolve_locale(locale)
        return self.MESSAGES[self.code][resolved].format(**self.message_fields(resolved))

    def message_fields(self, locale: str) -> dict[str, str]:
        """Values for the ``{placeholders}`` of the message templates, in ``locale``."""
        return {}


@dataclass(frozen=True)
class DocumentType:
    """One kind of identity document; ``self_registration`` is False for the hall-first ones."""

    code: str
    name_zh: str
    name_en: str
    self_registration: bool


# Ordered as docs/domain.md §1.6 lists them: the 7 that register online, then the 4 hall-first ones.
DOCUMENT_TYPES: dict[str, DocumentType] = {
    doc.code: doc
    for doc in (
        DocumentType("ID_CARD", "居民身份证", "Resident Identity Card", True),
        DocumentType("HKMO_PERMIT", "港澳居民来往内地通行证",
                     "Mainland Travel Permit for Hong Kong and Macao Residents", True),
        DocumentType("TW_PERMIT", "台湾居民来往大陆通行证",
                     "Mainland Travel Permit for Taiwan Residents", True),
        DocumentType("CN_PASSPORT", "中国护照", "Chinese passport", True),
        DocumentType("FOREIGN_PR", "外国人永久居留身份证", "Foreign Permanent Resident ID Card", True),
        DocumentType("HKMO_RESIDENCE", "中华人民共和国港澳居民居住证",
                     "Residence Permit for Hong Kong and Macao Residents", True),
        DocumentType("TW_RESIDENCE", "中华人民共和国台湾居民居住证",
                     "Residence Permit for Taiwan Residents", True),
        DocumentType("FOREIGN_PASSPORT", "外国护照", "Foreign passport", False),
        DocumentType("WORK_PERMIT_A", "中华人民共和国外国人工作许可证（A类）",
                     "Foreigner's Work Permit (Category A)", False),
        DocumentType("WORK_PERMIT_B", "中华人民共和国外国人工作许可证（B类）",
                     "Foreigner's Work Permit (Category B)", False),
        DocumentType("WORK_PERMIT_C", "中华人民共和国外国人工作许可证（C类）",
                     "Foreigner's Work Permit (Category C)", False),
    )
}

MESSAGES: dict[str, dict[str, str]] = {
    "unknown_type": {"zh-CN": "不支持该证件类型，请从列表中选择证件类型。",
                     "en": "This identity document type is not supported; choose one from the list."},
    "empty": {"zh-CN": "请输入{document}号码。", "en": "{document}: enter the document number."},
    "length": {"zh-CN": "{document}号码位数不正确，请核对后重新输入。",
               "en": "{document}: the number has the wrong length; check it and try again."},
    "characters": {"zh-CN": "{document}号码含有不应出现的字符，请核对后重新输入。",
                   "en": "{document}: the number contains characters it cannot contain; check it."},
    "check_digit": {"zh-CN": "{document}号码校验位不符，可能输错了某一位，请核对后重新输入。",
                    "en": "{document}: the check digit does not match; a character is probably mistyped."},
    "date": {"zh-CN": "{document}号码中的出生日期无效，请核对后重新输入。",
             "en": "{document}: the date of birth inside the number is not a real date; check it."},
    "area": {"zh-CN": "{document}号码开头的地区码无效，请核对后重新输入。",
             "en": "{document}: the number starts with an invalid region code; check it."},
    "prefix": {"zh-CN": "{document}号码的开头不正确，请确认证件类型和号码。",
               "en": "{document}: the number does not start as this document's do; check type and number."},
    "country": {"zh-CN": "请填写{document}签发国家的三位字母代码（如 USA）。",
                "en": "{document}: enter the issuing country as its three-letter code, such as USA."},
    "format": {"zh-CN": "{document}号码格式不正确，请核对后重新输入。",
               "en": "{document}: the number is not in this document's format; check it and try again."},
}

_GENERIC_DOCUMENT_NAME = {"zh-CN": "证件", "en": "Identity document"}


class DocumentNumberError(LocalizedValueError):
    """A document number (or its issuing country) that cannot be accepted; see ``code``."""

    MESSAGES = MESSAGES

    def __init__(self, code: str, doc_type: str | None = None) -> None:
        super().__init__(code)
        self.doc_type = doc_type

    def __str__(self) -> str:
        return f"{self.doc_type}: {self.code}" if self.doc_type else self.code

    def message_fields(self, locale: str) -> dict[str, str]:
        doc = DOCUMENT_TYPES.get(self.doc_type or "")
        if doc is None:
            return {"document": _GENERIC_DOCUMENT_NAME[locale]}
        return {"document": doc.name_en if locale == "en" else doc.name_zh}


# --- check-character algorithms -------------------------------------------------------------

_MOD11_2_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_MOD11_2_CHECK = "10X98765432"  # indexed by the weighted sum mod 11


def check_mod11_2(number: str) -> bool:
    """Whether 17 digits + check character pass ISO 7064 MOD 11-2 as GB 11643 uses it."""
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _MOD11_2_WEIGHTS, strict=True))
    return _MOD11_2_CHECK[total % 11] == number[17]


def check_icao_7_3_1(body: str, check: str) -> bool:
    """Whether ``check`` is the ICAO 9303 7-3-1 check digit of ``body`` (A=10 ... Z=35)."""
    if not re.fullmatch(r"[0-9A-Z]*", body) or not re.fullmatch(r"[0-9]", check):
        return False
    total = sum(int(char, 36) * (7, 3, 1)[index % 3] for index, char in enumerate(body))
    return total % 10 == int(check)


def _validate_birth_date(yyyymmdd: str) -> None:
    """Refuse (code ``date``) a birth date that is not a real day between 1800 and today."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise DocumentNumberError("date") from None
    # Documents are dated on China's calendar (UTC+8, no daylight saving), whatever the server's zone.
    if not date(1800, 1, 1) <= born <= datetime.now(timezone(timedelta(hours=8))).date():
        raise DocumentNumberError("date")


# --- one validator per document layout: take a cleaned number, return the stored form ----------

_DIGITS = re.compile(r"[0-9]+")
_LETTERS_DIGITS = re.compile(r"[0-9A-Z]+")
_GB11643_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_CN_PASSPORT = re.compile(r"E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}|[DSP]E[0-9]{7}")
_TW_PERMIT_OLD_SUFFIX = re.compile(r"([0-9]{10})\([0-9A-Z]\)")
_FOREIGN_PR_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")


def _validate_gb11643(number: str, prefixes: tuple[str, ...], prefix_code: str = "prefix") -> str:
    # The ID card layout (6 area + YYYYMMDD + 3 sequence + check), shared by the residence permits
    # and the 2023 permanent residence card, which differ only in what the number starts with.
    if len(number) != 18:
        raise DocumentNumberError("length")
    if not _GB11643_SHAPE.fullmatch(number):
        raise DocumentNumberError("characters")
    if not number.startswith(prefixes):
        raise DocumentNumberError(prefix_code)
    _validate_birth_date(number[6:14])
    if not check_mod11_2(number):
        raise DocumentNumberError("check_digit")
    return number


def _validate_hkmo_permit(number: str) -> str:
    if not _LETTERS_DIGITS.fullmatch(number):
        raise DocumentNumberError("characters")
    if number[0] not in "HM":
        raise DocumentNumberError("prefix")
    if len(number) not in (9, 11):
        raise DocumentNumberError("length")
    if not _DIGITS.fullmatch(number[1:]):
        raise DocumentNumberError("characters")
    # The 2 trailing digits count renewals; the first 9 identify the person for life.
    return number[:9]


def _validate_tw_permit(number: str) -> str:
    old_form = _TW_PERMIT_OLD_SUFFIX.fullmatch(number)
    if old_form:
        number = old_form.group(1)
    if not _DIGITS.fullmatch(number):
        raise DocumentNumberError("characters")
    if len(number) not in (8, 10):
        raise DocumentNumberError("length")
    # The old 10-digit form is the 8-digit lifetime number plus a renewal count.
    return number[:8]


def _validate_cn_passport(number: str) -> str:
    if not _LETTERS_DIGITS.fullmatch(number):
        raise DocumentNumberError("characters")
    if len(number) != 9:
        raise DocumentNumberError("length")
    if not _CN_PASSPORT.fullmatch(number):
        raise DocumentNumberError("format")
    return number


def _validate_foreign_pr(number: str) -> str:
    if len(number) == 18:
        return _validate_gb11643(number, ("9",))
    if len(number) != 15:
        raise DocumentNumberError("length")
    if not _LETTERS_DIGITS.fullmatch(number):
        raise DocumentNumberError("characters")
    if not _FOREIGN_PR_2017.fullmatch(number):
        raise DocumentNumberError("format")
    if not check_icao_7_3_1(number[:14], number[14]):
        raise DocumentNumberError("check_digit")
    return number


def _letters_digits_validator(min_length: int, max_length: int) -> Callable[[str], str]:
    # For documents with no published layout: only the alphabet and the length can be checked.
    def validate_letters_digits(number: str) -> str:
        if not _LETTERS_DIGITS.fullmatch(number):
            raise DocumentNumberError("characters")
        if not min_length <= len(number) <= max_length:
            raise DocumentNumberError("length")
        return number

    return validate_letters_digits


_VALIDATORS: dict[str, Callable[[str], str]] = {
    "ID_CARD": partial(_validate_gb11643, prefixes=tuple("12345678"), prefix_code="area"),
    "HKMO_PERMIT": _validate_hkmo_permit,
    "TW_PERMIT": _validate_tw_permit,
    "CN_PASSPORT": _validate_cn_passport,
    "FOREIGN_PR": _validate_foreign_pr,
    "HKMO_RESIDENCE": partial(_validate_gb11643, prefixes=("810000", "820000")),
    "TW_RESIDENCE": partial(_validate_gb11643, prefixes=("830000",)),
    "FOREIGN_PASSPORT": _letters_digits_validator(5, 20),
    "WORK_PERMIT_A": _letters_digits_validator(6, 20),
    "WORK_PERMIT_B": _letters_digits_validator(6, 20),
    "WORK_PERMIT_C": _letters_digits_validator(6, 20),
}
#: Document types whose number is unique only with its issuing country (ISO 3166 alpha-3).
COUNTRY_REQUIRED = frozenset({"FOREIGN_PASSPORT"})


def clean_input(text: str) -> str:
    """``text`` as typed, made comparable: NFKC, no whitespace, upper-case."""
    # NFKC because Chinese input methods often type full-width digits, letters and brackets.
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def normalise_issuing_country(country: str | None) -> str:
    """The issuing country of a foreign passport as stored: three letters, upper-case.

    Only the shape is checked: ICAO also issues codes outside ISO 3166 (``UNO``, ``XXA``).
    Raises ``DocumentNumberError`` with code ``country``.
    """
    cleaned = clean_input(country or "")
    if not re.fullmatch(r"[A-Z]{3}", cleaned):
        raise DocumentNumberError("country", "FOREIGN_PASSPORT")
    return cleaned


def normalise_document_number(doc_type: str, number: str, *, country: str | None = None) -> str:
    """Validate ``number`` as a ``doc_type`` document and return the form to store and look up.

    ``country`` (ISO 3166 alpha-3) is required for ``FOREIGN_PASSPORT`` and ignored otherwise;
    store it next to the number with :func:`normalise_issuing_country`. Raises
    ``DocumentNumberError`` whose ``code`` is one of ``unknown_type``, ``empty``, ``length``,
    ``characters``, ``check_digit``, ``date``, ``area``, ``prefix``, ``country``, ``format``.
    """
    validator = _VALIDATORS.get(doc_type)
    if validator is None:
        raise DocumentNumberError("unknown_type")
    cleaned = clean_input(number)
    if not cleaned:
        raise DocumentNumberError("empty", doc_type)
    try:
        normalised = validator(cleaned)
    except DocumentNumberError as error:
        raise DocumentNumberError(error.code, doc_type) from None
    if doc_type in COUNTRY_REQUIRED:
        normalise_issuing_country(country)
    return normalised


def initial_password(doc_type: str, normalised_number: str) -> str:
    """The initial password (docs/domain.md §1.8): the last six characters of the number as stored.

    A stored number shorter than six characters (a 5-character foreign passport) is used whole.
    """
    if doc_type not in DOCUMENT_TYPES:
        raise DocumentNumberError("unknown_type")
    return normalised_number[-6:]


def mask_document_number(number: str) -> str:
    """``number`` for display and logs: first 4 and last 4 kept if longer than 8, else last 2."""
    if len(number) > 8:
        return number[:4] + "*" * (len(number) - 8) + number[-4:]
    if len(number) > 2:
        return "*" * (len(number) - 2) + number[-2:]
    return "*" * len(number)


def mask_phone(phone: str) -> str:
    """``phone`` for display and logs: ``138****1234`` for mainland mobiles, else 3 + 2 kept."""
    mainland = re.fullmatch(r"(\+?86)?(1[0-9]{10})", phone)
    if mainland:
        prefix, digits = mainland.group(1) or "", mainland.group(2)
        return f"{prefix}{digits[:3]}****{digits[-4:]}"
    if len(phone) > 5:
        return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]
    return "*" * len(phone)


def mask_identifier(identifier: str) -> str:
    """What a person typed to name their account (username, phone or document number), for logs:
    a phone number masked as a document would show 8 of its 11 digits."""
    identifier = (identifier or "").strip()
    if identifier.isdigit() and len(identifier) == 11:
        return mask_phone(identifier)
    return mask_document_number(identifier)
