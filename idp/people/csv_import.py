"""What every CSV import of the previous e-tax system's accounts shares.

People (``idp users import``, :mod:`idp.people.accounts_import`) and old enterprise logins (``idp legacy
import``, :mod:`idp.taxpayers.legacy_import`) are loaded the same way: a header naming known columns (an
unknown one refuses the whole file), then one transaction per row, committed with its audit row
or rolled back entirely, and an outcome per row with its CSV line number.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy.exc import IntegrityError

from idp.audit.log import record_event
from idp.core.database import db
from idp.people.identity_documents import LocalizedValueError

IMPORTED, SKIPPED, FAILED = "imported", "skipped", "failed"


class ImportFileError(ValueError):
    """The file as a whole cannot be read (header, encoding); nothing was imported."""


class RowTextError(LocalizedValueError):
    MESSAGES = {
        "nul": {"zh-CN": "该行含有空字符（NUL），无法导入", "en": "the row contains a NUL character"},
    }


def check_whole_file(source: TextIO) -> None:
    """Read every line once before anything is imported, so a decoding error (a
    ``UnicodeDecodeError``) or a malformed line refuses the file rather than stopping the
    import halfway with the rows before it imported."""
    reader = csv.reader(source)
    try:
        for _ in reader:
            pass
    except csv.Error as error:  # a field over the csv module's limit, say
        raise ImportFileError(f"line {reader.line_num}: {error}") from None


@dataclass(frozen=True)
class RowOutcome:
    line: int
    status: str  # IMPORTED, SKIPPED or FAILED
    #: The row's identifier as it may be shown (masked); empty when the row had none.
    document: str = ""
    error: LocalizedValueError | None = None


@dataclass
class ImportReport:
    outcomes: list[RowOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


@dataclass
class RowContext:
    """One row being imported; ``label`` is its masked identifier, refined as the row is read."""

    line: int
    label: str = ""


@dataclass(frozen=True)
class RowImporter:
    """How one kind of row is imported.

    ``apply`` adds the row's records (and its success or ``skipped`` audit row) and returns
    IMPORTED or SKIPPED, or raises a :class:`LocalizedValueError` with the reason; failures are
    audited here as ``event`` with the masked identifier under ``label_field``.  ``conflict`` is
    the error reported when a unique constraint fails (a record created meanwhile).
    """

    event: str
    label_field: str
    apply: Callable[[RowContext, dict[str, str]], str]
    conflict: Callable[[], LocalizedValueError]


def read_rows(source: TextIO, required: tuple[str, ...],
              optional: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` pairs; raises :class:`ImportFileError` for a bad header."""
    reader = csv.DictReader(source)
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in required + optional]
    repeated = sorted({name for name in header if header.count(name) > 1})
    # An unknown column is refused: a misspelt optional column (a password hash) would otherwise
    # be silently ignored for every row; of a repeated one only the last would count.
    if missing or unknown or repeated:
        raise ImportFileError(f"header must name {', '.join(required)} (optional: "
                              f"{', '.join(optional)}) once each; missing {missing}, unknown {unknown}, "
                              f"repeated {repeated}")
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {key: (value or "").strip() for key, value in row.items() if key is not None}


def import_row(importer: RowImporter, line: int, row: dict[str, str]) -> RowOutcome:
    """Import one row in its own transaction (committed here, or rolled back entirely)."""
    context = RowContext(line)
    if any("\x00" in value for value in row.values()):
        # PostgreSQL refuses NUL in text: the row's statement would fail, not the row's checks.
        return _failed(importer, context, RowTextError("nul"))
    try:
        status = importer.apply(context, row)
    except LocalizedValueError as error:
        db.session.rollback()
        return _failed(importer, context, error)
    except IntegrityError:
        # Someone created the same record between our check and our insert.
        db.session.rollback()
        return _failed(importer, context, importer.conflict())
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return RowOutcome(line, status, context.label)


def _failed(importer: RowImporter, context: RowContext, error: LocalizedValueError) -> RowOutcome:
    record_event(importer.event, "failure", line=context.line, reason=error.code,
                 **{importer.label_field: context.label})
    db.session.commit()
    return RowOutcome(context.line, FAILED, context.label, error)


def import_rows(importer: RowImporter, rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Import every row; the report lists each row's outcome with its CSV line number."""
    report = ImportReport()
    for line, row in rows:
        report.outcomes.append(import_row(importer, line, row))
    return report
