"""Creating and finding people's accounts."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import bindparam, func, or_, select

from idp.audit.log import record_event
from idp.core.database import db
from idp.core.personal_data_fields import BlindIndex
from idp.factors.password import hash_password
from idp.models import Person
from idp.people.identity_documents import clean_input, mask_document_number, mask_phone, normalise_document_number
from idp.people.usernames import UsernameError, check_username_taken, validate_username

PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why."""


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[\s-]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if not PHONE_PATTERN.match(digits):
        raise AccountError("phone must be an 11-digit mainland mobile number")
    return digits


def create_person(
    *,
    doc_type: str,
    doc_number: str,
    name: str,
    phone: str,
    password: str | None = None,
    username: str | None = None,
    realname_level: int = 4,
    country: str | None = None,
    password_hash: str | None = None,
) -> Person:
    """Create an account; the caller commits.  One person per document, phone and username
    (whatever its case); a username breaking the rules of idp.people.usernames raises ``UsernameError``.

    Give ``password``, or the ``password_hash`` made earlier (self-registration keeps only the
    hash while the person finishes the remaining steps)."""
    if (password is None) == (password_hash is None):
        raise ValueError("give exactly one of password and password_hash")
    number = normalise_document_number(doc_type, doc_number, country=country)
    phone = normalise_phone(phone)
    if not name or not name.strip():
        raise AccountError("name is required")
    if username:
        # The rules self-registration applies (docs/domain.md §1.13), for operators and imports alike.
        username = validate_username(username)
        if check_username_taken(username):
            raise UsernameError("taken")
    conditions = [(Person.doc_type == doc_type) & (Person.doc_number == number), Person.phone == phone]
    clashes = db.session.execute(select(Person.id).where(or_(*conditions))).first()
    if clashes:
        raise AccountError("an account with this document or phone already exists")
    person = Person(
        sub=secrets.token_urlsafe(16),
        doc_type=doc_type,
        doc_number=number,
        doc_country=(country or "CHN").upper(),
        name=name.strip(),
        phone=phone,
        username=username or None,
        password_hash=hash_password(password) if password is not None else password_hash,
        realname_level=realname_level,
    )
    db.session.add(person)
    db.session.flush()
    record_event(
        "account.created",
        subject=person.sub,
        doc_type=doc_type,
        doc_number=mask_document_number(number),
        phone=mask_phone(phone),
    )
    return person


#: Built once: every login runs it, and building it per call cost SQLAlchemy more CPU than
#: running it (a prebuilt statement's cache key is memoized).  The index columns are compared:
#: ``BlindIndex`` indexes the numbers as they are bound, as ``Person.phone ==`` does when a
#: statement is built.
_BY_IDENTIFIER = select(Person).where(or_(
    func.lower(Person.username) == bindparam("username"),  # docs/domain.md §1.13: whatever the case
    Person.phone_index == bindparam("phone", type_=BlindIndex()),
    Person.doc_number_index == bindparam("doc_number", type_=BlindIndex()),
)).order_by(Person.id).limit(1)


def find_person_by_identifier(identifier: str) -> Person | None:
    """Login identity: username, phone number or document number (docs/domain.md §1.11).  Numbers are read as
    registration reads them: full-width characters (Chinese input methods), spaces, and for a
    phone dashes and ``+86``; a registered person is never told to register."""
    identifier = (identifier or "").strip()
    # PostgreSQL refuses NUL in text: no account has it, so none is looked for.
    if not identifier or len(identifier) > 64 or "\x00" in identifier:
        return None
    typed = clean_input(identifier)
    try:
        phone = normalise_phone(typed)
    except AccountError:
        phone = identifier
    return db.session.execute(
        _BY_IDENTIFIER, {"username": identifier.lower(), "phone": phone, "doc_number": typed}).scalar_one_or_none()
