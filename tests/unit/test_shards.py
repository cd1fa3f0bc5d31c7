"""The matching shard map and the shard topology (pure functions)."""

from __future__ import annotations

import pytest

from service_runtime import contracts
from service_runtime.config import Settings
from service_runtime.entrypoints import service_handlers
from service_runtime.shards import partitions_of, shard_of, trade_id
from service_runtime.topology import queue_bindings, shard_bindings
from stack.processes import all_processes, extra_gateway, settings_env, standby


def test_partitions_are_split_disjointly_and_completely():
    for shards in (1, 2, 3, 4, 16):
        owned = [partitions_of(k, shards) for k in range(shards)]
        flat = sorted(p for part in owned for p in part)
        assert flat == list(range(contracts.PARTITIONS))
    assert partitions_of(0, 2) == [0, 2, 4, 6, 8, 10, 12, 14]
    assert partitions_of(1, 2) == [1, 3, 5, 7, 9, 11, 13, 15]


def test_a_symbol_has_one_stable_shard():
    # crc32(symbol) % 16: fixed values, so the map never changes under a running system
    assert {s: contracts.partition_of(s) for s in ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")} == {
        "AAPL": 12, "MSFT": 11, "GOOG": 12, "AMZN": 14, "TSLA": 15}
    assert {s: shard_of(s, 2) for s in ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")} == {
        "AAPL": 0, "MSFT": 1, "GOOG": 0, "AMZN": 0, "TSLA": 1}
    for symbol in ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "X", "ZZZZZZZZ"):
        assert shard_of(symbol, 1) == 0
        assert shard_of(symbol, 2) == contracts.partition_of(symbol) % 2
        assert contracts.partition_of(symbol) in partitions_of(shard_of(symbol, 4), 4)
    # the demo's five stocks land on both of two shards
    assert {shard_of(s, 2) for s in ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")} == {0, 1}


def test_bad_shard_counts_are_refused():
    for bad in (0, 17):
        with pytest.raises(ValueError):
            shard_of("AAPL", bad)
    with pytest.raises(ValueError):
        partitions_of(2, 2)


def test_trade_ids_interleave_and_never_collide():
    assert [trade_id(r, 0, 1) for r in (1, 2, 3)] == [1, 2, 3]
    assert [trade_id(r, 0, 2) for r in (1, 2, 3)] == [1, 3, 5]
    assert [trade_id(r, 1, 2) for r in (1, 2, 3)] == [2, 4, 6]
    ids = [trade_id(r, k, 3) for k in range(3) for r in range(1, 200)]
    assert len(ids) == len(set(ids))


def test_shard_queues_bind_their_partitions_and_every_global_event():
    consumed = service_handlers("order_matching").consumed
    keys0, keys1 = shard_bindings(consumed, 0, 2), shard_bindings(consumed, 1, 2)
    assert "order.approved.p00" in keys0 and "order.approved.p01" not in keys0
    assert "order.approved.p01" in keys1 and "order.approved.p00" not in keys1
    for keys in (keys0, keys1):
        # events about every symbol reach every shard
        assert "market.status_changed.#" in keys and "simulation.reset.#" in keys
        # symbol-scoped ones only for owned partitions (8 of 16 each)
        assert sum(k.startswith("stock.listed.p") for k in keys) == 8
        assert sum(k.startswith("order.cancel_requested.p") for k in keys) == 8
        assert not any(k.startswith("order.approved.#") for k in keys)
    one = Settings(namespace="n")
    assert queue_bindings(one, "order_matching", consumed) == {"n.order_matching": [
        "market.status_changed.#", "order.approved.#", "order.cancel_requested.#", "simulation.reset.#",
        "stock.delisted.#", "stock.listed.#"]}
    two = Settings(namespace="n", matching_shards=2)
    assert list(queue_bindings(two, "order_matching", consumed)) == ["n.order_matching.s0", "n.order_matching.s1"]
    portfolio = service_handlers("user_portfolio").consumed
    assert list(queue_bindings(two, "user_portfolio", portfolio)) == ["n.user_portfolio"]
    assert queue_bindings(two, "user_accounts", []) == {}
    assert two.databases("order_matching") == ["order_matching", "order_matching_s1"]
    assert two.database_url("order_matching_s1").endswith("/n_order_matching_s1")


def test_the_process_list_has_a_worker_per_shard_and_standbys_and_gateways_on_request():
    settings = Settings(namespace="n", matching_shards=2, port=9000)
    specs = {s.name: s for s in all_processes(settings, python="python")}
    assert "order_matching-worker" not in specs
    assert specs["order_matching-s0-worker"].env == {"PAPERTRADE_MATCHING_SHARD": "0"}
    assert specs["order_matching-s1-worker"].env == {"PAPERTRADE_MATCHING_SHARD": "1"}
    backup = standby(specs["order_matching-s1-worker"])
    assert backup.name == "order_matching-s1-worker-standby" and backup.argv == specs["order_matching-s1-worker"].argv
    assert backup.env == {"PAPERTRADE_MATCHING_SHARD": "1"}
    second = extra_gateway(settings, 9007)
    assert second.env["PAPERTRADE_PORT"] == "9007"
    assert second.env["PAPERTRADE_ORDER_MATCHING_URL"] == "http://127.0.0.1:9005"
    assert second.health_url == "http://127.0.0.1:9007/healthz"
    assert settings_env(settings)["PAPERTRADE_MATCHING_SHARDS"] == "2"
    assert [s.name for s in all_processes(Settings(), python="python")].count("order_matching-worker") == 1
