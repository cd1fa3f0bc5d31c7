"""user_accounts: the inbox is pruned by age

Revision ID: ua0004
Revises: ua0003
"""

from alembic import op

from db.migrations import messaging

revision = "ua0004"
down_revision = "ua0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(messaging.V3_INBOX_PRUNING)


def downgrade() -> None:
    op.execute(messaging.V3_UNDO)
