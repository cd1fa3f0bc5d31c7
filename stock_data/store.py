"""stock_data's tables: stocks, market, candles (1 minute), trades (the tape).

The `*_and_announce` helpers are what HTTP routes and the demo seed call inside
their transaction: the state change and its event commit together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg

from service_runtime.contracts import (
    MarketStatusChanged,
    PriceUpdated,
    StockDelisted,
    StockListed,
    TradeExecuted,
)
from service_runtime.handlers import emit_now
from service_runtime.money import TICK

from .domain import INTERVALS, MARKET_STATUSES, change_pct

SERVICE = "stock_data"


# --- stocks -----------------------------------------------------------------

def list_stocks(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM stocks WHERE listed ORDER BY symbol").fetchall()


def get_stock(conn: psycopg.Connection, symbol: str, for_update: bool = False) -> dict[str, Any] | None:
    sql = "SELECT * FROM stocks WHERE symbol = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (symbol,)).fetchone()


def list_stock(conn: psycopg.Connection, symbol: str, name: str, reference_price: Decimal) -> dict[str, Any] | None:
    """Insert a stock, or list a delisted one again (with the new name and reference
    price); None when the symbol is listed already. Emits nothing."""
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


def delist_stock_and_announce(conn: psycopg.Connection, symbol: str) -> dict[str, Any] | None:
    """Delist and emit stock.delisted; None when the symbol is not listed."""
    row = conn.execute(
        "UPDATE stocks SET listed = false, updated_at = now() WHERE symbol = %s AND listed RETURNING *", (symbol,)
    ).fetchone()
    if row is not None:
        emit_now(conn, SERVICE, [StockDelisted(symbol=symbol)])
    return row


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
    return conn.execute("SELECT status, changed_at, closes_at FROM market WHERE id = 1").fetchone()


def set_market_status(conn: psycopg.Connection, status: str, session_minutes: int | None = None
                      ) -> tuple[str, bool]:
    """Set the status (and, opening, the session's automatic close: now + session_minutes,
    or none); return (previous status, whether status or close time changed). Emits nothing."""
    if status not in MARKET_STATUSES:
        raise ValueError(f"market status must be one of {', '.join(MARKET_STATUSES)}")
    row = conn.execute("SELECT status, closes_at FROM market WHERE id = 1 FOR UPDATE").fetchone()
    previous = row["status"]
    if previous == status and session_minutes is None:
        return previous, False
    conn.execute(
        """
        UPDATE market SET status = %(status)s,
               changed_at = CASE WHEN status = %(status)s THEN changed_at ELSE now() END,
               closes_at = CASE WHEN %(minutes)s::int IS NULL THEN NULL
                                ELSE now() + make_interval(mins => %(minutes)s::int) END
        WHERE id = 1
        """,
        {"status": status, "minutes": session_minutes},
    )
    return previous, True


def change_market_and_announce(conn: psycopg.Connection, status: str, session_minutes: int | None = None
                               ) -> tuple[str, bool]:
    """Set the status and emit market.status_changed in the caller's transaction when it
    (or the session's close time) changed; setting the status it already has emits
    nothing. Returns (previous, changed)."""
    previous, changed = set_market_status(conn, status, session_minutes)
    if changed:
        emit_now(conn, SERVICE, [MarketStatusChanged(status=status, previous=previous,
                                                     closes_at=get_market(conn)["closes_at"])])
    return previous, changed


def close_session_if_due(conn: psycopg.Connection) -> bool:
    """Close the market when its session's time is up (the worker asks every second)."""
    due = conn.execute(
        "SELECT 1 FROM market WHERE id = 1 AND status <> 'closed' AND closes_at <= now() FOR UPDATE"
    ).fetchone()
    if due is None:
        return False
    change_market_and_announce(conn, "closed")
    return True


def reset_all(conn: psycopg.Connection) -> dict[str, Any]:
    """Back to the starting state: no trades, no candles, every stock at its reference
    price with no day statistics (trade sequence numbers keep counting), market open
    without a session end. Returns the market row as it was."""
    before = conn.execute("SELECT status, closes_at FROM market WHERE id = 1 FOR UPDATE").fetchone()
    conn.execute(
        """
        DELETE FROM trades;
        DELETE FROM candles;
        UPDATE stocks SET last_price = NULL, day_open = NULL, day_high = NULL, day_low = NULL, volume = 0,
               first_trade_seq = NULL, updated_at = now();
        UPDATE market SET status = 'open', closes_at = NULL, changed_at = now() WHERE id = 1;
        """
    )
    return before


# --- trades, prices, candles ----------------------------------------------

def stocks_for_update(conn: psycopg.Connection, symbols: set[str]) -> dict[str, dict[str, Any]]:
    """Many stocks in one query, locked (in symbol order, so two batches never deadlock);
    symbols not listed are simply absent. Lock before asking which trades are on the
    tape: a concurrent batch on the same symbol has then committed its trades."""
    if not symbols:
        return {}
    rows = conn.execute(
        "SELECT * FROM stocks WHERE symbol = ANY(%s::text[]) ORDER BY symbol FOR UPDATE", (sorted(symbols),)
    ).fetchall()
    return {row["symbol"]: row for row in rows}


def trades_on_tape(conn: psycopg.Connection, trade_ids: set[int]) -> set[int]:
    """Which of these trade ids are already on the tape (applied before)."""
    if not trade_ids:
        return set()
    rows = conn.execute(
        "SELECT trade_id FROM trades WHERE trade_id = ANY(%s::bigint[])", (sorted(trade_ids),)
    ).fetchall()
    return {row["trade_id"] for row in rows}


def _price(value: Decimal) -> Decimal:
    """A price as the NUMERIC(20, 2) columns store it."""
    return value.quantize(TICK, rounding=ROUND_HALF_UP)


def minute_of(at: datetime) -> datetime:
    """The start of the 1-minute candle `at` falls in (the key candles are merged under;
    the database's date_bin stays the authority on the stored value)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.replace(second=0, microsecond=0)


def apply_to_stock(stock: dict[str, Any], trade: TradeExecuted) -> None:
    """Apply one new execution to a stock row in memory. last_price follows only a newer
    seq and day_open belongs to the lowest seq, so a trade applied late never moves
    either the wrong way."""
    price = _price(trade.price)
    if stock["last_price"] is None or trade.seq > stock["last_trade_seq"]:
        stock["last_price"] = price
    stock["last_trade_seq"] = max(stock["last_trade_seq"], trade.seq)
    if stock["first_trade_seq"] is None or trade.seq < stock["first_trade_seq"]:
        stock["day_open"] = price
        stock["first_trade_seq"] = trade.seq
    stock["day_high"] = price if stock["day_high"] is None else max(stock["day_high"], price)
    stock["day_low"] = price if stock["day_low"] is None else min(stock["day_low"], price)
    stock["volume"] += trade.qty


def add_to_candle(candles: dict[tuple[str, datetime], dict[str, Any]], trade: TradeExecuted) -> None:
    """Fold one new execution into the batch's 1-minute candles (open = lowest seq's price,
    close = highest seq's); upsert_candles merges them with the rows already stored."""
    price = _price(trade.price)
    key = (trade.symbol, minute_of(trade.executed_at))
    candle = candles.get(key)
    if candle is None:
        candles[key] = {"symbol": trade.symbol, "start": key[1], "open": price, "high": price, "low": price,
                        "close": price, "volume": trade.qty, "open_seq": trade.seq, "close_seq": trade.seq}
        return
    if trade.seq < candle["open_seq"]:
        candle["open"], candle["open_seq"] = price, trade.seq
    if trade.seq > candle["close_seq"]:
        candle["close"], candle["close_seq"] = price, trade.seq
    candle["high"] = max(candle["high"], price)
    candle["low"] = min(candle["low"], price)
    candle["volume"] += trade.qty


def insert_trades(conn: psycopg.Connection, trades: list[TradeExecuted]) -> None:
    """Put new executions on the tape (one pipelined statement)."""
    if not trades:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO trades (trade_id, symbol, seq, price, qty, executed_at)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (trade_id) DO NOTHING
            """,
            [(t.trade_id, t.symbol, t.seq, t.price, t.qty, t.executed_at) for t in trades],
        )


def upsert_candles(conn: psycopg.Connection, candles: list[dict[str, Any]]) -> None:
    """Merge a batch's 1-minute candles (see add_to_candle) into the stored ones, one
    pipelined statement: the earlier open, the later close, the wider range, the sum."""
    if not candles:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO candles AS c (symbol, start, open, high, low, close, volume, open_seq, close_seq)
            VALUES (%(symbol)s,
                    date_bin('1 minute', %(start)s::timestamptz, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
                    %(open)s, %(high)s, %(low)s, %(close)s, %(volume)s, %(open_seq)s, %(close_seq)s)
            ON CONFLICT (symbol, start) DO UPDATE SET
                open      = CASE WHEN EXCLUDED.open_seq < c.open_seq THEN EXCLUDED.open ELSE c.open END,
                open_seq  = LEAST(c.open_seq, EXCLUDED.open_seq),
                high      = GREATEST(c.high, EXCLUDED.high),
                low       = LEAST(c.low, EXCLUDED.low),
                close     = CASE WHEN EXCLUDED.close_seq > c.close_seq THEN EXCLUDED.close ELSE c.close END,
                close_seq = GREATEST(c.close_seq, EXCLUDED.close_seq),
                volume    = c.volume + EXCLUDED.volume
            """,
            candles,
        )


def update_stocks(conn: psycopg.Connection, stocks: list[dict[str, Any]]) -> None:
    """Write back the day statistics apply_to_stock computed (one pipelined statement)."""
    if not stocks:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            UPDATE stocks SET last_price = %(last_price)s, last_trade_seq = %(last_trade_seq)s,
                   day_open = %(day_open)s, first_trade_seq = %(first_trade_seq)s, day_high = %(day_high)s,
                   day_low = %(day_low)s, volume = %(volume)s, updated_at = now()
            WHERE symbol = %(symbol)s
            """,
            stocks,
        )


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
