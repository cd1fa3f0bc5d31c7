"""Beyond one process per role: order_matching in two shards, each with a hot standby,
and two gateways. One stack for the module (CI time); the failover test runs last
because it kills a process."""

from __future__ import annotations

import re
import signal
import threading
import time
import uuid

import pytest
import requests

from service_runtime.metrics import parse
from service_runtime.shards import shard_of
from stack.processes import extra_gateway, matching_workers, standby
from tests.harness import RunningStack, Sandbox, running_stack
from tests.integration.test_gateway import Listener, everything_pushed, token_of

pytestmark = pytest.mark.stack

SHARDS = 2


def more_processes(settings) -> list:  # noqa: ANN001
    return [standby(spec) for spec in matching_workers(settings)] + [extra_gateway(settings, settings.port + 7)]


@pytest.fixture(scope="module")
def scaled():
    with running_stack("scale-out", matching_shards=SHARDS, more_processes=more_processes) as running:
        yield running


@pytest.fixture
def box(scaled: RunningStack) -> Sandbox:
    return Sandbox(scaled)


@pytest.fixture
def listeners():
    made: list[Listener] = []

    def make(*args, **kwargs) -> Listener:  # noqa: ANN002, ANN003
        made.append(Listener(*args, **kwargs))
        return made[-1]

    yield make
    for listener in made:
        listener.close()


def symbol_on(box: Sandbox, shard: int, price: str = "10.00") -> str:
    """A fresh symbol that shard `shard` owns."""
    while True:
        symbol = "S" + uuid.uuid4().hex[:6].upper()
        if shard_of(symbol, SHARDS) == shard:
            break
    resp = box.instructor.post("/api/stocks", {"symbol": symbol, "name": f"Shard {shard}", "reference_price": price})
    assert resp.status_code == 201, resp.text
    box._wait_known("stock_ordering", "SELECT 1 FROM known_symbols WHERE symbol = %s", symbol)
    return symbol


def active_worker(stack: RunningStack, shard: int) -> tuple[str, str]:
    """(active, standby) process names of a shard, from who logged its first delivery."""
    names = (f"order_matching-s{shard}-worker", f"order_matching-s{shard}-worker-standby")
    active = [n for n in names if "active consumer of" in stack.logs(n)]
    assert len(active) == 1, f"shard {shard}: active consumers {active}"
    return active[0], next(n for n in names if n != active[0])


def metrics_of(url: str) -> dict[str, float]:
    resp = requests.get(url, timeout=5)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    return parse(resp.text)


def test_orders_on_both_shards_match_each_in_its_own_database(scaled, box):
    a, b = symbol_on(box, 0), symbol_on(box, 1)
    buyer, seller = box.trader("10000.00"), box.trader("0.00", {a: 10, b: 10})
    for sym in (a, b):
        bid = buyer.order(sym, "buy", 10, "10.00")
        buyer.wait_order(bid["id"], "new")
        ask = seller.order(sym, "sell", 10, "10.00")
        assert seller.wait_order(ask["id"], "filled")["filled_avg_price"] == "10.0000"
        assert buyer.wait_order(bid["id"], "filled")["filled_qty"] == 10
    scaled.wait_quiet()
    with scaled.db("order_matching") as s0:
        assert s0.execute("SELECT symbol FROM executions WHERE symbol IN (%s, %s)", (a, b)).fetchall() == [
            {"symbol": a}]
    with psycopg_connect(scaled, "order_matching_s1") as s1:
        assert s1.execute("SELECT symbol FROM executions WHERE symbol IN (%s, %s)", (a, b)).fetchall() == [
            {"symbol": b}]
    # the books come from each symbol's own shard through the one API
    for sym in (a, b):
        book = scaled.anonymous().get(f"/api/books/{sym}").json()
        assert (book["symbol"], book["bids"], book["asks"]) == (sym, [], [])
    assert scaled.audit() == []


