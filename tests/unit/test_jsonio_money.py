"""Exact JSON in and out (service_runtime.jsonio) and money parsing (service_runtime.money)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from service_runtime import jsonio, money
from service_runtime.jsonio import MAX_DEPTH, JSONInputError
from tests.inputs import NOT_FINITE

# ---------------------------------------------------------------------------
# jsonio.loads
# ---------------------------------------------------------------------------


def test_floats_become_exact_decimals():
    value = jsonio.loads("0.1")
    assert isinstance(value, Decimal)
    assert value == Decimal("0.1")
    assert str(value) == "0.1"
    data = jsonio.loads('{"a": 1.10, "b": [0.2, 3], "c": 1e2, "d": -0.000001}')
    assert data == {"a": Decimal("1.10"), "b": [Decimal("0.2"), 3], "c": Decimal("1E+2"), "d": Decimal("-0.000001")}
    assert str(data["a"]) == "1.10"
    assert type(data["b"][1]) is int
    assert sum(jsonio.loads("[0.1, 0.2]")) == Decimal("0.3")


def test_loads_accepts_bytes_and_plain_values():
    assert jsonio.loads(b'{"symbol": "AAPL", "qty": 5}') == {"symbol": "AAPL", "qty": 5}
    assert jsonio.loads('"x"') == "x"
    assert jsonio.loads("null") is None
    assert jsonio.loads("true") is True
    assert jsonio.loads('{"s": "caf\\u00e9"}') == {"s": "café"}


@pytest.mark.parametrize(
    "text", ["NaN", "Infinity", "-Infinity", "[NaN]", '{"p": Infinity}', '{"p": -Infinity}', b"[1, NaN]"]
)
def test_non_finite_literals_refused(text):
    with pytest.raises(JSONInputError):
        jsonio.loads(text)


@pytest.mark.parametrize(
    "text", ["", "{", "[1,]", "{'a': 1}", '{"a" 1}', "01", "[1] x", "nan", "inf", b"\xff\xfe", "{\"a\": .5}"]
)
def test_malformed_refused(text):
    with pytest.raises(JSONInputError):
        jsonio.loads(text)


def test_json_input_error_is_value_error():
    assert issubclass(JSONInputError, ValueError)


def test_depth_at_limit_accepted_beyond_refused():
    ok = "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH
    value = jsonio.loads(ok)
    for _ in range(MAX_DEPTH):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == 1
    with pytest.raises(JSONInputError):
        jsonio.loads("[" * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1))


def test_depth_counts_objects_too():
    ok = '{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH
    assert jsonio.loads(ok) is not None
    with pytest.raises(JSONInputError):
        jsonio.loads('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1))
    with pytest.raises(JSONInputError):
        jsonio.loads('[{"a":' * 17 + "1" + "}]" * 17)  # 34 levels mixed


def test_max_depth_value():
    assert MAX_DEPTH == 32


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"note": "[" * 500 + "{" * 500, "list": ["]]]", "[[["]})
    assert jsonio.loads(text) == {"note": "[" * 500 + "{" * 500, "list": ["]]]", "[[["]}


def test_escaped_quote_keeps_string_open():
    # the \" does not close the string, so the brackets after it are still text
    text = '["a\\"' + "[" * 200 + '"]'
    assert jsonio.loads(text) == ['a"' + "[" * 200]
    text = '["a\\\\", ' + "[" * 40 + "]" * 40 + "]"  # escaped backslash: the string does close
    with pytest.raises(JSONInputError):
        jsonio.loads(text)


def test_sequential_shallow_nesting_is_fine():
    text = "[" + ",".join(["[[1]]"] * 1000) + "]"
    assert len(jsonio.loads(text)) == 1000


def test_hostile_deep_nesting_refused_quickly():
    for body in ("[" * 100_000, "[" * 100_000 + "]" * 100_000, b"{" * 100_000, '{"a":' * 100_000):
        started = time.perf_counter()
        with pytest.raises(JSONInputError) as info:
            jsonio.loads(body)
        assert time.perf_counter() - started < 1.0
        assert not isinstance(info.value, RecursionError)
        assert info.value.__cause__ is None or not isinstance(info.value.__cause__, RecursionError)


# ---------------------------------------------------------------------------
# jsonio.dumps
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (Decimal("1E+2"), '"100"'),
        (Decimal("1.5E+3"), '"1500"'),
        (Decimal("1E-7"), '"0.0000001"'),
        (Decimal("12.30"), '"12.30"'),
        (Decimal("0.1"), '"0.1"'),
        (Decimal("-42.00"), '"-42.00"'),
        (Decimal("1000000.00"), '"1000000.00"'),
        (Decimal("0E-8"), '"0.00000000"'),
    ],
)
def test_dumps_decimal_as_plain_string(value, text):
    out = jsonio.dumps(value)
    assert out == text
    assert "E" not in out and "e" not in out


def test_dumps_datetime_date_uuid_tuple():
    when = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    out = jsonio.dumps(
        {
            "at": when,
            "local": datetime(2024, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
            "day": date(2024, 2, 29),
            "id": ident,
            "pair": (1, Decimal("2.50")),
            "one": {"x"},
            "n": 3,
            "none": None,
        }
    )
    assert out == (
        '{"at":"2024-05-06T07:08:09.123000+00:00","local":"2024-01-01T09:30:00-05:00",'
        '"day":"2024-02-29","id":"12345678-1234-5678-1234-567812345678",'
        '"pair":[1,"2.50"],"one":["x"],"n":3,"none":null}'
    )


def test_dumps_refuses_unknown_types():
    with pytest.raises(TypeError):
        jsonio.dumps({"x": object()})


def test_roundtrip_keeps_money_exact():
    payload = {"price": Decimal("10.10"), "qty": 3}
    text = jsonio.dumps(payload)
    assert text == '{"price":"10.10","qty":3}'
    assert jsonio.loads(text) == {"price": "10.10", "qty": 3}


def test_trusted_loads_decimal_without_depth_scan():
    assert jsonio.trusted_loads('{"p": 0.1}') == {"p": Decimal("0.1")}
    value = jsonio.trusted_loads("[" * 40 + "]" * 40)  # our own events are not depth-limited
    depth = 0
    while value:
        value = value[0]
        depth += 1
    assert (depth, value) == (39, [])


# ---------------------------------------------------------------------------
# money
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (5, "5"),
        (0, "0"),
        (-3, "-3"),
        ("12.34", "12.34"),
        (" 12.34 ", "12.34"),
        ("1e2", "1E+2"),
        ("0.10", "0.10"),
        (Decimal("1.5"), "1.5"),
        (Decimal("10.500"), "10.500"),
        ("1." + "0" * 38, "1." + "0" * 38),  # exactly 40 characters
    ],
)
def test_to_decimal_accepts(value, expected):
    result = money.to_decimal(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_to_decimal_keeps_decimal_identity():
    d = Decimal("7.25")
    assert money.to_decimal(d) is d


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        0.1,
        float("nan"),
        True,
        False,
        None,
        "abc",
        "",
        "   ",
        *NOT_FINITE,
        "1" * 41,
        "1" * 10_000,
        "1.2.3",
        "1,50",
        [1],
        {"v": 1},
        b"12",
    ],
)
def test_to_decimal_refuses(value):
    with pytest.raises(ValueError):
        money.to_decimal(value)


@pytest.mark.parametrize(
    "price, on_tick",
    [
        (Decimal("1.10"), True),
        (Decimal("1.1"), True),
        (Decimal("1.1000"), True),
        (Decimal("100"), True),
        (Decimal("1E+2"), True),
        (Decimal("0.01"), True),
        (Decimal("0"), True),
        (Decimal("1000000.00"), True),
        (Decimal("1.105"), False),
        (Decimal("0.001"), False),
        (Decimal("10.009"), False),
        (Decimal("999999.999"), False),
    ],
)
def test_is_on_tick(price, on_tick):
    assert money.is_on_tick(price) is on_tick


@pytest.mark.parametrize(
    "value, floor, ceil",
    [
        (Decimal("10.019"), "10.01", "10.02"),
        (Decimal("10.011"), "10.01", "10.02"),
        (Decimal("10.01"), "10.01", "10.01"),
        (Decimal("10"), "10.00", "10.00"),
        (Decimal("0.0001"), "0.00", "0.01"),
        (Decimal("99.999"), "99.99", "100.00"),
        (Decimal("105.00") * Decimal("1.1"), "115.50", "115.50"),
        (Decimal("33.3333333"), "33.33", "33.34"),
    ],
)
def test_price_floor_and_ceil(value, floor, ceil):
    assert str(money.price_floor(value)) == floor
    assert str(money.price_ceil(value)) == ceil


@pytest.mark.parametrize(
    "value, expected",
    [(Decimal("1.005"), "1.00"), (Decimal("1.015"), "1.02"), (Decimal("2.499"), "2.50"), (Decimal("-1.555"), "-1.56")],
)
def test_money_quantizes_half_even(value, expected):
    assert str(money.money(value)) == expected


@pytest.mark.parametrize(
    "value, text",
    [
        (Decimal("1E+2"), "100"),
        (Decimal("2.5E+6"), "2500000"),
        (Decimal("1.5E-5"), "0.000015"),
        (Decimal("12.30"), "12.30"),
        (Decimal("0E+3"), "0"),
        (Decimal("-0.10"), "-0.10"),
    ],
)
def test_fmt_never_exponent(value, text):
    out = money.fmt(value)
    assert out == text
    assert "E" not in out


def test_fmt_none():
    assert money.fmt(None) is None


def test_constants():
    assert Decimal("0.01") == money.TICK
    assert Decimal("1000000") == money.MAX_PRICE
    assert money.MAX_QTY == 1_000_000
