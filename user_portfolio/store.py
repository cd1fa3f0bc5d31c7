"""user_portfolio's tables: accounts, positions, symbols, reservations, the ledger and
settled trades. SQL only.

Every change of accounts.cash or positions.qty goes with a ledger row in the same
transaction, so the audit's `cash = starting_cash + sum(ledger.amount)` and
`qty = sum(ledger.qty)` hold after every transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import psycopg

from .domain import HOUSE_ID, Account, Listing, Position, Reservation, Rules
from .valuation import Holding, Valuation, value

Row = dict[str, Any]

ACCOUNT_FIELDS = [f.name for f in dataclasses.fields(Account)]
POSITION_FIELDS = [f.name for f in dataclasses.fields(Position)]
LISTING_FIELDS = [f.name for f in dataclasses.fields(Listing)]
RESERVATION_FIELDS = [f.name for f in dataclasses.fields(Reservation)]

# -- the worker's state --------------------------------------------------------


def load_accounts(conn: psycopg.Connection) -> list[Account]:
    return [Account(**r) for r in conn.execute(f"SELECT {', '.join(ACCOUNT_FIELDS)} FROM accounts").fetchall()]


def load_positions(conn: psycopg.Connection) -> list[Position]:
    return [Position(**r) for r in conn.execute(f"SELECT {', '.join(POSITION_FIELDS)} FROM positions").fetchall()]


def load_listings(conn: psycopg.Connection) -> list[Listing]:
    return [Listing(**r) for r in conn.execute(f"SELECT {', '.join(LISTING_FIELDS)} FROM symbols").fetchall()]


def load_open_reservations(conn: psycopg.Connection) -> list[Reservation]:
    rows = conn.execute(
        f"SELECT {', '.join(RESERVATION_FIELDS)} FROM reservations WHERE status = 'open'").fetchall()
    return [Reservation(**r) for r in rows]


def get_reservation(conn: psycopg.Connection, order_id: int) -> Reservation | None:
    row = conn.execute(
        f"SELECT {', '.join(RESERVATION_FIELDS)} FROM reservations WHERE order_id = %s", (order_id,)).fetchone()
    return Reservation(**row) if row else None


def load_rules(conn: psycopg.Connection) -> Rules:
    row = conn.execute("SELECT * FROM settings WHERE id = 1").fetchone()
    return Rules(commission_per_share=row["commission_per_share"], max_position=row["max_position"],
                 max_order_qty=row["max_order_qty"])


def save_rules(conn: psycopg.Connection, rules: Rules) -> None:
    conn.execute(
        "UPDATE settings SET commission_per_share = %s, max_position = %s, max_order_qty = %s WHERE id = 1",
        (rules.commission_per_share, rules.max_position, rules.max_order_qty),
    )


# -- writes (one pipelined statement per table) ----------------------------------


def _upsert(conn: psycopg.Connection, sql: str, records: Sequence[Any], fields: list[str]) -> None:
    if records:
        with conn.cursor() as cur:
            cur.executemany(sql, [tuple(getattr(r, f) for f in fields) for r in records])


def write_accounts(conn: psycopg.Connection, accounts: Sequence[Account]) -> None:
    _upsert(conn, """
        INSERT INTO accounts (user_id, name, role, starting_cash, cash, reserved_cash, realized_pl, fills, updated_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name, cash = EXCLUDED.cash,
            reserved_cash = EXCLUDED.reserved_cash, realized_pl = EXCLUDED.realized_pl, fills = EXCLUDED.fills,
            updated_at = EXCLUDED.updated_at
        """, accounts, ACCOUNT_FIELDS)


def write_positions(conn: psycopg.Connection, positions: Sequence[Position]) -> None:
    _upsert(conn, """
        INSERT INTO positions (user_id, symbol, qty, reserved_qty, granted_qty, avg_cost, realized_pl, open_buy_qty,
                               updated_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (user_id, symbol) DO UPDATE SET qty = EXCLUDED.qty, reserved_qty = EXCLUDED.reserved_qty,
            granted_qty = EXCLUDED.granted_qty, avg_cost = EXCLUDED.avg_cost, realized_pl = EXCLUDED.realized_pl,
            open_buy_qty = EXCLUDED.open_buy_qty, updated_at = EXCLUDED.updated_at
        """, positions, POSITION_FIELDS)


def write_listings(conn: psycopg.Connection, listings: Sequence[Listing]) -> None:
    _upsert(conn, """
        INSERT INTO symbols (symbol, name, reference_price, last_price, last_trade_seq)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (symbol) DO UPDATE SET name = EXCLUDED.name, reference_price = EXCLUDED.reference_price,
            last_price = EXCLUDED.last_price, last_trade_seq = EXCLUDED.last_trade_seq
        """, listings, LISTING_FIELDS)


def write_reservations(conn: psycopg.Connection, reservations: Sequence[Reservation]) -> None:
    _upsert(conn, """
        INSERT INTO reservations (order_id, user_id, symbol, side, type, qty, filled_qty, reserve_price, status,
                                  created_at, closed_at, commission, replaces, added_cash, added_qty)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (order_id) DO UPDATE SET filled_qty = EXCLUDED.filled_qty, status = EXCLUDED.status,
            closed_at = EXCLUDED.closed_at, added_cash = EXCLUDED.added_cash, added_qty = EXCLUDED.added_qty
        """, reservations, RESERVATION_FIELDS)


def insert_ledger(conn: psycopg.Connection, rows: list[Row]) -> None:
    """Ledger rows in the order they happened (their ids keep that order)."""
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                """
                INSERT INTO ledger (user_id, kind, symbol, qty, amount, order_id, trade_id, created_at)
                VALUES (%(user_id)s, %(kind)s, %(symbol)s, %(qty)s, %(amount)s, %(order_id)s, %(trade_id)s,
                        %(created_at)s)
                """,
                rows,
            )


def insert_trades(conn: psycopg.Connection, rows: list[Row]) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                """
                INSERT INTO trades (trade_id, seq, symbol, price, qty, buyer_id, seller_id, buy_order_id,
                                    sell_order_id, executed_at, buy_commission, sell_commission)
                VALUES (%(trade_id)s, %(seq)s, %(symbol)s, %(price)s, %(qty)s, %(buyer_id)s, %(seller_id)s,
                        %(buy_order_id)s, %(sell_order_id)s, %(executed_at)s, %(buy_commission)s,
                        %(sell_commission)s)
                ON CONFLICT (trade_id) DO NOTHING
                """,
                rows,
            )


def reset_all(conn: psycopg.Connection) -> None:
    """Back to the starting state: every account at its starting cash and granted shares
    (at the reference price as cost), no reservations, no trades, prices unknown. The
    grant rows of the ledger stay (they are the starting state); movements go."""
    conn.execute("DELETE FROM reservations")
    conn.execute("DELETE FROM trades")
    conn.execute("DELETE FROM ledger WHERE kind NOT IN ('grant_cash', 'grant_shares')")
    conn.execute("DELETE FROM positions WHERE granted_qty = 0")
    conn.execute(
        "UPDATE positions p SET qty = p.granted_qty, reserved_qty = 0, realized_pl = 0, open_buy_qty = 0,"
        " updated_at = now(),"
        " avg_cost = coalesce((SELECT s.reference_price FROM symbols s WHERE s.symbol = p.symbol), 0)"
    )
    conn.execute("UPDATE accounts SET cash = starting_cash, reserved_cash = 0, realized_pl = 0, fills = 0,"
                 " updated_at = now()")
    conn.execute("UPDATE symbols SET last_price = NULL")


# -- reads for the API -------------------------------------------------------------


def count_accounts(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT count(*) AS n FROM accounts WHERE user_id <> %s", (HOUSE_ID,)).fetchone()["n"])


def ledger_rows(conn: psycopg.Connection, user_id: int, limit: int) -> list[Row]:
    return conn.execute(
        """
        SELECT l.id, l.created_at, l.kind, l.symbol, l.qty, l.amount, l.order_id, l.trade_id, a.starting_cash
        FROM ledger l JOIN accounts a ON a.user_id = l.user_id
        WHERE l.user_id = %s ORDER BY l.id DESC LIMIT %s
        """,
        (user_id, limit),
    ).fetchall()


def all_trades(conn: psycopg.Connection) -> list[Row]:
    return conn.execute("SELECT * FROM trades ORDER BY trade_id").fetchall()


def all_positions(conn: psycopg.Connection) -> list[Row]:
    return conn.execute(
        """
        SELECT a.user_id, a.name, a.role, p.symbol, p.qty, p.reserved_qty, p.granted_qty, p.avg_cost,
               p.realized_pl, coalesce(s.last_price, s.reference_price) AS last_price
        FROM accounts a JOIN positions p ON p.user_id = a.user_id
        LEFT JOIN symbols s ON s.symbol = p.symbol
        WHERE a.user_id <> %s ORDER BY a.user_id, p.symbol
        """,
        (HOUSE_ID,),
    ).fetchall()


def load_valuations(conn: psycopg.Connection, user_ids: list[int] | None = None,
                    role: str | list[str] | None = None) -> list[Valuation]:
    """Value many accounts in one query (accounts x positions x symbols)."""
    where, params = [], {}
    if user_ids is not None:
        where.append("a.user_id = ANY(%(ids)s)")
        params["ids"] = list(user_ids)
    if role is not None:
        where.append("a.role = ANY(%(roles)s)")
        params["roles"] = [role] if isinstance(role, str) else list(role)
    rows = conn.execute(
        f"""
        SELECT a.user_id, a.name, a.role, a.starting_cash, a.cash, a.reserved_cash, a.realized_pl, a.fills,
               a.updated_at, p.symbol, p.qty, p.reserved_qty, p.avg_cost, p.granted_qty, s.last_price,
               s.reference_price
        FROM accounts a
        LEFT JOIN positions p ON p.user_id = a.user_id
        LEFT JOIN symbols s ON s.symbol = p.symbol
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY a.user_id, p.symbol
        """,
        params,
    ).fetchall()
    grouped: dict[int, tuple[Account, list[Holding]]] = {}
    for r in rows:
        if r["user_id"] not in grouped:
            grouped[r["user_id"]] = (Account(**{f: r[f] for f in ACCOUNT_FIELDS}), [])
        if r["symbol"] is not None:
            grouped[r["user_id"]][1].append(Holding(r["symbol"], r["qty"], r["reserved_qty"], r["avg_cost"],
                                                    r["granted_qty"], r["last_price"], r["reference_price"]))
    return [value(account, holdings) for account, holdings in grouped.values()]


def load_valuation(conn: psycopg.Connection, user_id: int) -> Valuation | None:
    found = load_valuations(conn, [user_id])
    return found[0] if found else None
