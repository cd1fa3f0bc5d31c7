"""stock_ordering: stop and stop_limit orders, with their stop price and whether they triggered"""

from db.migrations import messaging

revision, down_revision = "so0004", "so0003"

upgrade, downgrade = messaging.steps(
    up=[
        """
        ALTER TABLE orders DROP CONSTRAINT orders_type_check;
        ALTER TABLE orders ADD CONSTRAINT orders_type_check
            CHECK (type IN ('market', 'limit', 'stop', 'stop_limit'));
        ALTER TABLE orders ADD COLUMN stop_price numeric(20, 2);
        -- null for an order that is not a stop; false until a trade reaches stop_price
        ALTER TABLE orders ADD COLUMN triggered boolean;
        """,
    ],
    down=[
        """
        DELETE FROM order_history WHERE order_id IN (SELECT id FROM orders WHERE stop_price IS NOT NULL);
        DELETE FROM orders WHERE stop_price IS NOT NULL;
        ALTER TABLE orders DROP COLUMN triggered;
        ALTER TABLE orders DROP COLUMN stop_price;
        ALTER TABLE orders DROP CONSTRAINT orders_type_check;
        ALTER TABLE orders ADD CONSTRAINT orders_type_check CHECK (type IN ('market', 'limit'));
        """,
    ],
)
