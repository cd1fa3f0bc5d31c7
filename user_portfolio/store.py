"""user_portfolio's tables: accounts, positions, symbols, reservations and the ledger.

Every change of accounts.cash or positions.qty goes with a ledger row in the same
transaction, so the audit's `cash = starting_cash + sum(ledger.amount)` and
`qty = sum(ledger.qty)` hold after every transaction.

The event worker does not talk to the tables row by row: a batch of events loads
what it needs in a few bulk queries (`BatchState.prefetch`), the handlers change
the rows in memory, and `BatchState.flush` writes every changed row back with one
pipelined executemany per table. A batch costs the same handful of statements
whatever its size; only a miss (an event replayed from the parking lot) costs a
single-row query more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from .domain import (
    HOUSE_ID,
    Rules,
    Valuation,
    check_account,
    check_position,
    check_reservation,
    grant_cost_applies,
    value_portfolio,
    value_rows,
)

Row = dict[str, Any]

# -- single rows (misses) ---------------------------------------------------


def get_account(conn: psycopg.Connection, user_id: int, for_update: bool = False) -> Row | None:
    sql = "SELECT * FROM accounts WHERE user_id = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (user_id,)).fetchone()


def get_symbol(conn: psycopg.Connection, symbol: str) -> Row | None:
    return conn.execute("SELECT * FROM symbols WHERE symbol = %s", (symbol,)).fetchone()


def get_position(conn: psycopg.Connection, user_id: int, symbol: str, for_update: bool = False) -> Row | None:
    sql = "SELECT * FROM positions WHERE user_id = %s AND symbol = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (user_id, symbol)).fetchone()


def get_reservation(conn: psycopg.Connection, order_id: int, for_update: bool = False) -> Row | None:
    sql = "SELECT * FROM reservations WHERE order_id = %s" + (" FOR UPDATE" if for_update else "")
    return conn.execute(sql, (order_id,)).fetchone()


def already_settled(conn: psycopg.Connection, order_id: int, trade_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM ledger WHERE order_id = %s AND trade_id = %s", (order_id, trade_id)
    ).fetchone()
    return row is not None


def count_accounts(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT count(*) AS n FROM accounts WHERE user_id <> %s", (HOUSE_ID,)).fetchone()["n"])


# -- many rows in one query -------------------------------------------------


ACCOUNTS_SQL = "SELECT * FROM accounts WHERE user_id = ANY(%s) ORDER BY user_id FOR UPDATE"
POSITIONS_SQL = "SELECT * FROM positions WHERE user_id = ANY(%s) ORDER BY user_id, symbol FOR UPDATE"
RESERVATIONS_SQL = "SELECT * FROM reservations WHERE order_id = ANY(%s) ORDER BY order_id FOR UPDATE"
SETTLED_SQL = (
    "SELECT order_id, trade_id FROM ledger"
    " WHERE order_id = ANY(%s) AND trade_id = ANY(%s) AND trade_id IS NOT NULL"
)
PARKED_SQL = "SELECT DISTINCT wait_key FROM parked_events WHERE wait_key = ANY(%s)"


def load_accounts(conn: psycopg.Connection, user_ids: Iterable[int]) -> list[Row]:
    """Lock and read the accounts (in key order, so two transactions never lock crosswise)."""
    return conn.execute(ACCOUNTS_SQL, (sorted(user_ids),)).fetchall()


def load_positions(conn: psycopg.Connection, user_ids: Iterable[int]) -> list[Row]:
    """Lock and read every position of these users."""
    return conn.execute(POSITIONS_SQL, (sorted(user_ids),)).fetchall()


def load_symbols(conn: psycopg.Connection, symbols: Iterable[str]) -> list[Row]:
    return conn.execute("SELECT * FROM symbols WHERE symbol = ANY(%s)", (sorted(symbols),)).fetchall()


# -- many rows in one statement ---------------------------------------------
# executemany is pipelined by psycopg: one round trip for all the rows. The rows
# were locked (FOR UPDATE) when read, so writing their final values is safe.


def write_accounts(conn: psycopg.Connection, rows: list[Row]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO accounts (user_id, name, role, starting_cash, cash, reserved_cash, realized_pl, fills,
                                  updated_at)
            VALUES (%(user_id)s, %(name)s, %(role)s, %(starting_cash)s, %(cash)s, %(reserved_cash)s,
                    %(realized_pl)s, %(fills)s, %(updated_at)s)
            ON CONFLICT (user_id) DO UPDATE SET cash = EXCLUDED.cash, reserved_cash = EXCLUDED.reserved_cash,
                realized_pl = EXCLUDED.realized_pl, fills = EXCLUDED.fills, updated_at = EXCLUDED.updated_at
            """,
            rows,
        )


