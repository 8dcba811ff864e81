"""The audit log's hash chain: each record carries SHA-256 over the previous record's digest
and its own canonical form, so an edited, removed or reordered record breaks the chain.

Order is exact across processes and nodes: before a transaction inserts its audit records it
moves the single ``audit_chain`` head row (an UPDATE: a row lock on PostgreSQL, the write
lock on SQLite) held until it commits, so sequence numbers are gapless and follow commit order.
A plain hash, not an HMAC: anyone may verify with no secret; a writer with database access
could recompute the chain, which the signed checkpoints (idp.audit.checkpoints) kept off the
database expose.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, SessionTransaction, aliased

from idp.audit.checkpoints import GENESIS
from idp.core.columns import utcnow
from idp.core.database import conflict_insert
from idp.models import AuditChain, AuditEvent

#: Order of ``record_event`` calls within one transaction (``session.new`` is unordered).
_added = itertools.count()


def canonical(row: AuditEvent) -> bytes:
    """The record as hashed: every column but the surrogate id and the digest itself."""
    fields = [row.seq, row.at.isoformat(timespec="microseconds"), row.event, row.outcome, row.subject,
              row.client_id, row.ip, row.detail]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_digest(previous: str, row: AuditEvent) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + canonical(row)).hexdigest()


#: Where a session keeps the audit records of its transaction until it commits.
PENDING = "idp.audit_pending"


def add_at_commit(session: Session, row: AuditEvent) -> None:
    """Keep ``row`` for the commit of ``session``'s transaction (rolled back with it).

    The head row is locked only then, as the last thing a transaction does: a transaction that
    took it earlier and then waited for another lock (a person's row) could deadlock with one
    holding that lock and writing its own audit record."""
    row.chain_order = next(_added)  # type: ignore[attr-defined]
    if not session.in_transaction():
        session.begin()
    # The innermost transaction: a record made inside a savepoint goes if the savepoint is rolled back.
    row.chain_transaction = session.get_nested_transaction() or session.get_transaction()  # type: ignore[attr-defined]
    session.info.setdefault(PENDING, []).append(row)


def pending_records(session: Session) -> list[AuditEvent]:
    """The audit records of the current transaction not yet written."""
    return [*session.info.get(PENDING, ()), *(o for o in session.new if isinstance(o, AuditEvent))]


def _add_pending(session: Session) -> None:
    session.add_all(session.info.pop(PENDING, ()))


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the records made within the transaction (or savepoint) just rolled back."""
    def within(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    if pending := session.info.get(PENDING):
        session.info[PENDING] = [row for row in pending if not within(row.chain_transaction)]


def _advance_head(connection, count: int) -> tuple[int, str]:
    """Move the head ``count`` places under its lock; the seq before and the digest there."""
    moved = update(AuditChain).where(AuditChain.id == 1).values(head_seq=AuditChain.head_seq + count) \
        .returning(AuditChain.head_seq, AuditChain.head_digest)
    row = connection.execute(moved).first()
    if row is None:  # a new (or emptied) database: the genesis head, then move it
        connection.execute(conflict_insert(AuditChain).values(
            id=1, head_seq=0, head_digest=GENESIS, anchor_seq=0, anchor_digest=GENESIS, anchor_signature=""
        ).on_conflict_do_nothing())
        row = connection.execute(moved).one()
    return row.head_seq - count, row.head_digest


def _chain_new_records(session: Session, flush_context, instances) -> None:
    now = utcnow()
    pending = sorted((o for o in session.new if isinstance(o, AuditEvent)),
                     key=lambda o: (o.at or now, getattr(o, "chain_order", 0)))
    if not pending:
        return
    connection = session.connection()
    seq, previous = _advance_head(connection, len(pending))
    for row in pending:
        seq += 1
        row.seq = seq
        row.at = row.at or now
        row.detail = row.detail or {}
        row.digest = previous = chain_digest(previous, row)
    connection.execute(update(AuditChain).where(AuditChain.id == 1).values(head_digest=previous))


def install_audit_chain(session) -> None:
    """Chain every audit record ``session`` (the app's scoped session) flushes."""
    if not event.contains(session, "before_flush", _chain_new_records):
        event.listen(session, "before_commit", _add_pending)
        event.listen(session, "after_soft_rollback", _drop_rolled_back)
        event.listen(session, "before_flush", _chain_new_records)


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
        if row.seq != seq + 1:
            return seq, previous, Break(seq + 1, f"records {seq + 1}..{row.seq - 1} were removed")
        if chain_digest(previous, row) != row.digest:
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
