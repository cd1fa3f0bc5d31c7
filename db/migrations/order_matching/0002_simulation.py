"""order_matching: delisting"""

from db.migrations import messaging

revision, down_revision = "om0002", "om0001"

upgrade, downgrade = messaging.steps(
    up=[
        "ALTER TABLE symbols ADD COLUMN listed boolean NOT NULL DEFAULT true",
    ],
    down=[
        "ALTER TABLE symbols DROP COLUMN listed",
    ],
)
