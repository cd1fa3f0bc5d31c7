"""stock_ordering's event handlers against a real database: how an order's status,
filled quantity and average price move as portfolio and matching report on it, its
history, redelivery, events from different producers in any order, and the
statements a batch costs. The worker emits nothing: screens follow orders from
matching's own events (tests/unit/test_executions.py)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal

from service_runtime import contracts
from service_runtime.unit_of_work import unit_of_work
from stock_ordering import services, store
from stock_ordering.domain import NewOrder

SERVICE = "stock_ordering"
D = Decimal
T0 = datetime(2024, 3, 4, 9, 30, 0, tzinfo=UTC)

# A status never moves to an earlier rank (final statuses share the last one).
RANK = {"pending_new": 0, "new": 1, "partially_filled": 2, "pending_cancel": 2, "filled": 3, "canceled": 3,
        "expired": 3, "rejected": 3}


# -- setup and event builders ---------------------------------------------------


def place(sdb, *specs: tuple[int, str, int, str | None]) -> list[int]:
    """Orders through the door's use case, each (user_id, side, qty, limit_price or None
    for market); their ids."""
    open_market_with_acme(sdb)
    orders = [
        NewOrder(user_id=user_id, symbol="ACME", side=side, type="limit" if limit else "market", qty=qty,
                 limit_price=D(limit) if limit else None, time_in_force="day", client_order_id=None)
        for user_id, side, qty, limit in specs
    ]
    with unit_of_work(sdb.conn, SERVICE) as uow:
        outcomes = services.place_orders(uow, orders)
    return [o.order["id"] for o in outcomes]


def rejected(order_id: int, reason: str = "insufficient_cash", message: str = "needs 100.00") -> contracts.OrderRejected:
    return contracts.OrderRejected(order_id=order_id, user_id=2, symbol="ACME", reason=reason, message=message)


def booked(order_id: int, filled: int = 0, remaining: int = 10, notional: str = "0") -> contracts.OrderBooked:
    return contracts.OrderBooked(order_id=order_id, user_id=2, symbol="ACME", filled_qty=filled, remaining_qty=remaining,
                       book_seq=1, filled_notional=D(notional))


_trade_ids = itertools.count(1)


def trade(buy: int, sell: int, px: str, qty: int, buy_filled: tuple[int, str] | int,
          sell_filled: tuple[int, str] | int, trade_id: int | None = None) -> contracts.TradeExecuted:
    """`buy_filled`/`sell_filled`: each order's cumulative (filled qty, filled notional)
    after this fill, or just the qty when its notional is this fill's alone."""
    tid = trade_id if trade_id is not None else next(_trade_ids)

    def cumulative(value: tuple[int, str] | int) -> tuple[int, Decimal]:
        return (value[0], D(value[1])) if isinstance(value, tuple) else (value, D(px) * qty)

    (bq, bn), (sq, sn) = cumulative(buy_filled), cumulative(sell_filled)
    return contracts.TradeExecuted(
        trade_id=tid, seq=tid, symbol="ACME", price=D(px), qty=qty, buy_order_id=buy, sell_order_id=sell,
        buyer_id=2, seller_id=3, taker_side="buy", buy_filled_qty=bq, sell_filled_qty=sq,
        buy_remaining=0, sell_remaining=0, executed_at=T0, buy_filled_notional=bn, sell_filled_notional=sn,
    )


def canceled(order_id: int, filled: int, canceled_qty: int, reason: str = "user", notional: str = "0"
             ) -> contracts.OrderCanceled:
    return contracts.OrderCanceled(order_id=order_id, user_id=2, symbol="ACME", filled_qty=filled,
                         canceled_qty=canceled_qty, reason=reason, filled_notional=D(notional))


def expired(order_id: int, filled: int, expired_qty: int, notional: str = "0") -> contracts.OrderExpired:
    return contracts.OrderExpired(order_id=order_id, user_id=2, symbol="ACME", filled_qty=filled, expired_qty=expired_qty,
                        filled_notional=D(notional))


# -- readers ----------------------------------------------------------------------


def order(sdb, order_id: int) -> dict:
    row = store.get_order(sdb.conn, order_id)
    return {"status": row["status"], "filled_qty": row["filled_qty"], "filled_notional": row["filled_notional"],
            "booked": row["booked"], "final_status": row["final_status"], "reject_reason": row["reject_reason"]}


