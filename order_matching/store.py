"""order_matching's tables: every order it handled, executions, per-symbol sequence
numbers, early cancels, and the market status it last heard of."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from .domain import BookOrder


def load_symbols(conn: psycopg.Connection) -> dict[str, tuple[int, Decimal | None]]:
    """symbol -> (its book's sequence number, its last trade price or None before one)."""
    return {r["symbol"]: (r["seq"], r["last_price"])
            for r in conn.execute("SELECT symbol, seq, last_price FROM symbols").fetchall()}


def delisted_symbols(conn: psycopg.Connection) -> set[str]:
    return {r["symbol"] for r in conn.execute("SELECT symbol FROM symbols WHERE NOT listed").fetchall()}


def set_listed(conn: psycopg.Connection, symbol: str, listed: bool) -> None:
    conn.execute("UPDATE symbols SET listed = %s WHERE symbol = %s", (listed, symbol))


def reset_all(conn: psycopg.Connection) -> None:
    """Back to the starting state: empty books, no executions, market open. Symbols keep
    their sequence numbers (and trade ids their sequence), so nothing from before a
    reset can be mistaken for something after it."""
    conn.execute("DELETE FROM book_orders")
    conn.execute("DELETE FROM executions")
    conn.execute("DELETE FROM early_cancels")
    conn.execute("UPDATE symbols SET last_price = NULL WHERE last_price IS NOT NULL")
    conn.execute("UPDATE market SET status = 'open', changed_at = now() WHERE id = 1")


def load_resting(conn: psycopg.Connection) -> list[BookOrder]:
    """The orders in the books, by priority."""
    return _load(conn, "resting")


def load_waiting(conn: psycopg.Connection) -> list[BookOrder]:
    """The untriggered stops, by priority."""
    return _load(conn, "waiting")


def _load(conn: psycopg.Connection, status: str) -> list[BookOrder]:
    # the status is written into the statement: each has a partial index of its own,
    # which a generic plan with the status as a parameter could not use
    assert status in ("resting", "waiting")
    rows = conn.execute(
        f"""
        SELECT order_id, user_id, symbol, side, type, qty, filled_qty, filled_notional, limit_price, collar_price,
               time_in_force, priority, stop_price, triggered
        FROM book_orders WHERE status = '{status}' ORDER BY priority
        """
    ).fetchall()
    return [
        BookOrder(
            order_id=r["order_id"], user_id=r["user_id"], symbol=r["symbol"], side=r["side"], type=r["type"],
            qty=r["qty"], limit_price=r["limit_price"], time_in_force=r["time_in_force"],
            priority=r["priority"], collar_price=r["collar_price"], filled_qty=r["filled_qty"],
            filled_notional=r["filled_notional"], stop_price=r["stop_price"], triggered=r["triggered"],
        )
        for r in rows
    ]


def max_priority(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(priority), 0) AS p FROM book_orders").fetchone()["p"]


def market_status(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT status FROM market WHERE id = 1").fetchone()["status"]


def set_market_status(conn: psycopg.Connection, status: str) -> None:
    conn.execute("UPDATE market SET status = %s, changed_at = now() WHERE id = 1", (status,))


def add_symbol(conn: psycopg.Connection, symbol: str, reference_price: Decimal) -> None:
    conn.execute(
        "INSERT INTO symbols (symbol, reference_price) VALUES (%s, %s)"
        " ON CONFLICT (symbol) DO UPDATE SET listed = true, reference_price = EXCLUDED.reference_price",
        (symbol, reference_price),
    )


def early_cancels(conn: psycopg.Connection) -> set[int]:
    return {r["order_id"] for r in conn.execute("SELECT order_id FROM early_cancels").fetchall()}


def add_early_cancel(conn: psycopg.Connection, order_id: int, user_id: int, symbol: str) -> None:
    conn.execute(
        "INSERT INTO early_cancels (order_id, user_id, symbol) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (order_id, user_id, symbol),
    )


def remove_early_cancel(conn: psycopg.Connection, order_id: int) -> None:
    conn.execute("DELETE FROM early_cancels WHERE order_id = %s", (order_id,))


def order_status(conn: psycopg.Connection, order_id: int) -> str | None:
    row = conn.execute("SELECT status FROM book_orders WHERE order_id = %s", (order_id,)).fetchone()
    return row["status"] if row else None


def next_trade_ids(conn: psycopg.Connection, n: int) -> list[int]:
    rows = conn.execute("SELECT nextval('trade_ids') AS id FROM generate_series(1, %s)", (n,)).fetchall()
    return [r["id"] for r in rows]


def save_orders(conn: psycopg.Connection, orders: list[tuple[BookOrder, str, str | None]]) -> None:
    """Upsert (order, status, outcome) rows: the latest state of every order the batch touched."""
    if not orders:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO book_orders (order_id, user_id, symbol, side, type, qty, filled_qty, filled_notional,
                                     limit_price, collar_price, time_in_force, priority, status, outcome,
                                     stop_price, triggered)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (order_id) DO UPDATE
               SET filled_qty = EXCLUDED.filled_qty, filled_notional = EXCLUDED.filled_notional,
                   status = EXCLUDED.status, outcome = EXCLUDED.outcome, updated_at = now(),
                   type = EXCLUDED.type, priority = EXCLUDED.priority, triggered = EXCLUDED.triggered
            """,
            [
                (o.order_id, o.user_id, o.symbol, o.side, o.type, o.qty, o.filled_qty, o.filled_notional,
                 o.limit_price, o.collar_price, o.time_in_force, o.priority, status, outcome, o.stop_price,
                 o.triggered)
                for o, status, outcome in orders
            ],
        )


def insert_executions(conn: psycopg.Connection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                """
                INSERT INTO executions (trade_id, symbol, seq, price, qty, buy_order_id, sell_order_id, buyer_id,
                                        seller_id, taker_side, executed_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                rows,
            )


def save_seqs(conn: psycopg.Connection, seqs: dict[str, int], last_prices: dict[str, Decimal]) -> None:
    """Each changed book's sequence number, and its last trade price where it traded."""
    if seqs:
        with conn.cursor() as cur:
            cur.executemany("UPDATE symbols SET seq = %s, last_price = coalesce(%s, last_price) WHERE symbol = %s",
                            [(v, last_prices.get(k), k) for k, v in seqs.items()])


def depth(conn: psycopg.Connection, symbol: str, levels: int) -> dict[str, Any] | None:
    """The symbol's sequence number and its best `levels` price levels per side (rows of
    side, price, qty, orders), from the resting orders; None for an unknown symbol."""
    sym = conn.execute("SELECT seq FROM symbols WHERE symbol = %s", (symbol,)).fetchone()
    if sym is None:
        return None
    rows = conn.execute(
        """
        (SELECT side, limit_price AS price, sum(qty - filled_qty) AS qty, count(*) AS orders
           FROM book_orders WHERE symbol = %(s)s AND status = 'resting' AND side = 'buy'
          GROUP BY side, limit_price ORDER BY limit_price DESC LIMIT %(n)s)
        UNION ALL
        (SELECT side, limit_price, sum(qty - filled_qty), count(*)
           FROM book_orders WHERE symbol = %(s)s AND status = 'resting' AND side = 'sell'
          GROUP BY side, limit_price ORDER BY limit_price ASC LIMIT %(n)s)
        """,
        {"s": symbol, "n": levels},
    ).fetchall()
    return {"symbol": symbol, "seq": sym["seq"], "levels": rows}


def recorded_shards(conn: psycopg.Connection) -> int | None:
    """The shard count this database was set up for (`stack setup` records it)."""
    row = conn.execute("SELECT value FROM service_state WHERE key = 'matching_shards'").fetchone()
    return int(row["value"]) if row else None


def record_shards(conn: psycopg.Connection, shards: int) -> None:
    conn.execute(
        "INSERT INTO service_state (key, value) VALUES ('matching_shards', to_jsonb(%s::int))"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (shards,),
    )


def has_orders(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT 1 FROM book_orders LIMIT 1").fetchone() is not None
