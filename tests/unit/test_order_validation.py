"""Order request validation (the request model, then stock_ordering.domain's rules) and
status derivation, pure logic.

Every rejection names the exact field a client must fix; every accepted shape is
compared field by field against the NewOrder it must produce.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service_runtime import jsonio
from service_runtime.auth import Principal
from service_runtime.errors import DomainError
from service_runtime.money import avg_price
from service_runtime.web import ApiError, api_error
from stock_ordering.domain import NewOrder, derive_status
from stock_ordering.routes import parse_order
from stock_ordering.views import order_json
from tests.inputs import NOT_FINITE

TRADER = Principal(7, "trader", "Tess", 1, "tok-trader")
INSTRUCTOR = Principal(1, "instructor", "Ines", 1, "tok-instr")


def limit_body(**changes):
    body = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 10, "limit_price": "10.50"}
    body.update(changes)
    return body


def market_body(**changes):
    body = {"symbol": "AAPL", "side": "sell", "type": "market", "qty": 5}
    body.update(changes)
    return body


def rejected(body, who=TRADER) -> ApiError:
    with pytest.raises((ApiError, DomainError)) as info:
        parse_order(body, who)
    return api_error(info.value) if isinstance(info.value, DomainError) else info.value


# ---------------------------------------------------------------------------
# accepted shapes
# ---------------------------------------------------------------------------


def test_limit_order_with_string_price():
    order = parse_order(limit_body(), TRADER)
    assert order == NewOrder(7, "AAPL", "buy", "limit", 10, Decimal("10.50"), "day", None)
    assert isinstance(order.limit_price, Decimal)


def test_limit_order_with_json_integer_price():
    order = parse_order(limit_body(limit_price=12), TRADER)
    assert order.limit_price == Decimal("12.00")
    assert str(order.limit_price) == "12.00"


def test_limit_order_with_decimal_from_jsonio():
    body = jsonio.loads(
        '{"symbol": "MSFT", "side": "sell", "type": "limit", "qty": 3, "limit_price": 10.1,'
        ' "time_in_force": "gtc"}'
    )
    assert body["limit_price"] == Decimal("10.1")
    order = parse_order(body, TRADER)
    assert order == NewOrder(7, "MSFT", "sell", "limit", 3, Decimal("10.10"), "gtc", None)
    assert str(order.limit_price) == "10.10"


def test_price_with_trailing_zeros_is_quantized_to_the_cent():
    assert str(parse_order(limit_body(limit_price="10.5000"), TRADER).limit_price) == "10.50"
    assert str(parse_order(limit_body(limit_price=Decimal("99.9")), TRADER).limit_price) == "99.90"


def test_price_bounds_inclusive():
    assert parse_order(limit_body(limit_price="0.01"), TRADER).limit_price == Decimal("0.01")
    assert parse_order(limit_body(limit_price="1000000"), TRADER).limit_price == Decimal("1000000.00")


def test_market_order_defaults():
    order = parse_order(market_body(), TRADER)
    assert order == NewOrder(7, "AAPL", "sell", "market", 5, None, "day", None)


def test_market_order_with_null_limit_price_and_null_tif():
    order = parse_order(market_body(limit_price=None, time_in_force=None), TRADER)
    assert order.limit_price is None
    assert order.time_in_force == "day"


@pytest.mark.parametrize("tif", ["day", "gtc", "ioc", "fok"])
def test_every_time_in_force(tif):
    assert parse_order(limit_body(time_in_force=tif), TRADER).time_in_force == tif


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_both_sides(side):
    assert parse_order(market_body(side=side), TRADER).side == side


@pytest.mark.parametrize("symbol", ["A", "AAPL", "BRK2", "ABCDEFGH", "12345678"])
def test_symbols_accepted(symbol):
    assert parse_order(limit_body(symbol=symbol), TRADER).symbol == symbol


@pytest.mark.parametrize("qty", [1, 999, 1_000_000])
def test_qty_bounds_accepted(qty):
    assert parse_order(market_body(qty=qty), TRADER).qty == qty


def test_client_order_id_up_to_48_chars():
    coid = "c" * 48
    assert parse_order(limit_body(client_order_id=coid), TRADER).client_order_id == coid
    assert parse_order(limit_body(client_order_id="a"), TRADER).client_order_id == "a"
    assert parse_order(limit_body(client_order_id=None), TRADER).client_order_id is None


def test_instructor_places_for_another_user():
    order = parse_order(limit_body(user_id=42), INSTRUCTOR)
    assert order.user_id == 42


def test_instructor_without_user_id_places_for_self():
    assert parse_order(limit_body(), INSTRUCTOR).user_id == 1


def test_trader_may_name_own_user_id():
    assert parse_order(limit_body(user_id=7), TRADER).user_id == 7
    assert parse_order(limit_body(user_id=None), TRADER).user_id == 7


# ---------------------------------------------------------------------------
# rejections, each naming its field
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "qty", [-1, 0, Decimal("1.5"), Decimal("10"), 1_000_001, True, False, "10", None, 10**30]
)
def test_qty_rejected(qty):
    err = rejected(market_body(qty=qty))
    assert (err.status, err.code, err.field) == (422, "invalid", "qty")


def test_qty_missing_rejected():
    body = market_body()
    del body["qty"]
    err = rejected(body)
    assert (err.status, err.field) == (422, "qty")


def test_limit_price_missing_for_limit():
    body = limit_body()
    del body["limit_price"]
    err = rejected(body)
    assert (err.status, err.code, err.field) == (422, "invalid", "limit_price")
    err = rejected(limit_body(limit_price=None))
    assert (err.status, err.field) == (422, "limit_price")


# --- stops ---------------------------------------------------------------------------


def stop_body(**changes):
    body = {"symbol": "AAPL", "side": "sell", "type": "stop", "qty": 10, "stop_price": "9.50"}
    body.update(changes)
    return body


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, NewOrder(7, "AAPL", "sell", "stop", 10, None, "day", None, Decimal("9.50"))),
    ({"time_in_force": "gtc", "stop_price": 9},
     NewOrder(7, "AAPL", "sell", "stop", 10, None, "gtc", None, Decimal("9.00"))),
    ({"type": "stop_limit", "limit_price": "9.40"},
     NewOrder(7, "AAPL", "sell", "stop_limit", 10, Decimal("9.40"), "day", None, Decimal("9.50"))),
    ({"type": "stop_limit", "side": "buy", "stop_price": "10.00", "limit_price": "10.00"},
     NewOrder(7, "AAPL", "buy", "stop_limit", 10, Decimal("10.00"), "day", None, Decimal("10.00"))),
])
def test_stop_orders_accepted(changes, expected):
    assert parse_order(stop_body(**changes), TRADER) == expected


@pytest.mark.parametrize(("changes", "field"), [
    ({"stop_price": None}, "stop_price"),  # a stop without stop_price
    ({"type": "stop_limit", "limit_price": None}, "limit_price"),
    ({"time_in_force": "ioc"}, "time_in_force"),  # a stop with IOC or FOK
    ({"time_in_force": "fok"}, "time_in_force"),
    ({"type": "stop_limit", "side": "buy", "stop_price": "10.00", "limit_price": "9.99"}, "limit_price"),
    ({"type": "stop_limit", "side": "sell", "stop_price": "10.00", "limit_price": "10.01"}, "limit_price"),
    ({"limit_price": "9.00"}, "limit_price"),  # a stop (market once triggered) takes no limit
    ({"stop_price": "0"}, "stop_price"),
    ({"stop_price": "9.505"}, "stop_price"),
    ({"stop_price": "1000000.01"}, "stop_price"),
    ({"type": "limit", "limit_price": "9.00"}, "stop_price"),  # a limit order takes no stop_price
    ({"type": "market"}, "stop_price"),
])
def test_stop_orders_rejected(changes, field):
    body = stop_body(**changes)
    if body.get("stop_price") is None:
        del body["stop_price"]
    if "limit_price" in body and body["limit_price"] is None:
        del body["limit_price"]
    err = rejected(body)
    assert (err.status, err.code, err.field) == (422, "invalid", field)


def test_the_stop_price_is_part_of_the_body_a_client_order_id_repeats():
    one = parse_order(stop_body(client_order_id="x"), TRADER)
    other = parse_order(stop_body(client_order_id="x", stop_price="9.40"), TRADER)
    assert one.fingerprint != other.fingerprint


@pytest.mark.parametrize("price", ["10.00", 10, Decimal("10")])
def test_limit_price_present_for_market(price):
    err = rejected(market_body(limit_price=price))
    assert (err.status, err.code, err.field) == (422, "invalid", "limit_price")


@pytest.mark.parametrize(
    "price",
    [
        0,
        "0",
        "0.00",
        "-0.01",
        -5,
        Decimal("-1.00"),
        "10.001",
        "10.005",
        Decimal("0.001"),
        *NOT_FINITE,
        "1000000.01",
        1_000_001,
        Decimal("1E+7"),
        True,
        False,
        "abc",
        "",
        "   ",
        "1" * 41,
        10.5,
        [10],
        {"v": 10},
    ],
)
def test_limit_price_rejected(price):
    err = rejected(limit_body(limit_price=price))
    assert (err.status, err.code, err.field) == (422, "invalid", "limit_price")


@pytest.mark.parametrize("symbol", ["aapl", "Aapl", "ABCDEFGHI", "", 5, None, ["AAPL"], "AA PL", "AAPL\n", "ÄPPL"])
def test_symbol_rejected(symbol):
    err = rejected(limit_body(symbol=symbol))
    assert (err.status, err.code, err.field) == (422, "invalid", "symbol")


def test_symbol_missing_rejected():
    body = limit_body()
    del body["symbol"]
    assert rejected(body).field == "symbol"


@pytest.mark.parametrize("side", ["BUY", "short", "", None, 1])
def test_side_rejected(side):
    err = rejected(limit_body(side=side))
    assert (err.status, err.code, err.field) == (422, "invalid", "side")


@pytest.mark.parametrize("order_type", ["LIMIT", "trailing_stop", "", None, 0])
def test_type_rejected(order_type):
    err = rejected(limit_body(type=order_type))
    assert (err.status, err.code, err.field) == (422, "invalid", "type")


@pytest.mark.parametrize("tif", ["DAY", "gtd", "", 1])
def test_time_in_force_rejected(tif):
    err = rejected(limit_body(time_in_force=tif))
    assert (err.status, err.code, err.field) == (422, "invalid", "time_in_force")


@pytest.mark.parametrize("coid", ["c" * 49, "", 12, "bad\nid", "tab\there"])
def test_client_order_id_rejected(coid):
    err = rejected(limit_body(client_order_id=coid))
    assert (err.status, err.code, err.field) == (422, "invalid", "client_order_id")


def test_unknown_field_rejected_by_name():
    err = rejected(limit_body(price="10.50"))
    assert (err.status, err.code, err.field) == (422, "invalid", "price")
    err = rejected(limit_body(zeta=1, alpha=2))
    assert err.field == "alpha"


@pytest.mark.parametrize("body", [[], "order", None, 5])
def test_non_object_body_rejected(body):
    err = rejected(body)
    assert (err.status, err.code, err.field) == (422, "invalid", None)


def test_trader_placing_for_another_user_is_forbidden():
    err = rejected(limit_body(user_id=8))
    assert (err.status, err.code, err.field) == (403, "forbidden", "user_id")


@pytest.mark.parametrize("user_id", [True, "8", Decimal("8")])
def test_user_id_must_be_integer(user_id):
    err = rejected(limit_body(user_id=user_id), INSTRUCTOR)
    assert (err.status, err.code, err.field) == (422, "invalid", "user_id")


# ---------------------------------------------------------------------------
# fingerprint
# ---------------------------------------------------------------------------


def test_fingerprint_equal_for_equal_bodies():
    a = parse_order(limit_body(limit_price="10.5"), TRADER)
    b = parse_order(limit_body(limit_price=Decimal("10.50")), TRADER)
    c = parse_order(jsonio.loads(jsonio.dumps(limit_body(limit_price=Decimal("10.500")))), TRADER)
    assert a.fingerprint == b.fingerprint == c.fingerprint == "AAPL|buy|limit|10|10.50|day"


def test_fingerprint_default_tif_equals_explicit_day():
    a = parse_order(market_body(), TRADER)
    b = parse_order(market_body(time_in_force="day"), TRADER)
    assert a.fingerprint == b.fingerprint == "AAPL|sell|market|5||day"


@pytest.mark.parametrize(
    "change",
    [
        {"symbol": "MSFT"},
        {"side": "sell"},
        {"qty": 11},
        {"limit_price": "10.51"},
        {"time_in_force": "gtc"},
        {"type": "market", "limit_price": None},
    ],
)
def test_fingerprint_differs_when_a_field_differs(change):
    base = parse_order(limit_body(), TRADER)
    other = parse_order(limit_body(**change), TRADER)
    assert base.fingerprint != other.fingerprint


# ---------------------------------------------------------------------------
# derive_status
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filled_qty, qty, booked, cancel_requested, final_status, expected",
    [
        (0, 10, False, False, None, "pending_new"),
        (0, 10, True, False, None, "new"),
        (4, 10, True, False, None, "partially_filled"),
        (4, 10, False, False, None, "partially_filled"),
        (10, 10, True, False, None, "filled"),
        (10, 10, False, False, None, "filled"),
        (10, 10, True, True, None, "filled"),  # the cancel lost the race with the last fill
        (0, 10, True, True, None, "pending_cancel"),
        (0, 10, False, True, None, "pending_cancel"),
        (4, 10, True, True, None, "pending_cancel"),
        (4, 10, True, True, "canceled", "canceled"),
        (0, 10, False, False, "canceled", "canceled"),
        (3, 10, True, False, "expired", "expired"),
        (0, 10, False, False, "rejected", "rejected"),
        (10, 10, True, False, "filled", "filled"),
        (0, 10, True, False, "", "new"),
    ],
)
def test_derive_status(filled_qty, qty, booked, cancel_requested, final_status, expected):
    row = {
        "filled_qty": filled_qty,
        "qty": qty,
        "booked": booked,
        "cancel_requested": cancel_requested,
        "final_status": final_status,
    }
    assert derive_status(row) == expected


def test_derive_status_without_final_status_key():
    assert derive_status({"filled_qty": 0, "qty": 1, "booked": False, "cancel_requested": False}) == "pending_new"


# ---------------------------------------------------------------------------
# avg_price and order_json
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filled_qty, notional, expected",
    [
        (3, Decimal("100.01"), "33.3367"),
        (2, Decimal("21.00"), "10.5000"),
        (1, Decimal("10.5"), "10.5000"),
        (7, Decimal("70.07"), "10.0100"),
        (2, Decimal("0.0001"), "0.0000"),  # 0.00005 -> half even
        (2, Decimal("0.0003"), "0.0002"),  # 0.00015 -> half even
        (3, Decimal("20.02"), "6.6733"),
    ],
)
def test_avg_price_four_places(filled_qty, notional, expected):
    value = avg_price(filled_qty, notional)
    assert isinstance(value, Decimal)
    assert str(value) == expected


def test_avg_price_none_without_fills():
    assert avg_price(0, Decimal("0")) is None


ORDER_FIELDS = {
    "id",
    "client_order_id",
    "user_id",
    "symbol",
    "side",
    "type",
    "qty",
    "limit_price",
    "stop_price",
    "triggered",
    "replaces",
    "replaced_by",
    "time_in_force",
    "status",
    "filled_qty",
    "filled_avg_price",
    "reject_reason",
    "created_at",
    "updated_at",
}


def _row(**changes):
    created = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
    row = {
        "id": 101,
        "client_order_id": "abc-1",
        "user_id": 7,
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "qty": 10,
        "limit_price": Decimal("10.50"),
        "stop_price": None,
        "triggered": None,
        "replaces": None,
        "replaced_by": None,
        "time_in_force": "day",
        "status": "partially_filled",
        "filled_qty": 3,
        "filled_notional": Decimal("31.40"),
        "reject_reason": None,
        "created_at": created,
        "updated_at": datetime(2024, 3, 1, 14, 31, tzinfo=UTC),
        "booked": True,
        "cancel_requested": False,
        "final_status": None,
    }
    row.update(changes)
    return row


def test_order_json_shape():
    out = order_json(_row())
    assert set(out) == ORDER_FIELDS
    assert out == {
        "id": 101,
        "client_order_id": "abc-1",
        "user_id": 7,
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "qty": 10,
        "limit_price": Decimal("10.50"),
        "stop_price": None,
        "triggered": None,
        "replaces": None,
        "replaced_by": None,
        "time_in_force": "day",
        "status": "partially_filled",
        "filled_qty": 3,
        "filled_avg_price": Decimal("10.4667"),
        "reject_reason": None,
        "created_at": datetime(2024, 3, 1, 14, 30, tzinfo=UTC),
        "updated_at": datetime(2024, 3, 1, 14, 31, tzinfo=UTC),
    }


def test_order_json_unfilled_and_serialized():
    out = order_json(
        _row(filled_qty=0, filled_notional=Decimal("0"), status="rejected", reject_reason="insufficient_cash",
             type="market", limit_price=None, client_order_id=None)
    )
    assert set(out) == ORDER_FIELDS
    assert out["filled_avg_price"] is None
    assert out["limit_price"] is None
    text = jsonio.dumps(out)
    back = jsonio.loads(text)
    assert back["status"] == "rejected"
    assert back["reject_reason"] == "insufficient_cash"
    assert back["created_at"] == "2024-03-01T14:30:00+00:00"
    assert back["client_order_id"] is None
    filled = jsonio.loads(jsonio.dumps(order_json(_row())))
    assert filled["limit_price"] == "10.50"
    assert filled["filled_avg_price"] == "10.4667"
