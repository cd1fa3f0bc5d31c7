"""Push latency benchmark: how fast does a trader's screen learn what happened?

    python -m bench.push_latency [--rate 100] [--seconds 30] [--json bench/results/push_latency.json]

Starts its own exchange (every process, real PostgreSQL and RabbitMQ, as
`./run.sh` does), connects one Socket.IO client per trader (websocket, as a
browser would), and sends orders at a steady rate: half are resting limit sells
from market makers, half are limit buys from takers that cross them, so every
pair trades. It measures, per filled order, with the wall clock of this one
machine:

- trade -> order push: from the trade's execution (its `executed_at`, stamped by
  order_matching) to the owner's client receiving that order as `filled`;
- trade -> portfolio push: from the execution to the owner's first `portfolio`
  push that shows it (the position moved by that many fills: a push announcing an
  earlier reservation, arriving after the trade, does not count);
- REST -> first order push: from sending POST /api/orders to the owner's client
  receiving the first `order` push for it.

and prints p50/p95/p99 for each. A tap (a second subscriber next to the gateway)
splits the portfolio path into its hops: the trade leaving order_matching,
user_portfolio writing the `portfolio.updated`, that event leaving the broker,
the screen receiving it. Not a test: nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import pika
import socketio

from stack.local import Api, RunningStack, running_stack

from .common import OrderSender, pct, process_groups, sample_processes, save_result, summary, token_of


class Screen:
    """One trader's browser stand-in: records when each push arrived."""

    def __init__(self, url: str, token: str, shares: int) -> None:
        self.lock = threading.Lock()
        self.shares = shares  # shares held before the run (all symbols together)
        self.order_first: dict[int, float] = {}
        self.order_filled: dict[int, float] = {}
        self.portfolio_at: list[tuple[float, int]] = []  # (received, fills it shows)
        self.sio = socketio.Client(reconnection=True)
        self.sio.on("order", self._on_order)
        self.sio.on("portfolio", self._on_portfolio)
        self.sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)

    def _on_order(self, order: dict[str, Any]) -> None:
        now = time.time()
        with self.lock:
            self.order_first.setdefault(order["id"], now)
            if order["status"] == "filled":
                self.order_filled.setdefault(order["id"], now)

    def _on_portfolio(self, portfolio: dict[str, Any]) -> None:
        now = time.time()
        with self.lock:
            self.portfolio_at.append((now, fills_shown(portfolio, self.shares)))

    def record(self) -> dict[str, Any]:
        with self.lock:
            return {"order_first": dict(self.order_first), "order_filled": dict(self.order_filled),
                    "portfolio_at": list(self.portfolio_at)}

    def close(self) -> None:
        # Fire and forget: a websocket close handshake must not hold up the report.
        threading.Thread(target=self.sio.disconnect, daemon=True).start()


class Screens:
    """Every trader's screen, in one process of their own (as browsers would be): in
    the process that sends the orders, the clients' threads waited for its GIL and
    added tens of milliseconds to what they measured."""

    def __init__(self, url: str, traders: dict[int, tuple[str, int]]) -> None:
        self.screens = {user_id: Screen(url, token, shares) for user_id, (token, shares) in traders.items()}

    def record(self) -> dict[int, dict[str, Any]]:
        return {user_id: screen.record() for user_id, screen in self.screens.items()}

    def close(self) -> None:
        for screen in self.screens.values():
            screen.close()


def fills_shown(portfolio: dict[str, Any], shares: int) -> int:
    """Every order here is for one share, so a portfolio's fills are how far its
    shares (all symbols) moved from where they started."""
    return abs(sum(int(p["qty"]) for p in portfolio["positions"]) - shares)


class Tap:
    """Subscribes to `trade.executed` and `portfolio.updated` as the gateway does (its
    own exclusive queue) and records when each reached it, and when user_portfolio
    wrote each `portfolio.updated` (its envelope's occurred_at, stamped just before
    the commit)."""

    def __init__(self, amqp_url: str, exchange: str, shares: dict[int, int]) -> None:
        self.shares = shares  # user -> shares held before the run
        self.trade_at: dict[int, float] = {}  # order id -> when its trade reached the tap
        self.portfolios: dict[int, list[tuple[float, float, int]]] = {}  # user -> [(written, reached tap, fills)]
        self._connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        channel = self._connection.channel()
        queue = channel.queue_declare("", exclusive=True, auto_delete=True,
                                      arguments={"x-queue-type": "classic"}).method.queue
        for key in ("trade.executed.#", "portfolio.updated.#"):
            channel.queue_bind(queue, exchange, routing_key=key)
        channel.basic_consume(queue, self._on_message, auto_ack=True)
        self._thread = threading.Thread(target=channel.start_consuming, daemon=True, name="tap")
        self._thread.start()

    def _on_message(self, channel: Any, method: Any, props: Any, body: bytes) -> None:
        now = time.time()
        message = json.loads(body)
        payload = message["payload"]
        if message["type"] == "trade.executed":
            self.trade_at.setdefault(payload["buy_order_id"], now)
            self.trade_at.setdefault(payload["sell_order_id"], now)
        else:
            user_id = payload["user_id"]
            if user_id in self.shares:
                written = datetime.fromisoformat(message["occurred_at"]).timestamp()
                shown = fills_shown(payload["portfolio"], self.shares[user_id])
                self.portfolios.setdefault(user_id, []).append((written, now, shown))

    def record(self) -> dict[str, Any]:
        self._connection.add_callback_threadsafe(self._connection.close)
        self._thread.join(5)
        return {"trade_at": self.trade_at, "portfolios": self.portfolios}

    def close(self) -> None:
        pass


