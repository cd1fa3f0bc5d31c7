"""${message}"""

from db.migrations import messaging

revision, down_revision = ${repr(up_revision)}, ${repr(down_revision)}

upgrade, downgrade = messaging.steps(
    up=[
        # the DDL statements, in order (raw SQL strings; messaging.V<n>_* for the messaging tables)
    ],
    down=[
        # what undoes them, in order
    ],
)
