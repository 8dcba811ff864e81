"""Lockout per method: 5 consecutive failures in one local day lock it until the next day.

Counters are updated with one atomic statement so parallel wrong guesses all count.  A guess
of a secret (:func:`counted_attempt`) is counted before it is checked, so parallel guesses
cannot get more than the threshold checked: the counter row stays locked by the first until
its request commits, and the next sees its count.  The subject is a person, or an old
enterprise login of the dual-track transition (which has no person): each has its own
counter table, chosen in :func:`_counter` only.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from sqlalchemy import or_, select, update

from idp.audit.log import record_event
from idp.core.clock import local_day, utcnow
from idp.core.database import conflict_insert, db
from idp.core.metrics import count_lockout
from idp.core.settings import current_settings
from idp.factors.base import FactorError, MethodLocked, WrongCredential
from idp.models import LegacyAccountLockout, LegacyEnterpriseAccount, MethodLockout, Person

#: Whose failures are counted.
LockoutSubject = Person | LegacyEnterpriseAccount


def _threshold() -> int:
    return current_settings().LOCKOUT_THRESHOLD


def _counter(subject: LockoutSubject) -> tuple[type[MethodLockout] | type[LegacyAccountLockout], Any]:
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


def _upsert_failure(subject: LockoutSubject, method: str, *, below_threshold_only: bool):
    """One more failure today (a counter of an earlier day restarts at one), as one statement
    returning the new count; with ``below_threshold_only`` none is added to a reached threshold
    (nothing is returned then)."""
    today = local_day()
    table, key = _counter(subject)
    insert = conflict_insert(table).values(
        {key.key: subject.id, "method": method, "local_day": today, "failures": 1, "updated_at": utcnow()}
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[key, table.method],
        set_={
            "failures": db.case(
                (table.local_day == today, table.failures + 1), else_=1
            ),
            "local_day": today,
            "updated_at": utcnow(),
        },
        where=or_(table.local_day != today, table.failures < _threshold()) if below_threshold_only else None,
    ).returning(table.failures)
    return db.session.execute(stmt).scalar_one_or_none()


def _announce_lock(subject: LockoutSubject, method: str, failures: int) -> None:
    if failures == _threshold():
        record_event("factor.locked", "failure", subject=subject.sub, method=method)
        count_lockout(method)


@contextmanager
def counted_attempt(subject: LockoutSubject, method: str, counted: tuple[type[FactorError], ...] = (WrongCredential,)):
    """One guess of ``method``'s secret, run inside the block: counted as a failure before the
    block runs, so it stands if the block raises one of ``counted``; taken back if the block
    refuses for another reason (a code already spent); a success ends the run of failures.

    Raises :class:`MethodLocked` instead of running the block once the threshold is reached,
    and instead of ``counted`` on the failure that reaches it (docs/domain.md §1.14: the person learns of the
    lock on the attempt that caused it).  A counted refusal carries ``failures``.
    """
    failures = _upsert_failure(subject, method, below_threshold_only=True)
    if failures is None:
        raise MethodLocked(method=method)
    try:
        yield
    except counted as error:
        _announce_lock(subject, method, failures)
        if failures >= _threshold():
            raise MethodLocked(method=method) from None
        error.params.setdefault("failures", failures)
        error.params.setdefault("threshold", _threshold())
        raise
    except FactorError:
        table, key = _counter(subject)
        db.session.execute(update(table).where(key == subject.id, table.method == method)
                           .values(failures=table.failures - 1))
        raise
    reset_failures(subject, method)


def record_failure(person: LockoutSubject, method: str) -> int:
    """Count one failure (a counter from an earlier day restarts at one); returns today's count.

    Raises :class:`MethodLocked` when this failure reaches the threshold, so the person learns of
    the lock on the attempt that caused it rather than on the next one (docs/domain.md §1.14).
    """
    failures = _upsert_failure(person, method, below_threshold_only=False)
    _announce_lock(person, method, failures)
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