def _observe(make: Callable[..., Any], args: tuple, pipe: Connection) -> None:
    """A child process: build the observer, say so, record until told to stop, send the record."""
    observer = make(*args)
    pipe.send("ready")
    pipe.recv()
    pipe.send(observer.record())
    observer.close()


class Observer:
    """Runs `make(*args)` (Screens or Tap) in a process of its own."""

    def __init__(self, make: Callable[..., Any], *args: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.process = ctx.Process(target=_observe, args=(make, args, child), daemon=True)
        self.process.start()
        if not self.pipe.poll(30) or self.pipe.recv() != "ready":
            raise RuntimeError(f"{make.__name__} did not start")

    def stop(self) -> Any:
        self.pipe.send("stop")
        record = self.pipe.recv()
        self.process.join(10)
        return record


def first_showing(times: list[tuple[float, int]], fills: int) -> float | None:
    """When the first push showing at least `fills` fills arrived."""
    showing = [t for t, shown in times if shown >= fills]
    return min(showing) if showing else None


def last_trade_id(stack: RunningStack) -> int:
    with stack.db("order_matching") as conn:
        return conn.execute("SELECT coalesce(max(trade_id), 0) AS n FROM executions").fetchone()["n"]


def order_fills(stack: RunningStack, after_trade: int = 0) -> tuple[dict[int, float], dict[int, int], int]:
    """From matching's executions after `after_trade`, in trade order: when each order
    first filled, its owner's fill count at that moment counted from there (which
    portfolio push shows that fill), and the trades."""
    with stack.db("order_matching") as conn:
        rows = conn.execute("SELECT buy_order_id, sell_order_id, buyer_id, seller_id, executed_at"
                            " FROM executions WHERE trade_id > %s ORDER BY trade_id", (after_trade,)).fetchall()
    executed: dict[int, float] = {}
    nth_fill: dict[int, int] = {}  # order id -> its owner's fill count once it filled
    fills: dict[int, int] = {}
    for r in rows:
        ts = r["executed_at"].timestamp() if isinstance(r["executed_at"], datetime) else float(r["executed_at"])
        for order_id, user_id in ((r["buy_order_id"], r["buyer_id"]), (r["sell_order_id"], r["seller_id"])):
            executed.setdefault(order_id, ts)
            fills[user_id] = fills.get(user_id, 0) + 1
            nth_fill.setdefault(order_id, fills[user_id])
    return executed, nth_fill, len(rows)


def run(stack: RunningStack, rate: float, seconds: float, symbols: int, pairs: int) -> dict[str, Any]:
    teacher = stack.instructor()
    syms = []
    for i in range(symbols):
        sym = f"LAT{i}"
        assert teacher.post("/api/stocks", {"symbol": sym, "name": f"Latency {i}", "reference_price": "100.00"}
                            ).status_code in (201, 409)
        syms.append(sym)
    makers, takers = [], []
    run_id = uuid.uuid4().hex[:6]
    for i in range(pairs):
        m = teacher.post("/api/users", {"name": f"maker-{i}-{run_id}", "starting_cash": "0.00",
                                        "holdings": {s: 100000 for s in syms}}).json()
        t = teacher.post("/api/users", {"name": f"taker-{i}-{run_id}", "starting_cash": "100000000.00"}).json()
        makers.append(stack.login(m["id"]))
        takers.append(stack.login(t["id"]))
    stack.wait_quiet()
    shares = {api.user_id: 100000 * len(syms) for api in makers} | {api.user_id: 0 for api in takers}
    screens = Observer(Screens, stack.url, {api.user_id: (token_of(api), shares[api.user_id])
                                            for api in makers + takers})
    tap = Observer(Tap, stack.settings.amqp_url, stack.settings.exchange, shares)
    sent: dict[int, tuple[int, float]] = {}  # order id -> (user id, time sent)
    errors: list[str] = []
    lock = threading.Lock()

    sender = OrderSender(stack.url)
    tokens = {api.user_id: token_of(api) for api in makers + takers}

    def place(api: Api, body: dict[str, Any]) -> None:
        t0 = time.time()
        order_id = sender.place(tokens[api.user_id], body, errors)
        if order_id is not None:
            with lock:
                sent[order_id] = (api.user_id, t0)

    interval = 1.0 / rate
    total = int(rate * seconds)
    groups = process_groups(stack)
    groups["benchmark (orders)"] = [os.getpid()]
    groups["benchmark (screens)"] = [screens.process.pid]
    groups["benchmark (tap)"] = [tap.process.pid]
    cpu_before = sample_processes(groups)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(total):
            target = started + i * interval
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            k = (i // 2) % pairs
            sym = syms[(i // 2) % len(syms)]
            if i % 2 == 0:
                pool.submit(place, makers[k], {"symbol": sym, "side": "sell", "type": "limit", "qty": 1,
                                               "limit_price": "100.00", "time_in_force": "gtc"})
            else:
                pool.submit(place, takers[k], {"symbol": sym, "side": "buy", "type": "limit", "qty": 1,
                                               "limit_price": "100.00", "time_in_force": "ioc"})
    elapsed = time.perf_counter() - started
    cpu_after = sample_processes(groups)
    cpu = {name: round(100 * (cpu_after[name].cpu_s - cpu_before[name].cpu_s) / elapsed, 1) for name in groups}
    stack.wait_quiet(120)
    time.sleep(0.5)
    seen = screens.stop()  # user id -> what their screen received, and when
    tapped = tap.stop()

    executed, nth_fill, trades = order_fills(stack)

    trade_to_order, trade_to_portfolio, rest_to_first = [], [], []
    hops: dict[str, list[float]] = {"trade_published": [], "portfolio_written": [], "portfolio_published": []}
    missing = 0
    for order_id, (user_id, t0) in sent.items():
        screen = seen[user_id]
        first = screen["order_first"].get(order_id)
        if first is None:
            missing += 1
            continue
        rest_to_first.append((first - t0) * 1000)
        if order_id in executed and order_id in screen["order_filled"]:
            ex = executed[order_id]
            trade_to_order.append((screen["order_filled"][order_id] - ex) * 1000)
            p = first_showing(screen["portfolio_at"], nth_fill[order_id])
            if p is not None:
                trade_to_portfolio.append((p - ex) * 1000)
            if order_id in tapped["trade_at"]:
                hops["trade_published"].append((tapped["trade_at"][order_id] - ex) * 1000)
            events = tapped["portfolios"].get(user_id, [])
            written = first_showing([(w, shown) for w, _, shown in events], nth_fill[order_id])
            published = first_showing([(t, shown) for _, t, shown in events], nth_fill[order_id])
            if written is not None and published is not None:
                hops["portfolio_written"].append((written - ex) * 1000)
                hops["portfolio_published"].append((published - ex) * 1000)
    audit = stack.audit()

    return {
        "rate_target": rate, "seconds": seconds, "orders_sent": len(sent), "send_errors": len(errors),
        "achieved_rate": round(len(sent) / elapsed, 1), "trades": trades, "orders_without_push": missing,
        "trade_to_order_push": summary(trade_to_order),
        "trade_to_portfolio_push": summary(trade_to_portfolio),
        "rest_to_first_order_push": summary(rest_to_first),
        # medians along the portfolio path, each from the trade's execution
        "portfolio_path_p50_ms": {k: round(pct(v, 50), 1) for k, v in hops.items()},
        # while sending, % of one core; 2 cores = 200
        "cpu_pct_of_one_core": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
        "audit_violations": audit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="orders per second (steady)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--symbols", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=5,
                        help="maker/taker pairs, each trader with its own Socket.IO client")
    parser.add_argument("--json", default="bench/results/push_latency.json")
    args = parser.parse_args()
    with running_stack("bench-push", extra_env={"PAPERTRADE_LOG_LEVEL": os.environ.get("PAPERTRADE_LOG_LEVEL", "WARNING")}) as stack:
        result = run(stack, args.rate, args.seconds, args.symbols, args.pairs)
    print(f"\npush latency at {result['rate_target']:.0f} orders/s for {result['seconds']:.0f} s "
          f"({result['orders_sent']} orders, {result['trades']} trades, achieved {result['achieved_rate']}/s)")
    print(f"{'':28} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for key in ("trade_to_order_push", "trade_to_portfolio_push", "rest_to_first_order_push"):
        s = result[key]
        print(f"{key:28} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8}")
    path = result["portfolio_path_p50_ms"]
    print(f"portfolio path, p50 from the trade: trade.executed left the broker {path['trade_published']} ms; "
          f"user_portfolio wrote portfolio.updated {path['portfolio_written']} ms; it left the broker "
          f"{path['portfolio_published']} ms; on screen {result['trade_to_portfolio_push']['p50_ms']} ms")
    cpu = result["cpu_pct_of_one_core"]
    print(f"CPU while sending, % of one core (total {sum(cpu.values()):.0f} of {100 * (os.cpu_count() or 1)}): "
          + ", ".join(f"{name} {pct_}" for name, pct_ in cpu.items()))
    print(f"orders with no push: {result['orders_without_push']}; send errors: {result['send_errors']}; "
          f"audit: {'clean' if not result['audit_violations'] else result['audit_violations']}")
    save_result(result, args.json)


if __name__ == "__main__":
    main()
