"""stock_ordering: orders, their status history, known users/symbols, market status"""

from db.migrations import messaging

revision, down_revision = "so0001", None

upgrade, downgrade = messaging.steps(
    up=[messaging.V1_CREATE,
        """
        CREATE TABLE orders (
            id              bigserial PRIMARY KEY,
            client_order_id text,
            fingerprint     text NOT NULL,
            user_id         integer NOT NULL,
            symbol          text NOT NULL,
            side            text NOT NULL CHECK (side IN ('buy', 'sell')),
            type            text NOT NULL CHECK (type IN ('market', 'limit')),
            qty             bigint NOT NULL CHECK (qty > 0),
            limit_price     numeric(20, 2),
            time_in_force   text NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok')),
            status          text NOT NULL,
            filled_qty      bigint NOT NULL DEFAULT 0,
            filled_notional numeric(28, 4) NOT NULL DEFAULT 0,
            booked          boolean NOT NULL DEFAULT false,
            cancel_requested boolean NOT NULL DEFAULT false,
            final_status    text,
            reject_reason   text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            CHECK (filled_qty <= qty),
            UNIQUE (user_id, client_order_id)
        );
        CREATE INDEX orders_user ON orders (user_id, id DESC);
        CREATE INDEX orders_open ON orders (user_id, symbol) WHERE final_status IS NULL;

        CREATE TABLE order_history (
            id         bigserial PRIMARY KEY,
            order_id   bigint NOT NULL REFERENCES orders (id),
            status     text NOT NULL,
            filled_qty bigint NOT NULL,
            detail     text,
            at         timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX order_history_order ON order_history (order_id, id);

        CREATE TABLE known_users (
            user_id integer PRIMARY KEY,
            name    text NOT NULL,
            role    text NOT NULL
        );
        CREATE TABLE known_symbols (
            symbol text PRIMARY KEY,
            name   text NOT NULL
        );
        CREATE TABLE market (
            id         integer PRIMARY KEY CHECK (id = 1),
            status     text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO market (id, status) VALUES (1, 'closed');
        """,
    ],
    down=[
        "DROP TABLE order_history, orders, known_users, known_symbols, market",
        messaging.V1_DROP,
    ],
)