def insert_trades(conn: psycopg.Connection, rows: list[Row]) -> None:
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


def load_rules(conn: psycopg.Connection) -> Rules:
    row = conn.execute("SELECT * FROM settings WHERE id = 1").fetchone()
    return Rules(commission_per_share=row["commission_per_share"], max_position=row["max_position"],
                 max_order_qty=row["max_order_qty"])


def save_rules(conn: psycopg.Connection, rules: Rules) -> None:
    conn.execute(
        "UPDATE settings SET commission_per_share = %s, max_position = %s, max_order_qty = %s WHERE id = 1",
        (rules.commission_per_share, rules.max_position, rules.max_order_qty),
    )


def reset_all(conn: psycopg.Connection) -> None:
    """Back to the starting state: every account at its starting cash and granted shares
    (at the reference price as cost), no reservations, no trades, prices unknown. The
    grant rows of the ledger stay (they are the starting state); movements go."""
    conn.execute(
        """
        DELETE FROM reservations;
        DELETE FROM trades;
        DELETE FROM ledger WHERE kind NOT IN ('grant_cash', 'grant_shares');
        DELETE FROM positions WHERE granted_qty = 0;
        UPDATE positions p SET qty = p.granted_qty, reserved_qty = 0, realized_pl = 0, open_buy_qty = 0,
               updated_at = now(),
               avg_cost = coalesce((SELECT s.reference_price FROM symbols s WHERE s.symbol = p.symbol), 0);
        UPDATE accounts SET cash = starting_cash, reserved_cash = 0, realized_pl = 0, fills = 0,
               updated_at = now();
        UPDATE symbols SET last_price = NULL;
        """
    )


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


def write_symbols(conn: psycopg.Connection, rows: list[Row]) -> None:
    """Listings and last prices. Symbols are not locked when read, so the last price
    still only moves forward here (never back to an older trade's)."""
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO symbols (symbol, name, reference_price, last_price, last_trade_seq)
            VALUES (%(symbol)s, %(name)s, %(reference_price)s, %(last_price)s, %(last_trade_seq)s)
            ON CONFLICT (symbol) DO UPDATE SET name = EXCLUDED.name, reference_price = EXCLUDED.reference_price,
                last_price = CASE WHEN EXCLUDED.last_trade_seq >= symbols.last_trade_seq
                                  THEN EXCLUDED.last_price ELSE symbols.last_price END,
                last_trade_seq = GREATEST(symbols.last_trade_seq, EXCLUDED.last_trade_seq)
            """,
            rows,
        )


def apply_grant_costs(conn: psycopg.Connection, listed: dict[str, Decimal]) -> None:
    """Newly listed symbols give the grants nobody has traded yet their reference price as
    cost (the rows this batch holds in memory got it there and are written after this)."""
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE positions SET avg_cost = %s WHERE symbol = %s AND avg_cost = 0 AND qty = granted_qty",
            [(price, symbol) for symbol, price in sorted(listed.items())],
        )


def write_positions(conn: psycopg.Connection, rows: list[Row]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO positions (user_id, symbol, qty, reserved_qty, granted_qty, avg_cost, realized_pl,
                                   open_buy_qty, updated_at)
            VALUES (%(user_id)s, %(symbol)s, %(qty)s, %(reserved_qty)s, %(granted_qty)s, %(avg_cost)s,
                    %(realized_pl)s, %(open_buy_qty)s, %(updated_at)s)
            ON CONFLICT (user_id, symbol) DO UPDATE SET qty = EXCLUDED.qty, reserved_qty = EXCLUDED.reserved_qty,
                granted_qty = EXCLUDED.granted_qty, avg_cost = EXCLUDED.avg_cost,
                realized_pl = EXCLUDED.realized_pl, open_buy_qty = EXCLUDED.open_buy_qty,
                updated_at = EXCLUDED.updated_at
            """,
            rows,
        )


