"""order_matching: the outbox keeps only unsent rows; room for HOT updates of the book

Revision ID: om0003
Revises: om0002
"""

from alembic import op

from db.migrations import messaging

revision = "om0003"
down_revision = "om0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(messaging.V2_LEAN_OUTBOX)
    # Room on each page for a resting order's fills to stay on the page (HOT).
    op.execute("ALTER TABLE book_orders SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE book_orders RESET (fillfactor)")
    op.execute(messaging.V2_UNDO)