def state(sdb, order_id: int) -> tuple[str, int, str | None]:
    """(status, filled_qty, filled_avg_price as the API shows it)."""
    resp = sdb.client().get(f"/api/orders/{order_id}", headers=sdb.auth(1, "instructor"))
    assert resp.status_code == 200, resp.json
    body = resp.json
    return body["status"], body["filled_qty"], body["filled_avg_price"]


def history(sdb, order_id: int) -> list[tuple[str, int, str | None]]:
    return [(r["status"], r["filled_qty"], r["detail"]) for r in store.history(sdb.conn, order_id)]


# -- the life of an order -----------------------------------------------------------


def test_booked_partially_filled_filled(service_db):
    buy, sell = place(service_db, (2, "buy", 100, "10.00"), (3, "sell", 100, "9.99"))
    run = service_db.runner.deliver
    assert run(booked(buy, 0, 100)) == []  # it announces nothing: screens follow matching's events
    assert state(service_db, buy) == ("new", 0, None)

    run(trade(buy, sell, "10.00", 40, 40, 40, trade_id=501))
    assert state(service_db, buy) == ("partially_filled", 40, "10.0000")
    run(trade(buy, sell, "9.99", 60, (100, "999.40"), (100, "999.40"), trade_id=502))
    # (40 * 10.00 + 60 * 9.99) / 100 = 9.994
    assert state(service_db, buy) == ("filled", 100, "9.9940")
    assert state(service_db, sell) == ("filled", 100, "9.9940")
    assert order(service_db, buy)["filled_notional"] == D("999.4000")
    assert history(service_db, buy) == [
        ("pending_new", 0, None),
        ("new", 0, None),
        ("partially_filled", 40, "trade 501: 40 @ 10.00"),
        ("filled", 100, "trade 502: 60 @ 9.99"),
    ]
    # The sell side was never booked here: the trade alone books it.
    assert history(service_db, sell) == [
        ("pending_new", 0, None),
        ("partially_filled", 40, "trade 501: 40 @ 10.00"),
        ("filled", 100, "trade 502: 60 @ 9.99"),
    ]
    # A late booked / canceled after the last fill change nothing.
    run(booked(buy, 0, 100), canceled(buy, 100, 0, notional="999.40"))
    assert state(service_db, buy) == ("filled", 100, "9.9940")
    assert len(history(service_db, buy)) == 4


def test_a_whole_life_in_one_batch(service_db):
    buy, sell, other = place(service_db, (2, "buy", 30, "10.05"), (3, "sell", 30, "10.00"),
                             (4, "buy", 5, "9.00"))
    service_db.runner.deliver(
        booked(sell, 0, 30), booked(buy, 0, 30), trade(buy, sell, "10.01", 10, 10, 10, trade_id=11),
        trade(buy, sell, "10.02", 20, (30, "300.50"), (30, "300.50"), trade_id=12), booked(other, 0, 5),
    )
    # (10 * 10.01 + 20 * 10.02) / 30 = 10.01666.. -> 10.0167
    assert state(service_db, buy) == ("filled", 30, "10.0167")
    assert state(service_db, sell) == ("filled", 30, "10.0167")
    assert state(service_db, other) == ("new", 0, None)
    for oid in (buy, sell):
        assert history(service_db, oid) == [
            ("pending_new", 0, None),
            ("new", 0, None),
            ("partially_filled", 10, "trade 11: 10 @ 10.01"),
            ("filled", 30, "trade 12: 20 @ 10.02"),
        ]
    assert history(service_db, other) == [("pending_new", 0, None), ("new", 0, None)]


def test_rejected_keeps_reason_and_later_events_do_not_revive_it(service_db):
    (oid,) = place(service_db, (2, "buy", 10, "10.00"))
    service_db.runner.deliver(rejected(oid, "insufficient_cash", "needs 100.00, has 50.00"))
    assert state(service_db, oid) == ("rejected", 0, None)
    # A second rejection keeps the first reason; a late booking changes nothing.
    service_db.runner.deliver(rejected(oid, "market_closed", ""), booked(oid))
    assert order(service_db, oid)["reject_reason"] == "insufficient_cash: needs 100.00, has 50.00"
    assert state(service_db, oid) == ("rejected", 0, None)
    assert history(service_db, oid)[-1] == ("rejected", 0, "insufficient_cash: needs 100.00, has 50.00")
    (bare,) = place(service_db, (2, "sell", 10, "10.00"))
    service_db.runner.deliver(rejected(bare, "market_closed", ""))
    assert order(service_db, bare)["reject_reason"] == "market_closed"


