"""legacy enterprise login (dual-track), default_acr_values; merges the feature branches

Revision ID: 0012_legacy_login
Revises: 0004_registration, 0007_entities, 0008_qr_login, 0009_relying_parties, 0010_certificates,
         0011_security_keys
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import idp.core.columns

revision = '0012_legacy_login'
# Every head at the time: one graph again, so this column work applies after all of them.
down_revision = ('0004_registration', '0007_entities', '0008_qr_login', '0009_relying_parties',
                 '0010_certificates', '0011_security_keys')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legacy_enterprise_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sub', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('imported_at', idp.core.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', idp.core.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entity_id'], ['taxpayer_entity.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entity_id'),
    sa.UniqueConstraint('sub')
    )
    op.create_table('legacy_account_lockout',
    sa.Column('legacy_account_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('local_day', sa.Date(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('updated_at', idp.core.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['legacy_account_id'], ['legacy_enterprise_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('legacy_account_id', 'method')
    )
    for table in ('login_session', 'grant'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=True)
            batch_op.add_column(sa.Column('legacy_account_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_legacy_account_id'), ['legacy_account_id'], unique=False)
            batch_op.create_foreign_key(f'fk_{table}_legacy_account_id', 'legacy_enterprise_account',
                                        ['legacy_account_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_acr_values', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('default_acr_values')
    for table in ('grant', 'login_session'):
        # Legacy logins have no person: they cannot survive a schema that requires one.
        op.execute(sa.text(f'DELETE FROM "{table}" WHERE person_id IS NULL'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_legacy_account_id', type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_legacy_account_id'))
            batch_op.drop_column('legacy_account_id')
            batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('legacy_account_lockout')
    op.drop_table('legacy_enterprise_account')
