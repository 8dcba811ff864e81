"""Username rules (docs/domain.md §1.13): a name to log in with, beside the phone and document numbers.

The login form takes a username, a phone number or a document number in one field (docs/domain.md §1.11), so a
username must never be mistakable for the other two: not all digits, not a mainland mobile
number, not shaped like a document that can register online.  Uniqueness ignores case, so
``ZhangSan`` cannot be taken beside ``zhangsan`` to impersonate it.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from idp.core.database import db
from idp.models import Person
from idp.people.identity_documents import (
    DOCUMENT_TYPES,
    DocumentNumberError,
    LocalizedValueError,
    normalise_document_number,
)

MIN_LENGTH, MAX_LENGTH = 4, 20
ALLOWED = re.compile(r"[A-Za-z0-9_]+")
#: 11-digit mainland mobile, optionally with the country code; underscores are read as separators.
PHONE_SHAPE = re.compile(r"(86)?1[3-9]\d{9}")
#: An ID-card-like number even when its check digit is wrong.
ID_CARD_SHAPE = re.compile(r"\d{17}[0-9Xx]")
#: The hall-first documents have no format of their own (any 5-20 letters and digits), so only
#: the documents with a recognisable format are kept apart from usernames.
RECOGNISABLE_DOCUMENTS = tuple(code for code, doc in DOCUMENT_TYPES.items() if doc.self_registration)


class UsernameError(LocalizedValueError):
    MESSAGES = {
        "length": {
            "zh-CN": f"用户名长度应为{MIN_LENGTH}-{MAX_LENGTH}位",
            "en": f"A username has {MIN_LENGTH} to {MAX_LENGTH} characters.",
        },
        "characters": {
            "zh-CN": "用户名只能包含英文字母、数字和下划线",
            "en": "A username may contain only letters (A-Z, a-z), digits and underscores.",
        },
        "all_digits": {
            "zh-CN": "用户名不能全部为数字，须至少包含一个英文字母",
            "en": "A username cannot be all digits: it needs at least one letter.",
        },
        "phone_shape": {
            "zh-CN": "用户名不能是手机号码格式",
            "en": "A username cannot look like a phone number.",
        },
        "document_shape": {
            "zh-CN": "用户名不能是证件号码格式",
            "en": "A username cannot look like an identity document number.",
        },
        "taken": {
            "zh-CN": "该用户名已被使用，请换一个",
            "en": "This username is already taken; please choose another.",
        },
    }


def _looks_like_document(username: str) -> bool:
    for doc_type in RECOGNISABLE_DOCUMENTS:
        try:
            normalise_document_number(doc_type, username)
        except DocumentNumberError:
            continue
        return True
    return False


def validate_username(username: str) -> str:
    """The username as it will be stored; raises :class:`UsernameError` naming the first broken rule."""
    username = (username or "").strip()
    if not MIN_LENGTH <= len(username) <= MAX_LENGTH:
        raise UsernameError("length")
    if not ALLOWED.fullmatch(username):
        raise UsernameError("characters")
    if PHONE_SHAPE.fullmatch(username.replace("_", "")):
        raise UsernameError("phone_shape")
    if not any(c.isalpha() for c in username):
        raise UsernameError("all_digits")
    if ID_CARD_SHAPE.fullmatch(username) or _looks_like_document(username):
        raise UsernameError("document_shape")
    return username


def check_username_taken(username: str, *, except_person_id: int | None = None) -> bool:
    """True when another account holds ``username`` in any letter case."""
    query = select(Person.id).where(func.lower(Person.username) == username.lower())
    if except_person_id is not None:
        query = query.where(Person.id != except_person_id)
    return db.session.execute(query.limit(1)).first() is not None