def test_canceled_and_expired_keep_what_was_filled(service_db):
    a, b, c, d = place(service_db, (2, "buy", 10, "10.00"), (2, "buy", 10, "10.00"), (3, "sell", 10, "10.00"),
                       (2, "buy", 10, None))
    run = service_db.runner.deliver
    run(booked(a), booked(b), booked(c))
    run(trade(a, c, "10.00", 4, 4, 4, trade_id=21))
    run(canceled(a, 4, 6, notional="40.00"), expired(b, 0, 10))
    assert state(service_db, a) == ("canceled", 4, "10.0000")
    assert state(service_db, b) == ("expired", 0, None)
    assert history(service_db, a)[1:] == [("new", 0, None), ("partially_filled", 4, "trade 21: 4 @ 10.00"),
                                          ("canceled", 4, "user")]
    assert history(service_db, b)[1:] == [("new", 0, None), ("expired", 0, "market closed")]
    # An expiry that reports a full fill means the order is filled (its last trade may be on its way).
    run(expired(c, 10, 0, notional="100.00"))
    assert state(service_db, c) == ("filled", 10, "10.0000")
    run(trade(d, c, "10.00", 6, 6, (10, "100.00"), trade_id=22))
    assert state(service_db, c) == ("filled", 10, "10.0000")
    assert order(service_db, c)["filled_notional"] == D("100.0000")
    # A market order canceled for what it could not fill.
    run(canceled(d, 6, 4, "market order remainder", notional="60.00"))
    assert state(service_db, d) == ("canceled", 6, "10.0000")


def test_cancel_losing_the_race_with_the_last_fill_leaves_filled(service_db):
    a, b, s = place(service_db, (2, "buy", 10, "10.00"), (2, "buy", 10, "10.00"), (3, "sell", 20, "10.00"))
    client = service_db.client()
    service_db.runner.deliver(booked(a), booked(b), booked(s, 0, 20))
    for oid in (a, b):
        resp = client.delete(f"/api/orders/{oid}", headers=service_db.auth(2))
        assert resp.status_code == 202 and resp.json["status"] == "pending_cancel"
    # a: the last fill arrives, then matching's cancel (reporting it filled).
    service_db.runner.deliver(trade(a, s, "10.00", 10, 10, 10, trade_id=31))
    assert state(service_db, a) == ("filled", 10, "10.0000")
    service_db.runner.deliver(canceled(a, 10, 0, notional="100.00"))
    assert state(service_db, a) == ("filled", 10, "10.0000")
    # b: matching's cancel overtakes the fill's trade.executed (different consumers' timing).
    service_db.runner.deliver(canceled(b, 10, 0, notional="100.10"))
    assert state(service_db, b) == ("filled", 10, "10.0100")  # the cumulative notional travels with it
    service_db.runner.deliver(trade(b, s, "10.01", 10, (10, "100.10"), (20, "200.10"), trade_id=32))
    assert state(service_db, b) == ("filled", 10, "10.0100")
    assert state(service_db, s) == ("filled", 20, "10.0050")
    for oid in (a, b):
        assert service_db.client().delete(f"/api/orders/{oid}", headers=service_db.auth(2)).status_code == 409
    assert [h[0] for h in history(service_db, a)] == ["pending_new", "new", "pending_cancel", "filled"]
    assert [h[0] for h in history(service_db, b)] == ["pending_new", "new", "pending_cancel", "filled"]


