"""indexes for the retention purge (idp/housekeeping/retention.py)

Revision ID: 0013_retention_indexes
Revises: 0012_legacy_login
Create Date: 2027-01-10 10:00:00.000000
"""

from alembic import op

revision = '0013_retention_indexes'
down_revision = '0012_legacy_login'
branch_labels = None
depends_on = None

#: (table, column) the purge selects its rows by; the other purged tables were indexed already.
INDEXES = [
    ('authorization_code', 'expires_at'),
    ('refresh_token', 'expires_at'),
    ('grant', 'expires_at'),
    ('login_session', 'ended_at'),
    ('sms_code', 'expires_at'),
]


def upgrade() -> None:
    # These are the tables that grow with every login and refresh: on PostgreSQL the index is
    # built CONCURRENTLY (outside a transaction), so logins and refreshes go on while it builds.
    with op.get_context().autocommit_block():
        for table, column in INDEXES:
            op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False,
                            postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table, column in reversed(INDEXES):
            op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table, postgresql_concurrently=True)
