"""stock_ordering: the inbox is pruned by age"""

from db.migrations import messaging

revision, down_revision = "so0003", "so0002"

upgrade, downgrade = messaging.steps(up=[messaging.V3_INBOX_PRUNING], down=[messaging.V3_UNDO])