def write_reservations(conn: psycopg.Connection, rows: list[Row]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO reservations (order_id, user_id, symbol, side, type, qty, filled_qty, reserve_price,
                                      status, created_at, closed_at, commission)
            VALUES (%(order_id)s, %(user_id)s, %(symbol)s, %(side)s, %(type)s, %(qty)s, %(filled_qty)s,
                    %(reserve_price)s, %(status)s, %(created_at)s, %(closed_at)s, %(commission)s)
            ON CONFLICT (order_id) DO UPDATE SET filled_qty = EXCLUDED.filled_qty, status = EXCLUDED.status,
                closed_at = EXCLUDED.closed_at
            """,
            rows,
        )


def insert_ledger(conn: psycopg.Connection, rows: list[Row]) -> None:
    """Ledger rows in the order they happened (their ids keep that order)."""
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO ledger (user_id, kind, symbol, qty, amount, order_id, trade_id, created_at)
            VALUES (%(user_id)s, %(kind)s, %(symbol)s, %(qty)s, %(amount)s, %(order_id)s, %(trade_id)s,
                    %(created_at)s)
            """,
            rows,
        )


# -- one batch's rows in memory ---------------------------------------------


class BatchState:
    """The rows one batch of events reads and changes, loaded in bulk up front and
    written back in bulk before commit.

    Each cache maps a key to its row, or to None when the row is known not to exist.
    A key not in the cache is loaded on demand with a single-row query (locked like
    the bulk loads). Handlers change the rows in place and then call `changed_*`,
    which checks the table's constraints at once and marks the row for writing.
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.accounts: dict[int, Row | None] = {}
        self.positions: dict[tuple[int, str], Row | None] = {}
        self.position_users: set[int] = set()  # users whose positions are all in `positions`
        self.symbols: dict[str, Row | None] = {}
        self.reservations: dict[int, Row | None] = {}
        self.settled: set[tuple[int, int]] = set()
        self.settled_known: set[tuple[int, int]] = set()  # pairs whose answer `settled` holds
        self.parked: set[str] = set()
        self.parked_known: set[str] = set()  # wait keys whose answer `parked` holds
        self.listed: dict[str, Decimal] = {}  # symbols first listed in this batch -> reference price
        self.ledger: list[Row] = []
        self.trades: list[Row] = []  # settled trades, for the export
        self._rules: Rules | None = None
        self.dirty_accounts: set[int] = set()
        self.dirty_positions: set[tuple[int, str]] = set()
        self.dirty_symbols: set[str] = set()
        self.dirty_reservations: set[int] = set()

    # -- loading ------------------------------------------------------------

    def prefetch(
        self,
        user_ids: set[int],
        symbols: set[str],
        order_ids: set[int],
        fills: set[tuple[int, int]],
        wait_keys: set[str],
    ) -> None:
        """One query per table for everything the batch's events name, all sent at once
        (psycopg's pipeline mode): the worker waits for the database once, not six
        times, before it can settle anything. Every listed symbol is read (a short
        table): which symbols the users hold is only known once their positions are."""
        conn = self.conn
        accounts = sorted(u for u in user_ids if u not in self.accounts)
        position_users = sorted(u for u in user_ids if u not in self.position_users)
        orders = sorted(o for o in order_ids if o not in self.reservations)
        with conn.pipeline():
            got_accounts = conn.execute(ACCOUNTS_SQL, (accounts,)) if accounts else None
            got_positions = conn.execute(POSITIONS_SQL, (position_users,)) if position_users else None
            got_symbols = conn.execute("SELECT * FROM symbols") if symbols or position_users else None
            got_reservations = conn.execute(RESERVATIONS_SQL, (orders,)) if orders else None
            got_settled = conn.execute(
                SETTLED_SQL, (sorted({o for o, _ in fills}), sorted({t for _, t in fills}))
            ) if fills else None
            got_parked = conn.execute(PARKED_SQL, (sorted(wait_keys),)) if wait_keys else None
        if got_accounts is not None:
            self._loaded_accounts(accounts, got_accounts.fetchall())
        if got_positions is not None:
            self._loaded_positions(position_users, got_positions.fetchall())
        if got_symbols is not None:
            for row in got_symbols.fetchall():
                self.symbols.setdefault(row["symbol"], row)
            for symbol in symbols:
                self.symbols.setdefault(symbol, None)  # named by an event, not listed (yet)
        if got_reservations is not None:
            found = {r["order_id"]: r for r in got_reservations.fetchall()}
            for order_id in orders:
                self.reservations[order_id] = found.get(order_id)
        if got_settled is not None:
            self.settled |= {(r["order_id"], r["trade_id"]) for r in got_settled.fetchall()}
            self.settled_known |= fills
        if got_parked is not None:
            self.parked |= {r["wait_key"] for r in got_parked.fetchall()}
            self.parked_known |= wait_keys

    def _loaded_accounts(self, user_ids: list[int], rows: list[Row]) -> None:
        found = {r["user_id"]: r for r in rows}
        for user_id in user_ids:
            self.accounts[user_id] = found.get(user_id)

    def _loaded_positions(self, user_ids: list[int], rows: list[Row]) -> None:
        for row in rows:
            key = (row["user_id"], row["symbol"])
            if self.positions.get(key) is None:  # a row in memory is newer than the table's
                self.positions[key] = self._loaded_position(row)
        self.position_users |= set(user_ids)

    def load_users(self, user_ids: Iterable[int], symbols: Iterable[str] = ()) -> None:
        """Accounts and all positions of these users, then `symbols` and the symbols
        those users hold: one query each, only for what is not in memory yet."""
        user_ids = set(user_ids)
        wanted = set(symbols)
        missing = sorted(u for u in user_ids if u not in self.accounts)
        if missing:
            self._loaded_accounts(missing, load_accounts(self.conn, missing))
        missing = sorted(u for u in user_ids if u not in self.position_users)
        if missing:
            self._loaded_positions(missing, load_positions(self.conn, missing))
            wanted |= {s for (u, s), p in self.positions.items() if p is not None and u in missing}
        self.load_symbols(wanted)

    def load_symbols(self, symbols: Iterable[str]) -> None:
        missing = {s for s in symbols if s not in self.symbols}
        if missing:
            found = {r["symbol"]: r for r in load_symbols(self.conn, missing)}
            for symbol in missing:
                self.symbols[symbol] = found.get(symbol)

    def _loaded_position(self, row: Row) -> Row:
        # a symbol listed earlier in this batch gives an untouched grant its cost,
        # as the listing's UPDATE (written at flush) will do in the table
        ref = self.listed.get(row["symbol"])
        if ref is not None and grant_cost_applies(row):
            row["avg_cost"] = ref
            self.dirty_positions.add((row["user_id"], row["symbol"]))
        return row

    # -- reading (on demand when not prefetched) ----------------------------

    def account(self, user_id: int) -> Row | None:
        if user_id not in self.accounts:
            self.accounts[user_id] = get_account(self.conn, user_id, for_update=True)
        return self.accounts[user_id]

    def position(self, user_id: int, symbol: str) -> Row | None:
        key = (user_id, symbol)
        if key not in self.positions:
            if user_id in self.position_users:
                return None
            row = get_position(self.conn, user_id, symbol, for_update=True)
            self.positions[key] = None if row is None else self._loaded_position(row)
        return self.positions[key]

    def symbol(self, symbol: str) -> Row | None:
        if symbol not in self.symbols:
            self.symbols[symbol] = get_symbol(self.conn, symbol)
        return self.symbols[symbol]

    def reservation(self, order_id: int) -> Row | None:
        if order_id not in self.reservations:
            self.reservations[order_id] = get_reservation(self.conn, order_id, for_update=True)
        return self.reservations[order_id]

    def already_settled(self, order_id: int, trade_id: int) -> bool:
        key = (order_id, trade_id)
        if key not in self.settled_known and key not in self.settled:
            if already_settled(self.conn, order_id, trade_id):
                self.settled.add(key)
            self.settled_known.add(key)
        return key in self.settled

    def rules(self) -> Rules:
        """The settings, read once per batch (only by batches that approve orders)."""
        if self._rules is None:
            self._rules = load_rules(self.conn)
        return self._rules

    def may_have_parked(self, wait_key: str) -> bool:
        return wait_key not in self.parked_known or wait_key in self.parked

    def user_positions(self, user_id: int) -> list[Row]:
        self.load_users([user_id])
        return [p for (u, _), p in self.positions.items() if u == user_id and p is not None]

    # -- changing -----------------------------------------------------------

    def changed_account(self, row: Row) -> None:
        check_account(row)
        self.accounts[row["user_id"]] = row
        self.dirty_accounts.add(row["user_id"])

    def changed_position(self, row: Row) -> None:
        check_position(row)
        self.positions[(row["user_id"], row["symbol"])] = row
        self.dirty_positions.add((row["user_id"], row["symbol"]))

    def changed_symbol(self, row: Row) -> None:
        self.symbols[row["symbol"]] = row
        self.dirty_symbols.add(row["symbol"])

    def changed_reservation(self, row: Row) -> None:
        check_reservation(row)
        self.reservations[row["order_id"]] = row
        self.dirty_reservations.add(row["order_id"])

    def listed_now(self, symbol: str, reference_price: Decimal) -> None:
        """A symbol seen for the first time: untouched grants in it get its reference price as cost."""
        self.listed.setdefault(symbol, reference_price)
        for (_, s), p in self.positions.items():
            if s == symbol and p is not None and grant_cost_applies(p):
                p["avg_cost"] = reference_price
                self.changed_position(p)

    def add_ledger(
        self, *, user_id: int, kind: str, now: datetime, symbol: str | None = None, qty: int = 0,
        amount: Decimal = Decimal("0"), order_id: int | None = None, trade_id: int | None = None,
    ) -> None:
        if trade_id is not None and kind in ("buy", "sell"):
            assert order_id is not None
            if self.already_settled(order_id, trade_id):  # the unique index would refuse it
                raise RuntimeError(f"order {order_id} trade {trade_id} settled twice")
            self.settled.add((order_id, trade_id))
        self.ledger.append({"user_id": user_id, "kind": kind, "symbol": symbol, "qty": qty, "amount": amount,
                            "order_id": order_id, "trade_id": trade_id, "created_at": now})

    # -- writing ------------------------------------------------------------

    def flush(self) -> None:
        """Write every changed row, one statement per table (parents before children).
        The after_batch hooks run in the batch's pipeline (handlers._write), so these
        go out with the batch's outbox rows in one round trip; a failing row still
        fails the batch."""
        conn = self.conn
        if self.dirty_accounts:
            write_accounts(conn, [self.accounts[k] for k in sorted(self.dirty_accounts)])
        if self.dirty_symbols:
            write_symbols(conn, [self.symbols[k] for k in sorted(self.dirty_symbols)])
        if self.listed:
            apply_grant_costs(conn, self.listed)
        if self.dirty_positions:
            write_positions(conn, [self.positions[k] for k in sorted(self.dirty_positions)])
        if self.dirty_reservations:
            write_reservations(conn, [self.reservations[k] for k in sorted(self.dirty_reservations)])
        if self.ledger:
            insert_ledger(conn, self.ledger)
        if self.trades:
            insert_trades(conn, self.trades)
            self.trades.clear()
        self.dirty_accounts.clear()
        self.dirty_symbols.clear()
        self.listed.clear()
        self.dirty_positions.clear()
        self.dirty_reservations.clear()
        self.ledger.clear()

    def valuations(self, user_ids: Iterable[int]) -> list[Valuation]:
        """Value these accounts from the rows in memory (loading what a miss left out)."""
        ids = sorted(user_ids)
        self.load_users(ids)
        by_user: dict[int, list[Row]] = {u: [] for u in ids}
        for (u, _), p in self.positions.items():
            if p is not None and u in by_user:
                by_user[u].append(p)
        return [
            value_rows(account, by_user[u], self.symbols)
            for u in ids
            if (account := self.accounts.get(u)) is not None
        ]


# -- reading portfolios -----------------------------------------------------


def load_valuations(
    conn: psycopg.Connection, user_ids: list[int] | None = None, role: str | list[str] | None = None
) -> list[Valuation]:
    """Value many accounts in one query (accounts x held positions x symbols)."""
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
               p.symbol, p.qty, p.reserved_qty, p.avg_cost, s.last_price, s.reference_price,
               -- over all the account's positions, in the same pass (a subquery per
               -- account or per row was the costliest statement under load)
               coalesce(sum(p.granted_qty * s.reference_price) FILTER (WHERE p.granted_qty > 0)
                        OVER (PARTITION BY a.user_id), 0) AS granted_value
        FROM accounts a
        LEFT JOIN positions p ON p.user_id = a.user_id
        LEFT JOIN symbols s ON s.symbol = p.symbol
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY a.user_id, p.symbol
        """,
        params,
    ).fetchall()
    grouped: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for row in rows:
        account, positions = grouped.setdefault(row["user_id"], (row, []))
        if row["symbol"] is not None and row["qty"] > 0:  # every position came for granted_value
            positions.append(row)
    return [value_portfolio(account, positions) for account, positions in grouped.values()]


def load_valuation(conn: psycopg.Connection, user_id: int) -> Valuation | None:
    found = load_valuations(conn, [user_id])
    return found[0] if found else None

