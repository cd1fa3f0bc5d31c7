"""Market status: halted rejects new orders (at the door, or in matching for orders
in flight) while cancels still work; closing expires day orders and keeps gtc."""

from __future__ import annotations

import pytest

from tests.harness import RunningStack, Sandbox, running_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def market():
    with running_stack("market") as running:
        yield running


def set_market(stack: RunningStack, action: str) -> None:
    resp = stack.instructor().post(f"/api/market/{action}")
    assert resp.status_code == 200, resp.text
    stack.wait_quiet()


def test_halt_rejects_new_orders_keeps_cancels_and_reopen_matches(market):
    box = Sandbox(market)
    sym = box.symbol("10.00")
    buyer = box.trader("1000.00")
    seller = box.trader("0.00", {sym: 10})
    resting = buyer.order(sym, "buy", 5, "10.00")
    buyer.wait_order(resting["id"], "new")
    other = buyer.order(sym, "buy", 5, "9.00")
    buyer.wait_order(other["id"], "new")

    set_market(market, "halt")
    assert market.anonymous().get("/api/market").json()["status"] == "halted"
    refused = seller.post("/api/orders", {"symbol": sym, "side": "sell", "type": "limit", "qty": 5,
                                          "limit_price": "10.00"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "market_halted"
    assert buyer.delete(f"/api/orders/{other['id']}").status_code == 202
    assert buyer.wait_order(other["id"], "canceled")

    set_market(market, "open")
    sell = seller.order(sym, "sell", 5, "10.00")
    assert seller.wait_order(sell["id"], "filled")
    assert buyer.wait_order(resting["id"], "filled")
    assert market.audit() == []


def test_order_in_flight_when_the_market_halts_is_rejected_by_matching(market):
    box = Sandbox(market)
    sym = box.symbol("10.00")
    buyer = box.trader("1000.00")
    market.kill("user_portfolio-worker")
    try:
        order = buyer.order(sym, "buy", 5, "10.00")  # accepted at the door: the market is open
        assert market.instructor().post("/api/market/halt").status_code == 200
        box._wait_known("order_matching", "SELECT 1 FROM market WHERE status = %s", "halted")
    finally:
        market.restart("user_portfolio-worker")
    rejected = buyer.wait_order(order["id"], "rejected")
    assert rejected["reject_reason"].startswith("market_halted")
    market.wait_quiet()
    assert buyer.portfolio()["reserved_cash"] == "0.00"
    set_market(market, "open")
    assert market.audit() == []


def test_close_expires_day_orders_releases_them_and_keeps_gtc(market):
    box = Sandbox(market)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00", {sym: 10})
    day = trader.order(sym, "buy", 10, "9.00")
    gtc = trader.order(sym, "buy", 10, "8.00", time_in_force="gtc")
    ask = trader.order(sym, "sell", 10, "12.00")
    for o in (day, gtc, ask):
        trader.wait_order(o["id"], "new")
    market.wait_quiet()
    assert trader.portfolio()["reserved_cash"] == "170.00"

    set_market(market, "close")
    assert trader.wait_order(day["id"], "expired")["filled_qty"] == 0
    assert trader.wait_order(ask["id"], "expired")
    market.wait_quiet()
    assert trader.get(f"/api/orders/{gtc['id']}").json()["status"] == "new"
    p = trader.portfolio()
    assert p["reserved_cash"] == "80.00"
    assert next(x for x in p["positions"] if x["symbol"] == sym)["reserved_qty"] == 0
    book = market.anonymous().get(f"/api/books/{sym}").json()
    assert book["bids"] == [{"price": "8.00", "qty": 10, "orders": 1}] and book["asks"] == []
    refused = trader.post("/api/orders", {"symbol": sym, "side": "buy", "type": "limit", "qty": 1,
                                          "limit_price": "8.00"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "market_closed"
    set_market(market, "open")
    assert market.audit() == []
