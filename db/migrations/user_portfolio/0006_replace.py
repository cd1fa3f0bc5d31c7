"""user_portfolio: a replacement's reservation, and what it added until it takes over"""

from db.migrations import messaging

revision, down_revision = "up0006", "up0005"

upgrade, downgrade = messaging.steps(
    up=[
        """
        -- A replacement holds, until matching swaps it in, only what it needs beyond what
        -- the order it replaces still holds (added_cash, added_qty); then it takes that
        -- order's hold over and the two columns go back to null.
        ALTER TABLE reservations ADD COLUMN replaces bigint;
        ALTER TABLE reservations ADD COLUMN added_cash numeric(20, 2);
        ALTER TABLE reservations ADD COLUMN added_qty bigint;
        """,
    ],
    down=[
        """
        ALTER TABLE reservations DROP COLUMN added_qty;
        ALTER TABLE reservations DROP COLUMN added_cash;
        ALTER TABLE reservations DROP COLUMN replaces;
        """,
    ],
)
