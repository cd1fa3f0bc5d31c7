"""Stop orders through the whole exchange: a stop-loss triggered by another trader's
trade, a cascade of stops down a thin book, and the bad stops the door refuses with
nothing written. The audit is clean after each."""

from __future__ import annotations

import pytest

from tests.harness import Sandbox, running_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def exchange():
    with running_stack("stops") as running:
        yield running


def stop_order(api, sym: str, side: str, qty: int, stop_price: str, limit: str | None = None, **extra):
    body = {"symbol": sym, "side": side, "type": "stop_limit" if limit else "stop", "qty": qty,
            "stop_price": stop_price, **extra}
    if limit:
        body["limit_price"] = limit
    resp = api.post("/api/orders", body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_stop_loss_triggered_by_another_traders_trade(exchange):
    box = Sandbox(exchange)
    sym = box.symbol("10.00")
    holder = box.trader("0.00", {sym: 10})
    bidder = box.trader("1000.00")
    other = box.trader("0.00", {sym: 5})
    bid = bidder.order(sym, "buy", 20, "9.40", time_in_force="gtc")
    bidder.wait_order(bid["id"], "new")
    loss = stop_order(holder, sym, "sell", 10, "9.50", time_in_force="gtc")
    waiting = holder.wait_order(loss["id"], "new")
    assert (waiting["type"], waiting["stop_price"], waiting["triggered"]) == ("stop", "9.50", False)
    exchange.wait_quiet()
    book = exchange.anonymous().get(f"/api/books/{sym}").json()
    assert book["asks"] == []  # a waiting stop is not in the book
    assert holder.portfolio()["positions"][0]["reserved_qty"] == 10
    assert exchange.audit() == []  # a waiting stop is where the audit expects it: out of the book
    # another trader sells at 9.40: the trade reaches the stop, which sells at market
    other.order(sym, "sell", 5, "9.40")
    filled = holder.wait_order(loss["id"], "filled")
    assert (filled["triggered"], filled["filled_avg_price"]) == (True, "9.4000")
    exchange.wait_quiet()
    assert holder.portfolio()["cash"] == "94.00"
    assert exchange.audit() == []


def test_a_cascade_of_stops_settles_in_one_pass(exchange):
    box = Sandbox(exchange)
    sym = box.symbol("10.00")
    bids = box.trader("10000.00")
    holders = [box.trader("0.00", {sym: 1}) for _ in range(3)]
    for price in ("9.90", "9.80", "9.70", "9.60"):
        bids.wait_order(bids.order(sym, "buy", 1, price, time_in_force="gtc")["id"], "new")
    stops = [stop_order(h, sym, "sell", 1, s, time_in_force="gtc") for h, s in zip(holders, ("9.90", "9.80", "9.70"),
                                                                               strict=True)]
    for h, s in zip(holders, stops, strict=True):
        h.wait_order(s["id"], "new")
    exchange.wait_quiet()
    seller = box.trader("0.00", {sym: 1})
    seller.order(sym, "sell", 1, "9.90")
    prices = [h.wait_order(s["id"], "filled")["filled_avg_price"] for h, s in zip(holders, stops, strict=True)]
    assert prices == ["9.8000", "9.7000", "9.6000"]  # each stop's fill reached the next one
    exchange.wait_quiet()
    tape = exchange.anonymous().get(f"/api/stocks/{sym}/trades").json()
    assert [t["price"] for t in tape] == ["9.60", "9.70", "9.80", "9.90"]  # newest first: one trade each
    assert exchange.audit() == []


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "stop"}, "stop_price"),
    ({"type": "stop", "stop_price": "9.00", "time_in_force": "ioc"}, "time_in_force"),
    ({"type": "stop", "stop_price": "9.00", "time_in_force": "fok"}, "time_in_force"),
    ({"type": "stop_limit", "side": "buy", "stop_price": "10.00", "limit_price": "9.50"}, "limit_price"),
])
def test_bad_stops_are_refused_with_nothing_written(exchange, body, field):
    box = Sandbox(exchange)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00", {sym: 10})
    resp = trader.post("/api/orders", {"symbol": sym, "side": "sell", "qty": 1, **body})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == field, resp.text
    assert trader.get("/api/orders").json() == []
