"""Pure rules of instructor simulations: bulk class parsing, settings validation,
order limits and commission at approval, and how a batch is split around a reset."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service_runtime.apply import segments as _segments
from service_runtime.contracts import Envelope, OrderPlaced, SimulationReset, StockListed
from service_runtime.errors import Invalid
from service_runtime.web import ApiError
from user_accounts.domain import commission, csv_users, limit, next_number, numbered_users
from user_accounts.schemas import SettingsUpdate
from user_portfolio.domain import Rules, decide_order

D = Decimal


def env(event, epoch: int = 1) -> Envelope:
    return Envelope(uuid.uuid4(), event.TYPE, 1, datetime.now(UTC), event.PRODUCERS[0], epoch, event)


def test_a_batch_is_split_around_each_reset():
    a = env(StockListed("A", "A", D("1")))
    r1 = env(SimulationReset(2, 1), 2)
    b = env(StockListed("B", "B", D("1")), 2)
    r2 = env(SimulationReset(3, 1), 3)
    assert _segments([a, r1, b, r2]) == [[a], [r1], [b], [r2]]
    assert _segments([a, b]) == [[a, b]]
    assert _segments([]) == [[]]


def test_set_up_events_are_epoch_free_and_the_rest_are_not():
    assert StockListed.EPOCH_FREE and not OrderPlaced.EPOCH_FREE and not SimulationReset.EPOCH_FREE


def test_numbering_continues_after_the_highest_existing_name():
    assert next_number("Student", ["Student 1", "Student 7", "Student x", "Students 9", "Student"]) == 8
    assert next_number("Student", []) == 1


def test_bulk_count_builds_the_names_and_applies_the_defaults():
    users = numbered_users(" Team ", 2, ["Team 3"], "trader", D("500"), {"AAPL": 2})
    assert [(u.name, u.starting_cash, u.holdings) for u in users] == [
        ("Team 4", D("500"), {"AAPL": 2}), ("Team 5", D("500"), {"AAPL": 2})]
    with pytest.raises(Invalid) as info:
        numbered_users("Team", 501, [], "trader", D("1"), {})
    assert info.value.field == "count"


def test_bulk_csv_zero_shares_removes_a_default_holding():
    [user] = csv_users("name,AAPL\nAnn,0\n", "trader", D("100"), {"AAPL": 5, "MSFT": 1})
    assert user.holdings == {"MSFT": 1}


@pytest.mark.parametrize("text, message", [
    ("", "csv must be a non-empty string with a header row"),
    ("name,AAPL\nAnn,1.5\n", "line 2: AAPL must be a whole number of shares"),
    ("name\n" + "\n".join(f"U{i}" for i in range(501)) + "\n", "at most 500 users at once"),
    ("name,starting_cash\nAnn,abc\n", "line 2: starting_cash must be a decimal number"),
    ("name\n\"unterminated\n", None),
])
def test_bulk_csv_errors(text, message):
    try:
        csv_users(text, "trader", D("100"), {})
    except Invalid as err:
        assert err.field == "csv"
        if message is not None:
            assert err.message == message
    else:
        assert message is None  # a quoted newline is a valid (odd) name


def test_settings_update_is_partial_and_null_turns_a_limit_off():
    assert SettingsUpdate.model_validate({"max_position": None}).model_fields_set == {"max_position"}
    assert SettingsUpdate.model_validate({"commission_per_share": "0.5"}).commission_per_share == D("0.5")
    assert limit(None, "max_position") is None and commission(D("0.50")) == D("0.50")
    from service_runtime.openapi import validated
    with pytest.raises(ApiError) as info:
        validated(SettingsUpdate, {"max_order_qty": 1.5})
    assert info.value.field == "max_order_qty"
    with pytest.raises(Invalid):
        limit(0, "max_order_qty")
    with pytest.raises(Invalid):
        commission(D("0.001"))


def decide(side: str = "buy", qty: int = 10, price: str = "10.00", **kw):
    defaults = dict(side=side, type_="limit", qty=qty, limit_price=D(price), symbol="ACME", last_price=None,
                    reference_price=D("10.00"), buying_power=D("1000.00"), free_shares=100, held_qty=0)
    defaults.update(kw)
    return decide_order(**defaults)


def test_commission_is_part_of_what_an_order_holds():
    buy = decide(rules=Rules(commission_per_share=D("0.05")))
    assert (buy.approved, buy.reserve_cash, buy.commission) == (True, D("100.50"), D("0.05"))
    sell = decide("sell", rules=Rules(commission_per_share=D("0.05")))
    assert (sell.approved, sell.reserve_cash, sell.reserve_qty) == (True, D("0.50"), 10)
    poor = decide("buy", qty=100, rules=Rules(commission_per_share=D("0.01")))
    assert (poor.approved, poor.reason, poor.message) == (False, "insufficient_cash",
                                                          "needs 1001.00, buying power 1000.00")


def test_limits_apply_only_when_set():
    assert decide(qty=100, price="1.00").approved
    big = decide(qty=11, price="1.00", rules=Rules(max_order_qty=10))
    assert (big.reason, big.message) == ("max_order_qty", "the max order size is 10 shares; this order is for 11")
    full = decide(qty=5, price="1.00", held_qty=96, rules=Rules(max_position=100))
    assert full.reason == "max_position"
    assert decide(qty=4, price="1.00", held_qty=96, rules=Rules(max_position=100)).approved
    # selling never grows a position
    assert decide("sell", qty=50, held_qty=150, rules=Rules(max_position=100)).approved


def test_a_stop_holds_what_the_order_it_becomes_holds_priced_from_its_stop():
    # a stop buy (market once triggered): the collar around its stop price, 5 % above
    stop_buy = decide(type_="stop", limit_price=None, stop_price=D("12.00"), last_price=D("10.00"))
    assert (stop_buy.approved, stop_buy.collar_price, stop_buy.reserve_cash) == (True, D("12.60"), D("126.00"))
    # a stop_limit buy: its limit
    stop_limit_buy = decide(type_="stop_limit", price="12.50", stop_price=D("12.00"))
    assert (stop_limit_buy.collar_price, stop_limit_buy.reserve_cash) == (None, D("125.00"))
    # sells hold shares; a stop sell's floor is 5 % under its stop price
    stop_sell = decide("sell", type_="stop", limit_price=None, stop_price=D("9.00"))
    assert (stop_sell.reserve_qty, stop_sell.collar_price, stop_sell.reserve_cash) == (10, D("8.55"), D("0"))
    poor = decide(type_="stop", limit_price=None, stop_price=D("100.00"))
    assert (poor.approved, poor.reason) == (False, "insufficient_cash")
    assert decide(type_="stop", limit_price=None, stop_price=None).reason == "invalid_order"
