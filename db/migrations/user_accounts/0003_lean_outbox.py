"""user_accounts: the outbox keeps only unsent rows

Revision ID: ua0003
Revises: ua0002
"""

from db.migrations import messaging

revision = "ua0003"
down_revision = "ua0002"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V2_LEAN_OUTBOX,
    ],
    down=[
        messaging.V2_UNDO,
    ],
)
