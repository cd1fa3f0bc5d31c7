"""user_portfolio's tables: accounts, positions, symbols, reservations and the ledger.

Every change of accounts.cash or positions.qty goes with a ledger row in the same
statement sequence, so the audit's `cash = starting_cash + sum(ledger.amount)` and
`qty = sum(ledger.qty)` hold after every transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from .domain import Valuation, value_portfolio

# -- accounts ---------------------------------------------------------------


def get_account(conn: psycopg.Connection, user_id: int, for_update: bool = False) -> dict[str, Any] | None:
    sql = "SELECT * FROM accounts WHERE user_id = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (user_id,)).fetchone()


def count_accounts(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT count(*) AS n FROM accounts").fetchone()["n"])


def open_account(
    conn: psycopg.Connection,
    user_id: int,
    name: str,
    role: str,
    starting_cash: Decimal,
    holdings: dict[str, int],
) -> bool:
    """Create the account with its starting cash and granted shares; False if it exists.

    The grant_cash ledger row marks the opening; its amount is 0 because the audit
    counts cash from starting_cash (cash = starting_cash + sum(amount)). Granted
    shares are a movement into the position (qty = sum(ledger.qty)). Their cost
    basis is the symbol's reference price (set when the symbol is listed, if later).
    """
    created = conn.execute(
        """
        INSERT INTO accounts (user_id, name, role, starting_cash, cash)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (user_id) DO NOTHING
        RETURNING user_id
        """,
        (user_id, name, role, starting_cash, starting_cash),
    ).fetchone()
    if created is None:
        return False
    conn.execute(
        "INSERT INTO ledger (user_id, kind, qty, amount) VALUES (%s, 'grant_cash', 0, 0)", (user_id,)
    )
    for symbol, qty in sorted(holdings.items()):
        if qty <= 0:
            continue
        conn.execute(
            """
            INSERT INTO positions (user_id, symbol, qty, granted_qty, avg_cost)
            VALUES (%s, %s, %s, %s,
                    COALESCE((SELECT reference_price FROM symbols WHERE symbol = %s), 0))
            ON CONFLICT (user_id, symbol) DO NOTHING
            """,
            (user_id, symbol, qty, qty, symbol),
        )
        conn.execute(
            "INSERT INTO ledger (user_id, kind, symbol, qty, amount) VALUES (%s, 'grant_shares', %s, %s, 0)",
            (user_id, symbol, qty),
        )
    return True


# -- symbols ----------------------------------------------------------------


def get_symbol(conn: psycopg.Connection, symbol: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM symbols WHERE symbol = %s", (symbol,)).fetchone()


def upsert_symbol(conn: psycopg.Connection, symbol: str, name: str, reference_price: Decimal) -> bool:
    """Insert or update a listed symbol; True when it was new.

    Until a symbol is known no order for it is approved, so every position in it is
    a grant; the first listing gives those grants the reference price as cost."""
    row = conn.execute(
        """
        INSERT INTO symbols (symbol, name, reference_price) VALUES (%s, %s, %s)
        ON CONFLICT (symbol) DO UPDATE SET name = EXCLUDED.name, reference_price = EXCLUDED.reference_price
        RETURNING (xmax = 0) AS inserted
        """,
        (symbol, name, reference_price),
    ).fetchone()
    if row["inserted"]:
        conn.execute(
            "UPDATE positions SET avg_cost = %s WHERE symbol = %s AND avg_cost = 0 AND qty = granted_qty",
            (reference_price, symbol),
        )
    return bool(row["inserted"])


def set_last_price(conn: psycopg.Connection, symbol: str, price: Decimal, trade_seq: int) -> bool:
    """Move the last price forward (never back to an older trade's); False if the symbol is unknown."""
    row = conn.execute(
        """
        UPDATE symbols SET last_price = CASE WHEN %(seq)s >= last_trade_seq THEN %(price)s ELSE last_price END,
                           last_trade_seq = GREATEST(last_trade_seq, %(seq)s)
        WHERE symbol = %(symbol)s
        RETURNING symbol
        """,
        {"symbol": symbol, "price": price, "seq": trade_seq},
    ).fetchone()
    return row is not None


# -- positions --------------------------------------------------------------


def get_position(
    conn: psycopg.Connection, user_id: int, symbol: str, for_update: bool = False
) -> dict[str, Any] | None:
    sql = "SELECT * FROM positions WHERE user_id = %s AND symbol = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (user_id, symbol)).fetchone()


# -- reservations -----------------------------------------------------------


def get_reservation(conn: psycopg.Connection, order_id: int, for_update: bool = False) -> dict[str, Any] | None:
    sql = "SELECT * FROM reservations WHERE order_id = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (order_id,)).fetchone()


def reserve(
    conn: psycopg.Connection,
    *,
    order_id: int,
    user_id: int,
    symbol: str,
    side: str,
    type_: str,
    qty: int,
    reserve_price: Decimal | None,
    reserve_cash: Decimal,
    reserve_qty: int,
    now: datetime,
) -> None:
    """Hold cash (buy) or shares (sell) for an approved order. The CHECK constraints
    refuse anything that would make free cash or free shares negative."""
    if reserve_cash:
        conn.execute(
            "UPDATE accounts SET reserved_cash = reserved_cash + %s, updated_at = %s WHERE user_id = %s",
            (reserve_cash, now, user_id),
        )
    if reserve_qty:
        conn.execute(
            """
            UPDATE positions SET reserved_qty = reserved_qty + %s, updated_at = %s
            WHERE user_id = %s AND symbol = %s
            """,
            (reserve_qty, now, user_id, symbol),
        )
    conn.execute(
        """
        INSERT INTO reservations (order_id, user_id, symbol, side, type, qty, reserve_price, status, created_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, 'open', %s)
        """,
        (order_id, user_id, symbol, side, type_, qty, reserve_price, now),
    )


def record_rejection(
    conn: psycopg.Connection, *, order_id: int, user_id: int, symbol: str, side: str, type_: str, qty: int,
    now: datetime,
) -> None:
    """Remember a rejected order (holding nothing) so a redelivered order.placed is answered once."""
    conn.execute(
        """
        INSERT INTO reservations (order_id, user_id, symbol, side, type, qty, status, created_at, closed_at)
        VALUES (%s, %s, %s, %s, %s, %s, 'rejected', %s, %s)
        ON CONFLICT (order_id) DO NOTHING
        """,
        (order_id, user_id, symbol, side if side in ("buy", "sell") else "buy",
         type_ if type_ in ("market", "limit") else "limit", max(qty, 1), now, now),
    )


def _release_held(conn: psycopg.Connection, res: dict[str, Any], qty: int, now: datetime) -> None:
    """Give back what `qty` unfilled shares of the order held."""
    if qty <= 0:
        return
    if res["side"] == "buy":
        conn.execute(
            "UPDATE accounts SET reserved_cash = reserved_cash - %s, updated_at = %s WHERE user_id = %s",
            (res["reserve_price"] * qty, now, res["user_id"]),
        )
    else:
        conn.execute(
            """
            UPDATE positions SET reserved_qty = reserved_qty - %s, updated_at = %s
            WHERE user_id = %s AND symbol = %s
            """,
            (qty, now, res["user_id"], res["symbol"]),
        )


def close_reservation(
    conn: psycopg.Connection, res: dict[str, Any], now: datetime, final_filled: int | None = None
) -> bool:
    """Close an open reservation, releasing what it still holds; False if it was not open.

    `final_filled` is the order's cumulative filled quantity as the closing event
    reports it: shares filled by trades this service has not settled yet stay held
    for those trades (each trade releases its own part), so a release never counts
    a fill twice or gives back what a fill still needs."""
    if res["status"] != "open":
        return False
    filled = max(res["filled_qty"], final_filled or 0)
    _release_held(conn, res, res["qty"] - filled, now)
    conn.execute(
        "UPDATE reservations SET status = 'closed', closed_at = %s WHERE order_id = %s", (now, res["order_id"])
    )
    return True


# -- settlement -------------------------------------------------------------


def already_settled(conn: psycopg.Connection, order_id: int, trade_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM ledger WHERE order_id = %s AND trade_id = %s", (order_id, trade_id)
    ).fetchone()
    return row is not None


def settle_buy(
    conn: psycopg.Connection,
    res: dict[str, Any],
    *,
    trade_id: int,
    price: Decimal,
    qty: int,
    avg_cost: Decimal,
    now: datetime,
) -> None:
    """The buyer's side of a fill: pay price x qty, release reserve_price x qty (so a
    better price than reserved frees the difference at once), receive the shares."""
    cost = price * qty
    conn.execute(
        """
        UPDATE accounts SET cash = cash - %s, reserved_cash = reserved_cash - %s, updated_at = %s
        WHERE user_id = %s
        """,
        (cost, res["reserve_price"] * qty, now, res["user_id"]),
    )
    conn.execute(
        """
        INSERT INTO positions (user_id, symbol, qty, avg_cost, updated_at) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (user_id, symbol)
        DO UPDATE SET qty = positions.qty + EXCLUDED.qty, avg_cost = EXCLUDED.avg_cost, updated_at = EXCLUDED.updated_at
        """,
        (res["user_id"], res["symbol"], qty, avg_cost, now),
    )
    _ledger_fill(conn, res, "buy", qty, -cost, trade_id, now)


def settle_sell(
    conn: psycopg.Connection,
    res: dict[str, Any],
    *,
    trade_id: int,
    price: Decimal,
    qty: int,
    pnl: Decimal,
    now: datetime,
) -> None:
    """The seller's side of a fill: deliver the (reserved) shares, receive price x qty,
    realize (price - avg_cost) x qty."""
    proceeds = price * qty
    conn.execute(
        """
        UPDATE accounts SET cash = cash + %s, realized_pl = realized_pl + %s, updated_at = %s
        WHERE user_id = %s
        """,
        (proceeds, pnl, now, res["user_id"]),
    )
    updated = conn.execute(
        """
        UPDATE positions SET qty = qty - %s, reserved_qty = reserved_qty - %s,
                             realized_pl = realized_pl + %s, updated_at = %s
        WHERE user_id = %s AND symbol = %s
        RETURNING qty
        """,
        (qty, qty, pnl, now, res["user_id"], res["symbol"]),
    ).fetchone()
    if updated is None:
        raise RuntimeError(f"order {res['order_id']}: seller {res['user_id']} holds no {res['symbol']}")
    _ledger_fill(conn, res, "sell", -qty, proceeds, trade_id, now)


def _ledger_fill(
    conn: psycopg.Connection, res: dict[str, Any], kind: str, qty: int, amount: Decimal, trade_id: int,
    now: datetime,
) -> None:
    conn.execute(
        """
        INSERT INTO ledger (user_id, kind, symbol, qty, amount, order_id, trade_id, created_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (res["user_id"], kind, res["symbol"], qty, amount, res["order_id"], trade_id, now),
    )
    conn.execute(
        "UPDATE reservations SET filled_qty = filled_qty + %s WHERE order_id = %s",
        (abs(qty), res["order_id"]),
    )


# -- reading portfolios -----------------------------------------------------


def load_valuations(
    conn: psycopg.Connection, user_ids: list[int] | None = None, role: str | None = None
) -> list[Valuation]:
    """Value many accounts in one query (accounts x held positions x symbols)."""
    where, params = [], {}
    if user_ids is not None:
        where.append("a.user_id = ANY(%(ids)s)")
        params["ids"] = list(user_ids)
    if role is not None:
        where.append("a.role = %(role)s")
        params["role"] = role
    rows = conn.execute(
        f"""
        SELECT a.user_id, a.name, a.role, a.starting_cash, a.cash, a.reserved_cash, a.realized_pl,
               p.symbol, p.qty, p.reserved_qty, p.avg_cost, s.last_price, s.reference_price
        FROM accounts a
        LEFT JOIN positions p ON p.user_id = a.user_id AND p.qty > 0
        LEFT JOIN symbols s ON s.symbol = p.symbol
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY a.user_id, p.symbol
        """,
        params,
    ).fetchall()
    grouped: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for row in rows:
        account, positions = grouped.setdefault(row["user_id"], (row, []))
        if row["symbol"] is not None:
            positions.append(row)
    return [value_portfolio(account, positions) for account, positions in grouped.values()]


def load_valuation(conn: psycopg.Connection, user_id: int) -> Valuation | None:
    found = load_valuations(conn, [user_id])
    return found[0] if found else None

