"""user_portfolio against a real database: reservations, settlement, releases, the
events it emits, the portfolio and leaderboard API, and the ledger invariant."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service_runtime import contracts, jsonio
from user_portfolio import handlers

SERVICE = "user_portfolio"
D = Decimal


@pytest.fixture(autouse=True)
def announce_leaderboard_every_batch(monkeypatch):
    """These tests read each batch's events; the leaderboard's time throttle has tests
    of its own (test_leaderboard_is_announced_at_most_every_interval_and_never_lost)."""
    monkeypatch.setattr(handlers._leaderboard, "INTERVAL", 0.0)
    monkeypatch.setattr(handlers._leaderboard, "pending", False)


# -- event builders ---------------------------------------------------------


def user(user_id: int, cash: str = "10000.00", holdings: dict | None = None, role: str = "trader",
         name: str | None = None) -> contracts.UserCreated:
    return contracts.UserCreated(user_id=user_id, name=name or f"user{user_id}", role=role, starting_cash=D(cash),
                       holdings=holdings or {})


def listed(symbol: str = "ACME", ref: str = "100.00") -> contracts.StockListed:
    return contracts.StockListed(symbol=symbol, name=f"{symbol} Corp", reference_price=D(ref))


def placed(order_id: int, user_id: int, side: str = "buy", type_: str = "limit", qty: int = 10,
           limit: str | None = "100.00", symbol: str = "ACME") -> contracts.OrderPlaced:
    return contracts.OrderPlaced(order_id=order_id, user_id=user_id, symbol=symbol, side=side, type=type_, qty=qty,
                       limit_price=D(limit) if limit is not None else None, time_in_force="day")


_seq = iter(range(1, 1_000_000))


def trade(trade_id: int, buy: tuple[int, int], sell: tuple[int, int], px: str, qty: int, *,
          buy_filled: int, sell_filled: int, buy_rem: int, sell_rem: int, symbol: str = "ACME",
          seq: int | None = None) -> contracts.TradeExecuted:
    """buy / sell are (order_id, user_id)."""
    return contracts.TradeExecuted(
        trade_id=trade_id, seq=next(_seq) if seq is None else seq, symbol=symbol, price=D(px), qty=qty,
        buy_order_id=buy[0], sell_order_id=sell[0], buyer_id=buy[1], seller_id=sell[1], taker_side="buy",
        buy_filled_qty=buy_filled, sell_filled_qty=sell_filled, buy_remaining=buy_rem, sell_remaining=sell_rem,
        executed_at=datetime.now(UTC),
    )


_bots = iter(range(9000, 1_000_000, 2))


def bots_trade(sdb, symbol: str, px: str, seq: int | None = None) -> None:
    """Move the last price the way it moves: by a trade (here one share between two
    new house bots, whom the leaderboard leaves out)."""
    b = next(_bots)
    s = b + 1
    sdb.runner.deliver(user(b, "1000000.00", role="bot", name=f"Bot {b}"),
                       user(s, "0.00", {symbol: 1}, role="bot", name=f"Bot {s}"))
    sdb.runner.deliver(placed(b, b, "buy", "limit", 1, px, symbol=symbol),
                       placed(s, s, "sell", "limit", 1, px, symbol=symbol))
    sdb.runner.deliver(trade(b, (b, b), (s, s), px, 1, buy_filled=1, sell_filled=1, buy_rem=0, sell_rem=0,
                             symbol=symbol, seq=seq))


def canceled(order_id: int, user_id: int, filled: int, canceled_qty: int, symbol: str = "ACME") -> contracts.OrderCanceled:
    return contracts.OrderCanceled(order_id=order_id, user_id=user_id, symbol=symbol, filled_qty=filled,
                         canceled_qty=canceled_qty, reason="user")


# -- readers ----------------------------------------------------------------


def account(sdb, user_id: int) -> dict:
    return sdb.conn.execute("SELECT * FROM accounts WHERE user_id = %s", (user_id,)).fetchone()


def position(sdb, user_id: int, symbol: str = "ACME") -> dict | None:
    return sdb.conn.execute(
        "SELECT * FROM positions WHERE user_id = %s AND symbol = %s", (user_id, symbol)
    ).fetchone()


def reservation(sdb, order_id: int) -> dict | None:
    return sdb.conn.execute("SELECT * FROM reservations WHERE order_id = %s", (order_id,)).fetchone()


def ledger(sdb, user_id: int) -> list[tuple]:
    rows = sdb.conn.execute(
        "SELECT kind, symbol, qty, amount, order_id, trade_id FROM ledger WHERE user_id = %s ORDER BY id",
        (user_id,),
    ).fetchall()
    return [(r["kind"], r["symbol"], r["qty"], r["amount"], r["order_id"], r["trade_id"]) for r in rows]


def of_type(emitted, type_: str) -> list[dict]:
    """Payloads, with nested records (a portfolio, leaderboard rows) as they travel: JSON."""
    def plain(value):
        nested = dataclasses.is_dataclass(value) or (isinstance(value, list) and value
                                                     and dataclasses.is_dataclass(value[0]))
        return json.loads(jsonio.dumps(value)) if nested else value

    return [{k: plain(v) for k, v in e.event.to_payload().items()} for e in emitted if e.type == type_]


def cash_state(sdb, user_id: int) -> tuple[Decimal, Decimal]:
    a = account(sdb, user_id)
    return a["cash"], a["reserved_cash"]


def setup_market(sdb, *users: contracts.UserCreated, symbols: tuple[contracts.StockListed, ...] = ()) -> None:
    sdb.runner.deliver(*(symbols or (listed(),)), *users)


# -- accounts and symbols ---------------------------------------------------


def test_user_created_opens_the_account_once_with_grants(service_db):
    service_db.runner.deliver(listed("ACME", "100.00"))
    emitted = service_db.runner.deliver(user(1, "2500.50", {"ACME": 10, "ZZZ": 3}))
    a = account(service_db, 1)
    assert (a["cash"], a["reserved_cash"], a["starting_cash"], a["realized_pl"]) == (
        D("2500.50"), D("0.00"), D("2500.50"), D("0.00"))
    acme, zzz = position(service_db, 1, "ACME"), position(service_db, 1, "ZZZ")
    assert (acme["qty"], acme["granted_qty"], acme["reserved_qty"], acme["avg_cost"]) == (10, 10, 0, D("100"))
    assert (zzz["qty"], zzz["avg_cost"]) == (3, D("0"))  # not listed yet: no cost basis
    assert ledger(service_db, 1) == [
        ("grant_cash", None, 0, D("0.00"), None, None),
        ("grant_shares", "ACME", 10, D("0.00"), None, None),
        ("grant_shares", "ZZZ", 3, D("0.00"), None, None),
    ]
    [update] = of_type(emitted, "portfolio.updated")
    assert update["user_id"] == 1 and update["portfolio"]["cash"] == "2500.50"

    # the same user.created again (a new envelope) changes nothing
    assert service_db.runner.deliver(user(1, "9999.00", {"ACME": 50})) == []
    assert account(service_db, 1)["cash"] == D("2500.50")
    assert position(service_db, 1, "ACME")["qty"] == 10
    assert len(ledger(service_db, 1)) == 3

    # listing ZZZ later gives the granted shares their cost basis
    service_db.runner.deliver(listed("ZZZ", "12.34"))
    assert position(service_db, 1, "ZZZ")["avg_cost"] == D("12.34")


def test_the_last_price_is_the_latest_trades_and_never_moves_back(service_db):
    service_db.runner.deliver(listed("NEW", "4.00"))
    bots_trade(service_db, "NEW", "5.00", seq=1)
    sym = service_db.conn.execute("SELECT * FROM symbols WHERE symbol = 'NEW'").fetchone()
    assert (sym["last_price"], sym["last_trade_seq"]) == (D("5.00"), 1)
    bots_trade(service_db, "NEW", "6.00", seq=3)
    bots_trade(service_db, "NEW", "5.50", seq=2)  # late: an older trade
    sym = service_db.conn.execute("SELECT * FROM symbols WHERE symbol = 'NEW'").fetchone()
    assert (sym["last_price"], sym["last_trade_seq"]) == (D("6.00"), 3)


def test_the_portfolio_announced_after_a_trade_is_valued_at_its_price(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 5}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 2, "103.00"), placed(2, 2, "sell", "limit", 2, "103.00"))
    emitted = service_db.runner.deliver(trade(1, (1, 1), (2, 2), "103.00", 2, buy_filled=2, sell_filled=2,
                                              buy_rem=0, sell_rem=0))
    by_user = {p["user_id"]: p["portfolio"] for p in of_type(emitted, "portfolio.updated")}
    assert by_user[1]["positions"][0]["last_price"] == "103.00"
    assert by_user[1]["positions"][0]["market_value"] == "206.00"
    assert by_user[2]["positions"][0]["market_value"] == "309.00"  # the 3 shares left


# -- reservations -----------------------------------------------------------


def test_limit_buy_reserves_cash_to_the_cent_and_is_approved(service_db):
    setup_market(service_db, user(1, "10000.00"))
    emitted = service_db.runner.deliver(placed(101, 1, "buy", "limit", 7, "123.45"))
    assert service_db.runner.emitted_types(emitted) == ["order.approved", "portfolio.updated"]
    [approved] = of_type(emitted, "order.approved")
    assert approved == {
        "order_id": 101, "user_id": 1, "symbol": "ACME", "side": "buy", "type": "limit", "qty": 7,
        "limit_price": D("123.45"), "time_in_force": "day", "collar_price": None, "stop_price": None,
        "replaces": None, "replaces_filled_qty": None,
    }
    assert cash_state(service_db, 1) == (D("10000.00"), D("864.15"))
    res = reservation(service_db, 101)
    assert (res["status"], res["reserve_price"], res["qty"], res["filled_qty"]) == ("open", D("123.45"), 7, 0)
    [update] = of_type(emitted, "portfolio.updated")
    assert update["portfolio"]["buying_power"] == "9135.85"

    # the same order.placed again (new envelope) is answered once
    assert service_db.runner.deliver(placed(101, 1, "buy", "limit", 7, "123.45")) == []
    assert cash_state(service_db, 1) == (D("10000.00"), D("864.15"))


def test_insufficient_cash_rejects_and_reserves_nothing(service_db):
    setup_market(service_db, user(1, "1000.00"))
    emitted = service_db.runner.deliver(placed(1, 1, "buy", "limit", 10, "150.00"))
    [rejected] = of_type(emitted, "order.rejected")
    assert rejected == {"order_id": 1, "user_id": 1, "symbol": "ACME", "reason": "insufficient_cash",
                        "message": "needs 1500.00, buying power 1000.00"}
    assert of_type(emitted, "order.approved") == []
    assert cash_state(service_db, 1) == (D("1000.00"), D("0.00"))
    assert reservation(service_db, 1)["status"] == "rejected"

    # buying power counts what open orders already hold: 600 held leaves 400
    service_db.runner.deliver(placed(2, 1, "buy", "limit", 6, "100.00"))
    emitted = service_db.runner.deliver(placed(3, 1, "buy", "limit", 5, "80.01"))
    [rejected] = of_type(emitted, "order.rejected")
    assert rejected["message"] == "needs 400.05, buying power 400.00"
    # exactly the buying power is enough
    emitted = service_db.runner.deliver(placed(4, 1, "buy", "limit", 5, "80.00"))
    assert len(of_type(emitted, "order.approved")) == 1
    assert cash_state(service_db, 1) == (D("1000.00"), D("1000.00"))

    # our own rejection coming back releases nothing
    service_db.runner.deliver(contracts.OrderRejected(order_id=1, user_id=1, symbol="ACME", reason="insufficient_cash",
                                            message="x"))
    assert cash_state(service_db, 1) == (D("1000.00"), D("1000.00"))


def test_insufficient_shares_rejects_and_reserves_nothing(service_db):
    setup_market(service_db, user(1, "0.00", {"ACME": 5}), user(2, "100.00"))
    emitted = service_db.runner.deliver(placed(1, 1, "sell", "limit", 6, "99.00"))
    [rejected] = of_type(emitted, "order.rejected")
    assert rejected["reason"] == "insufficient_shares"
    assert rejected["message"] == "needs 6 ACME shares, 5 free"
    assert position(service_db, 1)["reserved_qty"] == 0

    emitted = service_db.runner.deliver(placed(2, 1, "sell", "limit", 5, "99.00"))
    [approved] = of_type(emitted, "order.approved")
    assert approved["collar_price"] is None
    assert (position(service_db, 1)["qty"], position(service_db, 1)["reserved_qty"]) == (5, 5)
    assert reservation(service_db, 2)["reserve_price"] is None

    emitted = service_db.runner.deliver(placed(3, 1, "sell", "market", 1, None))
    assert of_type(emitted, "order.rejected")[0]["message"] == "needs 1 ACME shares, 0 free"
    # no position at all
    emitted = service_db.runner.deliver(placed(4, 2, "sell", "limit", 1, "1.00"))
    assert of_type(emitted, "order.rejected")[0]["reason"] == "insufficient_shares"
    assert position(service_db, 2) is None


def test_market_buy_collar_is_5_percent_above_on_the_tick(service_db):
    setup_market(service_db, user(1, "100000.00", {"ODD": 10}),
                 symbols=(listed("ACME", "100.00"), listed("ODD", "33.33")))
    # reference price before the first trade: 100.00 * 1.05
    emitted = service_db.runner.deliver(placed(1, 1, "buy", "market", 10, None))
    [approved] = of_type(emitted, "order.approved")
    assert approved["collar_price"] == D("105.00") and approved["limit_price"] is None
    assert reservation(service_db, 1)["reserve_price"] == D("105.00")
    assert cash_state(service_db, 1)[1] == D("1050.00")
    # 33.33 * 1.05 = 34.9965 -> 34.99 (rounded down onto the tick)
    emitted = service_db.runner.deliver(placed(2, 1, "buy", "market", 3, None, symbol="ODD"))
    assert of_type(emitted, "order.approved")[0]["collar_price"] == D("34.99")
    assert cash_state(service_db, 1)[1] == D("1050.00") + D("104.97")
    # after a trade the last price counts: 40.01 * 1.05 = 42.0105 -> 42.01
    bots_trade(service_db, "ODD", "40.01")
    emitted = service_db.runner.deliver(placed(3, 1, "buy", "market", 2, None, symbol="ODD"))
    assert of_type(emitted, "order.approved")[0]["collar_price"] == D("42.01")
    assert reservation(service_db, 3)["reserve_price"] == D("42.01")
    assert cash_state(service_db, 1)[1] == D("1050.00") + D("104.97") + D("84.02")
    # market sell floor: 40.01 * 0.95 = 38.0095 -> 38.01 (rounded up onto the tick)
    emitted = service_db.runner.deliver(placed(4, 1, "sell", "market", 4, None, symbol="ODD"))
    assert of_type(emitted, "order.approved")[0]["collar_price"] == D("38.01")
    assert position(service_db, 1, "ODD")["reserved_qty"] == 4


def test_market_buy_rejected_when_the_collar_exceeds_buying_power(service_db):
    setup_market(service_db, user(1, "1000.00"))
    emitted = service_db.runner.deliver(placed(1, 1, "buy", "market", 10, None))
    [rejected] = of_type(emitted, "order.rejected")
    assert rejected["message"] == "needs 1050.00, buying power 1000.00"
    assert cash_state(service_db, 1) == (D("1000.00"), D("0.00"))


# -- settlement -------------------------------------------------------------


def test_a_trade_settles_both_sides_to_the_cent(service_db):
    setup_market(service_db, user(1, "10000.00"), user(2, "5000.00", {"ACME": 10}))
    service_db.runner.deliver(placed(11, 1, "buy", "limit", 10, "101.00"), placed(22, 2, "sell", "limit", 10, "99.00"))
    assert cash_state(service_db, 1) == (D("10000.00"), D("1010.00"))
    assert position(service_db, 2)["reserved_qty"] == 10

    # a partial fill at 100.50: 4 x 100.50 paid, 4 x 101.00 released (price improvement freed at once)
    service_db.runner.deliver(trade(1, (11, 1), (22, 2), "100.50", 4, buy_filled=4, sell_filled=4, buy_rem=6,
                                    sell_rem=6))
    assert cash_state(service_db, 1) == (D("9598.00"), D("606.00"))
    assert cash_state(service_db, 2) == (D("5402.00"), D("0.00"))
    buyer, seller = position(service_db, 1), position(service_db, 2)
    assert (buyer["qty"], buyer["reserved_qty"], buyer["avg_cost"]) == (4, 0, D("100.500000"))
    assert (seller["qty"], seller["reserved_qty"], seller["realized_pl"]) == (6, 6, D("2.00"))
    assert account(service_db, 2)["realized_pl"] == D("2.00")
    assert (reservation(service_db, 11)["filled_qty"], reservation(service_db, 11)["status"]) == (4, "open")

    # the rest at 100.25 completes both orders
    service_db.runner.deliver(trade(2, (11, 1), (22, 2), "100.25", 6, buy_filled=10, sell_filled=10, buy_rem=0,
                                    sell_rem=0))
    assert cash_state(service_db, 1) == (D("8996.50"), D("0.00"))
    assert cash_state(service_db, 2) == (D("6003.50"), D("0.00"))
    buyer, seller = position(service_db, 1), position(service_db, 2)
    # (4 x 100.50 + 6 x 100.25) / 10 = 100.35
    assert (buyer["qty"], buyer["avg_cost"]) == (10, D("100.350000"))
    assert (seller["qty"], seller["reserved_qty"], seller["realized_pl"]) == (0, 0, D("3.50"))
    assert account(service_db, 2)["realized_pl"] == D("3.50")
    assert reservation(service_db, 11)["status"] == "closed" and reservation(service_db, 22)["status"] == "closed"
    assert ledger(service_db, 1)[1:] == [
        ("buy", "ACME", 4, D("-402.00"), 11, 1),
        ("buy", "ACME", 6, D("-601.50"), 11, 2),
    ]
    assert ledger(service_db, 2)[2:] == [
        ("sell", "ACME", -4, D("402.00"), 22, 1),
        ("sell", "ACME", -6, D("601.50"), 22, 2),
    ]


def test_avg_cost_and_realized_pl_keep_their_precision(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 100}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 7, "10.01"), placed(2, 2, "sell", "limit", 7, "10.00"))
    service_db.runner.deliver(
        trade(1, (1, 1), (2, 2), "10.00", 3, buy_filled=3, sell_filled=3, buy_rem=4, sell_rem=4),
        trade(2, (1, 1), (2, 2), "10.01", 4, buy_filled=7, sell_filled=7, buy_rem=0, sell_rem=0),
    )
    # 70.04 / 7 = 10.005714...
    assert position(service_db, 1)["avg_cost"] == D("10.005714")
    # seller's grants cost 100.00: (10.00 - 100) x 3 + (10.01 - 100) x 4
    assert account(service_db, 2)["realized_pl"] == D("-270.00") + D("-359.96")
    # selling 7 bought shares at 10.02: (10.02 - 10.005714) x 7 = 0.100002 -> 0.10
    service_db.runner.deliver(placed(3, 1, "sell", "limit", 7, "10.02"), placed(4, 2, "buy", "limit", 7, "10.02"))
    # seller 2 has no cash: that buy is rejected; give them a counterparty with cash
    service_db.runner.deliver(user(3, "100.00"), placed(5, 3, "buy", "limit", 7, "10.02"))
    service_db.runner.deliver(trade(3, (5, 3), (3, 1), "10.02", 7, buy_filled=7, sell_filled=7, buy_rem=0,
                                    sell_rem=0))
    assert account(service_db, 1)["realized_pl"] == D("0.10")
    assert account(service_db, 1)["cash"] == D("1000.00") - D("70.04") + D("70.14")


def test_partial_fills_then_cancel_release_exactly_the_rest(service_db):
    setup_market(service_db, user(1, "10000.00"), user(2, "0.00", {"ACME": 20}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 10, "50.00"), placed(2, 2, "sell", "limit", 20, "49.00"))
    assert cash_state(service_db, 1) == (D("10000.00"), D("500.00"))
    service_db.runner.deliver(
        trade(1, (1, 1), (2, 2), "49.00", 3, buy_filled=3, sell_filled=3, buy_rem=7, sell_rem=17),
        trade(2, (1, 1), (2, 2), "49.50", 2, buy_filled=5, sell_filled=5, buy_rem=5, sell_rem=15),
    )
    # paid 147.00 + 99.00; released 5 x 50.00 of the 500.00
    assert cash_state(service_db, 1) == (D("9754.00"), D("250.00"))
    emitted = service_db.runner.deliver(canceled(1, 1, filled=5, canceled_qty=5))
    assert cash_state(service_db, 1) == (D("9754.00"), D("0.00"))
    res = reservation(service_db, 1)
    assert (res["status"], res["filled_qty"]) == ("closed", 5)
    assert [p["user_id"] for p in of_type(emitted, "portfolio.updated")] == [1]
    # a duplicate cancel (new envelope) changes nothing and announces nothing
    assert service_db.runner.deliver(canceled(1, 1, filled=5, canceled_qty=5)) == []
    assert cash_state(service_db, 1) == (D("9754.00"), D("0.00"))

    # the seller's order expires: the 15 unfilled shares are free again
    service_db.runner.deliver(contracts.OrderExpired(order_id=2, user_id=2, symbol="ACME", filled_qty=5, expired_qty=15))
    p = position(service_db, 2)
    assert (p["qty"], p["reserved_qty"]) == (15, 0)
    assert reservation(service_db, 2)["status"] == "closed"


def test_expired_buy_releases_what_it_still_holds(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 5}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 8, "12.34"), placed(2, 2, "sell", "limit", 5, "12.00"))
    service_db.runner.deliver(trade(1, (1, 1), (2, 2), "12.34", 5, buy_filled=5, sell_filled=5, buy_rem=3,
                                    sell_rem=0))
    assert cash_state(service_db, 1) == (D("938.30"), D("37.02"))
    service_db.runner.deliver(contracts.OrderExpired(order_id=1, user_id=1, symbol="ACME", filled_qty=5, expired_qty=3))
    assert cash_state(service_db, 1) == (D("938.30"), D("0.00"))
    assert reservation(service_db, 1)["status"] == "closed"


def test_a_rejection_from_matching_releases_the_reservation(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 7}))
    service_db.runner.deliver(placed(1, 1, "buy", "market", 3, None), placed(2, 2, "sell", "limit", 7, "90.00"))
    assert cash_state(service_db, 1) == (D("1000.00"), D("315.00"))
    runner = service_db.runner
    emitted = runner.deliver(*[runner.envelope(evt, producer="order_matching") for evt in (
        contracts.OrderRejected(order_id=1, user_id=1, symbol="ACME", reason="market_halted", message="halted"),
        contracts.OrderRejected(order_id=2, user_id=2, symbol="ACME", reason="market_halted", message="halted"),
    )])
    assert cash_state(service_db, 1) == (D("1000.00"), D("0.00"))
    assert position(service_db, 2)["reserved_qty"] == 0
    assert reservation(service_db, 1)["status"] == "closed"
    assert sorted(p["user_id"] for p in of_type(emitted, "portfolio.updated")) == [1, 2]


def test_cancel_reporting_fills_not_yet_settled_keeps_their_share_held(service_db):
    """Cumulative values: a cancel that says 5 filled while only 3 are settled here
    releases 5 x price, and the 2 still in flight release their own part."""
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 10}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 10, "10.00"), placed(2, 2, "sell", "limit", 10, "10.00"))
    service_db.runner.deliver(trade(1, (1, 1), (2, 2), "10.00", 3, buy_filled=3, sell_filled=3, buy_rem=7,
                                    sell_rem=7))
    service_db.runner.deliver(canceled(1, 1, filled=5, canceled_qty=5))
    assert cash_state(service_db, 1) == (D("970.00"), D("20.00"))
    service_db.runner.deliver(trade(2, (1, 1), (2, 2), "10.00", 2, buy_filled=5, sell_filled=5, buy_rem=5,
                                    sell_rem=5))
    assert cash_state(service_db, 1) == (D("950.00"), D("0.00"))
    assert position(service_db, 1)["qty"] == 5


def test_the_same_trade_delivered_twice_settles_once(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 5}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 5, "20.00"), placed(2, 2, "sell", "limit", 5, "20.00"))
    envelope = service_db.runner.envelope(
        trade(9, (1, 1), (2, 2), "20.00", 5, buy_filled=5, sell_filled=5, buy_rem=0, sell_rem=0)
    )
    first = service_db.runner.deliver(envelope)
    assert len(of_type(first, "portfolio.updated")) == 2
    assert service_db.runner.deliver(envelope) == []
    assert service_db.runner.deliver(envelope, envelope) == []
    # and the same trade id under a new envelope (a producer replay) is not applied again
    service_db.runner.deliver(trade(9, (1, 1), (2, 2), "20.00", 5, buy_filled=5, sell_filled=5, buy_rem=0,
                                    sell_rem=0))
    assert cash_state(service_db, 1) == (D("900.00"), D("0.00"))
    assert cash_state(service_db, 2) == (D("100.00"), D("0.00"))
    assert position(service_db, 1)["qty"] == 5 and position(service_db, 2)["qty"] == 0
    assert len(ledger(service_db, 1)) == 2 and len(ledger(service_db, 2)) == 3


def test_a_trade_without_a_reservation_is_an_error(service_db):
    import pytest

    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 5}))
    with pytest.raises(RuntimeError, match="no approved buy reservation for order 77"):
        service_db.runner.deliver(trade(1, (77, 1), (78, 2), "1.00", 1, buy_filled=1, sell_filled=1, buy_rem=0,
                                        sell_rem=0))
    assert cash_state(service_db, 1) == (D("1000.00"), D("0.00"))


# -- events that arrive early -----------------------------------------------


def test_order_placed_before_user_created_waits_for_it(service_db):
    service_db.runner.deliver(listed())
    assert service_db.runner.deliver(placed(1, 5, "buy", "limit", 2, "10.00")) == []
    assert service_db.conn.execute("SELECT wait_key FROM parked_events").fetchone()["wait_key"] == "user:5"
    assert account(service_db, 5) is None and reservation(service_db, 1) is None

    emitted = service_db.runner.deliver(user(5, "100.00"))
    assert service_db.runner.emitted_types(emitted) == ["order.approved", "leaderboard.updated", "portfolio.updated"]
    assert cash_state(service_db, 5) == (D("100.00"), D("20.00"))
    assert service_db.conn.execute("SELECT count(*) AS n FROM parked_events").fetchone()["n"] == 0


def test_order_placed_before_stock_listed_waits_for_it(service_db):
    service_db.runner.deliver(user(1, "0.00", {"NEWCO": 4}))
    assert service_db.runner.deliver(placed(1, 1, "sell", "market", 4, None, symbol="NEWCO")) == []
    assert service_db.conn.execute("SELECT wait_key FROM parked_events").fetchone()["wait_key"] == "symbol:NEWCO"
    assert position(service_db, 1, "NEWCO")["reserved_qty"] == 0

    emitted = service_db.runner.deliver(listed("NEWCO", "20.00"))
    [approved] = of_type(emitted, "order.approved")
    assert approved["collar_price"] == D("19.00")
    assert position(service_db, 1, "NEWCO")["reserved_qty"] == 4


# -- portfolio.updated ------------------------------------------------------


def test_portfolio_updated_once_per_user_per_batch(service_db):
    setup_market(service_db, user(1, "10000.00"), user(2, "0.00", {"ACME": 30}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 30, "10.00"), placed(2, 2, "sell", "limit", 30, "10.00"))
    emitted = service_db.runner.deliver(
        trade(1, (1, 1), (2, 2), "10.00", 10, buy_filled=10, sell_filled=10, buy_rem=20, sell_rem=20),
        trade(2, (1, 1), (2, 2), "10.00", 10, buy_filled=20, sell_filled=20, buy_rem=10, sell_rem=10),
        trade(3, (1, 1), (2, 2), "10.00", 10, buy_filled=30, sell_filled=30, buy_rem=0, sell_rem=0),
    )
    # one leaderboard too (trades settled)
    assert service_db.runner.emitted_types(emitted) == ["leaderboard.updated", "portfolio.updated",
                                                        "portfolio.updated"]
    by_user = {p["user_id"]: p["portfolio"] for p in of_type(emitted, "portfolio.updated")}
    assert by_user[1]["cash"] == "9700.00" and by_user[1]["reserved_cash"] == "0.00"
    assert by_user[1]["positions"][0]["qty"] == 30
    assert by_user[2]["cash"] == "300.00" and by_user[2]["positions"] == []
    # the event carries exactly what the API returns
    client = service_db.client()
    assert client.get("/api/portfolios/1", headers=service_db.auth(1)).json == by_user[1]


# -- HTTP -------------------------------------------------------------------


def test_get_portfolio_shape_and_values(service_db):
    setup_market(
        service_db,
        user(1, "10000.00", {"ACME": 10, "GONE": 2}, name="Alice"),
        user(2, "5000.00", {"BETA": 3}),
        symbols=(listed("ACME", "100.00"), listed("BETA", "20.00")),
    )
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 4, "19.99", symbol="BETA"),
                              placed(2, 2, "sell", "limit", 3, "19.00", symbol="BETA"),
                              placed(3, 1, "sell", "limit", 2, "120.00"))
    service_db.runner.deliver(
        trade(1, (1, 1), (2, 2), "19.50", 3, buy_filled=3, sell_filled=3, buy_rem=1, sell_rem=0, symbol="BETA"),
    )
    bots_trade(service_db, "ACME", "101.25")
    client = service_db.client()
    resp = client.get("/api/portfolios/1", headers=service_db.auth(1))
    assert resp.status_code == 200
    # cash 10000 - 58.50; reserved 1 x 19.99 (the unfilled BETA share)
    assert resp.json == {
        "user_id": 1,
        "name": "Alice",
        "cash": "9941.50",
        "reserved_cash": "19.99",
        "buying_power": "9921.51",
        "equity": "11012.50",  # 9941.50 + 1012.50 + 58.50 (GONE is not listed: no value)
        "realized_pl": "0.00",
        "unrealized_pl": "12.50",
        "positions": [
            {"symbol": "ACME", "qty": 10, "reserved_qty": 2, "avg_cost": "100.0000", "last_price": "101.25",
             "market_value": "1012.50", "unrealized_pl": "12.50"},
            {"symbol": "BETA", "qty": 3, "reserved_qty": 0, "avg_cost": "19.5000", "last_price": "19.50",
             "market_value": "58.50", "unrealized_pl": "0.00"},
            {"symbol": "GONE", "qty": 2, "reserved_qty": 0, "avg_cost": "0.0000", "last_price": None,
             "market_value": None, "unrealized_pl": None},
        ],
    }
    # the seller sold everything: a qty-0 position is left out
    body = client.get("/api/portfolios/2", headers=service_db.auth(2)).json
    assert body["positions"] == [] and body["cash"] == "5058.50" and body["realized_pl"] == "-1.50"
    assert body["equity"] == "5058.50"


def test_get_portfolio_authorization(service_db):
    setup_market(service_db, user(1), user(2))
    client = service_db.client()
    assert client.get("/api/portfolios/1").status_code == 401
    assert client.get("/api/portfolios/abc").status_code == 401
    assert client.get("/api/portfolios/1", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/portfolios/2", headers=service_db.auth(1)).status_code == 403
    assert client.get("/api/portfolios/2", headers=service_db.auth(1, "bot")).status_code == 403
    assert client.get("/api/portfolios/99", headers=service_db.auth(1)).status_code == 403
    assert client.get("/api/portfolios/2", headers=service_db.auth(2, "bot")).status_code == 200
    instructor = service_db.auth(50, "instructor")
    assert client.get("/api/portfolios/2", headers=instructor).json["user_id"] == 2
    resp = client.get("/api/portfolios/99", headers=instructor)
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"
    assert client.get("/api/portfolios/abc", headers=instructor).status_code == 404
    assert client.get("/api/portfolios/99999999999999", headers=instructor).status_code == 404
    assert client.get("/api/portfolios/99", headers=service_db.auth(99)).status_code == 404


def test_leaderboard_ranks_traders_by_equity(service_db):
    setup_market(
        service_db,
        user(1, "1000.00", name="Ann"),
        user(2, "1000.00", {"ACME": 1}, name="Ben"),
        user(3, "2000.00", name="Cid"),
        user(4, "0.00", {"ACME": 5}, name="Dee"),
        user(5, "999999.00", role="bot", name="MM"),
        user(6, "0.00", role="instructor", name="Teach"),
    )
    # Ann buys 1 ACME from Dee at 110.00 -> the last price becomes 110.00
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 1, "110.00"), placed(2, 4, "sell", "limit", 1, "110.00"))
    service_db.runner.deliver(trade(1, (1, 1), (2, 4), "110.00", 1, buy_filled=1, sell_filled=1, buy_rem=0,
                                    sell_rem=0))
    client = service_db.client()
    assert client.get("/api/leaderboard").status_code == 401
    resp = client.get("/api/leaderboard", headers=service_db.auth(1))
    assert resp.status_code == 200
    assert resp.json == [
        {"rank": 1, "user_id": 3, "name": "Cid", "equity": "2000.00", "return_pct": "0.00",
         "realized_pl": "0.00", "unrealized_pl": "0.00", "role": "trader", "cash": "2000.00", "trades": 0},
        # Ben: 1000 + 1 share granted at the 100.00 reference = 1100 at the start; now 1110 -> +0.91 %
        {"rank": 2, "user_id": 2, "name": "Ben", "equity": "1110.00", "return_pct": "0.91",
         "realized_pl": "0.00", "unrealized_pl": "10.00", "role": "trader", "cash": "1000.00", "trades": 0},
        # Ann: 890 cash + 110 -> unchanged
        {"rank": 3, "user_id": 1, "name": "Ann", "equity": "1000.00", "return_pct": "0.00",
         "realized_pl": "0.00", "unrealized_pl": "0.00", "role": "trader", "cash": "890.00", "trades": 1},
        # Dee: started with 5 shares at 100.00 = 500; now 110 cash + 4 x 110 = 550 -> +10.00 %
        {"rank": 4, "user_id": 4, "name": "Dee", "equity": "550.00", "return_pct": "10.00",
         "realized_pl": "10.00", "unrealized_pl": "40.00", "role": "trader", "cash": "110.00", "trades": 1},
    ]
    assert client.get("/api/leaderboard", headers=service_db.auth(50, "instructor")).json == resp.json
    assert len(client.get("/api/leaderboard?limit=2", headers=service_db.auth(1)).json) == 2
    assert len(client.get("/api/leaderboard?limit=100000", headers=service_db.auth(1)).json) == 4


def test_leaderboard_ties_share_a_rank_and_return_pct_rounds(service_db):
    setup_market(service_db, user(1, "3000.00"), user(2, "3000.00"), user(3, "200.00", {"ACME": 1}))
    bots_trade(service_db, "ACME", "101.00")
    # user 3 started with 200 + 1 x 100.00 = 300 and has 200 + 101 = 301: +0.333... % -> 0.33
    rows = service_db.client().get("/api/leaderboard", headers=service_db.auth(1)).json
    assert [(r["rank"], r["user_id"], r["return_pct"]) for r in rows] == [(1, 1, "0.00"), (1, 2, "0.00"),
                                                                          (3, 3, "0.33")]


def test_health_counts_accounts(service_db):
    setup_market(service_db, user(1), user(2))
    resp = service_db.client().get("/healthz")
    assert resp.status_code == 200 and resp.json["accounts"] == 2


# -- the audit invariant ----------------------------------------------------


def test_ledger_invariant_after_a_sequence_of_trades(service_db):
    setup_market(
        service_db,
        user(1, "5000.00", {"ACME": 10}),
        user(2, "3000.00", {"ACME": 40, "BETA": 5}),
        user(3, "7777.77"),
        symbols=(listed("ACME", "50.00"), listed("BETA", "9.99")),
    )
    run = service_db.runner.deliver
    run(placed(1, 3, "buy", "limit", 20, "51.00"), placed(2, 2, "sell", "limit", 25, "50.50"))
    run(trade(1, (1, 3), (2, 2), "50.50", 20, buy_filled=20, sell_filled=20, buy_rem=0, sell_rem=5))
    run(placed(3, 1, "buy", "market", 5, None))  # collar 50.00 * 1.05 = 52.50 (no price.updated yet)
    run(trade(2, (3, 1), (2, 2), "50.50", 5, buy_filled=5, sell_filled=25, buy_rem=0, sell_rem=0))
    run(placed(4, 3, "sell", "limit", 7, "49.00"), placed(5, 1, "buy", "limit", 10, "49.50"))
    run(trade(3, (5, 1), (4, 3), "49.00", 7, buy_filled=7, sell_filled=7, buy_rem=3, sell_rem=0))
    run(canceled(5, 1, filled=7, canceled_qty=3))
    run(placed(6, 2, "sell", "limit", 5, "10.00", symbol="BETA"), placed(7, 3, "buy", "limit", 5, "10.01",
                                                                          symbol="BETA"))
    run(trade(4, (7, 3), (6, 2), "10.00", 2, buy_filled=2, sell_filled=2, buy_rem=3, sell_rem=3, symbol="BETA"))
    run(contracts.OrderExpired(order_id=7, user_id=3, symbol="BETA", filled_qty=2, expired_qty=3))
    run(canceled(6, 2, filled=2, canceled_qty=3, symbol="BETA"))

    conn = service_db.conn
    cash_breaks = conn.execute(
        """
        SELECT a.user_id FROM accounts a LEFT JOIN ledger l ON l.user_id = a.user_id
        GROUP BY a.user_id, a.cash, a.starting_cash HAVING a.cash <> a.starting_cash + COALESCE(sum(l.amount), 0)
        """
    ).fetchall()
    share_breaks = conn.execute(
        """
        SELECT p.user_id, p.symbol FROM positions p
        LEFT JOIN (SELECT user_id, symbol, sum(qty) AS q FROM ledger WHERE symbol IS NOT NULL
                   GROUP BY user_id, symbol) l USING (user_id, symbol)
        WHERE p.qty <> COALESCE(l.q, 0)
        """
    ).fetchall()
    assert cash_breaks == [] and share_breaks == []
    # conservation: total cash and shares per symbol unchanged
    totals = conn.execute("SELECT sum(cash) AS cash, sum(reserved_cash) AS reserved FROM accounts").fetchone()
    assert totals["cash"] == D("5000.00") + D("3000.00") + D("7777.77")
    shares = {r["symbol"]: r["q"] for r in conn.execute(
        "SELECT symbol, sum(qty) AS q, sum(reserved_qty) AS r FROM positions GROUP BY symbol").fetchall()}
    assert shares == {"ACME": 50, "BETA": 5}
    # everything is closed, so nothing is reserved anymore
    assert totals["reserved"] == D("0.00")
    assert conn.execute("SELECT sum(reserved_qty) AS r FROM positions").fetchone()["r"] == 0
    assert conn.execute("SELECT count(*) AS n FROM reservations WHERE status = 'open'").fetchone()["n"] == 0
    # and the concrete balances
    assert cash_state(service_db, 1) == (D("5000.00") - D("252.50") - D("343.00"), D("0.00"))
    assert cash_state(service_db, 2) == (D("3000.00") + D("1262.50") + D("20.00"), D("0.00"))
    assert cash_state(service_db, 3) == (D("7777.77") - D("1010.00") + D("343.00") - D("20.00"), D("0.00"))


# -- cost per batch ---------------------------------------------------------


def _busy_batch(first_user: int, first_order: int, first_trade: int) -> tuple[list, list]:
    """20 users (first_user ..+19) each buy 10 of one symbol and sell 10 of the other
    in pairs: 40 order.placed and 40 trade.executed (every pair fills in 2 trades)."""
    users = list(range(first_user, first_user + 20))
    orders, trades = [], []
    for k, buyer in enumerate(users):
        seller = users[(k + 1) % 20]
        sym, lo, hi, lim = ("AAA", "50.00", "50.50", "51.00") if k % 2 == 0 else ("BBB", "20.00", "20.50", "21.00")
        buy_id, sell_id = first_order + 2 * k, first_order + 2 * k + 1
        orders += [placed(buy_id, buyer, "buy", "limit", 10, lim, symbol=sym),
                   placed(sell_id, seller, "sell", "limit", 10, lo, symbol=sym)]
        t = first_trade + 2 * k
        trades += [trade(t, (buy_id, buyer), (sell_id, seller), lo, 4, buy_filled=4, sell_filled=4, buy_rem=6,
                         sell_rem=6, symbol=sym),
                   trade(t + 1, (buy_id, buyer), (sell_id, seller), hi, 6, buy_filled=10, sell_filled=10,
                         buy_rem=0, sell_rem=0, symbol=sym)]
    return orders, trades


def _check_busy_users(sdb, first_user: int) -> None:
    for k in range(20):
        uid = first_user + k
        bought, sold, paid, got, avg = (("AAA", "BBB", "503.00", "203.00", "50.027273") if k % 2 == 0
                                        else ("BBB", "AAA", "203.00", "503.00", "20.027273"))
        a = account(sdb, uid)
        assert (a["cash"], a["reserved_cash"], a["realized_pl"]) == (
            D("100000.00") - D(paid) + D(got), D("0.00"), D("3.00"))
        b, s = position(sdb, uid, bought), position(sdb, uid, sold)
        assert (b["qty"], b["reserved_qty"], b["avg_cost"]) == (110, 0, D(avg))
        assert (s["qty"], s["reserved_qty"], s["avg_cost"], s["realized_pl"]) == (
            90, 0, D("50.00") if sold == "AAA" else D("20.00"), D("3.00"))


def test_a_batch_costs_a_constant_number_of_statements(service_db, statement_counter):
    users = [user(u, "100000.00", {"AAA": 100, "BBB": 100}) for u in range(1, 41)]
    setup_market(service_db, *users, symbols=(listed("AAA", "50.00"), listed("BBB", "20.00")))
    orders, trades = _busy_batch(1, 1000, 1)

    statement_counter.reset()
    emitted = service_db.runner.deliver(*orders, *trades)
    big = statement_counter.count
    assert len(of_type(emitted, "order.approved")) == 40
    updates = of_type(emitted, "portfolio.updated")
    assert [u["user_id"] for u in updates] == list(range(1, 21))
    _check_busy_users(service_db, 1)
    # the pushes carry exactly what the API returns
    client = service_db.client()
    for u in updates:
        assert client.get(f"/api/portfolios/{u['user_id']}", headers=service_db.auth(u["user_id"])).json == (
            u["portfolio"])

    # the same events one per batch (users 21..40) end up the same, each batch costing about as much
    orders, trades = _busy_batch(21, 2000, 101)
    singles = []
    for evt in (*orders, *trades):
        statement_counter.reset()
        service_db.runner.deliver(evt)
        singles.append(statement_counter.count)
    _check_busy_users(service_db, 21)
    print(f"\nstatements: batch of 80 = {big}; batches of 1 = min {min(singles)} max {max(singles)}")
    assert big <= 20, statement_counter.statements
    assert max(singles) <= 20 and big - max(singles) <= 3


def test_one_batch_with_a_listing_released_orders_and_early_events(service_db, statement_counter):
    """Rows reached three ways in one batch (prefetched, loaded on a miss by a released
    event, never loaded) all end up as if the events had run one by one, and the
    pushes agree with the API."""
    service_db.runner.deliver(user(1, "0.00", {"NEWCO": 4}), user(2, "0.00", {"NEWCO": 3}),
                              user(5, "0.00", {"NEWCO": 2}))
    assert service_db.runner.deliver(placed(1, 1, "sell", "market", 4, None, symbol="NEWCO"),  # parked
                                     placed(2, 5, "sell", "limit", 2, "25.00", symbol="NEWCO")) == []
    statement_counter.reset()
    emitted = service_db.runner.deliver(
        placed(3, 4, "buy", "limit", 2, "20.00", symbol="NEWCO"),  # user 4 does not exist yet: parked
        listed("NEWCO", "20.00"),  # releases orders 1 and 2 (nothing names user 5 or order 2: loaded on a miss)
        user(3, "100.00", {"NEWCO": 1}),
        user(4, "50.00"),  # releases order 3
        trade(1, (3, 4), (1, 1), "19.50", 2, buy_filled=2, sell_filled=2, buy_rem=0, sell_rem=2, symbol="NEWCO"),
    )
    # 16 for the batch + parking 1 + 2 releases + what order 2 missed: its account, reservation and
    # position, and user 5's other positions for the portfolio pushed; + the settings, the settled
    # trades (for the export) and the leaderboard
    assert statement_counter.count <= 26, "\n".join(statement_counter.statements)
    assert [(a["order_id"], a["collar_price"]) for a in of_type(emitted, "order.approved")] == [
        (1, D("19.00")), (2, None), (3, None)]
    assert service_db.conn.execute("SELECT count(*) AS n FROM parked_events").fetchone()["n"] == 0
    seller, untouched, granted, buyer = (position(service_db, u, "NEWCO") for u in (1, 2, 3, 4))
    assert (seller["qty"], seller["reserved_qty"], seller["avg_cost"], seller["realized_pl"]) == (
        2, 2, D("20.000000"), D("-1.00"))
    assert (untouched["qty"], untouched["avg_cost"]) == (3, D("20.000000"))
    missed = position(service_db, 5, "NEWCO")
    assert (missed["qty"], missed["reserved_qty"], missed["avg_cost"]) == (2, 2, D("20.000000"))
    assert (granted["qty"], granted["avg_cost"]) == (1, D("20.000000"))
    assert (buyer["qty"], buyer["avg_cost"]) == (2, D("19.500000"))
    assert cash_state(service_db, 1) == (D("39.00"), D("0.00"))
    assert cash_state(service_db, 4) == (D("11.00"), D("0.00"))
    assert reservation(service_db, 3)["status"] == "closed"
    assert ledger(service_db, 4) == [("grant_cash", None, 0, D("0.00"), None, None),
                                     ("buy", "NEWCO", 2, D("-39.00"), 3, 1)]
    pushed = {p["user_id"]: p["portfolio"] for p in of_type(emitted, "portfolio.updated")}
    assert sorted(pushed) == [1, 3, 4, 5]
    assert pushed[5]["positions"][0]["avg_cost"] == "20.0000"
    assert pushed[1]["positions"][0] == {"symbol": "NEWCO", "qty": 2, "reserved_qty": 2, "avg_cost": "20.0000",
                                         "last_price": "19.50", "market_value": "39.00", "unrealized_pl": "-1.00"}
    client = service_db.client()
    for uid, body in pushed.items():
        assert client.get(f"/api/portfolios/{uid}", headers=service_db.auth(uid)).json == body


def test_an_overfill_fails_the_batch_and_writes_nothing(service_db):
    import pytest

    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 10}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 2, "10.00"), placed(2, 2, "sell", "limit", 10, "10.00"))
    with pytest.raises(RuntimeError, match="account 1: cash 970.00, reserved -10.00"):
        service_db.runner.deliver(trade(1, (1, 1), (2, 2), "10.00", 3, buy_filled=3, sell_filled=3, buy_rem=0,
                                        sell_rem=7))
    assert cash_state(service_db, 1) == (D("1000.00"), D("20.00"))
    assert (position(service_db, 1)["qty"], position(service_db, 1)["open_buy_qty"]) == (0, 2)  # as approved
    assert position(service_db, 2)["reserved_qty"] == 10
    assert len(ledger(service_db, 1)) == 1


# -- simulation settings: commission and limits -----------------------------


def rules(commission: str = "0.00", max_position: int | None = None, max_order_qty: int | None = None
          ) -> contracts.SettingsChanged:
    return contracts.SettingsChanged(commission_per_share=D(commission), max_position=max_position,
                           max_order_qty=max_order_qty)


def test_commission_is_charged_to_both_sides_to_the_cent_and_goes_to_the_house(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "5.00", {"ACME": 10}))
    service_db.runner.deliver(rules("0.03"))
    emitted = service_db.runner.deliver(placed(1, 1, "buy", "limit", 10, "10.00"),
                                        placed(2, 2, "sell", "limit", 7, "10.00"))
    assert [e["order_id"] for e in of_type(emitted, "order.approved")] == [1, 2]
    # buy holds (10.00 + 0.03) x 10; the sell holds 0.03 x 7 in cash and its 7 shares
    assert cash_state(service_db, 1) == (D("1000.00"), D("100.30"))
    assert cash_state(service_db, 2) == (D("5.00"), D("0.21"))
    fill = service_db.runner.envelope(trade(1, (1, 1), (2, 2), "9.50", 7, buy_filled=7, sell_filled=7, buy_rem=3,
                                            sell_rem=0))
    service_db.runner.deliver(fill)
    service_db.runner.deliver(fill)  # redelivered: charges nothing twice
    # buyer: 1000 - 66.50 - 0.21 = 933.29; 3 unfilled still hold 30.09
    assert cash_state(service_db, 1) == (D("933.29"), D("30.09"))
    # seller: 5 + 66.50 - 0.21 = 71.29, nothing held
    assert cash_state(service_db, 2) == (D("71.29"), D("0.00"))
    assert account(service_db, 0)["cash"] == D("0.42")
    assert ledger(service_db, 1)[-2:] == [("buy", "ACME", 7, D("-66.50"), 1, 1),
                                          ("commission", "ACME", 0, D("-0.21"), None, 1)]
    assert ledger(service_db, 2)[-1] == ("commission", "ACME", 0, D("-0.21"), None, 1)
    assert ledger(service_db, 0) == [("commission", "ACME", 0, D("0.21"), None, 1),
                                     ("commission", "ACME", 0, D("0.21"), None, 1)]
    # the rest of the buy is canceled: everything it held comes back
    service_db.runner.deliver(canceled(1, 1, 7, 3))
    assert cash_state(service_db, 1) == (D("933.29"), D("0.00"))
    assert account(service_db, 1)["fills"] == 1 and account(service_db, 2)["fills"] == 1
    # cash is conserved: the commission only moved to the house
    total = service_db.conn.execute("SELECT sum(cash) AS c FROM accounts").fetchone()["c"]
    assert total == D("1005.00")


def test_an_open_order_keeps_the_commission_it_was_approved_with(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 10}))
    service_db.runner.deliver(rules("0.10"))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 10, "10.00"))  # holds 101.00
    [rejected] = of_type(service_db.runner.deliver(placed(2, 2, "sell", "limit", 10, "10.00")), "order.rejected")
    assert (rejected["reason"], rejected["message"]) == (
        "insufficient_cash", "needs 1.00 for commission, buying power 0.00")
    service_db.runner.deliver(rules("0.00"))
    service_db.runner.deliver(placed(4, 2, "sell", "limit", 10, "10.00"))
    service_db.runner.deliver(trade(1, (1, 1), (4, 2), "10.00", 10, buy_filled=10, sell_filled=10, buy_rem=0,
                                    sell_rem=0))
    assert cash_state(service_db, 1) == (D("899.00"), D("0.00"))  # 100.00 + 1.00 commission
    assert cash_state(service_db, 2) == (D("100.00"), D("0.00"))  # approved without commission
    assert account(service_db, 0)["cash"] == D("1.00")


def test_limits_reject_with_the_rule_named_and_are_off_by_default(service_db):
    setup_market(service_db, user(1, "100000.00", {"ACME": 40}))
    emitted = service_db.runner.deliver(placed(1, 1, "buy", "limit", 1000, "10.00"))
    assert [e["order_id"] for e in of_type(emitted, "order.approved")] == [1]
    service_db.runner.deliver(canceled(1, 1, 0, 1000))
    assert position(service_db, 1)["open_buy_qty"] == 0
    service_db.runner.deliver(rules(max_position=50, max_order_qty=20))
    emitted = service_db.runner.deliver(
        placed(2, 1, "sell", "limit", 21, "10.00"),
        placed(3, 1, "buy", "limit", 11, "10.00"),
        placed(4, 1, "buy", "limit", 10, "10.00"),
        placed(5, 1, "sell", "limit", 20, "10.00"),
    )
    assert [(r["order_id"], r["reason"], r["message"]) for r in of_type(emitted, "order.rejected")] == [
        (2, "max_order_qty", "the max order size is 20 shares; this order is for 21"),
        (3, "max_position", "the max position is 50 shares of ACME; 40 held + 11 bought would be 51"),
    ]
    assert [e["order_id"] for e in of_type(emitted, "order.approved")] == [4, 5]
    # open buys count: 40 held + 10 on order
    assert position(service_db, 1)["open_buy_qty"] == 10
    [rejected] = of_type(service_db.runner.deliver(placed(7, 1, "buy", "limit", 1, "10.00")), "order.rejected")
    assert rejected["message"] == "the max position is 50 shares of ACME; 40 held + 10 on order + 1 bought would be 51"
    # a partial fill moves shares from "on order" to "held"; closing the rest frees it
    service_db.runner.deliver(user(2, "0.00", {"ACME": 10}), placed(8, 2, "sell", "limit", 4, "10.00"))
    service_db.runner.deliver(trade(1, (4, 1), (8, 2), "10.00", 4, buy_filled=4, sell_filled=4, buy_rem=6,
                                    sell_rem=0))
    assert (position(service_db, 1)["qty"], position(service_db, 1)["open_buy_qty"]) == (44, 6)
    service_db.runner.deliver(canceled(4, 1, 4, 6))
    assert (position(service_db, 1)["qty"], position(service_db, 1)["open_buy_qty"]) == (44, 0)
    service_db.runner.deliver(rules())
    emitted = service_db.runner.deliver(placed(6, 1, "buy", "limit", 500, "10.00"))
    assert [e["order_id"] for e in of_type(emitted, "order.approved")] == [6]


# -- reset ------------------------------------------------------------------


def reset_to(epoch: int, sdb) -> list:
    return sdb.runner.deliver(sdb.runner.envelope(contracts.SimulationReset(epoch=epoch, requested_by=1), epoch=epoch))


def test_reset_returns_every_account_to_its_start_and_is_idempotent(service_db):
    setup_market(service_db, user(1, "2000.00"), user(2, "5.00", {"ACME": 10}))
    service_db.runner.deliver(rules("0.01"))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 10, "100.00"), placed(2, 2, "sell", "limit", 10, "99.00"))
    service_db.runner.deliver(trade(1, (1, 1), (2, 2), "100.00", 4, buy_filled=4, sell_filled=4, buy_rem=6,
                                    sell_rem=6))
    assert cash_state(service_db, 1) == (D("1599.96"), D("600.06"))
    envelope = service_db.runner.envelope(contracts.SimulationReset(epoch=2, requested_by=9), epoch=2)
    emitted = service_db.runner.deliver(envelope)
    assert [e.type for e in emitted] == ["leaderboard.updated"] and emitted[0].epoch == 2
    for _ in range(2):
        assert cash_state(service_db, 1) == (D("2000.00"), D("0.00"))
        assert cash_state(service_db, 2) == (D("5.00"), D("0.00"))
        assert account(service_db, 0)["cash"] == D("0.00")
        pos = position(service_db, 2)
        assert (pos["qty"], pos["reserved_qty"], pos["avg_cost"], pos["realized_pl"]) == (10, 0, D("100"), D("0"))
        assert position(service_db, 1) is None
        assert ledger(service_db, 1) == [("grant_cash", None, 0, D("0"), None, None)]
        assert ledger(service_db, 0) == []
        assert service_db.conn.execute("SELECT count(*) AS n FROM reservations").fetchone()["n"] == 0
        assert service_db.conn.execute("SELECT last_price FROM symbols").fetchone()["last_price"] is None
        assert service_db.conn.execute("SELECT commission_per_share AS c FROM settings").fetchone()["c"] == D("0.01")
        # the same reset again, and a reset to an epoch already reached, change nothing
        assert service_db.runner.deliver(envelope) == []
        assert reset_to(2, service_db) == []


def test_a_service_behind_ignores_the_old_epoch_and_parks_the_new_one(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 10}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 10, "100.00"))
    # an order of epoch 2 arrives before the reset reaches this service: it waits
    early = service_db.runner.envelope(placed(5, 2, "sell", "limit", 3, "100.00"), epoch=2)
    assert service_db.runner.deliver(early) == []
    assert reservation(service_db, 5) is None
    emitted = reset_to(2, service_db)
    assert [(e.type, e.epoch) for e in emitted if e.type == "order.approved"] == [("order.approved", 2)]
    assert reservation(service_db, 5)["status"] == "open" and reservation(service_db, 1) is None
    assert cash_state(service_db, 1) == (D("1000.00"), D("0.00"))
    # what was in flight in epoch 1 is ignored now: no settlement, no release, no approval
    late = [service_db.runner.envelope(e, epoch=1) for e in (
        trade(1, (1, 1), (5, 2), "100.00", 3, buy_filled=3, sell_filled=3, buy_rem=7, sell_rem=0),
        canceled(1, 1, 0, 10), placed(7, 1, "buy", "limit", 1, "1.00"))]
    assert service_db.runner.deliver(*late) == []
    assert cash_state(service_db, 1) == (D("1000.00"), D("0.00"))
    assert position(service_db, 2)["reserved_qty"] == 3
    # set-up events apply in every epoch: a user created "before" the reset is not lost
    assert service_db.runner.deliver(service_db.runner.envelope(user(3, "50.00"), epoch=1))
    assert cash_state(service_db, 3) == (D("50.00"), D("0.00"))


def test_a_batch_with_a_reset_in_the_middle_applies_each_side_in_its_epoch(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 10}))
    runner = service_db.runner
    emitted = runner.deliver(
        runner.envelope(placed(1, 1, "buy", "limit", 10, "10.00"), epoch=1),
        runner.envelope(contracts.SimulationReset(epoch=2, requested_by=1), epoch=2),
        runner.envelope(placed(2, 1, "buy", "limit", 5, "10.00"), epoch=2),
        runner.envelope(placed(3, 1, "buy", "limit", 5, "10.00"), epoch=1),
    )
    approved = [(e.event.order_id, e.epoch) for e in emitted if e.type == "order.approved"]
    assert approved == [(1, 1), (2, 2)]
    assert reservation(service_db, 1) is None and reservation(service_db, 3) is None
    assert cash_state(service_db, 1) == (D("1000.00"), D("50.00"))


# -- the roster, the ledger and the exports ---------------------------------


def test_roster_ledger_and_exports(service_db):
    setup_market(service_db, user(1, "1000.00", name="Ann"), user(2, "100.00", {"ACME": 10}, name="Ben"),
                 user(3, "500.00", role="bot", name="MM"))
    service_db.runner.deliver(rules("0.02"))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 4, "110.00"), placed(2, 2, "sell", "limit", 4, "110.00"))
    service_db.runner.deliver(trade(9, (1, 1), (2, 2), "110.00", 4, buy_filled=4, sell_filled=4, buy_rem=0,
                                    sell_rem=0))
    client = service_db.client()
    teacher = service_db.auth(50, "instructor")
    assert client.get("/api/portfolios").status_code == 401
    assert client.get("/api/portfolios", headers=service_db.auth(1)).status_code == 403
    roster = {r["user_id"]: r for r in client.get("/api/portfolios", headers=teacher).json}
    assert sorted(roster) == [1, 2, 3]
    bots = client.get("/api/portfolios?role=bot", headers=teacher).json
    assert [(r["user_id"], r["role"], r["cash"]) for r in bots] == [(3, "bot", "500.00")]
    assert [r["user_id"] for r in client.get("/api/portfolios?role=trader", headers=teacher).json] == [1, 2]
    refused = client.get("/api/portfolios?role=house", headers=teacher)
    assert refused.status_code == 422 and refused.json["error"]["field"] == "role"
    ben = roster[2]
    assert (ben["name"], ben["role"], ben["trades"], ben["cash"], ben["starting_equity"], ben["return_pct"],
            ben["equity"]) == ("Ben", "trader", 1, "539.92", "1100.00", "9.08", "1199.92")
    ledger_rows = client.get("/api/portfolios/2/ledger", headers=service_db.auth(2)).json
    assert [(e["kind"], e["symbol"], e["qty"], e["amount"], e["ref"]) for e in ledger_rows] == [
        ("commission", "ACME", 0, "-0.08", "trade:9"),
        ("trade", "ACME", -4, "440.00", "trade:9"),
        ("grant", "ACME", 10, "0.00", None),
        ("starting_cash", None, 0, "100.00", None),
    ]
    assert client.get("/api/portfolios/1/ledger", headers=service_db.auth(1)).json[-1]["amount"] == "1000.00"
    assert len(client.get("/api/portfolios/2/ledger?limit=1", headers=teacher).json) == 1
    assert client.get("/api/portfolios/2/ledger", headers=service_db.auth(1)).status_code == 403
    assert client.get("/api/portfolios/2/ledger").status_code == 401

    board = client.get("/api/leaderboard?include_bots=true", headers=service_db.auth(1)).json
    assert [(r["user_id"], r["role"]) for r in board] == [(2, "trader"), (1, "trader"), (3, "bot")]
    assert [r["user_id"] for r in client.get("/api/leaderboard", headers=service_db.auth(1)).json] == [2, 1]

    for path in ("leaderboard.csv", "portfolios.csv", "trades.csv"):
        assert client.get(f"/api/exports/{path}").status_code == 401
        assert client.get(f"/api/exports/{path}", headers=service_db.auth(1)).status_code == 403
    trades = client.get("/api/exports/trades.csv", headers=teacher)
    assert trades.mimetype == "text/csv"
    lines = trades.get_data(as_text=True).splitlines()
    assert lines[0] == ("trade_id,seq,symbol,price,qty,buyer_id,seller_id,buy_order_id,sell_order_id,executed_at,"
                        "commission_per_side")
    assert len(lines) == 2 and lines[1].startswith("9,") and lines[1].endswith(",0.08")
    assert ",ACME,110.00,4,1,2,1,2," in lines[1]
    portfolios = client.get("/api/exports/portfolios.csv", headers=teacher).get_data(as_text=True).splitlines()
    assert portfolios[0] == ("user_id,name,role,cash,reserved_cash,equity,realized_pl,starting_equity,return_pct,"
                             "trades,symbol,qty,reserved_qty,avg_cost,last_price,market_value")
    assert "1,Ann,trader,559.92,0.00,999.92,0.00,1000.00,-0.01,1,ACME,4,0,110.00,110.00,440.00" in portfolios
    assert "3,MM,bot,500.00,0.00,500.00,0.00,500.00,0.00,0,,,,,," in portfolios
    board_csv = client.get("/api/exports/leaderboard.csv", headers=teacher).get_data(as_text=True).splitlines()
    assert board_csv[0] == "rank,user_id,name,role,equity,return_pct,realized_pl,unrealized_pl,cash,trades"
    assert board_csv[1] == "1,2,Ben,trader,1199.92,9.08,40.00,60.00,539.92,1"


def test_leaderboard_is_announced_at_most_every_interval_and_never_lost(service_db, monkeypatch):
    from service_runtime.apply import apply_batch

    monkeypatch.setattr(handlers._leaderboard, "INTERVAL", 30.0)
    monkeypatch.setattr(handlers._leaderboard, "last", float("-inf"))
    setup_market(service_db, user(1, "10000.00"), user(2, "0.00", {"ACME": 30}))
    service_db.runner.deliver(placed(1, 1, "buy", "limit", 30, "10.00"), placed(2, 2, "sell", "limit", 30, "10.00"))

    def run(*events):
        runner = service_db.runner
        return apply_batch(service_db.conn, runner.handlers, [runner.envelope(e) for e in events], runner.epochs,
                           runner.parked)

    handlers._leaderboard.last = float("-inf")  # the set-up batches announced: start a fresh interval
    first = run(trade(1, (1, 1), (2, 2), "10.00", 10, buy_filled=10, sell_filled=10, buy_rem=20, sell_rem=20))
    assert "leaderboard.updated" in service_db.runner.emitted_types(first.notices) and first.follow_up is None
    # a second change within the interval: held back, and the worker asked to come back
    second = run(trade(2, (1, 1), (2, 2), "10.00", 10, buy_filled=20, sell_filled=20, buy_rem=10, sell_rem=10))
    assert "leaderboard.updated" not in service_db.runner.emitted_types(second.notices)
    assert 29 < second.follow_up <= 30
    # too early still: nothing, asked again
    early = run()
    assert early.notices == [] and early.follow_up is not None
    # when the interval is up the follow-up (no events) announces the held change, valued now
    handlers._leaderboard.last -= 30
    late = run()
    assert service_db.runner.emitted_types(late.notices) == ["leaderboard.updated"] and late.follow_up is None
    rows = {r.user_id: r for r in late.notices[0].event.rows}
    assert rows[1].trades == 2  # both fills, though only the first was announced at once
    # nothing pending: a follow-up does nothing
    assert run().notices == []


# -- stops ------------------------------------------------------------------


def placed_stop(order_id: int, user_id: int, side: str, qty: int, stop_price: str, limit: str | None = None,
                tif: str = "day") -> contracts.OrderPlaced:
    return contracts.OrderPlaced(order_id=order_id, user_id=user_id, symbol="ACME", side=side,
                                 type="stop_limit" if limit else "stop", qty=qty,
                                 limit_price=D(limit) if limit else None, time_in_force=tif,
                                 stop_price=D(stop_price))


def test_a_stop_reserves_what_it_will_need_and_canceled_before_it_triggers_releases_all_of_it(service_db):
    setup_market(service_db, user(1, "10000.00", {"ACME": 20}))
    # a stop buy holds the collar around its stop price (120.00 x 1.05), not around the last price
    emitted = service_db.runner.deliver(placed_stop(1, 1, "buy", 10, "120.00"))
    [approved] = of_type(emitted, "order.approved")
    assert (approved["collar_price"], approved["stop_price"], approved["type"]) == (D("126.00"), D("120.00"), "stop")
    assert cash_state(service_db, 1) == (D("10000.00"), D("1260.00"))
    # a stop_limit buy holds its limit; a stop-loss holds shares
    service_db.runner.deliver(placed_stop(2, 1, "buy", 10, "120.00", "121.00"),
                              placed_stop(3, 1, "sell", 15, "90.00", "89.00", tif="gtc"))
    assert cash_state(service_db, 1) == (D("10000.00"), D("2470.00"))
    assert position(service_db, 1)["reserved_qty"] == 15
    # a stop-loss beyond the free shares is refused like any sale
    [refused] = of_type(service_db.runner.deliver(placed_stop(4, 1, "sell", 6, "90.00")), "order.rejected")
    assert refused["reason"] == "insufficient_shares"
    # canceled (or expired) untriggered: everything it held is free again, once
    service_db.runner.deliver(canceled(1, 1, filled=0, canceled_qty=10), canceled(3, 1, filled=0, canceled_qty=15))
    assert cash_state(service_db, 1) == (D("10000.00"), D("1210.00"))
    assert position(service_db, 1)["reserved_qty"] == 0
    assert service_db.runner.deliver(canceled(1, 1, filled=0, canceled_qty=10)) == []
    service_db.runner.deliver(contracts.OrderExpired(order_id=2, user_id=1, symbol="ACME", filled_qty=0,
                                                     expired_qty=10))
    assert cash_state(service_db, 1) == (D("10000.00"), D("0.00"))
    assert reservation(service_db, 2)["type"] == "stop_limit"


# -- replace ------------------------------------------------------------------


def replacement(order_id: int, old: int, filled: int, user_id: int, side: str, qty: int, limit: str
                ) -> contracts.OrderPlaced:
    return contracts.OrderPlaced(order_id=order_id, user_id=user_id, symbol="ACME", side=side, type="limit",
                                 qty=qty, limit_price=D(limit), time_in_force="day", replaces=old,
                                 replaces_filled_qty=filled)


def swapped(old: int, new: int, user_id: int, filled: int = 0) -> contracts.OrderReplaced:
    return contracts.OrderReplaced(order_id=old, user_id=user_id, symbol="ACME", replaced_by=new, filled_qty=filled)


def test_a_replacement_reuses_what_the_old_order_holds_and_free_cash_never_goes_negative(service_db):
    setup_market(service_db, user(1, "1000.00"))
    run = service_db.runner.deliver
    run(placed(1, 1, "buy", "limit", 10, "95.00"))
    assert cash_state(service_db, 1) == (D("1000.00"), D("950.00"))  # 50.00 free
    # 10 at 99.00 needs 990.00: more than the 50.00 free, but the old order's 950.00 counts
    [approved] = of_type(run(replacement(2, 1, 0, 1, "buy", 10, "99.00")), "order.approved")
    assert (approved["replaces"], approved["replaces_filled_qty"]) == (1, 0)
    assert cash_state(service_db, 1) == (D("1000.00"), D("990.00"))  # only the 40.00 more is added
    assert reservation(service_db, 2)["added_cash"] == D("40.00")
    run(swapped(1, 2, 1))  # matching swapped them: the replacement now holds it all
    assert cash_state(service_db, 1) == (D("1000.00"), D("990.00"))
    assert reservation(service_db, 1)["status"] == "closed"
    res = reservation(service_db, 2)
    assert (res["status"], res["added_cash"]) == ("open", None)
    assert run(swapped(1, 2, 1)) == []  # redelivered: nothing twice
    # cheaper: nothing added at approval, the difference released when they swap
    run(replacement(3, 2, 0, 1, "buy", 5, "90.00"))
    assert cash_state(service_db, 1) == (D("1000.00"), D("990.00"))
    run(swapped(2, 3, 1))
    assert cash_state(service_db, 1) == (D("1000.00"), D("450.00"))
    # more than the old order and the free cash together: refused, nothing held
    [refused] = of_type(run(replacement(4, 3, 0, 1, "buy", 20, "90.00")), "order.rejected")
    assert refused["reason"] == "insufficient_cash"
    assert cash_state(service_db, 1) == (D("1000.00"), D("450.00"))


def test_a_replacement_refused_by_matching_releases_only_what_it_added(service_db):
    setup_market(service_db, user(1, "1000.00"), user(2, "0.00", {"ACME": 10}))
    run = service_db.runner.deliver
    run(placed(1, 1, "buy", "limit", 10, "50.00"), placed(2, 2, "sell", "limit", 6, "60.00"))
    run(replacement(3, 1, 0, 1, "buy", 10, "55.00"), replacement(4, 2, 0, 2, "sell", 8, "61.00"))
    assert cash_state(service_db, 1) == (D("1000.00"), D("550.00"))
    assert position(service_db, 2)["reserved_qty"] == 8
    # the old orders traded first: matching refused both replacements
    run(trade(1, (1, 1), (2, 2), "50.00", 4, buy_filled=4, sell_filled=4, buy_rem=6, sell_rem=2))
    env = service_db.runner.envelope
    run(env(contracts.OrderRejected(order_id=3, user_id=1, symbol="ACME", reason="replace_failed", message="lost"),
            "order_matching"),
        env(contracts.OrderRejected(order_id=4, user_id=2, symbol="ACME", reason="replace_failed", message="lost"),
            "order_matching"))
    assert cash_state(service_db, 1) == (D("800.00"), D("300.00"))  # the old order's 6 x 50.00, nothing more
    p = position(service_db, 2)
    assert (p["qty"], p["reserved_qty"]) == (6, 2)
    # a replace of an order that moved on is refused by the portfolio itself
    [refused] = of_type(run(replacement(5, 1, 0, 1, "buy", 6, "51.00")), "order.rejected")
    assert refused["reason"] == "replace_failed"
