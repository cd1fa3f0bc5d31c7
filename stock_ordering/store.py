"""stock_ordering's tables: orders, their history, and what it knows of users,
symbols and the market (learned from events, used to answer at the door). SQL only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from service_runtime.db import insert_many_returning

from .domain import NewOrder

ORDER_COLUMNS = (
    "id, client_order_id, fingerprint, user_id, symbol, side, type, qty, limit_price, time_in_force, status, "
    "filled_qty, filled_notional, booked, cancel_requested, final_status, reject_reason, created_at, updated_at, "
    "stop_price, triggered, replaces, replaced_by"
)


def market_status(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT status FROM market WHERE id = 1").fetchone()["status"]


def door_state(conn: psycopg.Connection, symbols: Iterable[str]) -> tuple[str, set[str], int]:
    """What the front door checks, in one round trip: market status, which of `symbols`
    are listed (only those asked: the cost does not grow with the listings) and the
    epoch its events are stamped with.
    It also share-locks the epoch row for the rest of the transaction: a reset (which
    writes that row before deleting the orders) then either waits for these orders to
    commit and deletes them, or commits first, and these orders see the new epoch; an
    order of the old epoch can never outlive the reset."""
    row = conn.execute(
        "SELECT (SELECT status FROM market WHERE id = 1) AS status,"
        " ARRAY(SELECT symbol FROM known_symbols WHERE symbol = ANY(%s::text[])) AS symbols,"
        " (SELECT value FROM service_state WHERE key = 'epoch' FOR SHARE) AS epoch",
        (sorted(set(symbols)),),
    ).fetchone()
    return row["status"], set(row["symbols"]), int(row["epoch"] or 1)


def reset_all(conn: psycopg.Connection) -> None:
    """Back to the starting state: no orders, market open (users and symbols stay)."""
    conn.execute("DELETE FROM order_history")
    conn.execute("DELETE FROM orders")
    conn.execute("UPDATE market SET status = 'open', changed_at = now() WHERE id = 1")


def remember_user(conn: psycopg.Connection, user_id: int, name: str, role: str) -> None:
    conn.execute(
        "INSERT INTO known_users (user_id, name, role) VALUES (%s, %s, %s)"
        " ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name",
        (user_id, name, role),
    )


def known_users(conn: psycopg.Connection, user_ids: Iterable[int]) -> set[int]:
    rows = conn.execute("SELECT user_id FROM known_users WHERE user_id = ANY(%s)", (list(user_ids),)).fetchall()
    return {r["user_id"] for r in rows}


def remember_symbol(conn: psycopg.Connection, symbol: str, name: str) -> None:
    conn.execute("INSERT INTO known_symbols (symbol, name) VALUES (%s, %s) ON CONFLICT (symbol) DO NOTHING",
                 (symbol, name))


def forget_symbol(conn: psycopg.Connection, symbol: str) -> None:
    conn.execute("DELETE FROM known_symbols WHERE symbol = %s", (symbol,))


def set_market(conn: psycopg.Connection, status: str) -> None:
    conn.execute("UPDATE market SET status = %s, changed_at = now() WHERE id = 1", (status,))


def all_orders(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY id").fetchall()


def insert_orders(conn: psycopg.Connection, orders: list[NewOrder]) -> list[dict[str, Any] | None]:
    """Insert new orders; an entry is None where (user_id, client_order_id) already exists."""
    return insert_many_returning(
        conn,
        f"""
        INSERT INTO orders (client_order_id, fingerprint, user_id, symbol, side, type, qty, limit_price,
                            time_in_force, status, stop_price, triggered, replaces)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending_new', %s, %s, %s)
        ON CONFLICT (user_id, client_order_id) DO NOTHING
        RETURNING {ORDER_COLUMNS}
        """,
        [(o.client_order_id, o.fingerprint, o.user_id, o.symbol, o.side, o.type, o.qty, o.limit_price,
          o.time_in_force, o.stop_price, False if o.stop_price is not None else None, o.replaces) for o in orders],
    )


def find_by_client_order_id(conn: psycopg.Connection, user_id: int, client_order_id: str) -> dict[str, Any] | None:
    return conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = %s AND client_order_id = %s",
        (user_id, client_order_id),
    ).fetchone()


def add_history(conn: psycopg.Connection, rows: list[tuple[int, str, int, str | None]]) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO order_history (order_id, status, filled_qty, detail) VALUES (%s, %s, %s, %s)", rows
            )


def get_order(conn: psycopg.Connection, order_id: int, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s{lock}", (order_id,)).fetchone()


def send_orders_for_update(conn: psycopg.Connection, order_ids: set[int]) -> psycopg.Cursor:
    """Many orders by id in one query, locked (in id order, so two batches never deadlock);
    ids that do not exist are simply absent. Answers are read from the cursor later
    (in pipeline mode the query shares a round trip with what follows)."""
    return conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
        (sorted(order_ids),),
    )


def list_orders(
    conn: psycopg.Connection, user_id: int | None, status: str, symbol: str | None, limit: int,
    role: str | None = None,
) -> list[dict[str, Any]]:
    where = []
    params: list[Any] = []
    if user_id is not None:
        where.append("user_id = %s")
        params.append(user_id)
    if role is not None:
        where.append("user_id IN (SELECT user_id FROM known_users WHERE role = %s)")
        params.append(role)
    if status == "open":
        where.append("final_status IS NULL AND filled_qty < qty")
    elif status == "closed":
        where.append("(final_status IS NOT NULL OR filled_qty >= qty)")
    if symbol:
        where.append("symbol = %s")
        params.append(symbol)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    params.append(limit)
    return conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders {clause} ORDER BY id DESC LIMIT %s", params
    ).fetchall()


def open_orders_for_update(conn: psycopg.Connection, user_id: int, symbol: str | None) -> list[dict[str, Any]]:
    params: list[Any] = [user_id]
    extra = ""
    if symbol:
        extra = " AND symbol = %s"
        params.append(symbol)
    return conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = %s AND final_status IS NULL AND filled_qty < qty"
        f"{extra} ORDER BY id FOR UPDATE",
        params,
    ).fetchall()


def history(conn: psycopg.Connection, order_id: int) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT status, filled_qty, detail, at FROM order_history WHERE order_id = %s ORDER BY id", (order_id,)
    ).fetchall()


def update_orders(conn: psycopg.Connection, orders: list[dict[str, Any]]) -> None:
    """Write back the cumulative facts and derived status of many orders (one pipelined statement)."""
    if not orders:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            UPDATE orders SET status = %s, filled_qty = %s, filled_notional = %s, booked = %s,
                   cancel_requested = %s, final_status = %s, reject_reason = %s, triggered = %s, replaced_by = %s,
                   updated_at = now()
            WHERE id = %s
            """,
            [
                (o["status"], o["filled_qty"], o["filled_notional"], o["booked"], o["cancel_requested"],
                 o["final_status"], o["reject_reason"], o["triggered"], o["replaced_by"], o["id"])
                for o in orders
            ],
        )
