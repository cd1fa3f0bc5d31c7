"""stock_data: delisting, session length

Revision ID: sd0002
Revises: sd0001
"""

from alembic import op

revision = "sd0002"
down_revision = "sd0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- A delisted stock keeps its row (its trades and candles refer to it);
        -- listing it again sets listed back.
        ALTER TABLE stocks ADD COLUMN listed boolean NOT NULL DEFAULT true;
        -- An open session's automatic close (null: open until closed by hand).
        ALTER TABLE market ADD COLUMN closes_at timestamptz;
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE stocks DROP COLUMN listed; ALTER TABLE market DROP COLUMN closes_at")
