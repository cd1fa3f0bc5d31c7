"""order_matching: the book's orders, executions, per-symbol sequence, early cancels"""

from db.migrations import messaging

revision, down_revision = "om0001", None

upgrade, downgrade = messaging.steps(
    up=[messaging.V1_CREATE,
        """
        CREATE TABLE symbols (
            symbol          text PRIMARY KEY,
            reference_price numeric(20, 2) NOT NULL,
            seq             bigint NOT NULL DEFAULT 0
        );
        -- Every order matching has handled. The books are rebuilt on start from
        -- the resting ones, in `priority` order, so time priority survives a restart.
        CREATE TABLE book_orders (
            order_id      bigint PRIMARY KEY,
            user_id       integer NOT NULL,
            symbol        text NOT NULL,
            side          text NOT NULL,
            type          text NOT NULL,
            qty           bigint NOT NULL,
            filled_qty    bigint NOT NULL DEFAULT 0,
            limit_price   numeric(20, 2),
            collar_price  numeric(20, 2),
            time_in_force text NOT NULL,
            priority      bigint NOT NULL,
            status        text NOT NULL CHECK (status IN ('resting', 'done')),
            outcome       text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            CHECK (filled_qty <= qty)
        );
        CREATE INDEX book_orders_resting ON book_orders (symbol, priority) WHERE status = 'resting';

        CREATE TABLE executions (
            trade_id      bigint PRIMARY KEY,
            symbol        text NOT NULL,
            seq           bigint NOT NULL,
            price         numeric(20, 2) NOT NULL,
            qty           bigint NOT NULL CHECK (qty > 0),
            buy_order_id  bigint NOT NULL,
            sell_order_id bigint NOT NULL,
            buyer_id      integer NOT NULL,
            seller_id     integer NOT NULL,
            taker_side    text NOT NULL,
            executed_at   timestamptz NOT NULL,
            UNIQUE (symbol, seq)
        );
        CREATE SEQUENCE trade_ids;

        -- A cancel that reached matching before its order: applied when the order arrives.
        CREATE TABLE early_cancels (
            order_id     bigint PRIMARY KEY,
            user_id      integer NOT NULL,
            symbol       text NOT NULL,
            requested_at timestamptz NOT NULL DEFAULT now()
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
        "DROP TABLE symbols, book_orders, executions, early_cancels, market; DROP SEQUENCE trade_ids",
        messaging.V1_DROP,
    ],
)
