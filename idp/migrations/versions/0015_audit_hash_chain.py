"""audit records chained by SHA-256 digests in sequence order, with the chain head and anchor

Revision ID: 0015_audit_chain
Revises: 0014_username_case
Create Date: 2027-02-01 10:00:00.000000
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0015_audit_chain'
down_revision = '0014_username_case'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _canonical(seq, at, event, outcome, subject, client_id, ip, detail) -> bytes:
    # The same form as idp.audit.chain.canonical, repeated so this migration never changes
    # with the application code.
    if isinstance(at, str):  # SQLite hands a raw query its text
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    detail = json.loads(detail) if isinstance(detail, str) else (detail or {})
    fields = [seq, at.isoformat(timespec="microseconds"), event, outcome, subject, client_id, ip, detail]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def upgrade() -> None:
    with op.batch_alter_table('audit_event') as batch:
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('digest', sa.String(64), nullable=True))
    chain = op.create_table(
        'audit_chain',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('head_seq', sa.BigInteger(), nullable=False),
        sa.Column('head_digest', sa.String(64), nullable=False),
        sa.Column('anchor_seq', sa.BigInteger(), nullable=False),
        sa.Column('anchor_digest', sa.String(64), nullable=False),
        sa.Column('anchor_signature', sa.Text(), nullable=False),
    )
    # Existing records are chained in the order they were written (their id).
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT id, at, event, outcome, subject, client_id, ip, detail FROM audit_event ORDER BY id"))
    previous, seq, updates = GENESIS, 0, []
    for row in rows:
        seq += 1
        previous = hashlib.sha256(previous.encode() + b"\n" + _canonical(seq, *row[1:])).hexdigest()
        updates.append({"row_id": row.id, "seq": seq, "digest": previous})
    if updates:
        connection.execute(sa.text("UPDATE audit_event SET seq = :seq, digest = :digest WHERE id = :row_id"), updates)
    op.bulk_insert(chain, [{"id": 1, "head_seq": seq, "head_digest": previous, "anchor_seq": 0,
                            "anchor_digest": GENESIS, "anchor_signature": ""}])
    with op.batch_alter_table('audit_event') as batch:
        batch.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column('digest', existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint('uq_audit_event_seq', ['seq'])


def downgrade() -> None:
    op.drop_table('audit_chain')
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_constraint('uq_audit_event_seq', type_='unique')
        batch.drop_column('digest')
        batch.drop_column('seq')
