"""Lockout per method: 5 consecutive failures in one local day lock it until the next day.

Counters are updated with one atomic statement so parallel wrong guesses all count.  The
subject is a person, or an old enterprise login of the dual-track transition (which has no
person): each has its own counter table, chosen in :func:`_counter` only.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from idp.audit import record_event
from idp.clock import local_day, utcnow
from idp.database import db
from idp.factors.base import MethodLocked
from idp.models import LegacyAccountLockout, LegacyEnterpriseAccount, MethodLockout, Person
from idp.models.factor_state import LockoutCounter

#: Whose failures are counted.
LockoutSubject = Person | LegacyEnterpriseAccount


def _threshold() -> int:
    return current_app.config["IDP"].LOCKOUT_THRESHOLD


def _counter(subject: LockoutSubject) -> tuple[type[LockoutCounter], Any]:
    """The counter table of ``subject`` and its key column."""
    if isinstance(subject, LegacyEnterpriseAccount):
        return LegacyAccountLockout, LegacyAccountLockout.legacy_account_id
    return MethodLockout, MethodLockout.person_id


def check_not_locked(person: LockoutSubject, method: str) -> int:
    """Raise :class:`MethodLocked` when today's consecutive failures reached the threshold;
    otherwise return them (0 when there were none: a success then has nothing to reset)."""
    table, key = _counter(person)
    failures = db.session.execute(
        select(table.failures).where(key == person.id, table.method == method, table.local_day == local_day())
    ).scalar_one_or_none() or 0
    if failures >= _threshold():
        raise MethodLocked(method=method)
    return failures


def record_failure(person: LockoutSubject, method: str) -> int:
    """Count one failure (a counter from an earlier day restarts at one); returns today's count.

    Raises :class:`MethodLocked` when this failure reaches the threshold, so the person learns of
    the lock on the attempt that caused it rather than on the next one (FAQ 14).
    """
    today = local_day()
    table, key = _counter(person)
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(
        {key.key: person.id, "method": method, "local_day": today, "failures": 1, "updated_at": utcnow()}
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[key, table.method],
        set_={
            "failures": db.case(
                (table.local_day == today, table.failures + 1), else_=1
            ),
            "local_day": today,
            "updated_at": utcnow(),
        },
    ).returning(table.failures)
    failures = db.session.execute(stmt).scalar_one()
    if failures == _threshold():
        record_event("factor.locked", "failure", subject=person.sub, method=method)
    if failures >= _threshold():
        raise MethodLocked(method=method)
    return failures


def reset_failures(person: LockoutSubject, method: str) -> None:
    """A success ends the run of consecutive failures."""
    table, key = _counter(person)
    db.session.execute(
        update(table).where(key == person.id, table.method == method).values(failures=0, updated_at=utcnow())
    )


def lift_lockout(person: LockoutSubject) -> None:
    """Unlock every method (a password reset or staff action)."""
    table, key = _counter(person)
    db.session.execute(update(table).where(key == person.id).values(failures=0, updated_at=utcnow()))
