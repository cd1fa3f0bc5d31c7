"""stock_data: the inbox is pruned by age; the seed opens a market once"""

from db.migrations import messaging

revision, down_revision = "sd0004", "sd0003"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V3_INBOX_PRUNING,
        # An exchange that exists already was opened by its seed: never again (db/seed.py).
        "INSERT INTO service_state (key, value) SELECT 'demo_market_opened', 'true'"
               " WHERE EXISTS (SELECT 1 FROM stocks)",
    ],
    down=[
        "DELETE FROM service_state WHERE key = 'demo_market_opened'",
        messaging.V3_UNDO,
    ],
)
