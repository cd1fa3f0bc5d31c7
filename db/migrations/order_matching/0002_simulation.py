"""order_matching: delisting

Revision ID: om0002
Revises: om0001
"""

from db.migrations import messaging

revision = "om0002"
down_revision = "om0001"

upgrade, downgrade = messaging.steps(
    up=[
        "ALTER TABLE symbols ADD COLUMN listed boolean NOT NULL DEFAULT true",
    ],
    down=[
        "ALTER TABLE symbols DROP COLUMN listed",
    ],
)
