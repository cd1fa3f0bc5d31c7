"""stock_data: stocks, market status, 1-minute candles, trade tape, messaging tables"""

from db.migrations import messaging

revision, down_revision = "sd0001", None

upgrade, downgrade = messaging.steps(
    up=[messaging.V1_CREATE,
        """
        -- One row per listed stock with its running day statistics. last_trade_seq is
        -- the highest trade seq applied (last_price follows only a higher one);
        -- first_trade_seq is the lowest (day_open belongs to it).
        CREATE TABLE stocks (
            symbol          text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9]{1,8}$'),
            name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
            reference_price numeric(20, 2) NOT NULL CHECK (reference_price > 0),
            last_price      numeric(20, 2),
            day_open        numeric(20, 2),
            day_high        numeric(20, 2),
            day_low         numeric(20, 2),
            volume          bigint NOT NULL DEFAULT 0 CHECK (volume >= 0),
            last_trade_seq  bigint NOT NULL DEFAULT 0,
            first_trade_seq bigint,
            listed_at       timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        );

        -- The market's status: exactly one row.
        CREATE TABLE market (
            id         integer PRIMARY KEY CHECK (id = 1),
            status     text NOT NULL CHECK (status IN ('open', 'halted', 'closed')),
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO market (id, status) VALUES (1, 'closed');

        -- OHLCV at 1-minute resolution; coarser intervals are aggregated from these.
        -- open_seq / close_seq are the seqs of the trades that set open and close,
        -- so a trade applied late still lands in the right place.
        CREATE TABLE candles (
            symbol    text NOT NULL REFERENCES stocks (symbol),
            start     timestamptz NOT NULL,
            open      numeric(20, 2) NOT NULL,
            high      numeric(20, 2) NOT NULL,
            low       numeric(20, 2) NOT NULL,
            close     numeric(20, 2) NOT NULL,
            volume    bigint NOT NULL,
            open_seq  bigint NOT NULL,
            close_seq bigint NOT NULL,
            PRIMARY KEY (symbol, start)
        );

        -- The trade tape: every execution once (trade_id is matching's id).
        CREATE TABLE trades (
            trade_id    bigint PRIMARY KEY,
            symbol      text NOT NULL REFERENCES stocks (symbol),
            seq         bigint NOT NULL,
            price       numeric(20, 2) NOT NULL CHECK (price > 0),
            qty         bigint NOT NULL CHECK (qty > 0),
            executed_at timestamptz NOT NULL
        );
        CREATE INDEX trades_symbol_seq ON trades (symbol, seq DESC);
        """,
    ],
    down=[
        "DROP TABLE trades, candles, market, stocks",
        messaging.V1_DROP,
    ],
)
