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
  push after it;
- REST -> first order push: from sending POST /api/orders to the owner's client
  receiving the first `order` push for it.

and prints p50/p95/p99 for each. Not a test: nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import http.client
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import socketio

from stack.local import Api, RunningStack, running_stack

from .common import OrderSender, save_result, summary, token_of


class Screen:
    """One trader's browser stand-in: records when each push arrived."""

    def __init__(self, url: str, token: str) -> None:
        self.lock = threading.Lock()
        self.order_first: dict[int, float] = {}
        self.order_filled: dict[int, float] = {}
        self.portfolio_at: list[float] = []
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
            self.portfolio_at.append(now)

    def first_portfolio_after(self, t: float) -> float | None:
        with self.lock:
            later = [x for x in self.portfolio_at if x >= t]
        return min(later) if later else None


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
    screens = {api.user_id: Screen(stack.url, token_of(api)) for api in makers + takers}
    sent: dict[int, tuple[int, float]] = {}  # order id -> (user id, time sent)
    errors: list[str] = []
    lock = threading.Lock()

    sender = OrderSender(stack.url)
    tokens = {api.user_id: token_of(api) for api in makers + takers}

    def place(api: Api, body: dict[str, Any]) -> None:
        t0 = time.time()
        try:
            status, answer = sender.post(tokens[api.user_id], "/api/orders", body)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        if status != 201:
            errors.append(f"{status} {str(answer)[:200]}")
            return
        with lock:
            sent[answer["id"]] = (api.user_id, t0)

    interval = 1.0 / rate
    total = int(rate * seconds)
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
    stack.wait_quiet(120)
    time.sleep(0.5)

    with stack.db("order_matching") as conn:
        rows = conn.execute("SELECT buy_order_id, sell_order_id, executed_at FROM executions").fetchall()
    executed: dict[int, float] = {}
    for r in rows:
        ts = r["executed_at"].timestamp() if isinstance(r["executed_at"], datetime) else float(r["executed_at"])
        executed.setdefault(r["buy_order_id"], ts)
        executed.setdefault(r["sell_order_id"], ts)

    trade_to_order, trade_to_portfolio, rest_to_first = [], [], []
    missing = 0
    for order_id, (user_id, t0) in sent.items():
        screen = screens[user_id]
        first = screen.order_first.get(order_id)
        if first is None:
            missing += 1
            continue
        rest_to_first.append((first - t0) * 1000)
        if order_id in executed and order_id in screen.order_filled:
            ex = executed[order_id]
            trade_to_order.append((screen.order_filled[order_id] - ex) * 1000)
            p = screen.first_portfolio_after(ex)
            if p is not None:
                trade_to_portfolio.append((p - ex) * 1000)
    for screen in screens.values():
        # Fire and forget: a websocket close handshake must not hold up the report.
        threading.Thread(target=screen.sio.disconnect, daemon=True).start()
    audit = stack.audit()

    return {
        "rate_target": rate, "seconds": seconds, "orders_sent": len(sent), "send_errors": len(errors),
        "achieved_rate": round(len(sent) / elapsed, 1), "trades": len(rows), "orders_without_push": missing,
        "trade_to_order_push": summary(trade_to_order),
        "trade_to_portfolio_push": summary(trade_to_portfolio),
        "rest_to_first_order_push": summary(rest_to_first),
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
    print(f"orders with no push: {result['orders_without_push']}; send errors: {result['send_errors']}; "
          f"audit: {'clean' if not result['audit_violations'] else result['audit_violations']}")
    save_result(result, args.json)


if __name__ == "__main__":
    main()