def test_a_redelivered_event_applies_once(service_db):
    buy, sell = place(service_db, (2, "buy", 10, "10.00"), (3, "sell", 10, "10.00"))
    runner = service_db.runner
    fill = runner.envelope(trade(buy, sell, "10.00", 4, 4, 4, trade_id=41))
    runner.deliver(fill)
    assert len(history(service_db, buy)) == 2
    runner.deliver(fill)
    assert len(history(service_db, buy)) == 2
    # The same envelope twice in one batch, and alongside a redelivered one.
    second = runner.envelope(trade(buy, sell, "10.10", 6, (10, "100.60"), (10, "100.60"), trade_id=42))
    runner.deliver(second, second, fill)
    assert state(service_db, buy) == ("filled", 10, "10.0600")
    assert order(service_db, buy)["filled_notional"] == D("100.6000")
    assert len(history(service_db, buy)) == 3
    cancel = runner.envelope(canceled(buy, 10, 0, notional="100.60"))
    runner.deliver(cancel)
    runner.deliver(cancel)
    assert len(history(service_db, buy)) == 3


def test_events_for_an_unknown_order_are_ignored_and_the_rest_of_the_batch_applies(service_db):
    (buy,) = place(service_db, (2, "buy", 10, "10.00"))
    service_db.runner.deliver(booked(9999), trade(buy, 9998, "10.00", 5, 5, 5, trade_id=51),
                              canceled(9997, 0, 10))
    assert state(service_db, buy) == ("partially_filled", 5, "10.0000")
    assert store.get_order(service_db.conn, 9999) is None


def test_events_in_any_order_never_move_a_status_backwards(service_db):
    """matching's booked and two fills, in every arrival order (a consumer may see them
    so after a redelivery): every order ends filled, and no step goes backwards."""
    perms = list(itertools.permutations(["booked", "fill1", "fill2"]))
    ids = place(service_db, *[(2, "buy", 10, "10.00")] * len(perms))
    sell_ids = place(service_db, *[(3, "sell", 10, "9.00")] * len(perms))

    def events(oid: int, sid: int, n: int, base: int) -> dict:
        return {
            "booked": booked(oid, 0, 10),
            "fill1": trade(oid, sid, "10.00", 4, 4, 4, trade_id=base + 2 * n),
            "fill2": trade(oid, sid, "9.00", 6, (10, "94.00"), (10, "94.00"), trade_id=base + 1 + 2 * n),
        }

    for n, (perm, oid, sid) in enumerate(zip(perms, ids, sell_ids, strict=True)):
        these = events(oid, sid, n, 1000)
        seen = []
        for name in perm:
            service_db.runner.deliver(these[name])
            status, filled, _ = state(service_db, oid)
            seen.append(status)
        ranks = [RANK[s] for s in seen]
        assert ranks == sorted(ranks), (perm, seen)
        assert state(service_db, oid) == ("filled", 10, "9.4000"), perm
        assert history(service_db, oid)[-1][:2] == ("filled", 10), perm
    # The same in one batch per order, in every order.
    ids = place(service_db, *[(2, "buy", 10, "10.00")] * len(perms))
    sell_ids = place(service_db, *[(3, "sell", 10, "9.00")] * len(perms))
    batch = []
    for n, (perm, oid, sid) in enumerate(zip(perms, ids, sell_ids, strict=True)):
        these = events(oid, sid, n, 5000)
        batch.extend(these[name] for name in perm)
    service_db.runner.deliver(*batch)
    for oid in (*ids, *sell_ids):
        assert state(service_db, oid) == ("filled", 10, "9.4000")


def test_a_late_cancel_or_expiry_never_undoes_a_fill_and_a_late_booked_never_undoes_a_cancel(service_db):
    a, b, s = place(service_db, (2, "buy", 10, "10.00"), (2, "buy", 10, "10.00"), (3, "sell", 10, "10.00"))
    run = service_db.runner.deliver
    # b: canceled (nothing filled) before its booked arrives.
    run(canceled(b, 0, 10))
    run(booked(b, 0, 10))
    assert state(service_db, b) == ("canceled", 0, None)
    assert history(service_db, b) == [("pending_new", 0, None), ("canceled", 0, "user")]
    # a: partially filled, then a stale booked (filled 0): stays partially filled.
    run(trade(a, s, "10.00", 3, 3, 3, trade_id=61))
    run(booked(a, 0, 10))
    assert state(service_db, a) == ("partially_filled", 3, "10.0000")
    assert history(service_db, a) == [("pending_new", 0, None), ("partially_filled", 3, "trade 61: 3 @ 10.00")]
    run(expired(a, 3, 7, notional="30.00"), booked(a, 3, 7, notional="30.00"))
    assert state(service_db, a) == ("expired", 3, "10.0000")


