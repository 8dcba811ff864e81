"""The audit log's hash chain: each record carries SHA-256 over the previous record's digest
and its own canonical form, so an edited, removed or reordered record breaks the chain.

With ``CRYPTO_SUITE = "sm"`` new records carry SM3 instead, written ``sm3:<hex>``: each digest
names its algorithm, so a chain begun under SHA-256 goes on under SM3 and verifies throughout
(changing a record's algorithm changes its digest, which the next record covers).

Requests write their records unchained (``seq`` and ``digest`` NULL) and never touch the
chain's head: a head row that every writer locked until COMMIT serialised all token issuance
on all nodes (issue 21).  A chainer (:func:`link_unchained`, run by every serving process's
housekeeping and by ``idp audit chain``) links the committed records, in small batches under
the head row's lock: one chainer at a time, so sequence numbers are gapless and exact across
processes and nodes.  Until then, moments after its commit, a record is not yet covered
(docs/architecture.md §10).
A plain hash, not an HMAC: anyone may verify with no secret; a writer with database access
could recompute the chain, which the signed checkpoints (idp.audit.checkpoints) kept off the
database expose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Protocol

from flask import has_app_context
from sqlalchemy import Connection, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction, aliased

from idp.audit.checkpoints import GENESIS
from idp.core.crypto_suites import SUITES
from idp.core.database import autocommit_connection, conflict_insert
from idp.core.settings import current_settings
from idp.models import AuditChain, AuditEvent

SM3_PREFIX = "sm3:"


class Record(Protocol):
    """What the chain covers of a record: an ``AuditEvent``, or the columns the chainer read."""

    @property
    def seq(self) -> int | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def event(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def detail(self) -> dict: ...


def canonical(row: Record) -> bytes:
    """The record as hashed: every column but the surrogate id and the digest itself."""
    fields = [row.seq, row.at.isoformat(timespec="microseconds"), row.event, row.outcome, row.subject,
              row.client_id, row.ip, row.detail]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_digest(previous: str, row: Record, algorithm: str = "sha256") -> str:
    data = previous.encode() + b"\n" + canonical(row)
    if algorithm == "sm3":
        return SM3_PREFIX + SUITES["sm"].digest(data)
    return hashlib.sha256(data).hexdigest()


def digest_algorithm(digest: str) -> str:
    """The algorithm a stored digest was made with: SHA-256 digests (the first ones) are bare."""
    return "sm3" if digest.startswith(SM3_PREFIX) else "sha256"


def _writing_algorithm() -> str:
    """The hash of new records: the deployment's suite (SHA-256 outside an app, as in migrations)."""
    return SUITES[current_settings().CRYPTO_SUITE].hash_name if has_app_context() else "sha256"


#: Where a session keeps the audit records of its transaction until it commits.
PENDING = "idp.audit_pending"
#: The root transaction of a session once it has a connection (has sent a statement).
_CONNECTED = "idp.audit_connected"


@dataclass(slots=True)
class RecordValues:
    """What a request writes of an audit record; ``seq`` and ``digest`` stay NULL for the chainer."""

    at: datetime
    event: str
    outcome: str
    subject: str | None
    client_id: str | None
    ip: str | None
    detail: dict


_WRITTEN = tuple(column.name for column in fields(RecordValues))


@dataclass(slots=True)
class PendingRecord(RecordValues):
    """An audit record waiting for its transaction's commit: plain values, not an ORM object,
    whose instrumented construction was a third of what making a record cost."""

    #: The innermost transaction it was made in: a savepoint rolled back takes it along.
    transaction: SessionTransaction | None = None


def add_at_commit(session: Session, record: PendingRecord) -> None:
    """Keep ``record`` for the commit of ``session``'s transaction (rolled back with it).

    Inserted only then, as the last thing a transaction does: on SQLite the insert takes the
    database's write lock, which a transaction that recorded an event early and went on (a
    person's row, a slow check) would otherwise hold all that time."""
    if not session.in_transaction():
        session.begin()
    record.transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(PENDING, []).append(record)


def pending_records(session: Session) -> list[PendingRecord | AuditEvent]:
    """The audit records of the current transaction not yet written."""
    return [*session.info.get(PENDING, ()), *(o for o in session.new if isinstance(o, AuditEvent))]


