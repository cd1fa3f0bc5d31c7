"""Pure rules of instructor simulations: bulk class parsing, settings validation,
order limits and commission at approval, and how a batch is split around a reset."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service_runtime.contracts import Envelope, OrderPlaced, SimulationReset, StockListed
from service_runtime.handlers import _segments
from service_runtime.web import ApiError
from user_accounts.domain import next_number, parse_bulk, parse_settings_update
from user_portfolio.domain import Rules, decide_order

D = Decimal


def env(event, epoch: int = 1) -> Envelope:
    return Envelope(uuid.uuid4(), event.TYPE, 1, datetime.now(UTC), event.PRODUCER, epoch, event)


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
    users = parse_bulk({"count": 2, "prefix": " Team ", "starting_cash": 500, "holdings": {"AAPL": 2}},
                       ["Team 3"])
    assert [(u.name, u.starting_cash, u.holdings) for u in users] == [
        ("Team 4", D("500"), {"AAPL": 2}), ("Team 5", D("500"), {"AAPL": 2})]


def test_bulk_csv_zero_shares_removes_a_default_holding():
    [user] = parse_bulk({"csv": "name,AAPL\nAnn,0\n", "holdings": {"AAPL": 5, "MSFT": 1}}, [])
    assert user.holdings == {"MSFT": 1}


@pytest.mark.parametrize("body, message", [
    ({"csv": 5}, "csv must be a non-empty string with a header row"),
    ({"csv": "name,AAPL\nAnn,1.5\n"}, "line 2: AAPL must be a whole number of shares"),
    ({"csv": "name\n" + "\n".join(f"U{i}" for i in range(501)) + "\n"}, "at most 500 users at once"),
    ({"csv": "name\n\"unterminated\n"}, None),
])
def test_bulk_csv_errors(body, message):
    try:
        parse_bulk(body, [])
    except ApiError as err:
        assert (err.status, err.field) == (422, "csv")
        if message is not None:
            assert err.message == message
    else:
        assert message is None  # a quoted newline is a valid (odd) name


def test_settings_update_is_partial_and_null_turns_a_limit_off():
    assert parse_settings_update({"max_position": None}) == {"max_position": None}
    assert parse_settings_update({"commission_per_share": "0.5"}) == {"commission_per_share": D("0.5")}
    with pytest.raises(ApiError):
        parse_settings_update({"max_order_qty": 1.5})


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
