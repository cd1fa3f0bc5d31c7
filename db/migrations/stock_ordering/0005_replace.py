"""stock_ordering: replacing an order (PATCH /api/orders/{id}) links the old and the new"""

from db.migrations import messaging

revision, down_revision = "so0005", "so0004"

upgrade, downgrade = messaging.steps(
    up=[
        """
        -- a replacement names the order it replaces; the replaced order names its
        -- replacement from the request on (cleared if the replacement is refused)
        ALTER TABLE orders ADD COLUMN replaces bigint;
        ALTER TABLE orders ADD COLUMN replaced_by bigint;
        """,
    ],
    down=[
        """
        ALTER TABLE orders DROP COLUMN replaced_by;
        ALTER TABLE orders DROP COLUMN replaces;
        """,
    ],
)