#: Inline: no RETURNING of the new id, which nobody reads.
_INSERT = insert(AuditEvent.__table__).inline()


def _writes_nothing_else(session: Session) -> bool:
    """Whether the transaction being committed has sent no statement and holds no change: its
    audit records are then all it writes (a client_credentials token, a refused request)."""
    return session.info.get(_CONNECTED) is not session.get_transaction() \
        and not (session.new or session.dirty or session.deleted)


def _insert_pending(session: Session) -> None:
    """One Core INSERT for the transaction's records: through the ORM's unit of work, the one
    audit row of a token response cost a third of the token endpoint's CPU (bench/README.md)."""
    if rows := session.info.pop(PENDING, ()):
        values = [{name: getattr(row, name) for name in _WRITTEN} for row in rows]
        parameters = values[0] if len(values) == 1 else values
        if _writes_nothing_else(session):
            # One statement in autocommit mode is the same atomic unit without BEGIN and COMMIT:
            # two round trips that cost more CPU than the INSERT itself. (The one other
            # before_commit listener, the browser session's, is registered at import, so it runs
            # first, and a session row it writes has connected the transaction by now.)
            with autocommit_connection() as connection:
                connection.execute(_INSERT, parameters)
        else:
            # On the transaction's connection: the ORM session's execute() costs as much again.
            session.connection().execute(_INSERT, parameters)


