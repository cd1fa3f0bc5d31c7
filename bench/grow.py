"""Grow a running exchange's databases to a semester's size in minutes.

    python -m bench.grow [--accounts 5000] [--symbols 500] [--orders 2000000]

grows the stack the PAPERTRADE_* environment names (a quiet one: nothing may trade
while it grows); `python -m bench.end_to_end --grown` and `python -m bench.steady
--grown` grow their own stack and restart its processes before measuring.

Bulk SQL (INSERT ... SELECT FROM generate_series), not the API: the rows are the
ones the event handlers would have written for the same history, table by table
(see each service's store.py), so `stack.audit()` stays clean:

- `accounts` traders, each granted 1,000 shares of one of `symbols` listings,
  known to every service that knows users or symbols;
- `orders` orders in blocks of ten: four fills (two round trips: a buys q at p from
  b, then sells q back to b at p, so cash and shares end where they started), one
  order canceled by its owner, one that expired at a close or was rejected for
  cash. Every order is final, nothing is reserved, nothing rests in a book.

Why the current epoch and not older ones: a reset deletes orders, history,
executions, the tape, candles and movements everywhere (docs/architecture.md,
"Reset and epochs"), so after many resets the tables hold exactly one epoch's
history; what older epochs leave (users, listings, id sequences) is here too.
The history is spread over 90 % of the inbox retention ending now, so every event
it implies is still in the inboxes (the worst case for their size; the pruner
finds nothing to prune yet).

Not replayed: average cost and realized P&L of the granted positions that sold and
bought back (the audit checks neither); a trader's flat positions are exact.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from service_runtime.config import Settings, get_settings
from service_runtime.db import connect
from service_runtime.shards import shard_of

from .grow_sql import BLOCK, INBOX_EVENTS, PAIRS_SQL, SEQUENCES, SINGLES_SQL, SYMBOLS_SQL, TABLES, USERS_SQL

Progress = Callable[[str], None]

def _next_free(conn: psycopg.Connection, sequence: str, table: str, column: str) -> int:
    """The last id used so far (from the sequence, or the table where it was set by hand)."""
    row = conn.execute(
        f"SELECT greatest((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}),"
        f" (SELECT coalesce(max({column}), 0) FROM {table})) AS n").fetchone()
    return int(row["n"])


def _timed(progress: Progress, conn: psycopg.Connection, label: str, sql: str, params: dict[str, Any]) -> int:
    start = time.monotonic()
    rows = conn.execute(sql, params).rowcount
    took = time.monotonic() - start
    progress(f"  {label:<34} {rows:>10,} rows {took:7.1f} s {rows / took if took else 0:>12,.0f} rows/s")
    return rows


def grow(settings: Settings, accounts: int = 5000, symbols: int = 500, orders: int = 2_000_000,
         progress: Progress = print) -> dict[str, Any]:
    """Add `accounts` traders, `symbols` listings and `orders` final orders (with their
    trades) to every database of the stack `settings` names; returns the rows added
    per database and table, the seconds it took and the tables' sizes after ANALYZE."""
    if accounts < 2 * symbols:
        raise ValueError("need at least two traders per symbol (each symbol's grants back its sells)")
    blocks = orders // BLOCK
    if blocks < 1:
        raise ValueError(f"orders: at least {BLOCK}")
    started = time.monotonic()
    now = datetime.now(UTC)
    span = timedelta(hours=settings.inbox_retention_hours * 0.9)
    t0 = now - timedelta(minutes=5) - span
    params: dict[str, Any] = {
        "acc": accounts, "sym": symbols, "blocks": blocks, "t0": t0,
        "dt": span.total_seconds() / (blocks * BLOCK),
        "t_users": t0 - timedelta(minutes=10), "t_symbols": t0 - timedelta(minutes=20),
    }
    # where the new ids start: after everything the stack holds already
    with connect(settings.database_url("user_accounts"), autocommit=True) as conn:
        params["uid0"] = _next_free(conn, "users_id_seq", "users", "id")
        if conn.execute("SELECT 1 FROM users WHERE name = 'Grown ' || %s", (params["uid0"],)).fetchone():
            raise RuntimeError("already grown")
    with connect(settings.database_url("stock_ordering"), autocommit=True) as conn:
        params["oid0"] = _next_free(conn, "orders_id_seq", "orders", "id")
        if conn.execute("SELECT 1 FROM known_symbols WHERE symbol = 'G00001'").fetchone():
            raise RuntimeError("already grown: symbol G00001 exists")
    tid0 = prio0 = 0
    for database in settings.databases("order_matching"):
        with connect(settings.database_url(database), autocommit=True) as conn:
            tid0 = max(tid0, _next_free(conn, "trade_ids", "executions", "trade_id"))
            prio0 = max(prio0, conn.execute("SELECT coalesce(max(priority), 0) AS p FROM book_orders").fetchone()["p"])
    params["tid0"], params["prio0"] = tid0, prio0
    progress(f"growing {settings.namespace}: {accounts:,} accounts, {symbols:,} symbols, {blocks * BLOCK:,} orders "
             f"({4 * blocks:,} trades) from {t0:%Y-%m-%d %H:%M} UTC")

    added: dict[str, dict[str, int]] = {}
    targets = [(s, d) for s in TABLES for d in settings.databases(s)]
    for service, database in targets:
        owned = [f"G{s + 1:05d}" for s in range(symbols)
                 if service != "order_matching" or shard_of(f"G{s + 1:05d}", settings.matching_shards)
                 == settings.databases("order_matching").index(database)]
        p = {**params, "owned": owned}
        progress(f"{database}:")
        counts: dict[str, int] = {}
        with connect(settings.database_url(database)) as conn, conn.transaction():
            conn.execute("SET LOCAL work_mem = '256MB'")  # the window and the sorts of a few million rows
            for sql in (SYMBOLS_SQL, USERS_SQL, PAIRS_SQL, SINGLES_SQL):
                conn.execute(sql, p)
            conn.execute("ANALYZE g_symbols, g_users, g_pairs, g_singles")
            for table, sql in TABLES[service]:
                counts[table] = _timed(progress, conn, table, sql, p)
            events = INBOX_EVENTS[service]
            if events:
                counts["inbox"] = _timed(
                    progress, conn, "inbox",
                    "INSERT INTO inbox (event_id, type, processed_at) SELECT gen_random_uuid(), type, at FROM ("
                    + " UNION ALL ".join(events) + ") e ORDER BY at", p)
            for sequence, table, column in SEQUENCES.get(service, []):
                conn.execute(f"SELECT setval('{sequence}', greatest((SELECT max({column}) FROM {table}),"
                             f" (SELECT last_value FROM {sequence}), 1))")
        added[database] = counts
    sizes = analyze(settings, progress)
    took = time.monotonic() - started
    progress(f"grown in {took:.0f} s")
    return {"seconds": round(took, 1), "added": added, "sizes": sizes, "accounts": accounts, "symbols": symbols,
            "orders": blocks * BLOCK, "trades": 4 * blocks}


