"""user_portfolio: the inbox is pruned by age

Revision ID: up0004
Revises: up0003
"""

from db.migrations import messaging

revision = "up0004"
down_revision = "up0003"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V3_INBOX_PRUNING,
    ],
    down=[
        messaging.V3_UNDO,
    ],
)
