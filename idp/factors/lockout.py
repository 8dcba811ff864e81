"""Lockout per method: 5 consecutive failures in one local day lock it until the next day.

Counters are updated with one atomic statement so parallel wrong guesses all count.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from idp.audit import record_event
from idp.clock import local_day, utcnow
from idp.database import db
from idp.factors.base import MethodLocked
from idp.models import MethodLockout, Person


def _threshold() -> int:
    return current_app.config["IDP"].LOCKOUT_THRESHOLD


def check_not_locked(person: Person, method: str) -> None:
    """Raise :class:`MethodLocked` when today's consecutive failures reached the threshold."""
    failures = db.session.execute(
        select(MethodLockout.failures).where(
            MethodLockout.person_id == person.id,
            MethodLockout.method == method,
            MethodLockout.local_day == local_day(),
        )
    ).scalar_one_or_none()
    if failures is not None and failures >= _threshold():
        raise MethodLocked(method=method)


def record_failure(person: Person, method: str) -> int:
    """Count one failure (a counter from an earlier day restarts at one); returns today's count.

    Raises :class:`MethodLocked` when this failure reaches the threshold, so the person learns of
    the lock on the attempt that caused it rather than on the next one (FAQ 14).
    """
    today = local_day()
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(MethodLockout).values(
        person_id=person.id, method=method, local_day=today, failures=1, updated_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[MethodLockout.person_id, MethodLockout.method],
        set_={
            "failures": db.case(
                (MethodLockout.local_day == today, MethodLockout.failures + 1), else_=1
            ),
            "local_day": today,
            "updated_at": utcnow(),
        },
    ).returning(MethodLockout.failures)
    failures = db.session.execute(stmt).scalar_one()
    if failures == _threshold():
        record_event("factor.locked", "failure", subject=person.sub, method=method)
    if failures >= _threshold():
        raise MethodLocked(method=method)
    return failures


def reset_failures(person: Person, method: str) -> None:
    """A success ends the run of consecutive failures."""
    db.session.execute(
        update(MethodLockout)
        .where(MethodLockout.person_id == person.id, MethodLockout.method == method)
        .values(failures=0, updated_at=utcnow())
    )


def lift_lockout(person: Person) -> None:
    """Unlock every method (a password reset or staff action)."""
    db.session.execute(
        update(MethodLockout).where(MethodLockout.person_id == person.id).values(failures=0, updated_at=utcnow())
    )
