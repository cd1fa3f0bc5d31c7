"""stock_data: the outbox keeps only unsent rows; no row lock per trade"""

from db.migrations import messaging

revision, down_revision = "sd0003", "sd0002"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V2_LEAN_OUTBOX,
        """
        -- Each trade and candle insert locked its stock row for the foreign key.
        -- Stocks are never deleted (delisting keeps the row), so the keys guarded
        -- nothing the code does not.
        ALTER TABLE trades DROP CONSTRAINT trades_symbol_fkey;
        ALTER TABLE candles DROP CONSTRAINT candles_symbol_fkey;
        """,
    ],
    down=[
        "ALTER TABLE trades ADD FOREIGN KEY (symbol) REFERENCES stocks (symbol);"
        " ALTER TABLE candles ADD FOREIGN KEY (symbol) REFERENCES stocks (symbol)",
        messaging.V2_UNDO,
    ],
)