# -- cost of a batch --------------------------------------------------------------------


def test_a_batch_costs_a_constant_number_of_statements(service_db, statement_counter):
    ids = place(service_db, *[(2 + i % 5, "buy", 10, "10.00") for i in range(15)],
                *[(10 + i % 5, "sell", 10, "10.00") for i in range(15)])
    buys, sells = ids[:15], ids[15:]
    runner = service_db.runner
    events = []
    for n, (b, s) in enumerate(zip(buys, sells, strict=True)):
        events += [booked(b), booked(s), trade(b, s, "10.00", 10, 10, 10, trade_id=700 + n),
                   canceled(b, 10, 0)]
    assert len(events) == 60 and len({*buys, *sells}) == 30
    statement_counter.reset()
    assert runner.deliver(*events) == []
    big, big_statements = statement_counter.count, list(statement_counter.statements)

    (one,) = place(service_db, (2, "buy", 10, "10.00"))
    statement_counter.reset()
    runner.deliver(booked(one))
    small = statement_counter.count
    # BEGIN, the inbox claim, the orders' read, their update, the history, COMMIT
    assert big <= 7 and small <= 7 and abs(big - small) <= 1, (big, small, big_statements)
    assert all(state(service_db, oid) == ("filled", 10, "10.0000") for oid in ids)
    assert history(service_db, buys[0]) == [("pending_new", 0, None), ("new", 0, None),
                                            ("filled", 10, "trade 700: 10 @ 10.00")]
    assert state(service_db, one) == ("new", 0, None)


# -- instructor simulations: reset, delisting, the orders export ----------------------


def open_market_with_acme(sdb) -> None:
    sdb.conn.execute("INSERT INTO known_symbols (symbol, name) VALUES ('ACME', 'Acme') ON CONFLICT DO NOTHING")
    sdb.conn.execute("UPDATE market SET status = 'open'")


def test_reset_deletes_every_order_reopens_the_market_and_is_idempotent(service_db):
    buy, sell = place(service_db, (2, "buy", 10, "10.00"), (3, "sell", 10, "10.00"))
    service_db.runner.deliver(booked(buy), trade(buy, sell, "10.00", 4, 4, 4))
    with service_db.conn.transaction():
        service_db.conn.execute("UPDATE market SET status = 'halted'")
    runner = service_db.runner
    reset = runner.envelope(contracts.SimulationReset(epoch=2, requested_by=1), epoch=2)
    assert runner.deliver(reset) == []
    assert runner.deliver(reset) == []
    assert service_db.conn.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == 0
    assert service_db.conn.execute("SELECT count(*) AS n FROM order_history").fetchone()["n"] == 0
    assert store.market_status(service_db.conn) == "open"
    # late events about the wiped orders are ignored (old epoch), and would find nothing anyway
    assert runner.deliver(runner.envelope(canceled(buy, 4, 6), epoch=1)) == []


def test_an_order_at_the_door_during_a_reset_waits_for_it_and_lands_in_the_new_epoch(service_db):
    """The reset writes the epoch row first; the door share-locks it: an order whose
    transaction started while the reset was applying commits after it, in epoch 2."""
    import threading

    from service_runtime.db import connect
    from service_runtime.unit_of_work import UnitOfWork

    open_market_with_acme(service_db)
    client = service_db.client()
    result: dict = {}
    with connect(service_db.settings.database_url(SERVICE), autocommit=True) as other:
        with UnitOfWork(other, SERVICE, epoch=1) as uow:
            # the reset's use case, up to its commit: epoch row written first, then the wipe
            assert uow.begin_epoch(2)
            store.reset_all(other)
            uow.sync()

            def place_one() -> None:
                result["resp"] = client.post("/api/orders", headers=service_db.auth(2), json={
                    "symbol": "ACME", "side": "buy", "type": "limit", "qty": 1, "limit_price": "10.00"})

            thread = threading.Thread(target=place_one)
            thread.start()
            thread.join(1.0)
            assert thread.is_alive()  # waiting for the reset's epoch row
        thread.join(10)
    assert result["resp"].status_code == 201
    body = json.loads(service_db.conn.execute(
        "SELECT body FROM outbox WHERE type = 'order.placed'").fetchone()["body"])
    assert (body["epoch"], body["payload"]["order_id"]) == (2, result["resp"].json["id"])


