"""order_matching: the outbox keeps only unsent rows; room for HOT updates of the book"""

from db.migrations import messaging

revision, down_revision = "om0003", "om0002"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V2_LEAN_OUTBOX,
        # Room on each page for a resting order's fills to stay on the page (HOT).
        "ALTER TABLE book_orders SET (fillfactor = 80)",
    ],
    down=[
        "ALTER TABLE book_orders RESET (fillfactor)",
        messaging.V2_UNDO,
    ],
)
