"""Adding or changing a username in the account centre (docs/domain.md §1.13): at most once every 365 days.

Counting rule (our choice, docs/domain.md §8; the FAQ says only "once a year"): every setting made here counts,
the first one included, since adding a username creates a new login name just as a change does.
The next one is allowed from the same local (Asia/Shanghai) calendar day 365 days later, so the
date the person is told is exactly the day the rule opens.  A username given at registration
without a ``username_changed_at`` (imported or demo accounts) may be changed once straight away.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.audit.log import record_event
from idp.core.clock import local_day, utcnow
from idp.core.database import db, rows_changed
from idp.models import Person
from idp.people.identity_documents import LocalizedValueError
from idp.people.usernames import UsernameError, check_username_taken, validate_username

CHANGE_INTERVAL = timedelta(days=365)


class UsernameChangeRefused(LocalizedValueError):
    MESSAGES = {
        "unchanged": {
            "zh-CN": "新用户名与当前用户名相同",
            "en": "This is already your username.",
        },
        "too_soon": {
            "zh-CN": "用户名一年只能修改一次，{next_change}起可再次修改",
            "en": "A username can be changed once a year; you can change it again from {next_change}.",
        },
    }

    def __init__(self, code: str, *, next_change: date | None = None) -> None:
        super().__init__(code)
        self.next_change = next_change

    def message_fields(self, locale: str) -> dict[str, str]:
        day = self.next_change
        if day is None:
            return {"next_change": ""}
        return {"next_change": f"{day.year}年{day.month}月{day.day}日" if locale == "zh-CN" else day.isoformat()}


def next_username_change_day(person: Person) -> date | None:
    """The first local day the person may set a username again, or None when they may now."""
    if person.username_changed_at is None:
        return None
    day = local_day(person.username_changed_at) + CHANGE_INTERVAL
    return day if local_day() < day else None


def change_username(person: Person, requested: str) -> str:
    """Add or change ``person``'s username; the caller commits.  Returns the username stored."""
    try:
        username = validate_username(requested)
        if person.username == username:
            raise UsernameChangeRefused("unchanged")
        next_change = next_username_change_day(person)
        if next_change is not None:
            raise UsernameChangeRefused("too_soon", next_change=next_change)
        if check_username_taken(username, except_person_id=person.id):
            raise UsernameError("taken")
        _store(person, username)
    except LocalizedValueError as error:
        record_event("username.change", "failure", subject=person.sub, reason=error.code)
        raise
    return username


def _store(person: Person, username: str) -> None:
    # Guarded on the timestamp just read, so two parallel changes cannot both pass the yearly
    # rule; the unique index settles a race for the same name.
    previous = person.username
    unchanged_since = (Person.username_changed_at.is_(None) if person.username_changed_at is None
                       else Person.username_changed_at == person.username_changed_at)
    try:
        with db.session.begin_nested():
            stored = db.session.execute(
                update(Person).where(Person.id == person.id, unchanged_since)
                .values(username=username, username_changed_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        raise UsernameError("taken") from None
    db.session.refresh(person)
    if rows_changed(stored) != 1:
        raise UsernameChangeRefused("too_soon", next_change=next_username_change_day(person))
    record_event("username.changed", subject=person.sub, first=previous is None, username=username)