def test_a_reset_that_revokes_tokens_refuses_older_trader_and_bot_tokens_here_within_a_second(service_db):
    import time

    from service_runtime.auth import issue_token

    open_market_with_acme(service_db)
    client = service_db.client()
    body = {"symbol": "ACME", "side": "buy", "type": "limit", "qty": 1, "limit_price": "10.00"}
    assert client.post("/api/orders", headers=service_db.auth(2), json=body).status_code == 201
    runner = service_db.runner
    runner.deliver(runner.envelope(contracts.SimulationReset(epoch=2, requested_by=1), epoch=2))
    assert client.get("/api/orders", headers=service_db.auth(2)).status_code == 200  # not revoked: kept
    runner.deliver(runner.envelope(contracts.SimulationReset(epoch=3, requested_by=1, tokens_valid_from_epoch=3), epoch=3))
    started = time.monotonic()
    while client.get("/api/orders", headers=service_db.auth(2)).status_code == 200:
        assert time.monotonic() - started < 1.5, "the API process keeps the floor for a second at most"
        time.sleep(0.05)
    for who in (service_db.auth(2), service_db.auth(5, "bot")):
        refused = client.post("/api/orders", headers=who, json=body)
        assert (refused.status_code, refused.json) == (401, {"error": {
            "code": "unauthorized", "message": "token revoked by a reset; log in again"}})
    fresh = issue_token(service_db.settings.secret_key, 2, "trader", "t", 3, 60)[0]
    assert client.post("/api/orders", headers={"Authorization": f"Bearer {fresh}"}, json=body).status_code == 201
    assert client.get("/api/orders", headers=service_db.auth(1, "instructor")).status_code == 200
    # a later reset carrying a lower floor does not lower it
    runner.deliver(runner.envelope(contracts.SimulationReset(epoch=4, requested_by=1, tokens_valid_from_epoch=1), epoch=4))
    service_db._app.extensions["papertrade.token_floor"].invalidate()
    assert client.get("/api/orders", headers=service_db.auth(2)).status_code == 401
    row = service_db.conn.execute("SELECT value FROM service_state WHERE key = 'tokens_valid_from'").fetchone()
    assert row["value"] == 3


def test_health_reports_events_stuck_in_the_outbox_as_degraded_and_the_api_still_serves(service_db):
    """Nothing relays (no worker here, as when the broker or the worker is down): once the
    oldest unsent event is older than PAPERTRADE_OUTBOX_STALL_SECONDS (5 s), /healthz says
    "degraded" (still 200) and why; once relayed, "ok" again."""
    open_market_with_acme(service_db)
    client = service_db.client()
    health = client.get("/healthz")
    assert (health.status_code, health.json["status"]) == (200, "ok")
    assert health.json["events"] == {"unsent": 0, "oldest_unsent_age_s": 0.0, "status": "ok"}
    placed = client.post("/api/orders", headers=service_db.auth(2), json={
        "symbol": "ACME", "side": "buy", "type": "limit", "qty": 1, "limit_price": "10.00"})
    assert placed.status_code == 201
    fresh = client.get("/healthz").json
    assert fresh["status"] == "ok" and fresh["events"]["unsent"] == 1 and fresh["events"]["status"] == "ok"
    with service_db.conn.transaction():  # as if it had waited 6 s
        service_db.conn.execute("UPDATE outbox SET created_at = now() - interval '6 seconds'")
    stalled = client.get("/healthz")
    assert stalled.status_code == 200
    assert stalled.json["status"] == "degraded" and stalled.json["events"]["status"] == "stalled"
    assert stalled.json["events"]["unsent"] == 1 and stalled.json["events"]["oldest_unsent_age_s"] >= 6
    assert "RabbitMQ or this service's worker" in stalled.json["message"]
    # orders are still accepted meanwhile: the API only writes its database (the outbox)
    again = client.post("/api/orders", headers=service_db.auth(2), json={
        "symbol": "ACME", "side": "buy", "type": "limit", "qty": 1, "limit_price": "10.00"})
    assert again.status_code == 201
    with service_db.conn.transaction():
        service_db.conn.execute("DELETE FROM outbox")  # as the relay does once the broker confirms
    recovered = client.get("/healthz").json
    assert recovered["status"] == "ok" and "message" not in recovered
    assert recovered["events"] == {"unsent": 0, "oldest_unsent_age_s": 0.0, "status": "ok"}


