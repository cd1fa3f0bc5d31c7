"""What a class's scenario costs with its house bots and nobody else trading.

    python -m bench.scenario                     # volatile, 60 s measured after 15 s warm-up
    python -m bench.scenario --name calm --seconds 30
    python -m bench.scenario --grown             # on databases grown to a semester first (bench/grow.py)

It starts its own exchange (every process, as `./run.sh` does), loads the scenario
with its bots started (POST /api/scenarios/<name>/load), lets them warm up, then
measures for `--seconds`: CPU per process (% of one core), the whole machine
(/proc/stat, as % of the 2 cores too), the bots' orders per second, and the REST
requests the bots made (from house_bots' own counters). Results also go to
bench/results/scenario.json. Not a test: nothing asserts a target.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from stack.local import RunningStack, running_stack

from .common import process_groups, save_result
from .grow import grow_stack
from .steady import Window, exchange_cpu


def orders_placed(stack: RunningStack) -> int:
    """The highest order id so far (ids only grow): the orders placed in between are the
    difference, read in O(log n) on a grown table too."""
    with stack.db("stock_ordering") as conn:
        return conn.execute("SELECT coalesce(max(id), 0) AS n FROM orders").fetchone()["n"]


def bot_requests(stack: RunningStack) -> int:
    """REST requests the bots made so far (house_bots' /api/bots status counts them)."""
    status = stack.instructor().get("/api/bots").json()
    return int(status.get("requests", 0))


def run(stack: RunningStack, name: str = "volatile", seconds: float = 60.0, warmup: float = 15.0) -> dict[str, Any]:
    instructor = stack.instructor()
    resp = instructor.post(f"/api/scenarios/{name}/load", {"start_bots": True})
    resp.raise_for_status()
    loaded = resp.json()
    time.sleep(warmup)
    groups = process_groups(stack)
    window = Window(groups)
    orders0, requests0 = orders_placed(stack), bot_requests(stack)
    window.start()
    time.sleep(seconds)
    cpu = window.stop()
    orders, requests = orders_placed(stack) - orders0, bot_requests(stack) - requests0
    instructor.post("/api/bots/stop")
    elapsed = cpu["elapsed_s"]
    machine_pct = 100 * cpu["machine_cpu_s"] / elapsed
    return {
        "scenario": name, "bots": len(loaded["bots"]["bots"]), "seconds": round(elapsed, 1),
        "orders_per_s": round(orders / elapsed, 1),
        "bot_requests_per_s": round(requests / elapsed, 1),
        "machine_pct_of_one_core": round(machine_pct, 1),
        "machine_pct_of_all_cores": round(machine_pct / (os.cpu_count() or 1), 1),
        "exchange_pct_of_one_core": round(100 * exchange_cpu(cpu["cpu_s"]) / elapsed, 1),
        "cpu_ms_per_order_machine": round(1000 * cpu["machine_cpu_s"] / max(orders, 1), 2),
        "cpu_pct_of_one_core": dict(sorted(((n, round(100 * v / elapsed, 1)) for n, v in cpu["cpu_s"].items()),
                                           key=lambda kv: -kv[1])),
        "rss_mb": cpu["rss_mb"],
        "audit_violations": stack.audit(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="volatile", help="the scenario to load (house_bots/scenarios/)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--json", default="bench/results/scenario.json")
    parser.add_argument("--grown", action="store_true",
                        help="first grow the databases to a semester's size (bench/grow.py)")
    args = parser.parse_args(argv)
    env = {"PAPERTRADE_LOG_LEVEL": os.environ.get("PAPERTRADE_LOG_LEVEL", "WARNING")}
    with running_stack("bench-scenario", extra_env=env) as stack:
        if args.grown:  # 5,000 accounts: the bots' reads and the gateway's pushes must not grow with them
            grow_stack(stack)
        result = run(stack, args.name, args.seconds, args.warmup)
    print(f"\n{result['scenario']}: {result['bots']} bots, {result['orders_per_s']} orders/s, "
          f"{result['bot_requests_per_s']} bot REST requests/s over {result['seconds']} s")
    print(f"machine: {result['machine_pct_of_all_cores']} % of all cores "
          f"({result['machine_pct_of_one_core']} % of one), {result['cpu_ms_per_order_machine']} ms CPU per order")
    for proc, share in result["cpu_pct_of_one_core"].items():
        print(f"  {proc:28s} {share:6.1f} % of a core   {result['rss_mb'][proc]:7.1f} MB")
    save_result(result, args.json)
    return result


if __name__ == "__main__":
    main()
