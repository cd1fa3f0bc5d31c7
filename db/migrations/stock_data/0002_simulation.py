"""stock_data: delisting, session length"""

from db.migrations import messaging

revision, down_revision = "sd0002", "sd0001"

upgrade, downgrade = messaging.steps(
    up=[
        """
        -- A delisted stock keeps its row (its trades and candles refer to it);
        -- listing it again sets listed back.
        ALTER TABLE stocks ADD COLUMN listed boolean NOT NULL DEFAULT true;
        -- An open session's automatic close (null: open until closed by hand).
        ALTER TABLE market ADD COLUMN closes_at timestamptz;
        """,
    ],
    down=[
        "ALTER TABLE stocks DROP COLUMN listed; ALTER TABLE market DROP COLUMN closes_at",
    ],
)
