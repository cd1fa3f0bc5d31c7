"""End-to-end benchmark: sustained orders/s through the whole exchange, REST and push
latency, CPU and memory per process, beside the ceilings of RabbitMQ and PostgreSQL
measured in the same run.

    python -m bench.end_to_end                          # full: flat out for 60 s, then 200 orders/s for 20 s
    python -m bench.end_to_end --seconds 5 --steady-seconds 5   # a quick look

It starts its own exchange (every process, as `./run.sh` does) and then:

1. measures the ceilings underneath (bench/ceilings.py) while the exchange is idle;
2. throughput: traders send batches of orders (POST /api/orders/batch, how a tester
   loads a file) flat out or at `--rate`; a realistic flow over several symbols:
   buys and sells around the price, mostly day limits, some IOC and market orders,
   so some trade and some rest. End to end = accepted orders / (time from the first
   send until every order has reached the book or its end and every trade is
   settled in both portfolios, i.e. the exchange is quiet again);
3. latency: single orders (POST /api/orders) at a steady `--steady-rate`: REST
   acknowledgement and placed -> filled `order` push, on Socket.IO clients;
4. per process CPU seconds and memory (resident after the run, and peak); the
   exchange's broker publishes per second as a share of RabbitMQ's ceiling;
5. the audit: a run that lost or doubled anything is a failed run (exit status 1).

Results also go to bench/results/end_to_end.json. Not a test: nothing asserts a target.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import socketio

from service_runtime.config import SERVICES
from stack.local import Api, RunningStack, running_stack

from . import ceilings
from .common import OrderSender, finish, process_groups, sample_processes, summary, token_of
from .grow import grow_stack

PRICE = 100
TARGETS = {
    "orders_per_s": ">= 1,000 sustained for 60 s, audit clean",
    "rest_ack_p99_ms": "< 25 at 200 orders/s",
    "placed_to_filled_p99_ms": "< 150 at 200 orders/s",
    "rss_mb_per_service_process": "< 150 after the 60 s run",
}


class Fills:
    """Socket.IO clients of some traders: when each order was first seen filled."""

    def __init__(self, url: str, apis: list[Api]) -> None:
        self.lock = threading.Lock()
        self.filled_at: dict[int, float] = {}
        self.clients = []
        for api in apis:
            sio = socketio.Client(reconnection=True)
            sio.on("order", self._on_order)
            sio.connect(url, auth={"token": token_of(api)}, transports=["websocket"], wait_timeout=10)
            self.clients.append(sio)

    def _on_order(self, order: dict[str, Any]) -> None:
        if order.get("status") == "filled":
            now = time.time()
            with self.lock:
                self.filled_at.setdefault(order["id"], now)

    def close(self) -> None:
        for sio in self.clients:
            threading.Thread(target=sio.disconnect, daemon=True).start()


def random_order(rng: random.Random, symbols: list[str]) -> dict[str, Any]:
    side = rng.choice(("buy", "sell"))
    kind = rng.random()
    order: dict[str, Any] = {"symbol": rng.choice(symbols), "side": side, "qty": rng.randint(1, 10)}
    if kind < 0.1:
        order["type"] = "market"
    else:
        # Buyers bid a little under the price and sellers ask a little over, with
        # enough overlap that about half of the orders trade.
        skew = -8 if side == "buy" else 8
        cents = PRICE * 100 + skew + rng.randint(-15, 15)
        order.update(type="limit", limit_price=f"{cents // 100}.{cents % 100:02d}",
                     time_in_force="ioc" if kind < 0.2 else "day")
    return order


class Sending:
    """Counts and latencies of one sending phase (thread safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ack_ms: list[float] = []
        self.sent_at: dict[int, float] = {}
        self.accepted = 0
        self.rejected: dict[str, int] = {}
        self.errors: list[str] = []

    def record(self, t0: float, status: int, answer: dict[str, Any], single: bool) -> None:
        took = (time.time() - t0) * 1000
        with self.lock:
            self.ack_ms.append(took)
            if single:
                results = [answer] if status in (200, 201) else [{"error": answer.get("error", {})}]
            elif status == 200:
                results = answer["results"]
            else:
                self.errors.append(f"{status} {str(answer)[:200]}")
                return
            for item in results:
                if "error" in item:
                    code = item["error"].get("code", "?")
                    self.rejected[code] = self.rejected.get(code, 0) + 1
                else:
                    self.accepted += 1
                    self.sent_at[item["id"]] = t0


def setup(stack: RunningStack, symbols: int, traders: int) -> tuple[list[str], list[Api]]:
    teacher = stack.instructor()
    run_id = uuid.uuid4().hex[:4].upper()
    syms = []
    for i in range(symbols):
        sym = f"E{run_id}{i}"[:8]
        resp = teacher.post("/api/stocks", {"symbol": sym, "name": f"Bench {i}", "reference_price": f"{PRICE}.00"})
        assert resp.status_code == 201, resp.text
        syms.append(sym)
    apis = []
    for i in range(traders):
        user = teacher.post("/api/users", {"name": f"bench-{run_id}-{i}", "starting_cash": "100000000.00",
                                           "holdings": {s: 1_000_000 for s in syms}}).json()
        apis.append(stack.login(user["id"]))
    stack.wait_quiet(120)
    return syms, apis


def send_batches(stack: RunningStack, apis: list[Api], syms: list[str], seconds: float, rate: float,
                 batch: int, senders: int, seed: int) -> tuple[Sending, float]:
    """Batches from every trader in turn, flat out (rate 0) or at `rate` orders/s."""
    out = Sending()
    sender = OrderSender(stack.url)
    tokens = [token_of(a) for a in apis]
    started = time.time()
    deadline = started + seconds
    counter = iter(range(10**9))
    lock = threading.Lock()

    def loop(worker: int) -> None:
        rng = random.Random(seed * 1000 + worker)
        while True:
            with lock:
                n = next(counter)
            if rate:
                due = started + n * batch / rate
                if due >= deadline:
                    return
                delay = due - time.time()
                if delay > 0:
                    time.sleep(delay)
            elif time.time() >= deadline:
                return
            body = {"orders": [random_order(rng, syms) for _ in range(batch)]}
            t0 = time.time()
            try:
                status, answer = sender.post(tokens[n % len(tokens)], "/api/orders/batch", body)
            except (OSError, http.client.HTTPException) as exc:
                with out.lock:
                    out.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            out.record(t0, status, answer, single=False)

    with ThreadPoolExecutor(max_workers=senders) as pool:
        for f in [pool.submit(loop, w) for w in range(senders)]:
            f.result()
    return out, time.time() - started


def send_steady(stack: RunningStack, apis: list[Api], syms: list[str], seconds: float, rate: float,
                seed: int) -> Sending:
    """Single orders at a steady rate (each its own POST /api/orders)."""
    out = Sending()
    sender = OrderSender(stack.url)
    tokens = [token_of(a) for a in apis]
    rng = random.Random(seed)
    total = int(rate * seconds)
    started = time.perf_counter()

    def place(token: str, body: dict[str, Any]) -> None:
        t0 = time.time()
        try:
            status, answer = sender.post(token, "/api/orders", body)
        except (OSError, http.client.HTTPException) as exc:
            with out.lock:
                out.errors.append(f"{type(exc).__name__}: {exc}")
            return
        out.record(t0, status, answer, single=True)

    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(place, tokens[i % len(tokens)], random_order(rng, syms))
    return out


def outbox_rows(stack: RunningStack) -> int:
    total = 0
    for database in (d for service in SERVICES for d in stack.settings.databases(service)):
        with stack.db(database) as conn:
            total += conn.execute("SELECT last_value FROM outbox_id_seq").fetchone()["last_value"]
    return total


def run(stack: RunningStack, seconds: float, rate: float, batch: int, senders: int, symbols: int,
        traders: int, steady_rate: float, steady_seconds: float, ceiling_seconds: float,
        seed: int = 7) -> dict[str, Any]:
    under = ceilings.measure(stack.settings, ceiling_seconds)
    syms, apis = setup(stack, symbols, traders)
    watched = Fills(stack.url, apis[: min(8, len(apis))])
    watched_ids = {a.user_id for a in apis[: len(watched.clients)]}
    groups = process_groups(stack)
    with stack.db("order_matching") as conn:  # a grown database holds its history's trades
        trades_before = conn.execute("SELECT count(*) AS n FROM executions").fetchone()["n"]

    # 2. throughput
    before, rows_before = sample_processes(groups), outbox_rows(stack)
    t0 = time.time()
    flow, send_s = send_batches(stack, apis, syms, seconds, rate, batch, senders, seed)
    stack.wait_quiet(600)
    e2e_s = time.time() - t0
    after, rows_after = sample_processes(groups), outbox_rows(stack)
    published = rows_after - rows_before

    # 3. latency at a steady rate (and what each process spends on it: single orders
    # cost far more per order than batches, each its own HTTP request and worker batches)
    steady_before, t1 = sample_processes(groups), time.time()
    steady = send_steady(stack, apis, syms, steady_seconds, steady_rate, seed + 1) if steady_seconds else None
    stack.wait_quiet(120)
    steady_after, steady_s = sample_processes(groups), time.time() - t1
    time.sleep(0.5)
    watched.close()

    def filled_latencies(sending: Sending) -> list[float]:
        with watched.lock:
            return [(watched.filled_at[oid] - t) * 1000 for oid, t in sending.sent_at.items()
                    if oid in watched.filled_at]

    with stack.db("order_matching") as conn:
        trades = conn.execute("SELECT count(*) AS n FROM executions").fetchone()["n"] - trades_before
    audit = stack.audit()
    processes = {
        name: {"cpu_s": round(after[name].cpu_s - before[name].cpu_s, 1),
               "cpu_pct_of_one_core": round(100 * (after[name].cpu_s - before[name].cpu_s) / e2e_s, 1),
               "rss_mb": round(after[name].rss_mb, 1), "peak_mb": round(after[name].peak_mb, 1),
               "steady_cpu_pct_of_one_core": round(
                   100 * (steady_after[name].cpu_s - steady_before[name].cpu_s) / steady_s, 1)}
        for name in groups
    }
    return {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "ceilings": under,
        "throughput": {
            "mode": f"flat out, {senders} senders" if not rate else f"{rate:.0f} orders/s target",
            "batch": batch, "seconds_sending": round(send_s, 1), "seconds_end_to_end": round(e2e_s, 1),
            "accepted": flow.accepted, "rejected": flow.rejected, "errors": flow.errors[:5],
            "send_orders_per_s": round(flow.accepted / send_s, 1),
            "end_to_end_orders_per_s": round(flow.accepted / e2e_s, 1),
            "trades_total": trades,
            "batch_ack": summary(flow.ack_ms),
            "placed_to_filled_push": summary(filled_latencies(flow)),
            "broker_publishes_per_s": round(published / e2e_s, 1),
            "broker_share_of_ceiling_pct": round(
                100 * published / e2e_s / max(under["rabbitmq"]["publish_confirmed_per_s"], 1), 1),
        },
        "steady": None if steady is None else {
            "rate": steady_rate, "seconds": steady_seconds, "accepted": steady.accepted,
            "rejected": steady.rejected, "errors": steady.errors[:5],
            "rest_ack": summary(steady.ack_ms),
            "placed_to_filled_push": summary(filled_latencies(steady)),
        },
        "processes": processes,
        "watched_traders": sorted(watched_ids),
        "audit_violations": audit,
        "targets": TARGETS,
    }


def report(result: dict[str, Any]) -> None:
    c, t, s = result["ceilings"], result["throughput"], result["steady"]
    print("\nceilings (same machine, same run)")
    print(f"  RabbitMQ persistent publish, confirms pipelined: {c['rabbitmq']['publish_confirmed_per_s']:>8} msg/s")
    print(f"  RabbitMQ consume, manual acks (multiple):       {c['rabbitmq']['consume_acked_per_s']:>8} msg/s")
    print(f"  PostgreSQL one row per commit:                  {c['postgresql']['commits_per_s_one_row']:>8} commits/s")
    print(f"  PostgreSQL 100 rows per commit:                 {c['postgresql']['rows_per_s_100_per_commit']:>8} rows/s")
    print(f"\nthroughput ({t['mode']}, batches of {t['batch']}, {t['seconds_sending']} s sending)")
    print(f"  accepted {t['accepted']}, rejected {t['rejected'] or 0}, trades {t['trades_total']}")
    print(f"  end to end: {t['end_to_end_orders_per_s']} orders/s (sending {t['send_orders_per_s']}/s; "
          f"quiet after {t['seconds_end_to_end']} s)")
    print(f"  broker publishes {t['broker_publishes_per_s']}/s = {t['broker_share_of_ceiling_pct']} % of the ceiling")
    rows = [("batch ack", t["batch_ack"]), ("placed->filled push", t["placed_to_filled_push"])]
    if s:
        print(f"  steady phase: {s['rate']:.0f} orders/s single orders for {s['seconds']:.0f} s, "
              f"accepted {s['accepted']}")
        rows += [(f"REST ack @{s['rate']:.0f}/s", s["rest_ack"]),
                 (f"placed->filled @{s['rate']:.0f}/s", s["placed_to_filled_push"])]
    print(f"\n{'latency':28} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, fig in rows:
        print(f"{name:28} {fig['n']:>7} {fig['p50_ms']:>8} {fig['p95_ms']:>8} {fig['p99_ms']:>8}")
    steady_col = f"% @{s['rate']:.0f}/s" if s else "% steady"
    print(f"\n{'process':26} {'CPU s':>7} {'% core':>7} {steady_col:>9} {'RSS MB':>7} {'peak MB':>8}")
    for name, p in sorted(result["processes"].items(), key=lambda kv: -kv[1]["cpu_s"]):
        print(f"{name:26} {p['cpu_s']:>7} {p['cpu_pct_of_one_core']:>7} {p['steady_cpu_pct_of_one_core']:>9} "
              f"{p['rss_mb']:>7} {p['peak_mb']:>8}")
    print("(% core: of one core over the throughput phase; the next column over the steady phase)")
    audit = result["audit_violations"]
    print(f"\naudit: {audit if audit else 'clean'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the throughput phase")
    parser.add_argument("--rate", type=float, default=0.0, help="orders/s in the throughput phase (0: flat out)")
    parser.add_argument("--batch", type=int, default=100, help="orders per POST /api/orders/batch")
    parser.add_argument("--senders", type=int, default=4, help="concurrent sending threads")
    parser.add_argument("--symbols", type=int, default=8)
    parser.add_argument("--traders", type=int, default=40)
    parser.add_argument("--steady-rate", type=float, default=200.0)
    parser.add_argument("--steady-seconds", type=float, default=20.0)
    parser.add_argument("--ceiling-seconds", type=float, default=3.0)
    parser.add_argument("--shards", type=int, default=1, help="order_matching shards (PAPERTRADE_MATCHING_SHARDS)")
    parser.add_argument("--json", default="bench/results/end_to_end.json")
    parser.add_argument("--grown", action="store_true",
                        help="first grow the databases to a semester's size (bench/grow.py)")
    args = parser.parse_args(argv)
    env = {"PAPERTRADE_LOG_LEVEL": os.environ.get("PAPERTRADE_LOG_LEVEL", "WARNING")}
    with running_stack("bench-e2e", extra_env=env, matching_shards=args.shards) as stack:
        if args.grown:  # measure against a semester's tables, not empty ones
            grow_stack(stack)
        result = run(stack, args.seconds, args.rate, args.batch, args.senders, args.symbols, args.traders,
                     args.steady_rate, args.steady_seconds, args.ceiling_seconds)
    result["matching_shards"] = args.shards
    report(result)
    finish(result, args.json)
    return result


if __name__ == "__main__":
    main()