def test_clients_on_either_gateway_get_their_own_and_public_events_and_nobody_elses(scaled, box, listeners):
    second = f"http://127.0.0.1:{scaled.settings.port + 7}"
    sym = symbol_on(box, 1, "20.00")
    alice, bob, carol = box.trader(), box.trader("0.00", {sym: 5}), box.trader()
    on_first = listeners(scaled.url, token_of(alice))
    on_second = listeners(second, token_of(bob))
    nosy = listeners(second, token_of(carol))
    watcher = listeners(second)
    assert watcher.subscribe(sym) == {"subscribed": [sym]}
    on_first.subscribe(sym)

    buy = alice.order(sym, "buy", 5, "20.00")
    alice.wait_order(buy["id"], "new")
    sell = bob.order(sym, "sell", 5, "20.00")
    on_first.wait_for("order", lambda o: o["id"] == buy["id"] and o["status"] == "filled")
    on_first.wait_for("portfolio", lambda p: p["cash"] == "9900.00")
    on_second.wait_for("order", lambda o: o["id"] == sell["id"] and o["status"] == "filled")
    on_second.wait_for("portfolio", lambda p: p["cash"] == "100.00")
    for client in (watcher, on_first):
        trade = client.wait_for("trade", lambda t: t["symbol"] == sym)
        assert (trade["price"], trade["qty"]) == ("20.00", 5)
        client.wait_for("price", lambda p: p["symbol"] == sym and p["last_price"] == "20.00")
        client.wait_for("book", lambda b: b["symbol"] == sym)
    scaled.wait_quiet()
    everything_pushed(box, on_first, on_second, nosy, watcher)
    assert {o["user_id"] for o in on_first.got["order"]} == {alice.user_id}
    assert {p["user_id"] for p in on_first.got["portfolio"]} == {alice.user_id}
    assert {o["user_id"] for o in on_second.got["order"]} == {bob.user_id}
    assert {p["user_id"] for p in on_second.got["portfolio"]} == {bob.user_id}
    assert nosy.got["order"] == [] and nosy.got["portfolio"] == []
    assert watcher.got["order"] == [] and watcher.got["portfolio"] == []


def test_every_process_serves_metrics_that_move_with_an_order(scaled, box):
    sym = symbol_on(box, 0, "30.00")
    buyer, seller = box.trader(), box.trader("0.00", {sym: 3})
    settings = scaled.settings
    api_url = f"http://127.0.0.1:{settings.service_port('stock_ordering')}/metrics"
    gateway_url = f"{scaled.url}/metrics"
    active, _ = active_worker(scaled, 0)
    port = re.findall(r"metrics at http://[\d.]+:(\d+)/metrics", scaled.logs(active))[-1]
    worker_url = f"http://127.0.0.1:{port}/metrics"
    placed = 'papertrade_http_requests_total{method="POST",process="stock_ordering",route="/api/orders",status="201"}'
    handled = f'papertrade_events_processed_total{{queue="{settings.matching_queue(0)}",service="order_matching"}}'
    latency = "papertrade_order_latency_seconds_count"
    before = {url: metrics_of(url) for url in (api_url, gateway_url, worker_url)}

    bid = buyer.order(sym, "buy", 3, "30.00")
    buyer.wait_order(bid["id"], "new")
    seller.order(sym, "sell", 3, "30.00")
    buyer.wait_order(bid["id"], "filled")
    scaled.wait_quiet()

    after = {url: metrics_of(url) for url in (api_url, gateway_url, worker_url)}
    assert after[api_url][placed] == before[api_url].get(placed, 0) + 2
    assert after[api_url]['papertrade_outbox_unsent_events{database="stock_ordering",service="stock_ordering"}'] == 0
    assert after[worker_url][handled] >= before[worker_url].get(handled, 0) + 2  # two approvals at least
    assert after[worker_url][f'papertrade_consumer_active{{queue="{settings.matching_queue(0)}",'
                             'service="order_matching"}'] == 1
    assert f'papertrade_queue_messages{{queue="{settings.matching_queue(0)}"}}' in after[worker_url]
    assert 'papertrade_outbox_lag_seconds{database="order_matching",service="order_matching"}' in after[worker_url]
    assert after[gateway_url][latency] >= before[gateway_url].get(latency, 0) + 2
    assert after[gateway_url]['papertrade_http_requests_total{method="POST",process="gateway",'
                              'route="stock_ordering",status="201"}'] >= 2
    health = requests.get(worker_url.replace("/metrics", "/healthz"), timeout=5)
    body = health.json()
    assert (health.status_code, {k: body[k] for k in ("status", "service", "broker", "database", "consuming")}
            ) == (200, {"status": "ok", "service": "order_matching", "broker": "connected",
                        "database": "connected", "consuming": True})
    assert body["services"]["order_matching"] == {"database": True, "consuming": True, "active": True,
                                                  "relay_leader": True}


