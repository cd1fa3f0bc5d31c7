"""user_portfolio: settings, commission (house account, ledger kind, reservations), settled trades"""

from db.migrations import messaging

revision, down_revision = "up0002", "up0001"

upgrade, downgrade = messaging.steps(
    up=[
        """
        -- The trading rules as the last settings.changed announced them (off by default).
        CREATE TABLE settings (
            id                   integer PRIMARY KEY CHECK (id = 1),
            commission_per_share numeric(20, 2) NOT NULL DEFAULT 0 CHECK (commission_per_share >= 0),
            max_position         bigint,
            max_order_qty        bigint
        );
        INSERT INTO settings (id) VALUES (1);

        -- fills: how many trades the account took part in (the leaderboard's `trades`).
        ALTER TABLE accounts ADD COLUMN fills bigint NOT NULL DEFAULT 0;

        -- The house account receives every commission. User ids start at 1, so 0 is free.
        INSERT INTO accounts (user_id, name, role, starting_cash, cash) VALUES (0, 'House', 'house', 0, 0);

        ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
        ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
            CHECK (kind IN ('grant_cash', 'grant_shares', 'buy', 'sell', 'commission'));

        -- The commission per share fixed when the order was approved: a buy holds
        -- (reserve_price + commission) per share, a sell holds commission per share in cash.
        ALTER TABLE reservations ADD COLUMN commission numeric(20, 2) NOT NULL DEFAULT 0
            CHECK (commission >= 0);

        -- open_buy_qty: shares this user's open buy orders may still bring (what
        -- max_position counts besides the shares held); kept like reserved cash.
        ALTER TABLE positions ADD COLUMN open_buy_qty bigint NOT NULL DEFAULT 0 CHECK (open_buy_qty >= 0);
        INSERT INTO positions (user_id, symbol)
            SELECT DISTINCT user_id, symbol FROM reservations WHERE status = 'open' AND side = 'buy'
            ON CONFLICT DO NOTHING;
        UPDATE positions p SET open_buy_qty = r.qty
            FROM (SELECT user_id, symbol, sum(qty - filled_qty) AS qty FROM reservations
                  WHERE status = 'open' AND side = 'buy' GROUP BY user_id, symbol) r
            WHERE p.user_id = r.user_id AND p.symbol = r.symbol;

        -- Every settled trade once, for the CSV export.
        CREATE TABLE trades (
            trade_id        bigint PRIMARY KEY,
            seq             bigint NOT NULL,
            symbol          text NOT NULL,
            price           numeric(20, 2) NOT NULL,
            qty             bigint NOT NULL,
            buyer_id        integer NOT NULL,
            seller_id       integer NOT NULL,
            buy_order_id    bigint NOT NULL,
            sell_order_id   bigint NOT NULL,
            executed_at     timestamptz NOT NULL,
            buy_commission  numeric(20, 2) NOT NULL DEFAULT 0,
            sell_commission numeric(20, 2) NOT NULL DEFAULT 0
        );
        """,
    ],
    down=[
        """
        DROP TABLE trades, settings;
        ALTER TABLE accounts DROP COLUMN fills;
        ALTER TABLE positions DROP COLUMN open_buy_qty;
        ALTER TABLE reservations DROP COLUMN commission;
        DELETE FROM ledger WHERE kind = 'commission' OR user_id = 0;
        DELETE FROM accounts WHERE user_id = 0;
        ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
        ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
            CHECK (kind IN ('grant_cash', 'grant_shares', 'buy', 'sell'));
        """,
    ],
)
