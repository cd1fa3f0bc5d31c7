"""stock_ordering: the outbox keeps only unsent rows; no row lock per history row"""

from db.migrations import messaging

revision, down_revision = "so0002", "so0001"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V2_LEAN_OUTBOX,
        """
        -- The foreign key made every history insert lock its order row (FOR KEY
        -- SHARE: a WAL record and a dirtied page, 3-4 times per order). History rows
        -- are written only with their order, in its transaction, and both go only
        -- together at a reset, so the key guarded nothing the code does not.
        ALTER TABLE order_history DROP CONSTRAINT order_history_order_id_fkey;
        -- Room on each page for an order's status updates to stay on the page (HOT).
        ALTER TABLE orders SET (fillfactor = 80);
        """,
    ],
    down=[
        "ALTER TABLE orders RESET (fillfactor);"
        " ALTER TABLE order_history ADD FOREIGN KEY (order_id) REFERENCES orders (id)",
        messaging.V2_UNDO,
    ],
)
