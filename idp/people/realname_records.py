"""Real-name information collected at a service hall (docs/domain.md §1.6 and §1.7).

Hall-first documents (foreign passport, foreigner's work permit A/B/C) register online only after
a hall has collected the holder's real-name information; a person whose face scan keeps failing
takes the same route.  A record is made by staff with ``idp realname record``, lapses after
``REALNAME_RECORD_TTL`` days, and is consumed by the registration it enabled.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from sqlalchemy import delete, select

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db, rows_changed
from idp.core.settings import current_settings
from idp.models import Person, RealnameRecord
from idp.people.accounts import normalise_phone
from idp.people.identity_documents import (
    mask_document_number,
    mask_phone,
    normalise_document_number,
    normalise_issuing_country,
)

#: Longest name accepted; real ones (including transliterated foreign names) stay well below.
NAME_MAX_LENGTH = 64
HALL_LEVELS = (4, 5)


class RealnameRecordError(ValueError):
    """A hall record cannot be made as asked; the message (for staff, English) says why."""


def normalise_person_name(name: str | None) -> str:
    """``name`` as stored and compared: NFKC (full-width letters typed by Chinese input methods
    become ASCII), single spaces, trimmed.  Empty when nothing usable is left, or when the name
    holds control or unassigned characters (no real name does; PostgreSQL refuses NUL)."""
    name = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if any(unicodedata.category(char).startswith("C") for char in name):
        return ""
    return name


def check_same_name(first: str, second: str) -> bool:
    """Whether two names are the same person's as typed: case and spacing do not matter."""
    return normalise_person_name(first).casefold() == normalise_person_name(second).casefold()


def save_realname_record(*, doc_type: str, doc_number: str, name: str, country: str | None = None,
                         realname_level: int = 4, phone: str | None = None) -> RealnameRecord:
    """Record (or renew) the hall's collection for one document; the caller commits.

    Raises ``DocumentNumberError`` for a bad document, ``AccountError`` for a bad phone, and
    :class:`RealnameRecordError` when the document already has an account or the input is wrong.
    """
    number = normalise_document_number(doc_type, doc_number, country=country)
    issuing_country = normalise_issuing_country(country) if doc_type == "FOREIGN_PASSPORT" else None
    name = normalise_person_name(name)
    if not name or len(name) > NAME_MAX_LENGTH:
        raise RealnameRecordError(f"the name must have 1 to {NAME_MAX_LENGTH} characters")
    if realname_level not in HALL_LEVELS:
        raise RealnameRecordError("a hall records real-name level 4, or 5 for in-person collection")
    bound_phone = normalise_phone(phone) if phone else None
    registered = db.session.execute(
        select(Person.id).where(Person.doc_type == doc_type, Person.doc_number == number)
    ).first()
    if registered:
        raise RealnameRecordError("this document already has an account; nothing to register")
    record = db.session.execute(
        select(RealnameRecord).where(RealnameRecord.doc_type == doc_type, RealnameRecord.doc_number == number)
    ).scalar_one_or_none()
    if record is None:
        record = RealnameRecord(doc_type=doc_type, doc_number=number)
        db.session.add(record)
    record.doc_country, record.name, record.phone = issuing_country, name, bound_phone
    record.realname_level = realname_level
    record.created_at = utcnow()
    record.expires_at = record.created_at + timedelta(days=current_settings().REALNAME_RECORD_TTL)
    db.session.flush()
    record_event("realname.recorded", doc_type=doc_type, doc_number=mask_document_number(number),
                 level=realname_level, phone=mask_phone(bound_phone) if bound_phone else None,
                 expires=record.expires_at.date().isoformat())
    return record


def query_realname_record(doc_type: str, doc_number: str) -> RealnameRecord | None:
    """The live (unexpired) hall record for a normalised document, if any."""
    return db.session.execute(
        select(RealnameRecord).where(
            RealnameRecord.doc_type == doc_type, RealnameRecord.doc_number == doc_number,
            RealnameRecord.expires_at > utcnow(),
        )
    ).scalar_one_or_none()


def delete_expired_realname_records() -> int:
    """Remove lapsed hall records (names and document numbers are not kept longer than needed)."""
    deleted = rows_changed(db.session.execute(delete(RealnameRecord).where(RealnameRecord.expires_at <= utcnow())))
    record_event("realname.purged", count=deleted)
    return deleted
