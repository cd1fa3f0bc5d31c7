"""Steady-rate benchmark: what one order costs, and how fast its owner sees it, at a
steady rate of single orders (POST /api/orders, one request each), from a quiet exchange.

    python -m bench.steady                        # 20, 100 and 200 orders/s, 30 s each
    python -m bench.steady --rates 100 --seconds 20

It starts its own exchange (every process, as `./run.sh` does), measures the ceilings
of RabbitMQ and PostgreSQL and the idle exchange, then, per rate, after the exchange
has gone quiet: sends orders in a repeating group of four, so that about half of them
trade: a maker's resting sell and a taker's crossing IOC buy (they trade), and two
passive orders that rest away from the price. Every maker and taker has a Socket.IO
screen in a process of its own (as browsers would). Per rate it prints:

- REST acknowledgement p50/p99 (every order);
- trade -> owner's `order` push (filled) and trade -> owner's `portfolio` push (the
  first showing the fill), p50/p99;
- placed -> filled: from the REST call to the filled `order` push;
- CPU while sending: per process (% of one core), the whole machine (/proc/stat) and
  per order (ms of CPU per order, whole machine and the exchange alone: its processes,
  PostgreSQL and RabbitMQ; the benchmark's own senders and screens listed apart);
- resident memory per process after the phase.

Results also go to bench/results/steady.json. Not a test: nothing asserts a target.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stack.local import Api, RunningStack, running_stack

from . import ceilings, floor
from .common import (
    OrderSender,
    flow_counts,
    process_groups,
    sample_processes,
    save_result,
    statements,
    statements_reset,
    summary,
    token_of,
)
from .grow import grow_stack
from .push_latency import Observer, Screens, first_showing, last_trade_id, order_fills

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
EXCHANGE_EXTRA = ("postgresql", "rabbitmq")  # counted with the exchange's own processes


def machine_busy_s() -> float:
    """Every core's busy time so far (not idle, not waiting for I/O), in seconds."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS


