"""Every event delivered twice to every consumer: each is applied once.

The exchange runs with every relay publishing each event twice
(PAPERTRADE_FAULTS=publish_twice), so all four consumers see every delivery
duplicated; balances, fills, prices and the audit must come out exactly as if
each event had come once."""

from __future__ import annotations

import pytest

from tests.harness import Sandbox, running_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def doubled():
    with running_stack("redelivery", extra_env={"PAPERTRADE_FAULTS": "publish_twice"}) as running:
        yield running


def test_every_consumer_applies_each_event_once(doubled):
    box = Sandbox(doubled)
    sym = box.symbol("10.00")
    buyer = box.trader("1000.00")
    seller = box.trader("0.00", {sym: 100})
    rest = buyer.order(sym, "buy", 30, "10.00")
    buyer.wait_order(rest["id"], "new")
    s1 = seller.order(sym, "sell", 10, "9.90")
    s2 = seller.order(sym, "sell", 10, "10.00")
    seller.wait_order(s1["id"], "filled")
    seller.wait_order(s2["id"], "filled")
    assert buyer.wait_order(rest["id"], "partially_filled")["filled_qty"] == 20
    assert buyer.delete(f"/api/orders/{rest['id']}").status_code == 202
    assert buyer.wait_order(rest["id"], "canceled")["filled_qty"] == 20
    doubled.wait_quiet()

    b, s = buyer.portfolio(), seller.portfolio()
    assert (b["cash"], b["reserved_cash"]) == ("800.00", "0.00")
    assert (s["cash"], s["reserved_cash"]) == ("200.00", "0.00")
    assert next(p for p in b["positions"] if p["symbol"] == sym)["qty"] == 20
    stock = doubled.anonymous().get(f"/api/stocks/{sym}").json()
    assert (stock["volume"], stock["last_price"]) == (20, "10.00")
    assert len(doubled.anonymous().get(f"/api/stocks/{sym}/trades").json()) == 2

    # The duplicates really arrived and were dropped by each consumer's inbox.
    for service in ("user_portfolio", "stock_data", "stock_ordering", "order_matching"):
        assert "duplicate" in doubled.logs(f"{service}-worker"), service
    assert doubled.audit() == []
