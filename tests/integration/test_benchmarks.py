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
    assert result["idle"]["exchange_pct_of_one_core"] >= 0
    assert result["audit_violations"] == []
