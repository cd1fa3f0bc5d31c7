"""stock_data: the outbox keeps only unsent rows; no row lock per trade

Revision ID: sd0003
Revises: sd0002
"""

from alembic import op

from db.migrations import messaging

revision = "sd0003"
down_revision = "sd0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(messaging.V2_LEAN_OUTBOX)
    op.execute(
        """
        -- Each trade and candle insert locked its stock row for the foreign key.
        -- Stocks are never deleted (delisting keeps the row), so the keys guarded
        -- nothing the code does not.
        ALTER TABLE trades DROP CONSTRAINT trades_symbol_fkey;
        ALTER TABLE candles DROP CONSTRAINT candles_symbol_fkey;
        """
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE trades ADD FOREIGN KEY (symbol) REFERENCES stocks (symbol);"
        " ALTER TABLE candles ADD FOREIGN KEY (symbol) REFERENCES stocks (symbol)"
    )
    op.execute(messaging.V2_UNDO)