def analyze(settings: Settings, progress: Progress = print) -> dict[str, dict[str, Any]]:
    """VACUUM ANALYZE every database, then CHECKPOINT: the planner must know the tables
    grew, and a database a semester old has its rows' hint bits set, its visibility
    map current and its pages written, where a bulk load leaves that work (writes and
    fsyncs) to the first minutes of the benchmark; their tables' rows and sizes."""
    sizes: dict[str, dict[str, Any]] = {}
    for database in (d for s in TABLES for d in settings.databases(s)):
        start = time.monotonic()
        with connect(settings.database_url(database), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
            try:
                conn.execute("CHECKPOINT")  # needs superuser or pg_checkpoint; a later one does it anyway
            except psycopg.Error as exc:
                progress(f"  no CHECKPOINT: {exc}")
            rows = conn.execute(
                "SELECT c.relname AS name, c.reltuples::bigint AS rows,"
                " pg_total_relation_size(c.oid) AS bytes FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY bytes DESC").fetchall()
        sizes[database] = {r["name"]: {"rows": max(r["rows"], 0), "mb": round(r["bytes"] / 2**20, 1)} for r in rows}
        big = ", ".join(f"{r['name']} {r['bytes'] / 2**20:,.0f} MB" for r in rows[:4])
        progress(f"  VACUUM ANALYZE {database}: {time.monotonic() - start:.1f} s ({big})")
    return sizes


def restart_processes(stack: Any) -> None:
    """Restart every process of a RunningStack: the workers keep accounts, books, sequence
    numbers and listings in memory, which must now be rebuilt from the grown tables."""
    for name in list(stack.specs):
        stack.restart(name)
    stack.wait_quiet()


def grow_stack(stack: Any, accounts: int = 5000, symbols: int = 500, orders: int = 2_000_000,
               progress: Progress = print) -> dict[str, Any]:
    """Grow a quiet RunningStack's databases, then restart its processes on them."""
    stack.wait_quiet()
    result = grow(stack.settings, accounts, symbols, orders, progress)
    restart_processes(stack)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.grow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--orders", type=int, default=2_000_000)
    args = parser.parse_args(argv)
    result = grow(get_settings(), args.accounts, args.symbols, args.orders)
    print("restart the exchange's processes now: their in-memory state predates the growth")
    return result


if __name__ == "__main__":
    main()
