"""Soak: a long steady load with bots and browsers' worth of Socket.IO clients; is
every process's memory flat, latency steady, the audit clean at the end?

    python -m bench.soak                         # 10 minutes at 300 orders/s, house bots on, 40 push clients
    python -m bench.soak --minutes 1 --rate 100  # a quick look

It starts its own exchange, sets up traders and symbols as bench/end_to_end.py does,
starts the house bots, connects `--clients` Socket.IO clients (half logged in as
traders, each watching every symbol, as a trading screen does), then sends
batches of orders (end_to_end's order mix: limits around the price, some IOC and
market orders) at `--rate` orders/s in windows of `--window` seconds. After each
window it samples every process's resident memory and the window's latencies
(batch acknowledgement, placed -> filled push). At the end it stops the bots,
waits for quiet and audits. Memory growth is reported as the last window's RSS
minus the first window's (start-up and warm-up excluded) per process.

Results go to bench/results/soak.json. Not a test: nothing asserts a target; a
run whose audit fails exits 1.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Any

import socketio

from stack.local import Api, RunningStack, running_stack

from .common import finish, process_groups, sample_processes, summary, token_of
from .end_to_end import Fills, send_batches, setup


class Watchers:
    """Socket.IO clients as the trading screens open them: a token (or none), every symbol watched."""

    def __init__(self, url: str, apis: list[Api], symbols: list[str], count: int) -> None:
        self.lock = threading.Lock()
        self.events = 0
        self.clients: list[socketio.Client] = []
        for i in range(count):
            sio = socketio.Client(reconnection=True)
            sio.on("*", self._on_any)
            token = token_of(apis[i % len(apis)]) if i % 2 == 0 else None
            sio.connect(url, auth={"token": token} if token else None, transports=["websocket"], wait_timeout=10)
            sio.call("subscribe", {"symbols": symbols}, timeout=10)
            self.clients.append(sio)

    def _on_any(self, event: str, *args: Any) -> None:
        with self.lock:
            self.events += 1

    def connected(self) -> int:
        return sum(1 for c in self.clients if c.connected)

    def close(self) -> None:
        for sio in self.clients:
            threading.Thread(target=sio.disconnect, daemon=True).start()


def bots(stack: RunningStack, action: str) -> int:
    return stack.instructor().post(f"/api/bots/{action}").status_code


def run(stack: RunningStack, seconds: float, rate: float, window: float, clients: int, with_bots: bool,
        batch: int = 10, symbols: int = 4, traders: int = 20, seed: int = 11) -> dict[str, Any]:
    syms, apis = setup(stack, symbols, traders)
    fills = Fills(stack.url, apis[: min(8, len(apis))])
    watchers = Watchers(stack.url, apis, syms, clients)
    bots_started = bots(stack, "start") if with_bots else None
    groups = process_groups(stack)
    windows: list[dict[str, Any]] = []
    started = time.time()
    for n in range(max(1, round(seconds / window))):
        sending, took = send_batches(stack, apis, syms, window, rate, batch, 4, seed + n)
        with fills.lock:
            filled = [(fills.filled_at[oid] - t) * 1000 for oid, t in sending.sent_at.items()
                      if oid in fills.filled_at]
        sample = sample_processes(groups)
        windows.append({
            "at_s": round(time.time() - started, 1), "accepted": sending.accepted,
            "orders_per_s": round(sending.accepted / took, 1), "errors": len(sending.errors),
            "batch_ack": summary(sending.ack_ms), "placed_to_filled_push": summary(filled),
            "rss_mb": {name: round(s.rss_mb, 1) for name, s in sample.items()},
            "push_clients_connected": watchers.connected(),
        })
        w = windows[-1]
        print(f"  {w['at_s']:>6}s  {w['orders_per_s']:>6}/s  ack p99 {w['batch_ack']['p99_ms']} ms  "
              f"fill push p99 {w['placed_to_filled_push']['p99_ms']} ms  errors {w['errors']}  "
              f"push clients {w['push_clients_connected']}", flush=True)
    if with_bots:
        bots(stack, "stop")
    stack.wait_quiet(300)
    push_events = watchers.events
    watchers.close()
    fills.close()
    audit = stack.audit()
    first, last = windows[0]["rss_mb"], windows[-1]["rss_mb"]
    growth = {name: round(last[name] - first[name], 1) for name in first if name in last}
    p99s = [w["batch_ack"]["p99_ms"] for w in windows]
    return {
        "seconds": round(time.time() - started, 1), "rate": rate, "window_s": window, "bots": bots_started,
        "push_clients": clients, "push_events_received": push_events,
        "accepted": sum(w["accepted"] for w in windows), "errors": sum(w["errors"] for w in windows),
        "windows": windows, "rss_first_window_mb": first, "rss_last_window_mb": last,
        "rss_growth_mb": growth,
        "batch_ack_p99_ms_first_last_max": [p99s[0], p99s[-1], max(p99s)],
        "audit_violations": audit,
    }


def report(result: dict[str, Any]) -> None:
    print(f"\nsoak: {result['seconds']} s at {result['rate']:.0f} orders/s target, bots {result['bots']}, "
          f"{result['push_clients']} push clients ({result['push_events_received']} events received)")
    print(f"  accepted {result['accepted']}, errors {result['errors']}")
    print(f"  batch ack p99 first/last/max window: {result['batch_ack_p99_ms_first_last_max']} ms")
    print(f"\n{'process':26} {'RSS first':>10} {'RSS last':>9} {'growth':>7}  (MB)")
    for name, g in sorted(result["rss_growth_mb"].items(), key=lambda kv: -abs(kv[1])):
        print(f"{name:26} {result['rss_first_window_mb'][name]:>10} {result['rss_last_window_mb'][name]:>9} {g:>7}")
    print(f"\naudit: {result['audit_violations'] or 'clean'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=300.0, help="orders/s sent by the traders (bots add theirs)")
    parser.add_argument("--window", type=float, default=30.0, help="seconds per sample")
    parser.add_argument("--clients", type=int, default=40, help="Socket.IO clients connected throughout")
    parser.add_argument("--no-bots", action="store_true")
    parser.add_argument("--json", default="bench/results/soak.json")
    args = parser.parse_args(argv)
    env = {"PAPERTRADE_LOG_LEVEL": os.environ.get("PAPERTRADE_LOG_LEVEL", "WARNING")}
    with running_stack("bench-soak", extra_env=env) as stack:
        result = run(stack, args.minutes * 60, args.rate, args.window, args.clients, not args.no_bots)
    report(result)
    finish(result, args.json)
    return result


if __name__ == "__main__":
    main()
