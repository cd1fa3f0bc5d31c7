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


def test_a_reset_and_commissions_delivered_twice_apply_once(doubled):
    """The reset reaches every service twice (same event id), with orders in flight and
    commission on: each service resets once, and nothing is charged twice."""
    box = Sandbox(doubled)
    sym = box.symbol("10.00")
    buyer = box.trader("1000.00")
    seller = box.trader("10.00", {sym: 100})
    teacher = doubled.instructor()
    assert teacher.session.put(doubled.url + "/api/settings", json={"commission_per_share": "0.01"},
                               timeout=10).status_code == 200
    try:
        box._wait_known("user_portfolio", "SELECT 1 FROM settings WHERE commission_per_share = %s", "0.01")
        bid = buyer.order(sym, "buy", 10, "10.00")
        buyer.wait_order(bid["id"], "new")
        ask = seller.order(sym, "sell", 10, "10.00")
        seller.wait_order(ask["id"], "filled")
        doubled.wait_quiet()
        assert buyer.portfolio()["cash"] == "899.90" and seller.portfolio()["cash"] == "109.90"
        assert doubled.audit() == []
        buyer.order(sym, "buy", 5, "9.00")
        resp = teacher.post("/api/simulation/reset")
        assert resp.status_code == 202
        epoch = resp.json()["epoch"]
        doubled.wait_quiet()
        for service in ("user_portfolio", "stock_data", "stock_ordering", "order_matching"):
            with doubled.db(service) as conn:
                got = conn.execute("SELECT (value #>> '{}')::int AS e FROM service_state WHERE key = 'epoch'"
                                   ).fetchone()["e"]
                assert got == epoch, service
                kinds = conn.execute("SELECT count(*) AS n FROM inbox WHERE type = 'simulation.reset'"
                                     ).fetchone()["n"]
                assert kinds == 1, service  # the second copy was a duplicate
        assert (buyer.portfolio()["cash"], buyer.portfolio()["reserved_cash"]) == ("1000.00", "0.00")
        assert seller.portfolio()["cash"] == "10.00"
        with doubled.db("user_portfolio") as conn:
            assert conn.execute("SELECT cash FROM accounts WHERE user_id = 0").fetchone()["cash"] == 0
        assert doubled.audit() == []
    finally:
        teacher.session.put(doubled.url + "/api/settings", json={"commission_per_share": "0"}, timeout=10)
