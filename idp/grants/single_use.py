"""Spending single-use credentials (authorization codes, refresh tokens) and explaining a refusal.

Each kind is spent by one prebuilt guarded ``UPDATE … RETURNING`` (a Core statement: no ORM
object is loaded or kept in step), so of many parallel uses exactly one wins.  RFC 9449
section 5: a DPoP-bound credential is spent only with a proof by its key, so the statement
that spends it also checks the key.  When nothing was spent, the row read afterwards tells
why: a missing or wrong proof is that error and the credential stays usable (a client told to
retry with a DPoP nonce keeps it); one spent before is reuse, which revokes its grant.
"""

from __future__ import annotations

from sqlalchemy import Row, Table, bindparam, or_, select, update

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.protocol.dpop import DpopProof, check_dpop_binding
from idp.protocol.tokens import digest, revoke_grant


class SingleUseCredential:
    """One kind of single-use credential (``name``: its audit event and revocation reason),
    stored by the SHA-256 ``key`` column of ``table``."""

    def __init__(self, name: str, table: Table, key: str, returning: tuple[str, ...]):
        self.name = name
        self.table = table
        self.key = table.c[key]
        self._spend = (
            update(table)
            .where(
                self.key == bindparam("presented"),
                table.c.client_id == bindparam("presenting_client"),
                table.c.used_at.is_(None),
                table.c.expires_at > bindparam("now"),
                or_(table.c.dpop_jkt.is_(None), table.c.dpop_jkt == bindparam("jkt")),
            )
            .values(used_at=bindparam("spent_at"))
            .returning(*(table.c[column] for column in returning))
        )

    def spend(self, client, credential: str, proof: DpopProof | None) -> Row | None:
        """The spent row's ``returning`` columns, or None (the refusal already dealt with);
        ``proof`` is the request's DPoP proof."""
        presented = digest(credential)
        # Refuses before anything is spent when the client must use DPoP and sent no proof.
        jkt = check_dpop_binding(proof, client, None)
        now = utcnow()
        spent = db.session.execute(self._spend, {
            "presented": presented, "presenting_client": client.client_id, "now": now, "spent_at": now, "jkt": jkt,
        }).first()
        if spent is None:
            self._explain_refusal(client, presented, proof)
        return spent

    def _explain_refusal(self, client, presented: str, proof: DpopProof | None) -> None:
        row = db.session.execute(
            select(self.table.c.grant_id, self.table.c.used_at, self.table.c.dpop_jkt)
            .where(self.key == presented, self.table.c.client_id == client.client_id)
        ).first()
        if row is None:
            return
        check_dpop_binding(proof, client, row.dpop_jkt)
        if row.used_at is not None:
            revoke_grant(row.grant_id, f"{self.name}_reused")
            record_event(f"{self.name}.reused", "failure", client_id=client.client_id)
            # The revocation outlives the invalid_grant that follows: authlib returns that
            # answer from the view, and the request's boundary commits it (web/transactions.py).
