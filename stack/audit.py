"""The audit: check the design brief's invariants across the five databases.

    python -m stack.audit [--wait SECONDS]

It first waits until the exchange is quiet (every outbox sent, every queue
drained, nothing being processed), or says what is still in flight, then checks:

1. conservation: per user, cash = starting cash + all cash movements; per
   symbol, shares granted = shares held; cash only moves between the two sides
   of a trade, at price x qty, and as commission from each side to the house
   account (user 0), which receives exactly what the traders paid;
2. no negative free cash or free shares; reservations equal what open orders
   still need;
3. per order: filled_qty = sum of its trades <= qty, and the status agrees;
   nothing left pending after the system went quiet;
4. every trade applied exactly once in every service that reacts to it.

Exit status 0 when all hold; 1 with one line per violation otherwise; 2 when the
system never went quiet. This is an operator's tool: it reads every service's
database directly, which no service ever does.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pika.exceptions
import psycopg

from service_runtime import catalog, outbox
from service_runtime.config import SERVICES, Settings, get_settings
from service_runtime.db import connect
from service_runtime.shards import shard_of
from service_runtime.topology import blocking_connection, queue_bindings
from stock_ordering.domain import derive_status

OPEN = ("pending_new", "new", "partially_filled", "pending_cancel")
HOUSE_ID = 0  # user_portfolio's house account (commissions)


@dataclass
class Quiet:
    quiet: bool
    in_flight: list[str]


def _queue_depths(settings: Settings) -> dict[str, int]:
    depths = {}
    with blocking_connection(settings, "audit") as conn:
        ch = conn.channel()
        for service, consumed in catalog.consumed_by_services().items():
            for queue in queue_bindings(settings, service, consumed):  # none for a service that consumes nothing
                try:
                    depths[queue] = ch.queue_declare(queue, passive=True).method.message_count
                except pika.exceptions.ChannelClosedByBroker:
                    ch = conn.channel()
    return depths


def in_flight(settings: Settings) -> tuple[list[str], tuple]:
    """What is not settled yet, and when each database last processed an event: its
    inbox's newest row of the last minute (one consumer per database, so the newest
    row moves whenever an event is processed). The inbox's BRIN index on processed_at
    finds it in the table's last pages, however large the inbox has grown."""
    busy = []
    processed = []
    for database in (d for service in SERVICES for d in settings.databases(service)):
        with connect(settings.database_url(database)) as conn:
            backlog, _ = outbox.lag(conn)
            processed.append(conn.execute(
                "SELECT max(processed_at) AS t FROM inbox WHERE processed_at > now() - interval '1 minute'"
            ).fetchone()["t"])
            if backlog:
                busy.append(f"{database}: {backlog} events in its outbox")
    for queue, depth in _queue_depths(settings).items():
        if depth:
            busy.append(f"{queue}: {depth} messages waiting")
    return busy, tuple(processed)


def wait_quiet(settings: Settings, timeout: float = 60.0, settle: float = 0.6) -> Quiet:
    """Quiet = nothing in any outbox or queue, and no event processed for `settle` seconds."""
    deadline = time.monotonic() + timeout
    last_processed: tuple | None = None
    quiet_since: float | None = None
    busy: list[str] = []
    while time.monotonic() < deadline:
        busy, processed = in_flight(settings)
        now = time.monotonic()
        if busy or processed != last_processed:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= settle:
            return Quiet(True, [])
        if quiet_since is None and not busy and processed != last_processed:
            quiet_since = now
        last_processed = processed
        time.sleep(0.15)
    return Quiet(False, busy or ["events still being processed"])


def _rows(settings: Settings, service: str, sql: str) -> list[dict[str, Any]]:
    """The rows of `sql` in the service's database, or in all its matching shards' together."""
    rows: list[dict[str, Any]] = []
    for database in settings.databases(service):
        with connect(settings.database_url(database)) as conn:
            rows.extend(conn.execute(sql).fetchall())
    return rows


