"""stock_ordering: the inbox is pruned by age

Revision ID: so0003
Revises: so0002
"""

from db.migrations import messaging

revision = "so0003"
down_revision = "so0002"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V3_INBOX_PRUNING,
    ],
    down=[
        messaging.V3_UNDO,
    ],
)
