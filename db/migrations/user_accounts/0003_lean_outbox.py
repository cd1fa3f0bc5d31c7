"""user_accounts: the outbox keeps only unsent rows"""

from db.migrations import messaging

revision, down_revision = "ua0003", "ua0002"

upgrade, downgrade = messaging.steps(up=[messaging.V2_LEAN_OUTBOX], down=[messaging.V2_UNDO])
