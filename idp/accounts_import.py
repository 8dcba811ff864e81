"""Migrated accounts: natural persons of the previous e-tax system, loaded from a CSV file.

The format is documented in docs/accounts-import.md.  Every row is its own transaction: it is
imported whole (account and audit row) or not at all, and an error in one row never stops
the next.  A document that already has an account is skipped, never duplicated or
overwritten, so the same file (or a later export that overlaps it) can be loaded again.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.accounts import AccountError, normalise_phone
from idp.audit import record_event
from idp.database import db
from idp.factors.legacy_hashes import LegacyHashFormatError, parse_legacy_hash
from idp.factors.password import hash_password
from idp.identity_documents import (
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
from idp.models import Person

REQUIRED_COLUMNS = ("name", "doc_type", "doc_number", "phone", "realname_level")
OPTIONAL_COLUMNS = ("country", "legacy_password_hash")
#: Real-name levels the old system knew: 3 (no face scan yet) or 4 (face verified), FAQ 5.
IMPORTABLE_LEVELS = {"3": 3, "4": 4}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (header, encoding); nothing was imported."""


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


@dataclass(frozen=True)
class RowOutcome:
    line: int
    status: str  # "imported", "skipped" or "failed"
    #: The document as it may be shown (masked); empty when the row had none.
    document: str = ""
    error: ImportRowError | None = None


@dataclass
class ImportReport:
    outcomes: list[RowOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


def read_rows(source: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` pairs; raises :class:`ImportFileError` for a bad header."""
    reader = csv.DictReader(source)
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    # An unknown column is refused: a misspelt "legacy_password_hash" would otherwise silently
    # give everyone the initial password.
    if missing or unknown:
        raise ImportFileError(f"header must name {', '.join(REQUIRED_COLUMNS)} (optional: "
                              f"{', '.join(OPTIONAL_COLUMNS)}); missing {missing}, unknown {unknown}")
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {key: (value or "").strip() for key, value in row.items() if key is not None}


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
        # FAQ 8: without the old system's hash the password is the initial one, to be changed.
        password_hash=legacy or hash_password(initial_password(doc_type, number)),
        password_is_initial=not legacy,
    )
    db.session.add(person)
    db.session.flush()
    record_event("account.imported", subject=person.sub, line=line, doc_type=doc_type,
                 doc_number=mask_document_number(number), phone=mask_phone(phone), realname_level=level,
                 password_source="legacy_hash" if legacy else "initial")


def import_row(line: int, row: dict[str, str]) -> RowOutcome:
    """Import one row in its own transaction (committed here, or rolled back entirely)."""
    # Masked as typed until it is normalised, so an operator can find a rejected row's person.
    document = mask_document_number(clean_input(row.get("doc_number", "")))
    try:
        doc_type, number, doc_country = _validated_document(row)
        document = mask_document_number(number)
        if _existing_account(doc_type, number):
            record_event("account.imported", "skipped", line=line, doc_type=doc_type, doc_number=document,
                         reason="already_exists")
            db.session.commit()
            return RowOutcome(line, "skipped", document)
        _create_imported_person(row, doc_type, number, doc_country, line)
    except ImportRowError as error:
        db.session.rollback()
        return _failed(line, document, error)
    except IntegrityError:
        # Someone registered the same document or phone between our check and our insert.
        db.session.rollback()
        return _failed(line, document, ImportRowError("conflict"))
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return RowOutcome(line, "imported", document)


def _failed(line: int, document: str, error: ImportRowError) -> RowOutcome:
    record_event("account.imported", "failure", line=line, doc_number=document, reason=error.code)
    db.session.commit()
    return RowOutcome(line, "failed", document, error)


def import_accounts(rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Import every row; the report lists each row's outcome with its CSV line number."""
    report = ImportReport()
    for line, row in rows:
        report.outcomes.append(import_row(line, row))
    return report