def test_a_delisted_symbol_is_refused_at_the_door(service_db):
    open_market_with_acme(service_db)
    client = service_db.client()
    body = {"symbol": "ACME", "side": "buy", "type": "limit", "qty": 1, "limit_price": "10.00"}
    assert client.post("/api/orders", json=body, headers=service_db.auth(2)).status_code == 201
    service_db.runner.deliver(contracts.StockDelisted(symbol="ACME"))
    refused = client.post("/api/orders", json=body, headers=service_db.auth(2))
    assert (refused.status_code, refused.json["error"]["code"]) == (422, "unknown_symbol")
    service_db.runner.deliver(contracts.StockListed(symbol="ACME", name="Acme", reference_price=D("10.00")))
    assert client.post("/api/orders", json=body, headers=service_db.auth(2)).status_code == 201


def test_the_orders_export_lists_every_order_for_instructors(service_db):
    buy, sell = place(service_db, (2, "buy", 10, "10.00"), (3, "sell", 10, None))
    service_db.runner.deliver(booked(buy), trade(buy, sell, "10.00", 10, 10, 10))
    client = service_db.client()
    assert client.get("/api/exports/orders.csv").status_code == 401
    assert client.get("/api/exports/orders.csv", headers=service_db.auth(2)).status_code == 403
    resp = client.get("/api/exports/orders.csv", headers=service_db.auth(1, "instructor"))
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    lines = resp.get_data(as_text=True).splitlines()
    assert lines[0] == ("id,client_order_id,user_id,symbol,side,type,qty,limit_price,time_in_force,status,"
                        "filled_qty,filled_avg_price,reject_reason,created_at,updated_at,stop_price,triggered,replaces,replaced_by")
    assert [line.split(",")[:13] for line in lines[1:]] == [
        [str(buy), "", "2", "ACME", "buy", "limit", "10", "10.00", "day", "filled", "10", "10.0000", ""],
        [str(sell), "", "3", "ACME", "sell", "market", "10", "", "day", "filled", "10", "10.0000", ""],
    ]


# -- stops ------------------------------------------------------------------------------


def test_a_stop_is_new_while_it_waits_and_shows_when_it_triggered(service_db):
    open_market_with_acme(service_db)
    stop = NewOrder(user_id=2, symbol="ACME", side="sell", type="stop_limit", qty=10, limit_price=D("9.40"),
                    time_in_force="gtc", client_order_id="sl-1", stop_price=D("9.50"))
    with unit_of_work(service_db.conn, SERVICE) as uow:
        [outcome] = services.place_orders(uow, [stop])
    [announced] = [e.event for e in uow.emitted]  # written at the commit
    assert (announced.type, announced.stop_price, announced.limit_price) == ("stop_limit", D("9.50"), D("9.40"))
    order_id = outcome.order["id"]
    resp = service_db.client().get(f"/api/orders/{order_id}", headers=service_db.auth(2))
    assert (resp.json["status"], resp.json["stop_price"], resp.json["triggered"]) == ("pending_new", "9.50", False)
    run = service_db.runner.deliver
    run(contracts.OrderBooked(order_id=order_id, user_id=2, symbol="ACME", filled_qty=0, remaining_qty=10,
                              book_seq=1, triggered=False))
    triggered = contracts.OrderTriggered(order_id=order_id, user_id=2, symbol="ACME", price=D("9.45"), book_seq=2)
    envelope = service_db.runner.envelope(triggered)
    run(envelope)
    resp = service_db.client().get(f"/api/orders/{order_id}", headers=service_db.auth(2))
    assert (resp.json["status"], resp.json["triggered"]) == ("new", True)
    run(envelope)  # redelivered: nothing twice
    run(contracts.OrderTriggered(order_id=order_id, user_id=2, symbol="ACME", price=D("9.45"), book_seq=2))
    assert history(service_db, order_id) == [
        ("pending_new", 0, None), ("new", 0, "waiting for its stop price"), ("new", 0, "triggered by a trade at 9.45")]
    # a limit order shows no stop fields
    [plain] = place(service_db, (2, "buy", 1, "9.00"))
    resp = service_db.client().get(f"/api/orders/{plain}", headers=service_db.auth(2))
    assert (resp.json["stop_price"], resp.json["triggered"]) == (None, None)