def test_killing_a_shards_active_matcher_mid_flow_hands_its_symbols_to_the_standby(scaled, box):
    """SIGKILL the active worker of shard 1 while orders flow on both shards: its standby
    takes over, rebuilds the books from the database, and nothing is lost, doubled or
    reordered (resting orders keep their time priority)."""
    a, b = symbol_on(box, 0), symbol_on(box, 1)
    first, second = box.trader("10000.00"), box.trader("10000.00")
    # time priority across the failover: two bids at 9.00, first's before second's
    p1 = first.order(b, "buy", 10, "9.00")
    first.wait_order(p1["id"], "new")
    p2 = second.order(b, "buy", 10, "9.00")
    second.wait_order(p2["id"], "new")
    active, backup = active_worker(scaled, 1)

    flows = {sym: (box.trader("100000.00"), box.trader("0.00", {sym: 1000})) for sym in (a, b)}
    sent: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def flow(sym: str) -> None:
        buyer, seller = flows[sym]
        while not stop.is_set():
            for api, side in ((buyer, "buy"), (seller, "sell")):
                resp = api.post("/api/orders", {"symbol": sym, "side": side, "type": "limit", "qty": 1,
                                                "limit_price": "10.00"})
                if resp.status_code == 201:
                    sent.append(resp.json()["id"])
                else:
                    errors.append(resp.text)

    threads = [threading.Thread(target=flow, args=(sym,)) for sym in (a, b)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    killed_at = time.time()
    scaled.kill(active, signal.SIGKILL)
    time.sleep(2.5)
    stop.set()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(sent) > 40

    scaled.wait_quiet(90)
    assert "active consumer of" in scaled.logs(backup) and "books rebuilt" in scaled.logs(backup)
    # every order sent reached its end: each buy met a sell at 10.00
    orders = {}
    with scaled.db("stock_ordering") as conn:
        for row in conn.execute("SELECT id, status, filled_qty FROM orders WHERE id = ANY(%s)", (sent,)).fetchall():
            orders[row["id"]] = row
    assert len(orders) == len(sent)
    assert sorted({o["status"] for o in orders.values()}) == ["filled"]
    # the standby matched after the kill, in shard 1's database only
    with psycopg_connect(scaled, "order_matching_s1") as s1:
        later = s1.execute("SELECT count(*) AS n FROM executions WHERE symbol = %s"
                           " AND executed_at > to_timestamp(%s)", (b, killed_at)).fetchone()["n"]
        dup = s1.execute("SELECT count(*) - count(DISTINCT (buy_order_id, sell_order_id)) AS n FROM executions"
                         " WHERE symbol = %s", (b,)).fetchone()["n"]
    assert later > 0 and dup == 0

    seller = box.trader("0.00", {b: 15})
    s = seller.order(b, "sell", 15, "9.00")
    assert seller.wait_order(s["id"], "filled")["filled_avg_price"] == "9.0000"
    assert first.wait_order(p1["id"], "filled")["filled_qty"] == 10
    assert second.wait_order(p2["id"], "partially_filled")["filled_qty"] == 5
    assert scaled.audit() == []


def psycopg_connect(stack: RunningStack, database: str):  # noqa: ANN201
    from service_runtime.db import connect

    return connect(stack.settings.database_url(database), autocommit=True)


def test_a_reset_empties_every_shard_and_both_match_again(scaled, box):
    a, b = symbol_on(box, 0), symbol_on(box, 1)
    buyer = box.trader("10000.00")
    for sym in (a, b):
        buyer.wait_order(buyer.order(sym, "buy", 1, "5.00")["id"], "new")
    resp = scaled.instructor().post("/api/simulation/reset")
    assert resp.status_code == 202, resp.text
    epoch = resp.json()["epoch"]
    deadline = time.monotonic() + 30
    for database in scaled.settings.databases("order_matching"):
        with psycopg_connect(scaled, database) as conn:
            while conn.execute("SELECT (value #>> '{}')::int AS e FROM service_state WHERE key = 'epoch'"
                               ).fetchone()["e"] < epoch:
                assert time.monotonic() < deadline, f"{database} never reset"
                time.sleep(0.05)
            assert conn.execute("SELECT count(*) AS n FROM book_orders").fetchone()["n"] == 0
    scaled.wait_quiet()
    seller = box.trader("0.00", {a: 1, b: 1})
    for sym in (a, b):
        bid = buyer.order(sym, "buy", 1, "5.00")
        buyer.wait_order(bid["id"], "new")
        assert seller.wait_order(seller.order(sym, "sell", 1, "5.00")["id"], "filled")["filled_qty"] == 1
    assert scaled.audit() == []
