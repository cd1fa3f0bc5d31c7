"""order_matching: the inbox is pruned by age; orders keep their filled notional"""

from db.migrations import messaging

revision, down_revision = "om0004", "om0003"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V3_INBOX_PRUNING,
        # sum of price x qty of an order's fills, carried by its events (an execution report
        # is exact without anyone adding up fills again)
        "ALTER TABLE book_orders ADD COLUMN filled_notional numeric(24, 2) NOT NULL DEFAULT 0",
        "UPDATE book_orders b SET filled_notional = f.n FROM"
        " (SELECT order_id, sum(price * qty) AS n FROM ("
        "   SELECT buy_order_id AS order_id, price, qty FROM executions"
        "   UNION ALL SELECT sell_order_id, price, qty FROM executions) x GROUP BY order_id) f"
        " WHERE b.order_id = f.order_id",
    ],
    down=[
        "ALTER TABLE book_orders DROP COLUMN filled_notional",
        messaging.V3_UNDO,
    ],
)
