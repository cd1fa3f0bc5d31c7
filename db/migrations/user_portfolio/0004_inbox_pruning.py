"""user_portfolio: the inbox is pruned by age

Revision ID: up0004
Revises: up0003
"""

from alembic import op

from db.migrations import messaging

revision = "up0004"
down_revision = "up0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(messaging.V3_INBOX_PRUNING)


def downgrade() -> None:
    op.execute(messaging.V3_UNDO)