# -- replace ---------------------------------------------------------------------------


def patch(sdb, order_id: int, body: dict, user_id: int = 2):
    return sdb.client().patch(f"/api/orders/{order_id}", json=body, headers=sdb.auth(user_id))


def test_a_replace_places_the_new_order_links_both_and_ends_the_old_one_replaced(service_db):
    [old] = place(service_db, (2, "buy", 10, "10.00"))
    run = service_db.runner.deliver
    run(booked(old), trade(old, 99, "10.00", 3, 3, 3))
    resp = patch(service_db, old, {"limit_price": "10.10"})
    assert resp.status_code == 200, resp.json
    new = resp.json
    assert (new["status"], new["replaces"], new["qty"], new["limit_price"], new["side"]) == (
        "pending_new", old, 7, "10.10", "buy")  # what the old one still had open
    got = service_db.client().get(f"/api/orders/{old}", headers=service_db.auth(2)).json
    assert (got["status"], got["replaced_by"]) == ("partially_filled", new["id"])
    # while it is on its way the old order cannot be replaced again
    assert patch(service_db, old, {"qty": 5}).status_code == 409
    run(contracts.OrderReplaced(order_id=old, user_id=2, symbol="ACME", replaced_by=new["id"], filled_qty=3,
                                filled_notional=D("30.00")))
    got = service_db.client().get(f"/api/orders/{old}", headers=service_db.auth(2)).json
    assert (got["status"], got["filled_qty"], got["replaced_by"]) == ("replaced", 3, new["id"])
    assert got["history"][-1]["detail"] == f"replaced by order {new['id']}"
    assert patch(service_db, old, {"qty": 5}).json["error"]["code"] == "order_not_replaceable"


def test_a_refused_replacement_leaves_the_old_order_replaceable_again(service_db):
    [old] = place(service_db, (2, "sell", 10, "10.00"))
    run = service_db.runner.deliver
    run(booked(old))
    new = patch(service_db, old, {"qty": 4, "limit_price": "10.50", "client_order_id": "r-1"}).json
    assert patch(service_db, old, {"qty": 4, "limit_price": "10.50", "client_order_id": "r-1"}).json["id"] == \
        new["id"]  # a retry returns the same replacement
    run(service_db.runner.envelope(contracts.OrderRejected(order_id=new["id"], user_id=2, symbol="ACME",
                                                           reason="replace_failed", message="lost"),
                                   "order_matching"))
    assert state(service_db, new["id"])[0] == "rejected"
    got = service_db.client().get(f"/api/orders/{old}", headers=service_db.auth(2)).json
    assert (got["status"], got["replaced_by"]) == ("new", None)
    assert patch(service_db, old, {"qty": 2}).status_code == 200


def test_bad_replaces_are_refused_with_nothing_written(service_db):
    [old, other] = place(service_db, (2, "buy", 10, "10.00"), (3, "buy", 10, None))
    run = service_db.runner.deliver
    run(booked(old), booked(other))
    count = service_db.conn.execute("SELECT count(*) AS n FROM orders").fetchone()["n"]
    cases = [
        (old, {"qty": 0}, 2, 422, "qty"),
        (old, {"qty": "5"}, 2, 422, "qty"),
        (old, {"limit_price": "10.001"}, 2, 422, "limit_price"),
        (old, {"stop_price": "9.00"}, 2, 422, "stop_price"),  # a limit order takes no stop price
        (old, {"side": "sell"}, 2, 422, "side"),  # not something a replace changes
        (old, {"qty": 5}, 3, 403, None),  # another user's order
        (other, {"limit_price": "10.00"}, 3, 422, "limit_price"),  # a market order takes no limit
        (999999, {"qty": 5}, 2, 404, None),
    ]
    for order_id, body, user_id, status, field in cases:
        resp = patch(service_db, order_id, body, user_id)
        assert resp.status_code == status, (body, resp.json)
        assert field is None or resp.json["error"]["field"] == field, (body, resp.json)
    run(trade(old, 99, "10.00", 10, 10, 10))  # filled: no longer replaceable
    assert patch(service_db, old, {"qty": 5}).status_code == 409
    assert service_db.conn.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == count
