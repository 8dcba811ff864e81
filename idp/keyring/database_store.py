"""The database keyring store, for several nodes sharing one PostgreSQL.

Changes run in one transaction that first takes a lock (a PostgreSQL advisory lock; on
SQLite the database write lock), so concurrent rotations serialise.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from idp.core.database import db
from idp.keyring.records import KeyRecord
from idp.models import SigningKeyRow

#: Arbitrary constant naming the keyring's advisory lock.
ADVISORY_LOCK_ID = 0x71647478  # "qdtx"

_FIELDS = ("kid", "alg", "state", "created_at", "activated_at", "retired_at", "retire_after", "revoked_at")


def _to_record(row) -> KeyRecord:
    return KeyRecord(private_pem=row.private_pem.encode(), source=f"signing key {row.kid} (database table signing_key)",
                     **{f: getattr(row, f) for f in _FIELDS})


class DatabaseKeyStore:
    def _load(self, conn: Connection) -> list[KeyRecord]:
        rows = conn.execute(select(SigningKeyRow).order_by(SigningKeyRow.created_at, SigningKeyRow.kid))
        return [_to_record(row) for row in rows]

    def version(self) -> tuple | None:
        with db.engine.connect() as conn:
            row = conn.execute(
                select(func.count(), func.max(SigningKeyRow.updated_seq)).select_from(SigningKeyRow)
            ).one()
        return tuple(row) if row[0] else None

    def load(self) -> list[KeyRecord]:
        with db.engine.connect() as conn:
            return self._load(conn)

    def _lock(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
        else:
            # Any write takes SQLite's database lock for the rest of the transaction.
            conn.execute(update(SigningKeyRow).where(SigningKeyRow.kid == "").values(state="next"))

    def transact(self, change: Callable[[list[KeyRecord]], list[KeyRecord]]) -> list[KeyRecord]:
        with db.engine.begin() as conn:
            self._lock(conn)
            before = self._load(conn)
            after = change(before)
            if after == before:
                return after
            seq = (conn.execute(select(func.max(SigningKeyRow.updated_seq))).scalar() or 0) + 1
            old = {r.kid: r for r in before}
            for record in after:
                values = {f: getattr(record, f) for f in _FIELDS} | {"updated_seq": seq}
                if record.kid not in old:
                    conn.execute(insert(SigningKeyRow).values(private_pem=record.private_pem.decode(), **values))
                elif old[record.kid] != record:
                    conn.execute(update(SigningKeyRow).where(SigningKeyRow.kid == record.kid).values(**values))
            gone = set(old) - {r.kid for r in after}
            if gone:
                conn.execute(delete(SigningKeyRow).where(SigningKeyRow.kid.in_(gone)))
            return after
