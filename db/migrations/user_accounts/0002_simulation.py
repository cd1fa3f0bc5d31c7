"""user_accounts: simulation settings and the last reset"""

from db.migrations import messaging

revision, down_revision = "ua0002", "ua0001"

upgrade, downgrade = messaging.steps(
    up=[
        """
        -- The simulation's trading rules (one row). user_accounts owns them and
        -- announces every change (settings.changed); user_portfolio enforces them.
        CREATE TABLE settings (
            id                   integer PRIMARY KEY CHECK (id = 1),
            commission_per_share numeric(20, 2) NOT NULL DEFAULT 0 CHECK (commission_per_share >= 0),
            max_position         bigint CHECK (max_position > 0),
            max_order_qty        bigint CHECK (max_order_qty > 0),
            updated_at           timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO settings (id) VALUES (1);

        -- When the simulation was last reset (the epoch itself is service_state's).
        CREATE TABLE simulation (
            id       integer PRIMARY KEY CHECK (id = 1),
            reset_at timestamptz
        );
        INSERT INTO simulation (id) VALUES (1);
        """,
    ],
    down=[
        "DROP TABLE settings, simulation",
    ],
)
