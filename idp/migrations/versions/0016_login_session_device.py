"""login sessions remember what they were made from: browser, system and masked address

Revision ID: 0016_login_session_device
Revises: 0015_audit_chain
Create Date: 2027-02-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_login_session_device'
down_revision = '0015_audit_chain'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions made before this revision have no description: the list says 未知 for them.
    with op.batch_alter_table('login_session') as table:
        table.add_column(sa.Column('device_browser', sa.String(64), nullable=True))
        table.add_column(sa.Column('device_system', sa.String(64), nullable=True))
        table.add_column(sa.Column('device_ip', sa.String(48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('login_session') as table:
        table.drop_column('device_ip')
        table.drop_column('device_system')
        table.drop_column('device_browser')
