"""The order lifecycle through the REST API, five services and the broker."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.stack


def position(portfolio: dict, symbol: str) -> dict | None:
    return next((p for p in portfolio["positions"] if p["symbol"] == symbol), None)


def test_resting_buy_then_crossing_sell_both_fill_and_settle_to_the_cent(stack, sandbox):
    sym = sandbox.symbol("50.00")
    alice = sandbox.trader("10000.00")
    bob = sandbox.trader("10000.00", {sym: 100})

    buy = alice.order(sym, "buy", 10, "50.10")
    assert buy["status"] == "pending_new"
    assert alice.wait_order(buy["id"], "new")["filled_qty"] == 0
    resting = alice.portfolio()
    assert (resting["cash"], resting["reserved_cash"], resting["buying_power"]) == ("10000.00", "501.00", "9499.00")

    sell = bob.order(sym, "sell", 10, "50.00")
    sold = bob.wait_order(sell["id"], "filled")
    bought = alice.wait_order(buy["id"], "filled")
    # A trade executes at the resting order's price.
    assert sold["filled_avg_price"] == bought["filled_avg_price"] == "50.1000"
    assert [h["status"] for h in bought["history"] if h["detail"] != "approved"] == ["pending_new", "new", "filled"]

    stack.wait_quiet()
    a, b = alice.portfolio(), bob.portfolio()
    assert (a["cash"], a["reserved_cash"], a["realized_pl"]) == ("9499.00", "0.00", "0.00")
    assert position(a, sym) == {"symbol": sym, "qty": 10, "reserved_qty": 0, "avg_cost": "50.1000",
                                "last_price": "50.10", "market_value": "501.00", "unrealized_pl": "0.00"}
    assert (b["cash"], b["reserved_cash"], b["realized_pl"]) == ("10501.00", "0.00", "1.00")
    assert position(b, sym)["qty"] == 90

    anon = stack.anonymous()
    stock = anon.get(f"/api/stocks/{sym}").json()
    assert (stock["last_price"], stock["open"], stock["high"], stock["low"], stock["volume"]) == (
        "50.10", "50.10", "50.10", "50.10", 10)
    assert stock["change_pct"] == "0.20"
    candles = anon.get(f"/api/stocks/{sym}/candles?interval=1m").json()
    assert [(c["open"], c["close"], c["volume"]) for c in candles] == [("50.10", "50.10", 10)]
    tape = anon.get(f"/api/stocks/{sym}/trades").json()
    assert [(t["price"], t["qty"]) for t in tape] == [("50.10", 10)]
    book = anon.get(f"/api/books/{sym}").json()
    assert book["bids"] == [] and book["asks"] == [] and book["seq"] >= 2
    assert stack.audit() == []


def test_partial_fills_walk_the_book_and_cancel_the_rest(stack, sandbox):
    sym = sandbox.symbol("20.00")
    seller = sandbox.trader("0.00", {sym: 300})
    buyer = sandbox.trader("10000.00")
    asks = [seller.order(sym, "sell", 100, p) for p in ("20.00", "20.05", "20.10")]
    for o in asks:
        seller.wait_order(o["id"], "new")
    book = stack.anonymous().get(f"/api/books/{sym}?levels=2").json()
    assert [(lvl["price"], lvl["qty"], lvl["orders"]) for lvl in book["asks"]] == [("20.00", 100, 1), ("20.05", 100, 1)]

    # A limit buy for 250 @ 20.05 takes the first level, half... no: all of 20.00 and 20.05, rests 50.
    big = buyer.order(sym, "buy", 250, "20.05")
    part = buyer.wait_order(big["id"], "partially_filled")
    assert part["filled_qty"] == 200 and part["filled_avg_price"] == "20.0250"
    assert seller.wait_order(asks[0]["id"], "filled")["filled_qty"] == 100

    resp = buyer.delete(f"/api/orders/{big['id']}")
    assert resp.status_code == 202 and resp.json()["status"] == "pending_cancel"
    done = buyer.wait_order(big["id"], "canceled")
    assert done["filled_qty"] == 200
    stack.wait_quiet()
    p = buyer.portfolio()
    # 100 @ 20.00 + 100 @ 20.05 = 4005.00; the canceled 50 release their 20.05 reservation.
    assert (p["cash"], p["reserved_cash"]) == ("5995.00", "0.00")
    assert buyer.delete(f"/api/orders/{big['id']}").status_code == 409
    assert stack.audit() == []


def test_market_orders_ioc_fok_and_self_trade_prevention(stack, sandbox):
    sym = sandbox.symbol("10.00")
    maker = sandbox.trader("100000.00", {sym: 1000})
    taker = sandbox.trader("100000.00", {sym: 1000})
    for price in ("10.00", "10.20", "10.60"):
        maker.wait_order(maker.order(sym, "sell", 100, price)["id"], "new")

    # Market buy: collar 5 % above the reference price (10.50) stops it before 10.60.
    mkt = taker.order(sym, "buy", 300)
    done = taker.wait_order(mkt["id"], "canceled")
    assert done["filled_qty"] == 200 and done["filled_avg_price"] == "10.1000"

    # FOK that cannot fill entirely trades nothing.
    fok = taker.order(sym, "buy", 150, "10.60", time_in_force="fok")
    assert taker.wait_order(fok["id"], "canceled")["filled_qty"] == 0
    # IOC takes what is there and cancels the rest.
    ioc = taker.order(sym, "buy", 150, "10.60", time_in_force="ioc")
    assert taker.wait_order(ioc["id"], "canceled")["filled_qty"] == 100

    # Self-trade: the maker's own buy would cross its own sell; the incoming remainder is canceled.
    maker.wait_order(maker.order(sym, "sell", 50, "11.00")["id"], "new")
    own = maker.order(sym, "buy", 50, "11.00")
    canceled = maker.wait_order(own["id"], "canceled")
    assert canceled["filled_qty"] == 0
    stack.wait_quiet()
    assert stack.anonymous().get(f"/api/books/{sym}").json()["asks"] == [{"price": "11.00", "qty": 50, "orders": 1}]
    # Nothing stays reserved for finished orders; the buy reserved at the collar released its price improvement.
    p = taker.portfolio()
    assert p["reserved_cash"] == "0.00"
    assert Decimal(p["cash"]) == Decimal("100000.00") - (Decimal("10.00") * 100 + Decimal("10.20") * 100
                                                         + Decimal("10.60") * 100)
    assert stack.audit() == []


def test_insufficient_cash_and_shares_are_rejected_with_a_reason(stack, sandbox):
    sym = sandbox.symbol("100.00")
    poor = sandbox.trader("50.00", {sym: 5})
    buy = poor.order(sym, "buy", 1, "60.00")
    rejected = poor.wait_order(buy["id"], "rejected")
    assert rejected["reject_reason"].startswith("insufficient_cash")
    sell = poor.order(sym, "sell", 6, "100.00")
    assert poor.wait_order(sell["id"], "rejected")["reject_reason"].startswith("insufficient_shares")
    stack.wait_quiet()
    assert poor.portfolio()["reserved_cash"] == "0.00"


def test_client_order_id_is_idempotent(stack, sandbox):
    sym = sandbox.symbol("30.00")
    trader = sandbox.trader()
    body = {"symbol": sym, "side": "buy", "type": "limit", "qty": 3, "limit_price": "29.00", "client_order_id": "abc-1"}
    first = trader.post("/api/orders", body)
    again = trader.post("/api/orders", body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    changed = trader.post("/api/orders", {**body, "qty": 4})
    assert changed.status_code == 409 and changed.json()["error"]["field"] == "client_order_id"
    assert len(trader.get(f"/api/orders?symbol={sym}").json()) == 1


def test_batch_endpoint_reports_each_item(stack, sandbox):
    sym = sandbox.symbol("40.00")
    trader = sandbox.trader()
    resp = trader.post("/api/orders/batch", {"orders": [
        {"symbol": sym, "side": "buy", "type": "limit", "qty": 1, "limit_price": "39.00"},
        {"symbol": sym, "side": "buy", "type": "limit", "qty": 0, "limit_price": "39.00"},
        {"symbol": "NOPE1", "side": "buy", "type": "limit", "qty": 1, "limit_price": "39.00"},
        {"symbol": sym, "side": "sell", "type": "market", "qty": 1},
    ]})
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert results[0]["status"] == "pending_new"
    assert results[1]["error"]["field"] == "qty"
    assert results[2]["error"]["code"] == "unknown_symbol"
    assert results[3]["status"] == "pending_new"
    assert trader.wait_order(results[3]["id"], "rejected")["reject_reason"].startswith("insufficient_shares")
    assert trader.wait_order(results[0]["id"], "new")
