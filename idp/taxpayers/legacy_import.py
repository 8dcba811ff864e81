"""Old enterprise logins of the previous e-tax system, loaded from a CSV file (``idp legacy import``).

The format is documented in docs/legacy-login.md.  Each row names a taxpayer and, optionally, the
old system's hash of its enterprise password; the taxpayer is created when missing, and the old
login (:class:`~idp.models.LegacyEnterpriseAccount`) when a hash is given.  The shared machinery
of :mod:`idp.people.csv_import` makes every row one transaction with its audit row, and a taxpayer
that already has an old login is skipped, never overwritten, so the file can be loaded again.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import select

from idp.audit.log import record_event
from idp.core.database import db
from idp.factors.legacy_hashes import LegacyHashFormatError, parse_legacy_hash
from idp.models import LegacyEnterpriseAccount, TaxpayerEntity
from idp.people import csv_import
from idp.people.csv_import import IMPORTED, SKIPPED, ImportReport, RowContext, RowImporter
from idp.people.identity_documents import LocalizedValueError, clean_input, mask_document_number
from idp.taxpayers.entities import ENTITY_KINDS
from idp.taxpayers.taxpayer_numbers import TaxpayerNumberError, normalise_taxpayer_number

REQUIRED_COLUMNS = ("taxpayer_number", "name", "tax_authority_code", "tax_authority_name")
OPTIONAL_COLUMNS = ("kind", "legacy_password_hash")


class LegacyImportRowError(LocalizedValueError):
    """Why one row was not imported; ``cause`` carries a taxpayer number's own message."""

    MESSAGES = {
        "taxpayer_number": {"zh-CN": "纳税人识别号无效：{detail}", "en": "invalid taxpayer_number: {detail}"},
        "name": {"zh-CN": "纳税人名称为空或过长", "en": "name is empty or too long"},
        "tax_authority": {
            "zh-CN": "主管税务机关代码或名称为空或过长",
            "en": "tax_authority_code or tax_authority_name is empty or too long",
        },
        "kind": {"zh-CN": "纳税人类型无效（应为 {kinds} 之一）", "en": "unknown kind (one of {kinds})"},
        "legacy_hash": {
            "zh-CN": "原系统密码哈希格式不受支持",
            "en": "legacy_password_hash is not in a supported format",
        },
        "conflict": {
            "zh-CN": "与同时创建的纳税人或原登录账户冲突，请重新导入",
            "en": "conflicts with a taxpayer or old login created meanwhile; import again",
        },
    }

    def __init__(self, code: str, cause: LocalizedValueError | None = None) -> None:
        super().__init__(code)
        self.cause = cause

    def message_fields(self, locale: str) -> dict[str, str]:
        return {"kinds": ", ".join(ENTITY_KINDS), "detail": self.cause.message(locale) if self.cause else ""}


def _entity_values(row: dict[str, str]) -> dict[str, str]:
    name, code, authority = row.get("name", ""), row.get("tax_authority_code", ""), row.get("tax_authority_name", "")
    if not name or len(name) > 200:
        raise LegacyImportRowError("name")
    if not code or len(code) > 16 or not authority or len(authority) > 100:
        raise LegacyImportRowError("tax_authority")
    kind = row.get("kind") or "enterprise"
    if kind not in ENTITY_KINDS:
        raise LegacyImportRowError("kind")
    return {"name": name, "kind": kind, "tax_authority_code": code, "tax_authority_name": authority}


def _taxpayer(number: str, row: dict[str, str]) -> tuple[TaxpayerEntity, bool]:
    """The taxpayer, created from the row when missing (an existing one is used as it is)."""
    values = _entity_values(row)
    entity = db.session.execute(select(TaxpayerEntity).where(TaxpayerEntity.taxpayer_number == number)).scalar()
    if entity is not None:
        return entity, False
    entity = TaxpayerEntity(taxpayer_number=number, **values)
    db.session.add(entity)
    db.session.flush()
    return entity, True


def _import_legacy_row(context: RowContext, row: dict[str, str]) -> str:
    context.label = mask_document_number(clean_input(row.get("taxpayer_number", ""))[:32])
    try:
        number = normalise_taxpayer_number(row.get("taxpayer_number", ""))
    except TaxpayerNumberError as error:
        raise LegacyImportRowError("taxpayer_number", error) from None
    context.label = mask_document_number(number)
    legacy_hash = row.get("legacy_password_hash", "")
    if legacy_hash:
        try:
            parse_legacy_hash(legacy_hash)
        except LegacyHashFormatError:
            raise LegacyImportRowError("legacy_hash") from None
    entity, created = _taxpayer(number, row)
    audit: dict[str, Any] = {"line": context.line, "taxpayer_number": context.label}
    existing = db.session.execute(
        select(LegacyEnterpriseAccount.sub).where(LegacyEnterpriseAccount.entity_id == entity.id)).scalar()
    if existing is not None or (not legacy_hash and not created):
        record_event("legacy_account.imported", "skipped", subject=existing, **audit,
                     reason="already_exists" if existing else "no_password_hash")
        return SKIPPED
    if not legacy_hash:
        # No password to log in with: the taxpayer is known, and it has no old login.
        record_event("legacy_account.imported", **audit, entity_created=True, password_source="none")
        return IMPORTED
    account = LegacyEnterpriseAccount(sub=secrets.token_urlsafe(16), entity_id=entity.id, password_hash=legacy_hash)
    db.session.add(account)
    db.session.flush()
    record_event("legacy_account.imported", subject=account.sub, **audit, entity_created=created,
                 password_source="legacy_hash")
    return IMPORTED


LEGACY_ROWS = RowImporter(event="legacy_account.imported", label_field="taxpayer_number", apply=_import_legacy_row,
                          conflict=lambda: LegacyImportRowError("conflict"))


def read_rows(source: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` pairs; raises :class:`~idp.people.csv_import.ImportFileError` for a bad header."""
    return csv_import.read_rows(source, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)


def import_legacy_accounts(rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Import every row; the report lists each row's outcome with its CSV line number."""
    return csv_import.import_rows(LEGACY_ROWS, rows)
