"""Replacing an order through the whole exchange: a replace racing a fill, 50 times,
ends one way or the other (the old order filled and the replacement refused, or the
old order replaced and the replacement in the book), never both and never with cash
or shares held twice; the audit is clean after it."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import Sandbox, running_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def exchange():
    with running_stack("replace") as running:
        yield running


def test_a_replace_racing_a_fill_ends_one_way_or_the_other_50_times(exchange):
    box = Sandbox(exchange)
    sym = box.symbol("10.00")
    seller = box.trader("0.00", {sym: 500})
    buyer = box.trader("100000.00")
    outcomes: Counter[str] = Counter()
    with ThreadPoolExecutor(2) as pool:
        for _ in range(50):
            ask = seller.order(sym, "sell", 10, "10.00", time_in_force="gtc")
            seller.wait_order(ask["id"], "new")
            fill = pool.submit(buyer.order, sym, "buy", 10, "10.00", time_in_force="ioc")
            swap = pool.submit(seller.patch, f"/api/orders/{ask['id']}", {"limit_price": "10.01"})
            fill.result()
            resp = swap.result()
            old = seller.wait_order(ask["id"], lambda o: o["status"] in ("filled", "replaced"))
            if resp.status_code == 409:  # the fill was recorded before the replace arrived
                assert old["status"] == "filled", old
                outcomes["refused at the door"] += 1
                continue
            assert resp.status_code == 200, resp.text
            new = seller.wait_order(resp.json()["id"], lambda o: o["status"] != "pending_new")
            if old["status"] == "replaced":
                assert (new["status"], new["replaces"], old["replaced_by"]) == ("new", old["id"], new["id"])
                outcomes["replaced"] += 1
                assert seller.delete(f"/api/orders/{new['id']}").status_code == 202
                seller.wait_order(new["id"], "canceled")
            else:
                assert new["status"] == "rejected" and new["reject_reason"].startswith("replace_failed"), new
                outcomes["filled first"] += 1
    assert sum(outcomes.values()) == 50, outcomes
    print(f"replace racing a fill: {dict(outcomes)}")
    exchange.wait_quiet()
    portfolio = seller.portfolio()
    assert portfolio["reserved_cash"] == "0.00"
    assert [p["reserved_qty"] for p in portfolio["positions"]] == [0]
    assert exchange.audit() == []


@pytest.mark.parametrize(("changes", "status"), [
    ({"qty": 0}, 422),
    ({"qty": 5, "limit_price": "-1"}, 422),
    ({"stop_price": "9.00"}, 422),
])
def test_bad_replaces_answer_4xx_and_write_nothing(exchange, changes, status):
    box = Sandbox(exchange)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00")
    order = trader.order(sym, "buy", 10, "9.00")
    trader.wait_order(order["id"], "new")
    resp = trader.patch(f"/api/orders/{order['id']}", changes)
    assert resp.status_code == status, resp.text
    assert [o["id"] for o in trader.get("/api/orders").json()] == [order["id"]]
    other = box.trader("1000.00")
    assert other.patch(f"/api/orders/{order['id']}", {"qty": 5}).status_code == 403
