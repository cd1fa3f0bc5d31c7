"""house_bots: the runner's config and running flag, its bot users, saved scenarios

Revision ID: hb0001
Revises:

No messaging tables: house_bots consumes and emits no events (it trades through
the public REST API like any script).
"""

from db.migrations import messaging

revision, down_revision = "hb0001", None

upgrade, downgrade = messaging.steps(
    up=[
        """
        -- One row: what the instructor last configured, and whether the bots run.
        CREATE TABLE runner (
            id          integer PRIMARY KEY CHECK (id = 1),
            config      jsonb NOT NULL,
            running     boolean NOT NULL DEFAULT false,
            started_at  timestamptz,
            started_by  integer,
            updated_at  timestamptz NOT NULL DEFAULT now()
        );
        -- The users (role bot) the runner created through POST /api/users. A slot
        -- is (kind, number); a user is retired (kept, never reused) when the
        -- symbols it was given shares in no longer cover what the bots trade.
        CREATE TABLE bot_users (
            user_id       integer PRIMARY KEY,
            name          text NOT NULL UNIQUE,
            kind          text NOT NULL,
            slot          integer NOT NULL CHECK (slot >= 1),
            starting_cash numeric(20, 2) NOT NULL,
            holdings      jsonb NOT NULL DEFAULT '{}',
            retired       boolean NOT NULL DEFAULT false,
            created_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX bot_users_active_slot ON bot_users (kind, slot) WHERE NOT retired;
        -- Scenarios saved by instructors (the shipped ones are files in house_bots/scenarios/).
        CREATE TABLE scenarios (
            name       text PRIMARY KEY,
            document   jsonb NOT NULL,
            saved_by   integer NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ],
    down=[
        "DROP TABLE scenarios, bot_users, runner",
    ],
)
