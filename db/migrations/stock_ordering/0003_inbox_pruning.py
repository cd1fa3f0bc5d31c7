"""stock_ordering: the inbox is pruned by age

Revision ID: so0003
Revises: so0002
"""

from alembic import op

from db.migrations import messaging

revision = "so0003"
down_revision = "so0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(messaging.V3_INBOX_PRUNING)


def downgrade() -> None:
    op.execute(messaging.V3_UNDO)
