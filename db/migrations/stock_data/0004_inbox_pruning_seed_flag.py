"""stock_data: the inbox is pruned by age; the seed opens a market once

Revision ID: sd0004
Revises: sd0003
"""

from alembic import op

from db.migrations import messaging

revision = "sd0004"
down_revision = "sd0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(messaging.V3_INBOX_PRUNING)
    # An exchange that exists already was opened by its seed: never again (db/seed.py).
    op.execute("INSERT INTO service_state (key, value) SELECT 'demo_market_opened', 'true'"
               " WHERE EXISTS (SELECT 1 FROM stocks)")


def downgrade() -> None:
    op.execute("DELETE FROM service_state WHERE key = 'demo_market_opened'")
    op.execute(messaging.V3_UNDO)
