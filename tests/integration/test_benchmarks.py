"""The benchmarks in a short mode, so they cannot rot: they run, measure, and
finish with a clean audit. Their figures are not checked here (speed goals live
in docs/performance.md, measured by hand in full mode)."""

from __future__ import annotations

import pytest

from bench import matching_core, push_latency

pytestmark = pytest.mark.stack


def test_push_latency_benchmark_runs_and_reports(stack):
    result = push_latency.run(stack, rate=20, seconds=2, symbols=1, pairs=2)
    assert result["orders_sent"] == 40 and result["send_errors"] == 0
    assert result["orders_without_push"] == 0
    for key in ("trade_to_order_push", "trade_to_portfolio_push", "rest_to_first_order_push"):
        assert result[key]["n"] > 0 and result[key]["p99_ms"] >= result[key]["p50_ms"] > 0
    assert result["audit_violations"] == []


def test_matching_core_benchmark_runs_and_reports():
    figures = matching_core.main(["--orders", "20000", "--repeat", "1"])
    assert figures["messages"] == 20000 and figures["orders_per_s"] > 0 and figures["fills"] > 0


def test_end_to_end_benchmark_runs_and_reports(stack):
    from bench import end_to_end

    result = end_to_end.run(stack, seconds=1.5, rate=0, batch=20, senders=2, symbols=2, traders=4,
                            steady_rate=20, steady_seconds=1, ceiling_seconds=0.5)
    assert result["ceilings"]["rabbitmq"]["publish_confirmed_per_s"] > 0
    assert result["ceilings"]["rabbitmq"]["consume_acked_per_s"] > 0
    assert result["ceilings"]["postgresql"]["commits_per_s_one_row"] > 0
    flow = result["throughput"]
    assert flow["accepted"] > 0 and flow["errors"] == [] and flow["rejected"] == {}
    assert flow["end_to_end_orders_per_s"] > 0 and flow["batch_ack"]["n"] > 0
    assert flow["trades_total"] > 0 and flow["placed_to_filled_push"]["n"] > 0
    assert result["steady"]["accepted"] == 20 and result["steady"]["rest_ack"]["n"] == 20
    assert result["processes"]["stock_ordering-worker"]["cpu_s"] > 0
    assert result["audit_violations"] == []


def test_soak_benchmark_runs_and_reports(stack):
    from bench import soak

    result = soak.run(stack, seconds=4, rate=40, window=2, clients=3, with_bots=False, traders=4, symbols=2)
    assert len(result["windows"]) == 2 and result["errors"] == 0
    assert result["accepted"] > 100
    assert all(w["push_clients_connected"] == 3 for w in result["windows"])
    assert result["push_events_received"] > 0
    assert set(result["rss_growth_mb"]) >= {"stock_ordering-api", "order_matching-worker", "gateway"}
    assert result["windows"][0]["rss_mb"]["order_matching-worker"] > 10
    assert result["audit_violations"] == []


def test_steady_benchmark_runs_and_reports(stack):
    from bench import steady

    result = steady.run(stack, [20], seconds=1.5, symbols=1, pairs=1, idle_seconds=0.5, ceiling_seconds=0)
    (phase,) = result["phases"]
    assert phase["orders"] >= 20 and phase["send_errors"] == 0 and phase["traded_orders"] > 0
    assert phase["rest_ack"]["n"] == phase["orders"]
    assert phase["trade_to_order_push"]["n"] > 0 and phase["placed_to_filled"]["n"] > 0
    assert phase["cpu_ms_per_order_exchange"] > 0 and phase["rss_mb"]
    # each order is announced (order.placed) and applied by another service at least once
    assert phase["per_order"]["publishes"] >= 1 and phase["per_order"]["deliveries"] >= 1
    assert result["idle"]["exchange_pct_of_one_core"] >= 0
    assert result["audit_violations"] == []


def test_grown_stack_stays_consistent_and_trades():
    """bench/grow.py on a stack of its own (it restarts every process): the rows it adds
    are counted, the audit stays clean, and grown traders still trade a grown symbol
    through the API once the processes rebuilt their state from the grown tables."""
    from bench.grow import grow_stack
    from tests.harness import running_stack

    with running_stack("grown") as stack:
        def count(service: str, table: str) -> int:
            with stack.db(service) as conn:
                return conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]

        before = {(s, t): count(s, t) for s, t in (("user_accounts", "users"), ("stock_data", "stocks"),
                                                   ("stock_ordering", "orders"), ("order_matching", "executions"))}
        result = grow_stack(stack, accounts=50, symbols=10, orders=5000, progress=lambda line: None)
        assert result["orders"] == 5000 and result["trades"] == 2000
        assert count("user_accounts", "users") == before[("user_accounts", "users")] + 50
        assert count("stock_data", "stocks") == before[("stock_data", "stocks")] + 10
        assert count("stock_ordering", "orders") == before[("stock_ordering", "orders")] + 5000
        assert count("order_matching", "executions") == before[("order_matching", "executions")] + 2000
        for service in ("user_portfolio", "stock_data", "stock_ordering", "order_matching"):
            assert result["added"][service]["inbox"] > 0
        with stack.db("user_portfolio") as conn:
            assert conn.execute("SELECT count(*) AS n FROM trades").fetchone()["n"] >= 2000
        assert stack.audit() == []

        with stack.db("user_accounts") as conn:
            grown = conn.execute("SELECT id, holdings FROM users WHERE name LIKE 'Grown %%' ORDER BY id").fetchall()
        holder = next(u for u in grown if "G00001" in u["holdings"])
        buyer = next(u for u in grown if "G00001" not in u["holdings"])
        seller, taker = stack.login(holder["id"]), stack.login(buyer["id"])
        sell = seller.order("G00001", "sell", 7, "40.00")
        seller.wait_order(sell["id"], "new")
        buy = taker.order("G00001", "buy", 7, "40.00")
        assert taker.wait_order(buy["id"], "filled")["filled_qty"] == 7
        assert seller.wait_order(sell["id"], "filled")["filled_qty"] == 7
        assert stack.audit() == []


def test_floor_benchmark_measures_each_unit(stack):
    from bench import floor

    units = floor.measure(stack.settings, [100], 1.5)["100"]
    for name in ("commit", "publish", "publish_and_delivery"):  # CPU is read in 10 ms ticks: 150 units each
        assert units[name]["units"] >= 100 and units[name]["total_ms"] > 0, (name, units[name])
    expected = units["commit"]["total_ms"] + 2 * units["publish"]["total_ms"] + 3 * units["delivery"]["total_ms"]
    assert floor.floor_per_order(units, 1, 2, 3) == round(expected, 2)


def test_scenario_benchmark_runs_and_reports():
    # a stack of its own: loading a scenario lists its stocks and starts its bots
    from bench import scenario
    from tests.harness import running_stack

    with running_stack("bench-scenario-short") as stack:
        result = scenario.run(stack, "volatile", seconds=3, warmup=3)
    assert result["bots"] > 0 and result["orders_per_s"] > 0 and result["bot_requests_per_s"] > 0
    assert result["cpu_pct_of_one_core"]["house_bots-api"] > 0
    assert result["audit_violations"] == []
