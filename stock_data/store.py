"""stock_data's tables: stocks, market, candles (1 minute), trades (the tape).

The `*_and_announce` helpers are what HTTP routes and the demo seed call inside
their transaction: the state change and its event commit together.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from service_runtime.contracts import MarketStatusChanged, PriceUpdated, StockListed, TradeExecuted
from service_runtime.handlers import emit_now

from .domain import INTERVALS, MARKET_STATUSES, change_pct

SERVICE = "stock_data"


# --- stocks -----------------------------------------------------------------

def list_stocks(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM stocks ORDER BY symbol").fetchall()


def get_stock(conn: psycopg.Connection, symbol: str, for_update: bool = False) -> dict[str, Any] | None:
    sql = "SELECT * FROM stocks WHERE symbol = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (symbol,)).fetchone()


def list_stock(conn: psycopg.Connection, symbol: str, name: str, reference_price: Decimal) -> dict[str, Any] | None:
    """Insert a stock; None when the symbol is already listed. Emits nothing."""
    return conn.execute(
        """
        INSERT INTO stocks (symbol, name, reference_price) VALUES (%s, %s, %s)
        ON CONFLICT (symbol) DO NOTHING
        RETURNING *
        """,
        (symbol, name, reference_price),
    ).fetchone()


def stock_listed_event(row: dict[str, Any]) -> StockListed:
    return StockListed(symbol=row["symbol"], name=row["name"], reference_price=row["reference_price"])


def list_stock_and_announce(
    conn: psycopg.Connection, symbol: str, name: str, reference_price: Decimal
) -> dict[str, Any] | None:
    """List a stock and emit stock.listed in the caller's transaction; None (and nothing
    emitted) when already listed. Trades that were parked waiting for the symbol are
    applied right away."""
    row = list_stock(conn, symbol, name, reference_price)
    if row is None:
        return None
    emit_now(conn, SERVICE, [stock_listed_event(row)])
    # Imported here: handlers imports this module.
    from .handlers import release_symbol

    if release_symbol(conn, symbol):
        row = get_stock(conn, symbol)
    return row


# --- market -----------------------------------------------------------------

def get_market(conn: psycopg.Connection) -> dict[str, Any]:
    return conn.execute("SELECT status, changed_at FROM market WHERE id = 1").fetchone()


def set_market_status(conn: psycopg.Connection, status: str) -> tuple[str, bool]:
    """Set the status; return (previous status, whether it changed). Emits nothing."""
    if status not in MARKET_STATUSES:
        raise ValueError(f"market status must be one of {', '.join(MARKET_STATUSES)}")
    previous = conn.execute("SELECT status FROM market WHERE id = 1 FOR UPDATE").fetchone()["status"]
    if previous == status:
        return previous, False
    conn.execute("UPDATE market SET status = %s, changed_at = now() WHERE id = 1", (status,))
    return previous, True


def change_market_and_announce(conn: psycopg.Connection, status: str) -> tuple[str, bool]:
    """Set the status and emit market.status_changed in the caller's transaction when it
    changed; setting the status it already has emits nothing. Returns (previous, changed)."""
    previous, changed = set_market_status(conn, status)
    if changed:
        emit_now(conn, SERVICE, [MarketStatusChanged(status=status, previous=previous)])
    return previous, changed


# --- trades, prices, candles ----------------------------------------------

def record_trade(conn: psycopg.Connection, trade: TradeExecuted) -> bool:
    """Apply one execution to the tape, the stock's day stats and its 1-minute candle.
    False (and nothing changed) when this trade_id was applied before. The stock must exist."""
    inserted = conn.execute(
        """
        INSERT INTO trades (trade_id, symbol, seq, price, qty, executed_at)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (trade_id) DO NOTHING
        RETURNING trade_id
        """,
        (trade.trade_id, trade.symbol, trade.seq, trade.price, trade.qty, trade.executed_at),
    ).fetchone()
    if inserted is None:
        return False
    params = {"symbol": trade.symbol, "seq": trade.seq, "price": trade.price, "qty": trade.qty,
              "at": trade.executed_at}
    # last_price follows only a newer seq, day_open belongs to the lowest seq, so a
    # trade applied late never moves either the wrong way.
    conn.execute(
        """
        UPDATE stocks SET
            last_price      = CASE WHEN last_price IS NULL OR %(seq)s > last_trade_seq
                                   THEN %(price)s ELSE last_price END,
            last_trade_seq  = GREATEST(last_trade_seq, %(seq)s),
            day_open        = CASE WHEN first_trade_seq IS NULL OR %(seq)s < first_trade_seq
                                   THEN %(price)s ELSE day_open END,
            first_trade_seq = LEAST(first_trade_seq, %(seq)s),
            day_high        = GREATEST(day_high, %(price)s),
            day_low         = LEAST(day_low, %(price)s),
            volume          = volume + %(qty)s,
            updated_at      = now()
        WHERE symbol = %(symbol)s
        """,
        params,
    )
    conn.execute(
        """
        INSERT INTO candles AS c (symbol, start, open, high, low, close, volume, open_seq, close_seq)
        VALUES (%(symbol)s, date_bin('1 minute', %(at)s::timestamptz, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
                %(price)s, %(price)s, %(price)s, %(price)s, %(qty)s, %(seq)s, %(seq)s)
        ON CONFLICT (symbol, start) DO UPDATE SET
            open      = CASE WHEN EXCLUDED.open_seq < c.open_seq THEN EXCLUDED.open ELSE c.open END,
            open_seq  = LEAST(c.open_seq, EXCLUDED.open_seq),
            high      = GREATEST(c.high, EXCLUDED.high),
            low       = LEAST(c.low, EXCLUDED.low),
            close     = CASE WHEN EXCLUDED.close_seq > c.close_seq THEN EXCLUDED.close ELSE c.close END,
            close_seq = GREATEST(c.close_seq, EXCLUDED.close_seq),
            volume    = c.volume + EXCLUDED.volume
        """,
        params,
    )
    return True


def price_updated_event(row: dict[str, Any]) -> PriceUpdated:
    return PriceUpdated(
        symbol=row["symbol"],
        last_price=row["last_price"],
        open=row["day_open"],
        high=row["day_high"],
        low=row["day_low"],
        volume=row["volume"],
        change_pct=change_pct(row["last_price"], row["reference_price"]),
        trade_seq=row["last_trade_seq"],
    )


def candles(conn: psycopg.Connection, symbol: str, interval: str, limit: int) -> list[dict[str, Any]]:
    """The last `limit` candles of `interval` (a key of INTERVALS), oldest first, aggregated
    from the 1-minute rows (empty buckets are left out, as they have no prices)."""
    stride = INTERVALS[interval]
    return conn.execute(
        """
        WITH buckets AS (
            SELECT date_bin(%(stride)s::interval, c.start, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS time,
                   (array_agg(c.open ORDER BY c.open_seq))[1] AS open,
                   max(c.high) AS high,
                   min(c.low) AS low,
                   (array_agg(c.close ORDER BY c.close_seq DESC))[1] AS close,
                   sum(c.volume)::bigint AS volume
            FROM candles c
            WHERE c.symbol = %(symbol)s
            GROUP BY 1
            ORDER BY 1 DESC
            LIMIT %(limit)s
        )
        SELECT * FROM buckets ORDER BY time
        """,
        {"stride": stride, "symbol": symbol, "limit": limit},
    ).fetchall()


def tape(conn: psycopg.Connection, symbol: str, limit: int) -> list[dict[str, Any]]:
    """The symbol's trades, newest (highest seq) first."""
    return conn.execute(
        """
        SELECT seq, symbol, price, qty, executed_at FROM trades
        WHERE symbol = %s ORDER BY seq DESC LIMIT %s
        """,
        (symbol, limit),
    ).fetchall()