def check(settings: Settings) -> list[str]:
    v: list[str] = []
    users = {r["id"]: r for r in _rows(settings, "user_accounts", "SELECT id, name, role, starting_cash, holdings FROM users")}
    accounts = {r["user_id"]: r for r in _rows(settings, "user_portfolio", "SELECT * FROM accounts")}
    positions = _rows(settings, "user_portfolio", "SELECT * FROM positions")
    ledger_sums = {
        r["user_id"]: r for r in _rows(
            settings, "user_portfolio", "SELECT user_id, coalesce(sum(amount), 0) AS amount FROM ledger GROUP BY user_id"
        )
    }
    ledger_qty = {
        (r["user_id"], r["symbol"]): r["qty"] for r in _rows(
            settings, "user_portfolio",
            "SELECT user_id, symbol, sum(qty) AS qty FROM ledger WHERE symbol IS NOT NULL GROUP BY user_id, symbol",
        )
    }
    reservations = _rows(settings, "user_portfolio", "SELECT * FROM reservations WHERE status = 'open'")
    settlements = _rows(settings, "user_portfolio",
                        "SELECT trade_id, user_id, kind, qty, amount, order_id FROM ledger"
                        " WHERE trade_id IS NOT NULL AND kind IN ('buy', 'sell')")
    commissions = _rows(settings, "user_portfolio",
                        "SELECT trade_id, user_id, amount FROM ledger WHERE kind = 'commission'")
    executions = {r["trade_id"]: r for r in _rows(settings, "order_matching", "SELECT * FROM executions")}
    in_book = _rows(settings, "order_matching", "SELECT * FROM book_orders WHERE status IN ('resting', 'waiting')")
    resting = {r["order_id"]: r for r in in_book if r["status"] == "resting"}
    waiting = {r["order_id"] for r in in_book if r["status"] == "waiting"}
    orders = _rows(settings, "stock_ordering", "SELECT * FROM orders")
    tape = _rows(settings, "stock_data", "SELECT trade_id, price, qty FROM trades")

    # 1. conservation
    for uid, user in users.items():
        acct = accounts.get(uid)
        if acct is None:
            v.append(f"user {uid} ({user['name']}) has no portfolio account")
            continue
        if acct["starting_cash"] != user["starting_cash"]:
            v.append(f"user {uid}: starting cash {acct['starting_cash']} in portfolio, {user['starting_cash']} in accounts")
    for uid, acct in accounts.items():
        moved = ledger_sums.get(uid, {"amount": Decimal(0)})["amount"]
        if acct["cash"] != acct["starting_cash"] + moved:
            v.append(f"user {uid}: cash {acct['cash']} != starting {acct['starting_cash']} + movements {moved}")
    granted: dict[str, int] = defaultdict(int)
    for user in users.values():
        for symbol, qty in (user["holdings"] or {}).items():
            granted[symbol] += int(qty)
    held: dict[str, int] = defaultdict(int)
    for p in positions:
        held[p["symbol"]] += p["qty"]
        if p["qty"] != ledger_qty.get((p["user_id"], p["symbol"]), 0):
            v.append(f"user {p['user_id']} {p['symbol']}: qty {p['qty']} != ledger "
                     f"{ledger_qty.get((p['user_id'], p['symbol']), 0)}")
    for symbol in sorted(set(granted) | set(held)):
        if granted[symbol] != held[symbol]:
            v.append(f"{symbol}: {granted[symbol]} shares granted but {held[symbol]} held")
    total_moved = sum((r["amount"] for r in ledger_sums.values()), Decimal(0))
    if total_moved != 0:
        v.append(f"cash was created or destroyed: movements sum to {total_moved}, not 0")

    # 2. free cash/shares, reservations
    need_cash: dict[int, Decimal] = defaultdict(Decimal)
    need_qty: dict[tuple[int, str], int] = defaultdict(int)
    open_buys: dict[tuple[int, str], int] = defaultdict(int)
    for r in reservations:
        remaining = r["qty"] - r["filled_qty"]
        # a buy holds its price and the commission per share; a sell the commission
        need_cash[r["user_id"]] += ((r["reserve_price"] or 0) + r["commission"]) * remaining
        if r["side"] == "sell":
            need_qty[(r["user_id"], r["symbol"])] += remaining
        else:
            open_buys[(r["user_id"], r["symbol"])] += remaining
    for uid, acct in accounts.items():
        if acct["cash"] - acct["reserved_cash"] < 0:
            v.append(f"user {uid}: negative free cash {acct['cash'] - acct['reserved_cash']}")
        if acct["reserved_cash"] != need_cash.get(uid, Decimal(0)):
            v.append(f"user {uid}: reserved cash {acct['reserved_cash']} but open orders need {need_cash.get(uid, 0)}")
    for p in positions:
        if p["qty"] - p["reserved_qty"] < 0 or p["reserved_qty"] < 0:
            v.append(f"user {p['user_id']} {p['symbol']}: negative free shares")
        if p["reserved_qty"] != need_qty.get((p["user_id"], p["symbol"]), 0):
            v.append(f"user {p['user_id']} {p['symbol']}: reserved {p['reserved_qty']} shares but open orders "
                     f"need {need_qty.get((p['user_id'], p['symbol']), 0)}")
        if p["open_buy_qty"] != open_buys.get((p["user_id"], p["symbol"]), 0):
            v.append(f"user {p['user_id']} {p['symbol']}: {p['open_buy_qty']} shares on open buys counted, "
                     f"but open buys may bring {open_buys.get((p['user_id'], p['symbol']), 0)}")
    open_reserved = {r["order_id"] for r in reservations}

    # 3. orders
    fills: dict[int, int] = defaultdict(int)
    notional: dict[int, Decimal] = defaultdict(Decimal)
    for e in executions.values():
        for oid in (e["buy_order_id"], e["sell_order_id"]):
            fills[oid] += e["qty"]
            notional[oid] += e["price"] * e["qty"]
    for o in orders:
        oid = o["id"]
        if o["filled_qty"] != fills.get(oid, 0):
            v.append(f"order {oid}: filled_qty {o['filled_qty']} but its trades sum to {fills.get(oid, 0)}")
        if o["filled_qty"] > o["qty"]:
            v.append(f"order {oid}: filled {o['filled_qty']} more than qty {o['qty']}")
        if o["filled_notional"] != notional.get(oid, Decimal(0)):
            v.append(f"order {oid}: filled notional {o['filled_notional']} but trades give {notional.get(oid, 0)}")
        if o["status"] != derive_status(o):
            v.append(f"order {oid}: status {o['status']} disagrees with its facts ({derive_status(o)})")
        if o["status"] == "pending_new":
            v.append(f"order {oid}: still pending_new after the system went quiet (lost in flight?)")
        if o["status"] == "rejected" and o["filled_qty"]:
            v.append(f"order {oid}: rejected but has fills")
        is_open = o["status"] in OPEN
        if is_open != (oid in open_reserved):
            v.append(f"order {oid}: status {o['status']} but its reservation is {'open' if oid in open_reserved else 'closed'}")
        untriggered = o.get("triggered") is False  # a stop waiting for its price: out of the book
        if o["status"] in ("new", "partially_filled") and oid not in (waiting if untriggered else resting):
            v.append(f"order {oid}: {o['status']} but not {'waiting as a stop' if untriggered else 'resting in the book'}")
        if (oid in resting or oid in waiting) and not is_open:
            v.append(f"order {oid}: {o['status']} but still {'resting in the book' if oid in resting else 'waiting'}")

    # 5. each matching shard holds only the symbols it owns
    if settings.matching_shards > 1:
        for k, database in enumerate(settings.databases("order_matching")):
            with connect(settings.database_url(database)) as conn:
                for r in conn.execute("SELECT DISTINCT symbol FROM book_orders").fetchall():
                    if shard_of(r["symbol"], settings.matching_shards) != k:
                        v.append(f"{r['symbol']}: orders in matching shard {k}, but shard "
                                 f"{shard_of(r['symbol'], settings.matching_shards)} owns it")

    # 4. exactly once
    tape_count: dict[int, int] = defaultdict(int)
    for t in tape:
        tape_count[t["trade_id"]] += 1
    for tid in executions:
        if tape_count.get(tid, 0) != 1:
            v.append(f"trade {tid}: on the tape {tape_count.get(tid, 0)} times")
    for tid in set(tape_count) - set(executions):
        v.append(f"trade {tid}: on the tape but never executed")
    legs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in settlements:
        legs[s["trade_id"]].append(s)
    for tid, e in executions.items():
        got = legs.get(tid, [])
        kinds = sorted(s["kind"] for s in got)
        if kinds != ["buy", "sell"]:
            v.append(f"trade {tid}: settled as {kinds or 'nothing'} in portfolios (expected one buy and one sell)")
            continue
        value = e["price"] * e["qty"]
        for s in got:
            expected = -value if s["kind"] == "buy" else value
            if s["amount"] != expected or abs(s["qty"]) != e["qty"]:
                v.append(f"trade {tid}: {s['kind']} leg moved {s['amount']} / {s['qty']} shares, expected {expected}")
    for tid in set(legs) - set(executions):
        v.append(f"trade {tid}: settled in portfolios but never executed")
    paid: dict[int, Decimal] = defaultdict(Decimal)
    received: dict[int, Decimal] = defaultdict(Decimal)
    for c in commissions:
        if c["user_id"] == HOUSE_ID:
            received[c["trade_id"]] += c["amount"]
        else:
            paid[c["trade_id"]] -= c["amount"]
            if c["amount"] > 0:
                v.append(f"trade {c['trade_id']}: user {c['user_id']} received commission {c['amount']}")
    for tid in sorted(set(paid) | set(received)):
        if paid[tid] != received[tid]:
            v.append(f"trade {tid}: traders paid {paid[tid]} commission, the house received {received[tid]}")
        if tid not in executions:
            v.append(f"trade {tid}: commission charged but never executed")
    return v


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack.audit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the system to go quiet")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        quiet = wait_quiet(settings, args.wait)
    except (psycopg.Error, pika.exceptions.AMQPError, OSError) as exc:
        print(f"audit: cannot reach the stack: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    if not quiet.quiet:
        print("audit: the system did not go quiet; still in flight:", file=sys.stderr)
        for line in quiet.in_flight:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(2)
    violations = check(settings)
    if violations:
        print(f"audit: {len(violations)} violation(s):")
        for line in violations:
            print(f"  - {line}")
        raise SystemExit(1)
    print("audit: all invariants hold")


if __name__ == "__main__":
    main()
