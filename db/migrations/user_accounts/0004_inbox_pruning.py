"""user_accounts: the inbox is pruned by age

Revision ID: ua0004
Revises: ua0003
"""

from db.migrations import messaging

revision = "ua0004"
down_revision = "ua0003"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V3_INBOX_PRUNING,
    ],
    down=[
        messaging.V3_UNDO,
    ],
)
