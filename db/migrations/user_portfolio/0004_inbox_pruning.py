"""user_portfolio: the inbox is pruned by age"""

from db.migrations import messaging

revision, down_revision = "up0004", "up0003"

upgrade, downgrade = messaging.steps(up=[messaging.V3_INBOX_PRUNING], down=[messaging.V3_UNDO])
