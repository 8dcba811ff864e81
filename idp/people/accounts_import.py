"""Migrated accounts: natural persons of the previous e-tax system, loaded from a CSV file.

The format is documented in docs/accounts-import.md.  Every row is its own transaction: it is
imported whole (account and audit row) or not at all, and an error in one row never stops
the next.  A document that already has an account is skipped, never duplicated or
overwritten, so the same file (or a later export that overlaps it) can be loaded again.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from typing import TextIO

from sqlalchemy import select

from idp.audit.log import record_event
from idp.core.database import db
from idp.factors.legacy_hashes import LegacyHashFormatError, parse_legacy_hash
from idp.factors.password import hash_password
from idp.models import Person
from idp.people import csv_import
from idp.people.accounts import AccountError, normalise_phone
from idp.people.csv_import import IMPORTED, SKIPPED, ImportFileError, ImportReport, RowContext, RowImporter, RowOutcome
from idp.people.identity_documents import (
    DOCUMENT_TYPES,
    DocumentNumberError,
    LocalizedValueError,
    clean_input,
    initial_password,
    mask_document_number,
    mask_phone,
    normalise_document_number,
    normalise_issuing_country,
)

__all__ = ["ImportFileError", "ImportReport", "ImportRowError", "RowOutcome", "import_accounts", "read_rows"]

REQUIRED_COLUMNS = ("name", "doc_type", "doc_number", "phone", "realname_level")
OPTIONAL_COLUMNS = ("country", "legacy_password_hash")
#: Real-name levels the old system knew: 3 (no face scan yet) or 4 (face verified), docs/domain.md §1.5.
IMPORTABLE_LEVELS = {"3": 3, "4": 4}


class ImportRowError(LocalizedValueError):
    """Why one row was not imported; ``cause`` carries a document number's own message."""

    MESSAGES = {
        "doc_type": {"zh-CN": "证件类型无效（应为 {types} 之一）", "en": "unknown doc_type (one of {types})"},
        "document": {"zh-CN": "证件号码无效：{detail}", "en": "invalid document: {detail}"},
        "name": {"zh-CN": "姓名为空或过长", "en": "name is empty or too long"},
        "phone": {"zh-CN": "手机号码无效（应为11位大陆手机号）", "en": "invalid phone (an 11-digit mainland mobile)"},
        "phone_taken": {"zh-CN": "该手机号码已属于另一个账户", "en": "phone already belongs to another account"},
        "level": {"zh-CN": "实名等级只能是3或4", "en": "realname_level must be 3 or 4"},
        "legacy_hash": {
            "zh-CN": "原系统密码哈希格式不受支持",
            "en": "legacy_password_hash is not in a supported format",
        },
        "conflict": {
            "zh-CN": "与同时创建的账户冲突（证件或手机号码），请重新导入",
            "en": "conflicts with an account created meanwhile (document or phone); import again",
        },
    }

    def __init__(self, code: str, cause: LocalizedValueError | None = None) -> None:
        super().__init__(code)
        self.cause = cause

    def message_fields(self, locale: str) -> dict[str, str]:
        return {"types": ", ".join(DOCUMENT_TYPES), "detail": self.cause.message(locale) if self.cause else ""}


def _existing_account(doc_type: str, number: str) -> bool:
    return db.session.execute(
        select(Person.id).where(Person.doc_type == doc_type, Person.doc_number == number)
    ).first() is not None


def _validated_document(row: dict[str, str]) -> tuple[str, str, str]:
    doc_type = clean_input(row.get("doc_type", ""))
    if doc_type not in DOCUMENT_TYPES:
        raise ImportRowError("doc_type")
    country = row.get("country") or None
    try:
        number = normalise_document_number(doc_type, row.get("doc_number", ""), country=country)
        doc_country = normalise_issuing_country(country) if country else "CHN"
    except DocumentNumberError as error:
        raise ImportRowError("document", error) from None
    return doc_type, number, doc_country


def _create_imported_person(row: dict[str, str], doc_type: str, number: str, doc_country: str, line: int) -> None:
    name = row.get("name", "")
    if not name or len(name) > 128:
        raise ImportRowError("name")
    try:
        phone = normalise_phone(row.get("phone", ""))
    except AccountError:
        raise ImportRowError("phone") from None
    if db.session.execute(select(Person.id).where(Person.phone == phone)).first() is not None:
        raise ImportRowError("phone_taken")
    level = IMPORTABLE_LEVELS.get(row.get("realname_level", ""))
    if level is None:
        raise ImportRowError("level")
    legacy = row.get("legacy_password_hash", "")
    if legacy:
        try:
            parse_legacy_hash(legacy)
        except LegacyHashFormatError:
            raise ImportRowError("legacy_hash") from None
    person = Person(
        sub=secrets.token_urlsafe(16), doc_type=doc_type, doc_number=number, doc_country=doc_country,
        name=name, phone=phone, realname_level=level,
        # docs/domain.md §1.8: without the old system's hash the password is the initial one, to be changed.
        password_hash=legacy or hash_password(initial_password(doc_type, number)),
        password_is_initial=not legacy,
    )
    db.session.add(person)
    db.session.flush()
    record_event("account.imported", subject=person.sub, line=line, doc_type=doc_type,
                 doc_number=mask_document_number(number), phone=mask_phone(phone), realname_level=level,
                 password_source="legacy_hash" if legacy else "initial")


def _import_person_row(context: RowContext, row: dict[str, str]) -> str:
    # Masked as typed until it is normalised, so an operator can find a rejected row's person.
    context.label = mask_document_number(clean_input(row.get("doc_number", "")))
    doc_type, number, doc_country = _validated_document(row)
    context.label = mask_document_number(number)
    if _existing_account(doc_type, number):
        record_event("account.imported", "skipped", line=context.line, doc_type=doc_type, doc_number=context.label,
                     reason="already_exists")
        return SKIPPED
    _create_imported_person(row, doc_type, number, doc_country, context.line)
    return IMPORTED


PERSON_ROWS = RowImporter(event="account.imported", label_field="doc_number", apply=_import_person_row,
                          conflict=lambda: ImportRowError("conflict"))


def read_rows(source: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` pairs; raises :class:`ImportFileError` for a bad header."""
    return csv_import.read_rows(source, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)


def import_row(line: int, row: dict[str, str]) -> RowOutcome:
    """Import one row in its own transaction (committed here, or rolled back entirely)."""
    return csv_import.import_row(PERSON_ROWS, line, row)


def import_accounts(rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Import every row; the report lists each row's outcome with its CSV line number."""
    return csv_import.import_rows(PERSON_ROWS, rows)