class Window:
    """CPU of every process group and of the whole machine between start() and stop()."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups

    def start(self) -> None:
        self.before = sample_processes(self.groups)
        self.machine = machine_busy_s()
        self.t0 = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        after = sample_processes(self.groups)
        elapsed = time.perf_counter() - self.t0
        machine = machine_busy_s() - self.machine
        cpu = {name: after[name].cpu_s - self.before[name].cpu_s for name in self.groups}
        return {"elapsed_s": elapsed, "machine_cpu_s": machine, "cpu_s": cpu,
                "rss_mb": {name: round(after[name].rss_mb, 1) for name in self.groups}}


def exchange_cpu(cpu: dict[str, float]) -> float:
    return sum(v for name, v in cpu.items() if not name.startswith("benchmark"))


def setup_traders(stack: RunningStack, symbols: int, pairs: int) -> tuple[list[str], list[Api], list[Api], list[Api]]:
    teacher = stack.instructor()
    run_id = uuid.uuid4().hex[:6]
    syms = []
    for i in range(symbols):
        sym = f"ST{i}{run_id[:3].upper()}"
        assert teacher.post("/api/stocks", {"symbol": sym, "name": f"Steady {i}", "reference_price": "100.00"}
                            ).status_code == 201
        syms.append(sym)

    def trader(name: str, cash: str, shares: int) -> Api:
        body = teacher.post("/api/users", {"name": f"{name}-{run_id}", "starting_cash": cash,
                                           "holdings": {s: shares for s in syms} if shares else {}}).json()
        return stack.login(body["id"])

    makers = [trader(f"maker-{i}", "1000.00", 100000) for i in range(pairs)]
    takers = [trader(f"taker-{i}", "100000000.00", 0) for i in range(pairs)]
    passives = [trader(f"passive-{i}", "100000000.00", 100000) for i in range(pairs)]
    stack.wait_quiet()
    return syms, makers, takers, passives


def phase(stack: RunningStack, rate: float, seconds: float, syms: list[str], makers: list[Api],
          takers: list[Api], passives: list[Api], shares: dict[int, int], groups: dict[str, list[int]],
          screens: Observer) -> dict[str, Any]:
    sender = OrderSender(stack.url)
    tokens = {api.user_id: token_of(api) for api in makers + takers + passives}
    sent: dict[int, tuple[int, float]] = {}  # order id -> (user id, sent at)
    acks: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def place(api: Api, body: dict[str, Any]) -> None:
        t0 = time.time()
        order_id = sender.place(tokens[api.user_id], body, errors)
        took = (time.time() - t0) * 1000
        if order_id is not None:
            with lock:
                acks.append(took)
                sent[order_id] = (api.user_id, t0)

    total = int(rate * seconds)
    interval = 1.0 / rate
    counted = flow_counts(stack)
    tracing = statements_reset(stack)
    window = Window(groups)
    window.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(total):
            delay = started + i * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            k, kind = (i // 4) % len(makers), i % 4
            sym = syms[(i // 4) % len(syms)]
            if kind == 0:
                pool.submit(place, makers[k], {"symbol": sym, "side": "sell", "type": "limit", "qty": 1,
                                               "limit_price": "100.00", "time_in_force": "gtc"})
            elif kind == 1:
                pool.submit(place, takers[k], {"symbol": sym, "side": "buy", "type": "limit", "qty": 1,
                                               "limit_price": "100.00", "time_in_force": "ioc"})
            elif kind == 2:
                pool.submit(place, passives[k], {"symbol": sym, "side": "buy", "type": "limit", "qty": 1,
                                                 "limit_price": "90.00"})
            else:
                pool.submit(place, passives[k], {"symbol": sym, "side": "sell", "type": "limit", "qty": 1,
                                                 "limit_price": "110.00"})
    cpu = window.stop()
    stack.wait_quiet(120)
    time.sleep(1.5)  # PostgreSQL's statistics reach its views within about a second of going idle
    after = flow_counts(stack)
    seen = screens.stop()
    return {"sent": sent, "acks": acks, "errors": errors, "cpu": cpu, "seen": seen, "rate": rate,
            "seconds": seconds, "flow": {k: after[k] - counted[k] for k in after},
            "statements": statements(stack, len(sent)) if tracing else []}


def report(stack: RunningStack, raw: dict[str, Any], after_trade: int) -> dict[str, Any]:
    executed, nth_fill, _ = order_fills(stack, after_trade)
    trade_to_order, trade_to_portfolio, placed_to_filled = [], [], []
    for order_id, (user_id, t0) in raw["sent"].items():
        screen = raw["seen"].get(user_id)
        if screen is None or order_id not in executed:
            continue
        filled = screen["order_filled"].get(order_id)
        if filled is not None:
            trade_to_order.append((filled - executed[order_id]) * 1000)
            placed_to_filled.append((filled - t0) * 1000)
        shown = first_showing(screen["portfolio_at"], nth_fill[order_id])
        if shown is not None:
            trade_to_portfolio.append((shown - executed[order_id]) * 1000)
    cpu = raw["cpu"]
    orders = len(raw["sent"])
    per_order = {name: round(1000 * v / max(orders, 1), 3) for name, v in cpu["cpu_s"].items()}
    exchange = exchange_cpu(cpu["cpu_s"])
    return {
        "rate_target": raw["rate"], "seconds": raw["seconds"], "orders": orders,
        "achieved_rate": round(orders / cpu["elapsed_s"], 1), "send_errors": len(raw["errors"]),
        "errors_sample": raw["errors"][:5], "traded_orders": sum(1 for o in raw["sent"] if o in executed),
        "rest_ack": summary(raw["acks"]),
        "trade_to_order_push": summary(trade_to_order),
        "trade_to_portfolio_push": summary(trade_to_portfolio),
        "placed_to_filled": summary(placed_to_filled),
        "cpu_ms_per_order_machine": round(1000 * cpu["machine_cpu_s"] / max(orders, 1), 2),
        "cpu_ms_per_order_exchange": round(1000 * exchange / max(orders, 1), 2),
        "machine_cpu_pct_of_one_core": round(100 * cpu["machine_cpu_s"] / cpu["elapsed_s"], 1),
        "cpu_pct_of_one_core": dict(sorted(((n, round(100 * v / cpu["elapsed_s"], 1))
                                            for n, v in cpu["cpu_s"].items()), key=lambda kv: -kv[1])),
        "cpu_ms_per_order": dict(sorted(per_order.items(), key=lambda kv: -kv[1])),
        "rss_mb": cpu["rss_mb"],
        "per_order": {k: round(v / max(orders, 1), 2) for k, v in raw["flow"].items()},
        "statements": raw["statements"],
    }


def idle(groups: dict[str, list[int]], seconds: float) -> dict[str, Any]:
    window = Window(groups)
    window.start()
    time.sleep(seconds)
    cpu = window.stop()
    pct_ = {n: round(100 * v / cpu["elapsed_s"], 2) for n, v in cpu["cpu_s"].items()}
    return {"seconds": round(cpu["elapsed_s"], 1),
            "machine_pct_of_one_core": round(100 * cpu["machine_cpu_s"] / cpu["elapsed_s"], 2),
            "exchange_pct_of_one_core": round(sum(v for n, v in pct_.items() if not n.startswith("benchmark")), 2),
            "pct_of_one_core": dict(sorted(pct_.items(), key=lambda kv: -kv[1]))}


def run(stack: RunningStack, rates: list[float], seconds: float, symbols: int = 4, pairs: int = 5,
        idle_seconds: float = 20.0, ceiling_seconds: float = 3.0) -> dict[str, Any]:
    under = ceilings.measure(stack.settings, ceiling_seconds) if ceiling_seconds > 0 else {}
    units = floor.measure(stack.settings, rates, 2 * ceiling_seconds) if ceiling_seconds > 0 else {}
    syms, makers, takers, passives = setup_traders(stack, symbols, pairs)
    shares = {api.user_id: 100000 * len(syms) for api in makers} | {api.user_id: 0 for api in takers}
    groups = process_groups(stack)
    groups["benchmark (orders)"] = [os.getpid()]
    stack.wait_quiet()
    quiet = idle(groups, idle_seconds) if idle_seconds > 0 else {}
    phases = []
    for rate in rates:
        stack.wait_quiet(120)
        screens = Observer(Screens, stack.url, {api.user_id: (token_of(api), shares[api.user_id])
                                                for api in makers + takers})
        groups["benchmark (screens)"] = [screens.process.pid]
        after_trade = last_trade_id(stack)  # the screens count this phase's fills only
        raw = phase(stack, rate, seconds, syms, makers, takers, passives, shares, groups, screens)
        phases.append(report(stack, raw, after_trade))
        if units:
            phases[-1]["floor"] = floor_of(units[f"{rate:g}"], phases[-1]["per_order"])
        groups.pop("benchmark (screens)")
        # the next phase's screens count fills from where this one left them
        for api in makers:
            shares[api.user_id] = sum(int(p["qty"]) for p in api.portfolio()["positions"])
        for api in takers:
            shares[api.user_id] = sum(int(p["qty"]) for p in api.portfolio()["positions"])
    return {"ceilings": under, "floor_units": units, "idle": quiet, "phases": phases,
            "audit_violations": stack.audit()}


def floor_of(units: dict[str, Any], per_order: dict[str, float]) -> dict[str, float]:
    """The least CPU an order can cost with the publishes and deliveries it caused, each
    at its unbatched unit cost at this rate (bench/floor.py), and one commit (the door's;
    the workers' commits counted as free, so this is a lower bound)."""
    return {"ms_per_order": floor.floor_per_order(units, 1, per_order["publishes"], per_order["deliveries"]),
            "commit_ms": units["commit"]["total_ms"], "publish_ms": units["publish"]["total_ms"],
            "delivery_ms": units["delivery"]["total_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="20,100,200", help="orders/s, comma-separated, one phase each")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--symbols", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=5, help="makers, takers and passive traders of each kind")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--ceiling-seconds", type=float, default=3.0)
    parser.add_argument("--json", default="bench/results/steady.json")
    parser.add_argument("--grown", action="store_true",
                        help="first grow the databases to a semester's size (bench/grow.py)")
    args = parser.parse_args()
    env = {"PAPERTRADE_LOG_LEVEL": os.environ.get("PAPERTRADE_LOG_LEVEL", "WARNING")}
    with running_stack("bench-steady", extra_env=env) as stack:
        if args.grown:  # measure against a semester's tables, not empty ones
            grow_stack(stack)
        result = run(stack, [float(r) for r in args.rates.split(",")], args.seconds, args.symbols, args.pairs,
                     args.idle_seconds, args.ceiling_seconds)
    under = result["ceilings"]
    if under:
        print(f"\nceilings: RabbitMQ {under['rabbitmq']['publish_confirmed_per_s']:.0f} msg/s publish, "
              f"{under['rabbitmq']['consume_acked_per_s']:.0f} msg/s consume; PostgreSQL "
              f"{under['postgresql']['commits_per_s_one_row']:.0f} commits/s")
    if result["idle"]:
        q = result["idle"]
        print(f"idle: exchange {q['exchange_pct_of_one_core']} % of one core, machine {q['machine_pct_of_one_core']} %: "
              + ", ".join(f"{n} {v}" for n, v in q["pct_of_one_core"].items() if v >= 0.05))
    for p in result["phases"]:
        print(f"\n{p['rate_target']:.0f} orders/s for {p['seconds']:.0f} s: {p['orders']} orders "
              f"({p['achieved_rate']}/s), {p['traded_orders']} traded, {p['send_errors']} errors")
        print(f"{'':26} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for key in ("rest_ack", "trade_to_order_push", "trade_to_portfolio_push", "placed_to_filled"):
            s = p[key]
            print(f"{key:26} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8}")
        print(f"CPU per order: {p['cpu_ms_per_order_machine']} ms whole machine, {p['cpu_ms_per_order_exchange']} ms "
              f"the exchange (its processes, PostgreSQL, RabbitMQ); machine {p['machine_cpu_pct_of_one_core']} % "
              f"of one core")
        n = p["per_order"]
        print(f"per order: {n['publishes']} durable publishes, {n['deliveries']} durable deliveries, "
              f"{n['transactions']} transactions (read-only ones included)"
              + (f"; floor {p['floor']['ms_per_order']} ms (unbatched unit costs: commit {p['floor']['commit_ms']}, "
                 f"publish {p['floor']['publish_ms']}, delivery {p['floor']['delivery_ms']} ms)" if "floor" in p else ""))
        print("  % of one core: " + ", ".join(f"{n} {v}" for n, v in p["cpu_pct_of_one_core"].items() if v >= 0.1))
        if p["statements"]:
            print(f"  {'statement (pg_stat_statements, by total time)':<64} {'db':<15} {'/order':>7} {'mean ms':>8} "
                  f"{'max ms':>7} {'blocks':>7} {'read':>5}")
            for st in p["statements"]:
                print(f"  {st['query'][:64]:<64} {st['db'][:15]:<15} {st['calls_per_order']:>7} {st['mean_ms']:>8} "
                      f"{st['max_ms']:>7} {st['blocks_per_call']:>7} {st['reads_per_call']:>5}")
    print(f"audit: {'clean' if not result['audit_violations'] else result['audit_violations']}")
    save_result(result, args.json)


if __name__ == "__main__":
    main()
