"""order_matching: stop orders held out of the book, and each symbol's last trade price"""

from db.migrations import messaging

revision, down_revision = "om0005", "om0004"

upgrade, downgrade = messaging.steps(
    up=[
        """
        -- An untriggered stop is 'waiting': not in the book or its depth. Triggered, it
        -- carries its stop_price, triggered = true and the type it became (market, limit).
        ALTER TABLE book_orders ADD COLUMN stop_price numeric(20, 2);
        ALTER TABLE book_orders ADD COLUMN triggered boolean NOT NULL DEFAULT false;
        ALTER TABLE book_orders DROP CONSTRAINT book_orders_status_check;
        ALTER TABLE book_orders ADD CONSTRAINT book_orders_status_check
            CHECK (status IN ('resting', 'waiting', 'done'));
        CREATE INDEX book_orders_waiting ON book_orders (symbol, priority) WHERE status = 'waiting';
        -- What a stop arriving now compares with (null before the symbol's first trade).
        ALTER TABLE symbols ADD COLUMN last_price numeric(20, 2);
        UPDATE symbols s SET last_price = e.price FROM executions e
         WHERE e.symbol = s.symbol AND e.seq = (SELECT max(seq) FROM executions x WHERE x.symbol = s.symbol);
        """,
    ],
    down=[
        """
        ALTER TABLE symbols DROP COLUMN last_price;
        DROP INDEX book_orders_waiting;
        DELETE FROM book_orders WHERE status = 'waiting';
        ALTER TABLE book_orders DROP CONSTRAINT book_orders_status_check;
        ALTER TABLE book_orders ADD CONSTRAINT book_orders_status_check CHECK (status IN ('resting', 'done'));
        ALTER TABLE book_orders DROP COLUMN triggered;
        ALTER TABLE book_orders DROP COLUMN stop_price;
        """,
    ],
)
