"""user_accounts: users, sessions, messaging tables"""

from db.migrations import messaging

revision, down_revision = "ua0001", None

upgrade, downgrade = messaging.steps(
    up=[messaging.V1_CREATE,
        """
        CREATE TABLE users (
            id            serial PRIMARY KEY,
            name          text NOT NULL UNIQUE,
            role          text NOT NULL CHECK (role IN ('trader', 'instructor', 'bot')),
            password_hash text,
            starting_cash numeric(20, 2) NOT NULL DEFAULT 0 CHECK (starting_cash >= 0),
            holdings      jsonb NOT NULL DEFAULT '{}',
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE sessions (
            token_id   text PRIMARY KEY,
            user_id    integer NOT NULL REFERENCES users (id),
            epoch      integer NOT NULL,
            issued_at  timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX sessions_user ON sessions (user_id);
        """,
    ],
    down=[
        "DROP TABLE sessions, users",
        messaging.V1_DROP,
    ],
)
