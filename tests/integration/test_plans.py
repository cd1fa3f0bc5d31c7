"""The hot path's statements keep their cost when the tables grow: on databases grown
by bench/grow.py (50,000 orders, analyzed, the planner left to itself), no statement
a worker or the order door runs per order or trade reads a history table whole.

Each statement is prepared as its store.py sends it and explained twice: with a
custom plan (the workers plan per execution) and with the generic plan PostgreSQL
may settle on after five executions of a prepared statement (the APIs' pools)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bench.grow import grow
from db.migrate import drop_database, setup_databases
from service_runtime.config import SERVICES
from service_runtime.db import connect
from tests import conftest

pytestmark = pytest.mark.stack

HISTORY = {"orders", "order_history", "executions", "book_orders", "ledger", "reservations", "trades", "candles",
           "inbox"}
OLD = datetime.now(UTC) - timedelta(hours=200)  # before anything in the grown inboxes
QUIET = "SELECT max(processed_at) AS t FROM inbox WHERE processed_at > now() - $1::interval"
PRUNE = "DELETE FROM inbox WHERE event_id IN (SELECT event_id FROM inbox WHERE processed_at < $1 LIMIT $2)"
ORDER_COLUMNS = (
    "id, client_order_id, fingerprint, user_id, symbol, side, type, qty, limit_price, time_in_force, status, "
    "filled_qty, filled_notional, booked, cancel_requested, final_status, reject_reason, created_at, updated_at")

# (service, statement with $n placeholders, parameter types, values): as store.py sends them
HOT = [
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND client_order_id = $2",
     "int, text", "{user}, 'c-1'"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE", "bigint", "{order}"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
     "bigint[]", "ARRAY[{order}, {order} + 1]::bigint[]"),
    ("stock_ordering", "UPDATE orders SET status = $1, filled_qty = $2, updated_at = now() WHERE id = $3",
     "text, bigint, bigint", "'filled', 1, {order}"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND final_status IS NULL"
     " AND filled_qty < qty AND symbol = $2 ORDER BY id FOR UPDATE", "int, text", "{user}, 'G00001'"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND final_status IS NULL"
     " AND filled_qty < qty ORDER BY id FOR UPDATE", "int", "{user}"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
     "int, int", "{user}, 50"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND final_status IS NULL"
     " AND filled_qty < qty ORDER BY id DESC LIMIT $2", "int, int", "{user}, 50"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND (final_status IS NOT NULL"
     " OR filled_qty >= qty) ORDER BY id DESC LIMIT $2", "int, int", "{user}, 50"),
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY id DESC LIMIT $1", "int", "50"),
    # the house bots' read of their open orders, every tick
    ("stock_ordering", f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id IN (SELECT user_id FROM known_users"
     " WHERE role = $1) AND final_status IS NULL AND filled_qty < qty ORDER BY id DESC LIMIT $2", "text, int",
     "'bot', 1000"),
    # the door, per batch of orders: the market, the listings it names, the epoch
    ("stock_ordering", "SELECT (SELECT status FROM market WHERE id = 1) AS status, ARRAY(SELECT symbol FROM"
     " known_symbols WHERE symbol = ANY($1::text[])) AS symbols, (SELECT value FROM service_state"
     " WHERE key = 'epoch' FOR SHARE) AS epoch", "text[]", "ARRAY['G00001']::text[]"),
    ("stock_ordering", "SELECT status, filled_qty, detail, at FROM order_history WHERE order_id = $1 ORDER BY id",
     "bigint", "{order}"),
    ("user_portfolio", "SELECT * FROM reservations WHERE order_id = $1", "bigint", "{order}"),
    ("user_portfolio", "SELECT l.id, l.created_at, l.kind, l.symbol, l.qty, l.amount, l.order_id, l.trade_id,"
     " a.starting_cash FROM ledger l JOIN accounts a ON a.user_id = l.user_id WHERE l.user_id = $1"
     " ORDER BY l.id DESC LIMIT $2", "int, int", "{user}, 100"),
    ("order_matching", "SELECT status FROM book_orders WHERE order_id = $1", "bigint", "{order}"),
    ("order_matching", "SELECT side, limit_price AS price, sum(qty - filled_qty) AS qty, count(*) AS orders"
     " FROM book_orders WHERE symbol = $1 AND status = 'resting' AND side = 'buy'"
     " GROUP BY side, limit_price ORDER BY limit_price DESC LIMIT $2", "text, int", "'G00001', 10"),
    ("stock_data", "SELECT seq, symbol, price, qty, executed_at FROM trades WHERE symbol = $1"
     " ORDER BY seq DESC LIMIT $2", "text, int", "'G00001', 50"),
    ("stock_data", "SELECT * FROM candles WHERE symbol = $1 ORDER BY start DESC LIMIT $2", "text, int",
     "'G00001', 300"),
    # the pruner, every service, with nothing old enough to go (as on a grown database).
    # Not here: half the inbox past the retention. A 5,000-row chunk is a tenth of these
    # inboxes, so hashing the whole inbox is rightly cheaper than 5,000 key probes; on
    # the full-size growth (3.2 million rows) the planner probes the key (checked by hand).
    *[(service, PRUNE, "timestamptz, int", f"'{OLD.isoformat()}', 5000")
      for service in ("user_portfolio", "stock_data", "stock_ordering", "order_matching")],
    # a worker's start: what it loads into memory (open reservations, the resting book)
    ("user_portfolio", "SELECT * FROM reservations WHERE status = 'open' AND order_id > $1", "bigint", "0"),
    ("order_matching", "SELECT * FROM book_orders WHERE status = 'resting' AND order_id > $1 ORDER BY priority",
     "bigint", "0"),
    ("order_matching", "SELECT * FROM book_orders WHERE status = 'waiting' AND order_id > $1 ORDER BY priority",
     "bigint", "0"),
    # the audit's (and the benchmarks') quiet check, several times a second while they wait
    *[(service, QUIET, "interval", "'1 minute'")
      for service in ("user_portfolio", "stock_data", "stock_ordering", "order_matching")],
]


@pytest.fixture(scope="module")
def grown() -> Iterator:
    settings = conftest.test_settings(f"pttest{uuid.uuid4().hex[:8]}")
    setup_databases(settings, SERVICES)
    try:
        grow(settings, accounts=500, symbols=50, orders=50_000, progress=lambda line: None)
        yield settings
    finally:
        if not os.environ.get("PAPERTRADE_KEEP_TEST_DBS"):
            for service in SERVICES:
                drop_database(settings, service)


def _plans(conn, sql: str, types: str, values: str) -> list[str]:  # noqa: ANN001 - a psycopg connection
    name = f"s{uuid.uuid4().hex[:8]}"
    conn.execute(f"PREPARE {name} ({types}) AS {sql}")
    plans = []
    # the pruner runs on the worker's connection, which always plans with the values
    # (service_runtime/db.py, custom_plans), the quiet check on a connection of its own
    # per poll; the APIs' pooled connections may go generic
    modes = ["force_custom_plan"] if sql in (PRUNE, QUIET) else ["force_custom_plan", "force_generic_plan"]
    for mode in modes:
        conn.execute(f"SET plan_cache_mode = {mode}")
        rows = conn.execute(f"EXPLAIN EXECUTE {name} ({values})").fetchall()
        plans.append("\n".join(r["QUERY PLAN"] for r in rows))
    conn.execute(f"DEALLOCATE {name}")
    return plans


@pytest.mark.parametrize(("service", "sql", "types", "values"), HOT,
                         ids=[f"{s}:{i}" for i, (s, *_) in enumerate(HOT)])
def test_no_history_table_is_read_whole(grown, service: str, sql: str, types: str, values: str) -> None:
    # the grown ids start at 1 on these unseeded databases: order 25,000 and user 400 exist
    with connect(grown.database_url(service), autocommit=True) as conn:
        for plan in _plans(conn, sql, types, values.format(order=25_000, user=400)):
            scanned = set(re.findall(r"Seq Scan on (\w+)", plan)) & HISTORY
            assert not scanned, f"{sql}\nreads {scanned} whole:\n{plan}"


def test_the_grown_tables_are_big_enough_to_matter(grown) -> None:
    """The planner prefers an index only when the table is not tiny: these sizes make
    a sequential scan the expensive choice it is in a semester."""
    with connect(grown.database_url("stock_ordering"), autocommit=True) as conn:
        assert conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'orders'").fetchone()["reltuples"] >= 50_000
        assert conn.execute("SELECT count(*) AS n FROM order_history").fetchone()["n"] > 100_000
