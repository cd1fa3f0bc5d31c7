"""user_portfolio: reservations for stop and stop_limit orders"""

from db.migrations import messaging

revision, down_revision = "up0005", "up0004"

upgrade, downgrade = messaging.steps(
    up=[
        """
        ALTER TABLE reservations DROP CONSTRAINT reservations_type_check;
        ALTER TABLE reservations ADD CONSTRAINT reservations_type_check
            CHECK (type IN ('market', 'limit', 'stop', 'stop_limit'));
        """,
    ],
    down=[
        """
        DELETE FROM reservations WHERE type IN ('stop', 'stop_limit');
        ALTER TABLE reservations DROP CONSTRAINT reservations_type_check;
        ALTER TABLE reservations ADD CONSTRAINT reservations_type_check CHECK (type IN ('market', 'limit'));
        """,
    ],
)
