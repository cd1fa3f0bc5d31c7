"""order_matching: delisting

Revision ID: om0002
Revises: om0001
"""

from alembic import op

revision = "om0002"
down_revision = "om0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A delisted symbol keeps its row (and sequence number); listing it again sets listed back.
    op.execute("ALTER TABLE symbols ADD COLUMN listed boolean NOT NULL DEFAULT true")


def downgrade() -> None:
    op.execute("ALTER TABLE symbols DROP COLUMN listed")