def _connected(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info[_CONNECTED] = session.get_transaction()


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the records made within the transaction (or savepoint) just rolled back."""
    def within(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    if pending := session.info.get(PENDING):
        session.info[PENDING] = [row for row in pending if not within(row.transaction)]


def install_audit_chain(session) -> None:
    """Insert the audit records ``session`` (the app's scoped session) keeps at commit."""
    if not event.contains(session, "before_commit", _insert_pending):
        event.listen(session, "before_commit", _insert_pending)
        event.listen(session, "after_soft_rollback", _drop_rolled_back)
        event.listen(session, "after_begin", _connected)


#: Records one chainer transaction links at most: its locks (the head row, the records it
#: links, which no request touches) last milliseconds; a backlog goes over the next runs.
CHAIN_BATCH = 500

@dataclass(slots=True)
class _Unlinked(RecordValues):
    """A record as the chainer reads it (columns, not an ORM object)."""

    id: int
    seq: int | None
    digest: str | None


_GENESIS_HEAD = {"id": 1, "head_seq": 0, "head_digest": GENESIS, "anchor_seq": 0, "anchor_digest": GENESIS,
                 "anchor_signature": ""}
_UNCHAINED = AuditEvent.seq.is_(None)


def link_unchained(session: Session, limit: int = CHAIN_BATCH) -> int:
    """Link up to ``limit`` committed records not chained yet, in the order of their ids, and
    commit; returns how many (0: none waiting, or another chainer is at work right now).

    Safe with any number of chainers on any number of nodes: the head row is taken with
    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (the others skip rather than wait; on SQLite the
    genesis INSERT has already taken the database's write lock), and the records are read after
    it, so no two chainers link the same record.  A record committed later with a smaller id
    (its transaction was slower) is linked by a later run, after the others: the chain's order is
    the order of ``seq``, fixed here once.  A chainer that dies mid-batch is rolled back by the
    database and leaves its records to the next run."""
    if session.execute(select(AuditEvent.id).where(_UNCHAINED).limit(1)).first() is None:
        session.rollback()
        return 0
    session.execute(conflict_insert(AuditChain).values(**_GENESIS_HEAD).on_conflict_do_nothing())
    head = session.execute(select(AuditChain).where(AuditChain.id == 1).with_for_update(skip_locked=True)
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        session.rollback()
        return 0
    # Columns, not ORM objects, read and written in one statement each: a batch of a few
    # hundred records through the unit of work cost as much CPU as the requests that wrote them.
    rows = session.execute(select(AuditEvent.__table__).where(_UNCHAINED).order_by(AuditEvent.id)
                           .limit(limit)).all()
    seq, previous = head.head_seq, head.head_digest
    algorithm = _writing_algorithm()
    links = []
    for row in rows:
        seq += 1
        previous = chain_digest(previous, replace(_Unlinked(**row._asdict()), seq=seq), algorithm)
        links.append({"linked_id": row.id, "linked_seq": seq, "linked_digest": previous})
    if links:
        table = AuditEvent.__table__
        session.execute(update(table).where(table.c.id == bindparam("linked_id"))
                        .values(seq=bindparam("linked_seq"), digest=bindparam("linked_digest")), links)
    head.head_seq, head.head_digest = seq, previous
    session.commit()
    return len(rows)


def link_all(session: Session) -> int:
    """Link every committed record not chained yet (``idp audit chain``); returns how many.
    Stops early when another chainer holds the head: it is linking them."""
    total = 0
    while linked := link_unchained(session):
        total += linked
        if linked < CHAIN_BATCH:
            break
    return total


@dataclass(frozen=True)
class UnchainedTail:
    """The committed records not linked yet: how many, and when the oldest was written."""

    count: int
    oldest: datetime | None


def unchained_tail(session: Session) -> UnchainedTail:
    count, oldest = session.execute(select(func.count(), func.min(AuditEvent.at)).where(_UNCHAINED)).one()
    return UnchainedTail(count, oldest)


@dataclass(frozen=True)
class Break:
    """Where the chain first fails to verify."""

    seq: int
    problem: str


def walk(session: Session, since_seq: int = 0, batch: int = 2000) -> Iterator[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.seq > since_seq).order_by(AuditEvent.seq) \
        .execution_options(yield_per=batch)
    yield from session.execute(query).scalars()


def verify_chain(session: Session, start_seq: int, start_digest: str,
                 until: tuple[int, str] | None = None) -> tuple[int, str, Break | None]:
    """Check every record after ``start_seq`` (whose digest is ``start_digest``): returns the
    last record checked and the first break.  With ``until`` (a checkpoint's seq and digest),
    the record there must exist and carry that digest."""
    seq, previous = start_seq, start_digest
    for row in walk(session, start_seq):
        assert row.seq is not None and row.digest is not None  # walk reads chained records only
        if row.seq != seq + 1:
            return seq, previous, Break(seq + 1, f"records {seq + 1}..{row.seq - 1} were removed")
        if chain_digest(previous, row, digest_algorithm(row.digest)) != row.digest:
            return seq, previous, Break(row.seq, "record altered or reordered (its digest does not match)")
        seq, previous = row.seq, row.digest
        if until and seq == until[0] and previous != until[1]:
            return seq, previous, Break(seq, "record differs from the signed checkpoint (chain rewritten)")
    if until and seq < until[0]:
        return seq, previous, Break(seq + 1, f"records {seq + 1}..{until[0]} of the signed checkpoint are missing"
                                              " (the tail was truncated)")
    head = session.get(AuditChain, 1)
    if head is not None and head.head_seq > seq:
        return seq, previous, Break(seq + 1, f"records {seq + 1}..{head.head_seq} were removed (tail)")
    return seq, previous, None


def purge_boundary(cutoff: datetime):
    """The first record retention keeps: the oldest one newer than ``cutoff`` (or the next one
    to be written), so the purged records are always a prefix of the chain."""
    # Over an alias: the subqueries must not correlate with the rows being deleted.
    other = aliased(AuditEvent)
    newer = select(func.min(other.seq)).where(other.at > cutoff).scalar_subquery()
    following = select(func.coalesce(func.max(other.seq), 0) + 1).scalar_subquery()
    return func.coalesce(newer, following)


def move_anchor(session: Session, cutoff: datetime, sign: Callable[[int, str], str]) -> None:
    """Before retention deletes the records up to ``cutoff``: make the last of them the chain's
    signed anchor, where verification starts once they are gone (committed first, so an
    interrupted purge still leaves a chain that verifies)."""
    boundary = session.execute(select(purge_boundary(cutoff))).scalar_one()
    last = session.execute(select(AuditEvent.seq, AuditEvent.digest).where(AuditEvent.seq == boundary - 1)).first()
    chain = session.get(AuditChain, 1, with_for_update=True)
    if last is None or chain is None or last.seq <= chain.anchor_seq:
        session.rollback()
        return
    chain.anchor_seq, chain.anchor_digest = last.seq, last.digest
    chain.anchor_signature = sign(last.seq, last.digest)
    session.commit()
