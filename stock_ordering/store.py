"""stock_ordering's tables: orders, their history, and what it knows of users,
symbols and the market (learned from events, used to answer at the door)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from .domain import FINAL_STATUSES, OPEN_STATUSES, NewOrder, derive_status

ORDER_COLUMNS = (
    "id, client_order_id, fingerprint, user_id, symbol, side, type, qty, limit_price, time_in_force, status, "
    "filled_qty, filled_notional, booked, cancel_requested, final_status, reject_reason, created_at, updated_at"
)


def market_status(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT status FROM market WHERE id = 1").fetchone()["status"]


def door_state(conn: psycopg.Connection) -> tuple[str, set[str], int]:
    """What the front door checks, in one round trip: market status, listed symbols and
    the epoch its events are stamped with.
    It also share-locks the epoch row for the rest of the transaction: a reset (which
    writes that row before deleting the orders) then either waits for these orders to
    commit and deletes them, or commits first, and these orders see the new epoch; an
    order of the old epoch can never outlive the reset."""
    row = conn.execute(
        "SELECT (SELECT status FROM market WHERE id = 1) AS status,"
        " ARRAY(SELECT symbol FROM known_symbols) AS symbols,"
        " (SELECT value FROM service_state WHERE key = 'epoch' FOR SHARE) AS epoch"
    ).fetchone()
    return row["status"], set(row["symbols"]), int(row["epoch"] or 1)


def reset_all(conn: psycopg.Connection) -> None:
    """Back to the starting state: no orders, market open (users and symbols stay)."""
    conn.execute(
        """
        DELETE FROM order_history;
        DELETE FROM orders;
        UPDATE market SET status = 'open', changed_at = now() WHERE id = 1;
        """
    )


def all_orders(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY id").fetchall()


def insert_orders(conn: psycopg.Connection, orders: list[NewOrder]) -> list[dict[str, Any] | None]:
    """Insert new orders; an entry is None where (user_id, client_order_id) already exists."""
    if not orders:
        return []
    with conn.cursor() as cur:
        cur.executemany(
            f"""
            INSERT INTO orders (client_order_id, fingerprint, user_id, symbol, side, type, qty, limit_price,
                                time_in_force, status)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending_new')
            ON CONFLICT (user_id, client_order_id) DO NOTHING
            RETURNING {ORDER_COLUMNS}
            """,
            [
                (o.client_order_id, o.fingerprint, o.user_id, o.symbol, o.side, o.type, o.qty, o.limit_price,
                 o.time_in_force)
                for o in orders
            ],
            returning=True,
        )
        results: list[dict[str, Any] | None] = []
        while True:
            results.append(cur.fetchone())
            if not cur.nextset():
                break
    return results


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


def orders_for_update(conn: psycopg.Connection, order_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Many orders by id in one query, locked (in id order, so two batches never deadlock);
    ids that do not exist are simply absent."""
    if not order_ids:
        return {}
    rows = conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
        (sorted(order_ids),),
    ).fetchall()
    return {row["id"]: row for row in rows}


def list_orders(
    conn: psycopg.Connection, user_id: int | None, status: str, symbol: str | None, limit: int
) -> list[dict[str, Any]]:
    where = []
    params: list[Any] = []
    if user_id is not None:
        where.append("user_id = %s")
        params.append(user_id)
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


def refresh_status(order: dict[str, Any]) -> bool:
    """Set the order's status to the one its cumulative facts give; True when it changed
    (that change is what a history row records)."""
    new_status = derive_status(order)
    changed = new_status != order["status"]
    order["status"] = new_status
    return changed


def save_order(conn: psycopg.Connection, order: dict[str, Any], detail: str | None = None) -> bool:
    """Write an order's cumulative facts back with its derived status; record a
    history row when the status changed. Returns whether the status changed."""
    changed = refresh_status(order)
    update_orders(conn, [order])
    if changed:
        add_history(conn, [(order["id"], order["status"], order["filled_qty"], detail)])
    return changed


def update_orders(conn: psycopg.Connection, orders: list[dict[str, Any]]) -> None:
    """Write back the cumulative facts and status of many orders (statuses already derived,
    see refresh_status) in one pipelined statement; sets each order's updated_at."""
    if not orders:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            UPDATE orders SET status = %s, filled_qty = %s, filled_notional = %s, booked = %s,
                   cancel_requested = %s, final_status = %s, reject_reason = %s, updated_at = now()
            WHERE id = %s RETURNING id, updated_at
            """,
            [
                (o["status"], o["filled_qty"], o["filled_notional"], o["booked"], o["cancel_requested"],
                 o["final_status"], o["reject_reason"], o["id"])
                for o in orders
            ],
            returning=True,
        )
        for order in orders:
            row = cur.fetchone()
            if row is None or row["id"] != order["id"]:
                raise RuntimeError(f"order {order['id']} was not updated")
            order["updated_at"] = row["updated_at"]
            cur.nextset()


def apply_fill(order: dict[str, Any], cumulative_filled: int, price: Decimal, qty: int) -> None:
    order["filled_qty"] = max(order["filled_qty"], cumulative_filled)
    order["filled_notional"] = order["filled_notional"] + price * qty
    if order["filled_qty"] >= order["qty"] and not order["final_status"]:
        order["final_status"] = "filled"


def is_final(order: dict[str, Any]) -> bool:
    return order["status"] in FINAL_STATUSES


def is_open(order: dict[str, Any]) -> bool:
    return order["status"] in OPEN_STATUSES
