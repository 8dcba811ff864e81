"""usernames unique whatever the letter case (docs/domain.md §1.13), enforced by the database

Revision ID: 0014_username_case
Revises: 0013_retention_indexes
Create Date: 2027-01-20 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0014_username_case'
down_revision = '0013_retention_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Two accounts taking "Dup1x" and "dup1X" at the same moment both passed the application's
    # check; the index refuses the second (its transaction rolls back as "taken").  Login looks
    # usernames up by this same expression, so the index serves that too.
    op.create_index('uq_person_username_lower', 'person', [sa.text('lower(username)')], unique=True)


def downgrade() -> None:
    op.drop_index('uq_person_username_lower', table_name='person')
