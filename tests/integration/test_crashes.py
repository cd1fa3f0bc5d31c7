"""Crashes: nothing committed is lost, nothing redelivered is applied twice, and the
matching engine comes back with every resting order in its place.

These tests kill processes, so they run on an exchange of their own. Restarting
RabbitMQ and PostgreSQL under a running order flow is in tests/faults/."""

from __future__ import annotations

import signal
import time

import pytest
import requests

from service_runtime import outbox
from tests.harness import RunningStack, Sandbox, running_stack

pytestmark = pytest.mark.stack

CONSUMERS = ["user_portfolio", "stock_data", "stock_ordering", "order_matching"]


STALL_SECONDS = 1.0  # PAPERTRADE_OUTBOX_STALL_SECONDS for this stack (default 5): quicker to see


@pytest.fixture(scope="module")
def crashy():
    # The order door relays its own events by default; here its worker does, so that
    # killing the worker stops the relay while the door still takes orders.
    env = {"PAPERTRADE_OUTBOX_STALL_SECONDS": str(STALL_SECONDS), "PAPERTRADE_RELAY_IN_API": "0"}
    with running_stack("crashes", env) as running:
        yield running


def api_health(stack: RunningStack, service: str) -> dict:
    resp = requests.get(f"{stack.settings.service_url(service)}/healthz", timeout=10)
    assert resp.status_code == 200, resp.text  # degraded or not, the API serves
    return resp.json()


@pytest.fixture
def box(crashy):
    return Sandbox(crashy)


def outbox_backlog(stack: RunningStack, service: str) -> int:
    with stack.db(service) as conn:
        return outbox.lag(conn)[0]


def wait_dead(stack: RunningStack, name: str, timeout: float = 20) -> int:
    child = stack.supervisor.children[name]
    child.proc.wait(timeout)
    return child.proc.returncode


def test_events_committed_while_the_relay_is_down_are_published_when_it_returns(crashy, box):
    sym = box.symbol("25.00")
    buyer = box.trader("10000.00")
    seller = box.trader("0.00", {sym: 50})
    assert api_health(crashy, "stock_ordering")["status"] == "ok"
    crashy.kill("stock_ordering-worker")
    buy = buyer.order(sym, "buy", 20, "25.00")
    sell = seller.order(sym, "sell", 20, "25.00")
    time.sleep(STALL_SECONDS + 0.5)
    # Committed with the orders, not published: nobody downstream has seen them.
    assert outbox_backlog(crashy, "stock_ordering") >= 2
    assert buyer.get(f"/api/orders/{buy['id']}").json()["status"] == "pending_new"
    # ... and the API says so on its health endpoint, still serving (issue 6)
    stalled = api_health(crashy, "stock_ordering")
    assert stalled["status"] == "degraded" and stalled["events"]["status"] == "stalled", stalled
    assert stalled["events"]["unsent"] >= 2 and stalled["events"]["oldest_unsent_age_s"] >= STALL_SECONDS
    assert "RabbitMQ or this service's worker" in stalled["message"]
    crashy.restart("stock_ordering-worker")
    assert buyer.wait_order(buy["id"], "filled")["filled_avg_price"] == "25.0000"
    assert seller.wait_order(sell["id"], "filled")
    deadline = time.monotonic() + 10
    while (health := api_health(crashy, "stock_ordering"))["status"] != "ok":
        assert time.monotonic() < deadline, health
        time.sleep(0.1)
    assert health["events"]["status"] == "ok" and "message" not in health
    assert crashy.audit() == []


def test_relay_dying_after_publish_before_marking_sent_duplicates_nothing(crashy, box):
    sym = box.symbol("30.00")
    buyer = box.trader("10000.00")
    seller = box.trader("0.00", {sym: 50})
    crashy.restart("order_matching-worker", env={"PAPERTRADE_FAULTS": "after_publish_before_mark:1"})
    buyer.wait_order(buyer.order(sym, "buy", 10, "30.00")["id"], "new")
    assert wait_dead(crashy, "order_matching-worker") == 70
    crashy.restart("order_matching-worker")
    sell = seller.order(sym, "sell", 10, "30.00")
    assert seller.wait_order(sell["id"], "filled")
    crashy.wait_quiet()
    assert buyer.portfolio()["cash"] == "9700.00"
    assert seller.portfolio()["cash"] == "300.00"
    assert crashy.audit() == []


@pytest.mark.parametrize("service", CONSUMERS)
def test_worker_killed_after_commit_before_ack_applies_nothing_twice(crashy, box, service):
    sym = box.symbol("40.00")
    buyer = box.trader("10000.00")
    seller = box.trader("0.00", {sym: 100})
    resting = buyer.order(sym, "buy", 10, "40.00")
    buyer.wait_order(resting["id"], "new")
    name = f"{service}-worker"
    crashy.restart(name, env={"PAPERTRADE_FAULTS": "after_commit_before_ack:1"})
    sell = seller.order(sym, "sell", 10, "40.00")
    assert wait_dead(crashy, name) == 70
    crashy.restart(name)
    assert seller.wait_order(sell["id"], "filled")
    assert buyer.wait_order(resting["id"], "filled")
    crashy.wait_quiet()
    assert "duplicate" in crashy.logs(name)
    assert (buyer.portfolio()["cash"], seller.portfolio()["cash"]) == ("9600.00", "400.00")
    stock = crashy.anonymous().get(f"/api/stocks/{sym}").json()
    assert stock["volume"] == 10
    assert crashy.audit() == []


def test_matching_restart_keeps_resting_orders_and_their_priority(crashy, box):
    sym = box.symbol("50.00")
    first, second, third = box.trader("10000.00"), box.trader("10000.00"), box.trader("10000.00")
    seller = box.trader("0.00", {sym: 100})
    a = first.order(sym, "buy", 10, "50.00")
    first.wait_order(a["id"], "new")
    b = second.order(sym, "buy", 10, "50.00")
    second.wait_order(b["id"], "new")
    c = third.order(sym, "buy", 10, "49.99")
    third.wait_order(c["id"], "new")
    before = crashy.anonymous().get(f"/api/books/{sym}").json()

    crashy.kill("order_matching-worker", signal.SIGKILL)
    crashy.restart("order_matching-worker")
    assert "books rebuilt" in crashy.logs("order_matching-worker")
    assert crashy.anonymous().get(f"/api/books/{sym}").json() == before

    s = seller.order(sym, "sell", 15, "49.99")
    assert seller.wait_order(s["id"], "filled")["filled_avg_price"] == "50.0000"
    assert first.wait_order(a["id"], "filled")["filled_qty"] == 10
    assert second.wait_order(b["id"], "partially_filled")["filled_qty"] == 5
    crashy.wait_quiet()
    assert third.get(f"/api/orders/{c['id']}").json()["status"] == "new"
    assert crashy.audit() == []

