"""stock_data's tables: stocks, market, candles (1 minute), trades (the tape). SQL only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from .domain import INTERVALS, MINUTES, Candle, StockStats

Row = dict[str, Any]

# --- stocks -----------------------------------------------------------------


def list_stocks(conn: psycopg.Connection) -> list[Row]:
    return conn.execute("SELECT * FROM stocks WHERE listed ORDER BY symbol").fetchall()


def get_stock(conn: psycopg.Connection, symbol: str) -> Row | None:
    return conn.execute("SELECT * FROM stocks WHERE symbol = %s", (symbol,)).fetchone()


def load_stats(conn: psycopg.Connection) -> list[StockStats]:
    rows = conn.execute(
        "SELECT symbol, name, reference_price, listed, last_price, last_trade_seq, day_open, first_trade_seq,"
        " day_high, day_low, volume FROM stocks"
    ).fetchall()
    return [StockStats(**r) for r in rows]


def list_or_relist(conn: psycopg.Connection, symbol: str, name: str, reference_price: Decimal) -> Row | None:
    """Insert a stock, or list a delisted one again (with the new name and reference
    price); None when the symbol is listed already."""
    return conn.execute(
        """
        INSERT INTO stocks (symbol, name, reference_price) VALUES (%s, %s, %s)
        ON CONFLICT (symbol) DO UPDATE SET listed = true, name = EXCLUDED.name,
            reference_price = EXCLUDED.reference_price, updated_at = now()
        WHERE NOT stocks.listed
        RETURNING *
        """,
        (symbol, name, reference_price),
    ).fetchone()


def delist(conn: psycopg.Connection, symbol: str) -> Row | None:
    """None when the symbol is not listed."""
    return conn.execute(
        "UPDATE stocks SET listed = false, updated_at = now() WHERE symbol = %s AND listed RETURNING *", (symbol,)
    ).fetchone()


def update_stats(conn: psycopg.Connection, stats: Sequence[StockStats]) -> None:
    if not stats:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            UPDATE stocks SET last_price = %s, last_trade_seq = %s, day_open = %s, first_trade_seq = %s,
                   day_high = %s, day_low = %s, volume = %s, updated_at = now()
            WHERE symbol = %s
            """,
            [(s.last_price, s.last_trade_seq, s.day_open, s.first_trade_seq, s.day_high, s.day_low, s.volume,
              s.symbol) for s in stats],
        )


# --- market -----------------------------------------------------------------


def get_market(conn: psycopg.Connection, for_update: bool = False) -> Row:
    return conn.execute(
        "SELECT status, changed_at, closes_at FROM market WHERE id = 1" + (" FOR UPDATE" if for_update else "")
    ).fetchone()


def set_market(conn: psycopg.Connection, status: str, session_minutes: int | None) -> Row:
    """The new market row; opening with a session length sets its automatic close."""
    return conn.execute(
        """
        UPDATE market SET status = %(status)s,
               changed_at = CASE WHEN status = %(status)s THEN changed_at ELSE now() END,
               closes_at = CASE WHEN %(minutes)s::int IS NULL THEN NULL
                                ELSE now() + make_interval(mins => %(minutes)s::int) END
        WHERE id = 1 RETURNING status, changed_at, closes_at
        """,
        {"status": status, "minutes": session_minutes},
    ).fetchone()


def session_due(conn: psycopg.Connection) -> bool:
    """The open session's time is up (row locked: one closer at a time)."""
    return conn.execute(
        "SELECT 1 FROM market WHERE id = 1 AND status <> 'closed' AND closes_at <= now() FOR UPDATE"
    ).fetchone() is not None


def reset_all(conn: psycopg.Connection) -> None:
    """No trades, no candles, every stock at its reference price with no day statistics
    (trade sequence numbers keep counting), market open without a session end."""
    conn.execute("DELETE FROM trades")
    conn.execute("DELETE FROM candles")
    conn.execute(
        "UPDATE stocks SET last_price = NULL, day_open = NULL, day_high = NULL, day_low = NULL, volume = 0,"
        " first_trade_seq = NULL, updated_at = now()"
    )
    conn.execute("UPDATE market SET status = 'open', closes_at = NULL, changed_at = now() WHERE id = 1")


# --- the tape and candles ---------------------------------------------------


def insert_trades(conn: psycopg.Connection, trades: Sequence[tuple[int, str, int, Decimal, int, datetime]]) -> None:
    """(trade_id, symbol, seq, price, qty, executed_at) rows onto the tape."""
    if trades:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO trades (trade_id, symbol, seq, price, qty, executed_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (trade_id) DO NOTHING",
                list(trades),
            )


def merge_candles(conn: psycopg.Connection, candles: Sequence[Candle]) -> None:
    """Merge a batch's 1-minute candles into the stored ones: the earlier open, the
    later close, the wider range, the sum."""
    if not candles:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO candles AS c (symbol, start, open, high, low, close, volume, open_seq, close_seq)
            VALUES (%s, date_bin('1 minute', %s::timestamptz, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
                    %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (symbol, start) DO UPDATE SET
                open      = CASE WHEN EXCLUDED.open_seq < c.open_seq THEN EXCLUDED.open ELSE c.open END,
                open_seq  = LEAST(c.open_seq, EXCLUDED.open_seq),
                high      = GREATEST(c.high, EXCLUDED.high),
                low       = LEAST(c.low, EXCLUDED.low),
                close     = CASE WHEN EXCLUDED.close_seq > c.close_seq THEN EXCLUDED.close ELSE c.close END,
                close_seq = GREATEST(c.close_seq, EXCLUDED.close_seq),
                volume    = c.volume + EXCLUDED.volume
            """,
            [(c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume, c.open_seq, c.close_seq)
             for c in candles],
        )


def candles(conn: psycopg.Connection, symbol: str, interval: str, limit: int) -> list[Row]:
    """The last `limit` candles of `interval` (a key of INTERVALS), oldest first, aggregated
    from the 1-minute rows (empty buckets are left out, as they have no prices). The last
    N buckets lie within the symbol's last N x (minutes per bucket) 1-minute rows, so only
    those are read, by the primary key: the read does not grow with the symbol's history."""
    stride = INTERVALS[interval]
    return conn.execute(
        """
        WITH recent AS (
            SELECT * FROM candles WHERE symbol = %(symbol)s ORDER BY start DESC LIMIT %(rows)s
        ), buckets AS (
            SELECT date_bin(%(stride)s::interval, c.start, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS time,
                   (array_agg(c.open ORDER BY c.open_seq))[1] AS open,
                   max(c.high) AS high,
                   min(c.low) AS low,
                   (array_agg(c.close ORDER BY c.close_seq DESC))[1] AS close,
                   sum(c.volume)::bigint AS volume
            FROM recent c
            GROUP BY 1
            ORDER BY 1 DESC
            LIMIT %(limit)s
        )
        SELECT * FROM buckets ORDER BY time
        """,
        {"stride": stride, "symbol": symbol, "limit": limit, "rows": limit * MINUTES[interval]},
    ).fetchall()


def tape(conn: psycopg.Connection, symbol: str, limit: int) -> list[Row]:
    """The symbol's trades, newest (highest seq) first."""
    return conn.execute(
        "SELECT seq, symbol, price, qty, executed_at FROM trades WHERE symbol = %s ORDER BY seq DESC LIMIT %s",
        (symbol, limit),
    ).fetchall()
