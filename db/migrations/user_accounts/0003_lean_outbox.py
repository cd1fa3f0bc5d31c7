"""user_accounts: the outbox keeps only unsent rows

Revision ID: ua0003
Revises: ua0002
"""

from alembic import op

from db.migrations import messaging

revision = "ua0003"
down_revision = "ua0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(messaging.V2_LEAN_OUTBOX)


def downgrade() -> None:
    op.execute(messaging.V2_UNDO)
