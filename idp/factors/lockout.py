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
from functools import cache

from sqlalchemy import Column, Table, bindparam, or_, select, update

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


def _counter(subject: LockoutSubject) -> tuple[Table, Column[int]]:
    """The counter table of ``subject`` and its key column."""
    if isinstance(subject, LegacyEnterpriseAccount):
        return LegacyAccountLockout.__table__, LegacyAccountLockout.__table__.c.legacy_account_id
    return MethodLockout.__table__, MethodLockout.__table__.c.person_id


# Built once per counter table, on first use: every login runs them, and building them per call
# cost SQLAlchemy more CPU than running them (a prebuilt statement's cache key is memoized).  The
# count is kept per variant and per dialect too (``dialect`` only keys it: ``conflict_insert``
# picks the dialect's INSERT).
@cache
def _failures_today(table: Table, key: Column[int]):
    return select(table.c.failures).where(
        key == bindparam("subject"), table.c.method == bindparam("factor"), table.c.local_day == bindparam("today"))


@cache
def _count_failure(table: Table, key: Column[int], dialect: str, below_threshold_only: bool):
    insert = conflict_insert(table).values({
        key.key: bindparam("subject"), "method": bindparam("factor"), "local_day": bindparam("today"), "failures": 1,
        "updated_at": bindparam("now"),
    })
    return insert.on_conflict_do_update(
        index_elements=[key, table.c.method],
        set_={
            "failures": db.case((table.c.local_day == bindparam("today"), table.c.failures + 1), else_=1),
            "local_day": bindparam("today"),
            "updated_at": bindparam("now"),
        },
        where=or_(table.c.local_day != bindparam("today"), table.c.failures < bindparam("threshold"))
        if below_threshold_only else None,
    ).returning(table.c.failures)


@cache
def _reset(table: Table, key: Column[int]):
    return update(table).where(key == bindparam("subject"), table.c.method == bindparam("factor")).values(
        failures=0, updated_at=bindparam("now"))


def check_not_locked(person: LockoutSubject, method: str) -> int:
    """Raise :class:`MethodLocked` when today's consecutive failures reached the threshold;
    otherwise return them (0 when there were none: a success then has nothing to reset)."""
    failures = db.session.execute(
        _failures_today(*_counter(person)), {"subject": person.id, "factor": method, "today": local_day()}
    ).scalar_one_or_none() or 0
    if failures >= _threshold():
        raise MethodLocked(method=method)
    return failures


def _upsert_failure(subject: LockoutSubject, method: str, *, below_threshold_only: bool):
    """One more failure today (a counter of an earlier day restarts at one), as one statement
    returning the new count; with ``below_threshold_only`` none is added to a reached threshold
    (nothing is returned then)."""
    stmt = _count_failure(*_counter(subject), db.engine.dialect.name, below_threshold_only)
    return db.session.execute(stmt, {
        "subject": subject.id, "factor": method, "today": local_day(), "now": utcnow(), "threshold": _threshold(),
    }).scalar_one_or_none()


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
        db.session.execute(update(table).where(key == subject.id, table.c.method == method)
                           .values(failures=table.c.failures - 1))
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
    db.session.execute(_reset(*_counter(person)), {"subject": person.id, "factor": method, "now": utcnow()})


def lift_lockout(person: LockoutSubject) -> None:
    """Unlock every method (a password reset or staff action)."""
    table, key = _counter(person)
    db.session.execute(update(table).where(key == person.id).values(failures=0, updated_at=utcnow()))
