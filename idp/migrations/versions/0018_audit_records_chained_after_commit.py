"""audit records are written unchained (seq and digest NULL) and linked into the chain after commit

The request path no longer locks the chain's head row (issue 21): a chainer links committed
records in batches (idp.audit.chain.link_unchained).  After 0017, which widened the digest to
72 characters for SM3.

Revision ID: 0018_audit_unchained
Revises: 0017_personal_data_sealed
Create Date: 2027-02-20 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0018_audit_unchained'
down_revision = '0017_personal_data_sealed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event') as batch:
        batch.alter_column('seq', existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column('digest', existing_type=sa.String(72), nullable=True)
    unchained = sa.column('seq').is_(None)
    op.create_index('ix_audit_event_unchained', 'audit_event', ['id'],
                    postgresql_where=unchained, sqlite_where=unchained)


def downgrade() -> None:
    # Records still unchained would break NOT NULL: run `idp audit chain` first.
    op.drop_index('ix_audit_event_unchained', table_name='audit_event')
    with op.batch_alter_table('audit_event') as batch:
        batch.alter_column('digest', existing_type=sa.String(72), nullable=False)
        batch.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
