"""user_accounts: the outbox keeps only unsent rows

Revision ID: ua0003
Revises: ua0002
"""

from alembic import op

from service_runtime.schema import lean_outbox, undo_lean_outbox

revision = "ua0003"
down_revision = "ua0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lean_outbox(op)


def downgrade() -> None:
    undo_lean_outbox(op)
