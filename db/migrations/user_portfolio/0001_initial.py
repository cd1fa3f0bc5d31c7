"""user_portfolio: accounts, positions, symbols, reservations, ledger, messaging tables"""

from db.migrations import messaging

revision, down_revision = "up0001", None

upgrade, downgrade = messaging.steps(
    up=[messaging.V1_CREATE,
        """
        CREATE TABLE accounts (
            user_id       integer PRIMARY KEY,
            name          text NOT NULL,
            role          text NOT NULL,
            starting_cash numeric(20, 2) NOT NULL CHECK (starting_cash >= 0),
            cash          numeric(20, 2) NOT NULL,
            reserved_cash numeric(20, 2) NOT NULL DEFAULT 0 CHECK (reserved_cash >= 0),
            realized_pl   numeric(20, 2) NOT NULL DEFAULT 0,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT accounts_free_cash CHECK (cash - reserved_cash >= 0)
        );

        CREATE TABLE symbols (
            symbol          text PRIMARY KEY,
            name            text NOT NULL,
            reference_price numeric(20, 2) NOT NULL CHECK (reference_price > 0),
            last_price      numeric(20, 2) CHECK (last_price > 0),
            -- the trade sequence number last_price comes from: a late price.updated
            -- never moves the price backwards
            last_trade_seq  bigint NOT NULL DEFAULT 0
        );

        CREATE TABLE positions (
            user_id      integer NOT NULL REFERENCES accounts (user_id),
            symbol       text NOT NULL,
            qty          bigint NOT NULL DEFAULT 0,
            reserved_qty bigint NOT NULL DEFAULT 0,
            granted_qty  bigint NOT NULL DEFAULT 0 CHECK (granted_qty >= 0),
            avg_cost     numeric(20, 6) NOT NULL DEFAULT 0 CHECK (avg_cost >= 0),
            realized_pl  numeric(20, 2) NOT NULL DEFAULT 0,
            updated_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, symbol),
            CONSTRAINT positions_free_shares CHECK (reserved_qty >= 0 AND qty >= reserved_qty)
        );
        CREATE INDEX positions_symbol ON positions (symbol);

        -- What each approved order holds (cash for buys, shares for sells) until it is
        -- filled, canceled, expired or rejected downstream. A rejected order.placed is
        -- recorded too (status 'rejected', holding nothing) so a redelivered
        -- order.placed is answered once.
        CREATE TABLE reservations (
            order_id      bigint PRIMARY KEY,
            user_id       integer NOT NULL REFERENCES accounts (user_id),
            symbol        text NOT NULL,
            side          text NOT NULL CHECK (side IN ('buy', 'sell')),
            type          text NOT NULL CHECK (type IN ('market', 'limit')),
            qty           bigint NOT NULL CHECK (qty > 0),
            filled_qty    bigint NOT NULL DEFAULT 0,
            reserve_price numeric(20, 2),
            status        text NOT NULL CHECK (status IN ('open', 'closed', 'rejected')),
            created_at    timestamptz NOT NULL DEFAULT now(),
            closed_at     timestamptz,
            CONSTRAINT reservations_filled CHECK (filled_qty >= 0 AND filled_qty <= qty),
            CONSTRAINT reservations_price CHECK (side = 'sell' OR status = 'rejected' OR reserve_price > 0)
        );
        CREATE INDEX reservations_open_user ON reservations (user_id) WHERE status = 'open';

        -- Every cash and share movement. Audit: accounts.cash = starting_cash + sum(amount)
        -- and positions.qty = sum(qty) per user and symbol.
        CREATE TABLE ledger (
            id         bigserial PRIMARY KEY,
            user_id    integer NOT NULL REFERENCES accounts (user_id),
            kind       text NOT NULL CHECK (kind IN ('grant_cash', 'grant_shares', 'buy', 'sell')),
            symbol     text,
            qty        bigint NOT NULL DEFAULT 0,
            amount     numeric(20, 2) NOT NULL DEFAULT 0,
            order_id   bigint,
            trade_id   bigint,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ledger_user ON ledger (user_id, id);
        -- one settlement per order and trade, whatever redelivers it
        CREATE UNIQUE INDEX ledger_order_trade ON ledger (order_id, trade_id) WHERE trade_id IS NOT NULL;
        """,
    ],
    down=[
        "DROP TABLE ledger, reservations, positions, symbols, accounts",
        messaging.V1_DROP,
    ],
)
