"""Bad input through the single origin: every refusal is a 4xx in the JSON error
shape (never a 5xx, HTML or a stack trace) and leaves nothing behind in any of
the five databases."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import requests

from service_runtime.auth import issue_token
from tests.harness import Api, RunningStack, Sandbox

pytestmark = pytest.mark.stack

# --------------------------------------------------------------------------- helpers

# The tables a request could leave something in, per service database.
TABLES: dict[str, tuple[str, ...]] = {
    "stock_ordering": ("orders", "order_history", "outbox"),
    "user_portfolio": ("reservations", "ledger", "outbox", "accounts"),
    "order_matching": ("book_orders", "executions"),
    "stock_data": ("stocks", "trades", "outbox", "candles"),
    "user_accounts": ("users", "outbox", "sessions"),
}
MARKET_TABLES = ("stock_ordering", "order_matching", "stock_data")


def snapshot(stack: RunningStack) -> dict[str, Any]:
    """Row counts of every table that matters, plus each service's view of the market."""
    state: dict[str, Any] = {}
    for service, tables in TABLES.items():
        with stack.db(service) as conn:
            for table in tables:
                state[f"{service}.{table}"] = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
            if service in MARKET_TABLES:
                state[f"{service}.market"] = conn.execute("SELECT status FROM market").fetchone()["status"]
    return state


_last_quiet: dict[str, dict[str, Any]] = {}


@contextmanager
def leaves_nothing(stack: RunningStack) -> Iterator[None]:
    """The block must leave every database exactly as it found it (after the system settles).

    The "before" side needs a quiet system. When the counts still equal the ones
    taken after the previous block had settled, nothing has been written since
    (every write that can cause events also writes an outbox row, which is
    counted), so the system is still quiet and the wait is skipped.
    """
    before = snapshot(stack)
    if _last_quiet.get(stack.settings.namespace) != before:
        stack.wait_quiet()
        before = snapshot(stack)
    yield
    stack.wait_quiet()
    after = snapshot(stack)
    _last_quiet[stack.settings.namespace] = after
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, f"a refused request left something behind (before, after): {changed}"


FORBIDDEN_TEXT = ("Traceback", "psycopg", "SELECT")


def assert_error(resp: requests.Response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """A refusal in the public error shape; `field` None means the error names no field."""
    url = resp.request.url if len(resp.request.url) < 200 else resp.request.url[:200] + "..."
    where = f"{resp.request.method} {url} -> {resp.status_code} {resp.text[:300]!r}"
    assert resp.status_code == status, where
    assert resp.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", where
    for text in FORBIDDEN_TEXT:
        assert text not in resp.text, where
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"error"}, where
    error = body["error"]
    assert set(error) <= {"code", "message", "field"}, where
    assert isinstance(error["code"], str) and error["code"], where
    assert isinstance(error["message"], str) and error["message"], where
    if code is not None:
        assert error["code"] == code, where
    assert error.get("field") == field, where
    if field is not None:
        assert isinstance(error["field"], str), where
    return error


def raw(api: Api, method: str, path: str, data: bytes | None = None, content_type: str | None = "application/json",
        headers: dict[str, str] | None = None) -> requests.Response:
    """A request with exactly these bytes as the body."""
    all_headers = dict(headers or {})
    if content_type is not None and data is not None:
        all_headers["Content-Type"] = content_type
    return api.session.request(method, api.base + path, data=data, headers=all_headers, timeout=60)


@dataclass
class World:
    """A listed stock and two traders shared by the module's read-only cases."""

    stack: RunningStack
    symbol: str
    alice: Api
    bob: Api
    instructor: Api


@pytest.fixture(scope="module")
def world(stack: RunningStack) -> World:
    sandbox = Sandbox(stack)
    symbol = sandbox.symbol("10.00")
    alice = sandbox.trader("10000.00", {symbol: 100})
    bob = sandbox.trader("10000.00", {symbol: 100})
    return World(stack, symbol, alice, bob, sandbox.instructor)


MISSING = object()


def order_body(symbol: str, /, **changes: Any) -> dict[str, Any]:
    """A valid limit buy, with fields replaced (or removed with MISSING)."""
    body: dict[str, Any] = {"symbol": symbol, "side": "buy", "type": "limit", "qty": 10, "limit_price": "9.50"}
    for key, value in changes.items():
        if value is MISSING:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def test_the_snapshot_helper_notices_a_write(world):
    """leaves_nothing is not vacuous: an accepted order inside it fails the check."""
    placed: dict[str, Any] = {}
    with pytest.raises(AssertionError, match="stock_ordering.orders"), leaves_nothing(world.stack):
        placed = world.alice.order(world.symbol, "buy", 1, "5.00")
    assert world.alice.delete(f"/api/orders/{placed['id']}").status_code == 202
    world.alice.wait_order(placed["id"], "canceled")


# --------------------------------------------------------------------------- POST /api/orders: field errors

FIELD_CASES = [
    # id, changes to a valid order, status, code, field
    ("qty-negative", {"qty": -5}, 422, "invalid", "qty"),
    ("qty-zero", {"qty": 0}, 422, "invalid", "qty"),
    ("qty-fractional", {"qty": 1.5}, 422, "invalid", "qty"),
    ("qty-huge", {"qty": 1_000_001}, 422, "invalid", "qty"),
    ("qty-string", {"qty": "10"}, 422, "invalid", "qty"),
    ("qty-boolean", {"qty": True}, 422, "invalid", "qty"),
    ("qty-null", {"qty": None}, 422, "invalid", "qty"),
    ("price-negative", {"limit_price": "-9.50"}, 422, "invalid", "limit_price"),
    ("price-negative-number", {"limit_price": -1}, 422, "invalid", "limit_price"),
    ("price-zero", {"limit_price": "0"}, 422, "invalid", "limit_price"),
    ("price-zero-number", {"limit_price": 0}, 422, "invalid", "limit_price"),
    ("price-off-tick", {"limit_price": "10.001"}, 422, "invalid", "limit_price"),
    ("price-off-tick-number", {"limit_price": 10.001}, 422, "invalid", "limit_price"),
    ("price-nan-string", {"limit_price": "NaN"}, 422, "invalid", "limit_price"),
    ("price-infinity-string", {"limit_price": "Infinity"}, 422, "invalid", "limit_price"),
    ("price-huge", {"limit_price": "1000000.01"}, 422, "invalid", "limit_price"),
    ("price-exponent-huge", {"limit_price": "1e400"}, 422, "invalid", "limit_price"),
    ("price-not-a-number", {"limit_price": "ten"}, 422, "invalid", "limit_price"),
    ("price-boolean", {"limit_price": True}, 422, "invalid", "limit_price"),
    ("price-object", {"limit_price": {"amount": "9.50"}}, 422, "invalid", "limit_price"),
    ("price-array", {"limit_price": ["9.50"]}, 422, "invalid", "limit_price"),
    ("symbol-unknown", {"symbol": "ZZZZ99"}, 422, "unknown_symbol", "symbol"),
    ("symbol-lowercase", {"symbol": "lower"}, 422, "invalid", "symbol"),
    ("symbol-too-long", {"symbol": "ABCDEFGHI"}, 422, "invalid", "symbol"),
    ("symbol-empty", {"symbol": ""}, 422, "invalid", "symbol"),
    ("symbol-number", {"symbol": 123}, 422, "invalid", "symbol"),
    ("side-unknown", {"side": "hold"}, 422, "invalid", "side"),
    ("side-uppercase", {"side": "BUY"}, 422, "invalid", "side"),
    ("type-unknown", {"type": "trailing_stop"}, 422, "invalid", "type"),
    ("tif-unknown", {"time_in_force": "gtd"}, 422, "invalid", "time_in_force"),
    ("missing-symbol", {"symbol": MISSING}, 422, "invalid", "symbol"),
    ("missing-side", {"side": MISSING}, 422, "invalid", "side"),
    ("missing-type", {"type": MISSING}, 422, "invalid", "type"),
    ("missing-qty", {"qty": MISSING}, 422, "invalid", "qty"),
    ("limit-without-price", {"limit_price": MISSING}, 422, "invalid", "limit_price"),
    ("market-with-price", {"type": "market"}, 422, "invalid", "limit_price"),
    ("unknown-extra-field", {"stop_price": "9.00"}, 422, "invalid", "stop_price"),
    ("client-order-id-49-chars", {"client_order_id": "c" * 49}, 422, "invalid", "client_order_id"),
    ("client-order-id-empty", {"client_order_id": ""}, 422, "invalid", "client_order_id"),
    ("client-order-id-number", {"client_order_id": 7}, 422, "invalid", "client_order_id"),
    ("client-order-id-control-char", {"client_order_id": "a\u0000b"}, 422, "invalid", "client_order_id"),
    ("user-id-string", {"user_id": "1"}, 422, "invalid", "user_id"),
]


@pytest.mark.parametrize(("changes", "status", "code", "field"), [c[1:] for c in FIELD_CASES],
                         ids=[c[0] for c in FIELD_CASES])
def test_invalid_order_field_is_refused_and_writes_nothing(world, changes, status, code, field):
    with leaves_nothing(world.stack):
        resp = world.alice.post("/api/orders", order_body(world.symbol, **changes))
        assert_error(resp, status, code, field)


# --------------------------------------------------------------------------- POST /api/orders: bodies

def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def body_case(symbol: str, case: str) -> tuple[bytes | None, str | None]:
    valid = json.dumps(order_body(symbol))
    return {
        "json-array": (json.dumps([order_body(symbol)]).encode(), "application/json"),
        "json-null": (b"null", "application/json"),
        "json-number": (b"42", "application/json"),
        "json-string": (b'"buy"', "application/json"),
        "malformed": (b"{bad", "application/json"),
        "truncated": (valid[:-5].encode(), "application/json"),
        "trailing-garbage": (valid.encode() + b" x", "application/json"),
        "bare-nan": (valid.replace('"9.50"', "NaN").encode(), "application/json"),
        "bare-infinity": (valid.replace('"9.50"', "Infinity").encode(), "application/json"),
        "nested-arrays-10000": (nested(10_000), "application/json"),
        "nested-objects-10000": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "application/json"),
        "nested-in-field": (valid.replace('"9.50"', nested(5_000).decode()).encode(), "application/json"),
        "not-utf8": (b'{"symbol": "\xff\xfe"}', "application/json"),
        "empty": (b"", "application/json"),
        "no-body-no-type": (None, None),
        "plain-text": (b"buy 10 shares please", "text/plain"),
        "form-encoded": (b"symbol=X&side=buy&qty=10", "application/x-www-form-urlencoded"),
        "oversized-3mb": (b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}', "application/json"),
        "oversized-1.5mb": (b'{"pad": "' + b"x" * (1536 * 1024) + b'"}', "application/json"),
    }[case]


BODY_CASES = [
    # id, status, code
    ("json-array", 422, "invalid"),
    ("json-null", 422, "invalid"),
    ("json-number", 422, "invalid"),
    ("json-string", 422, "invalid"),
    ("malformed", 400, "malformed_json"),
    ("truncated", 400, "malformed_json"),
    ("trailing-garbage", 400, "malformed_json"),
    ("bare-nan", 400, "malformed_json"),
    ("bare-infinity", 400, "malformed_json"),
    ("nested-arrays-10000", 400, "malformed_json"),
    ("nested-objects-10000", 400, "malformed_json"),
    ("nested-in-field", 400, "malformed_json"),
    ("not-utf8", 400, "malformed_json"),
    ("empty", 400, "bad_request"),
    ("no-body-no-type", 400, "bad_request"),
    ("plain-text", 400, "malformed_json"),
    ("form-encoded", 400, "malformed_json"),
    ("oversized-3mb", 413, "payload_too_large"),
    ("oversized-1.5mb", 413, "payload_too_large"),
]


@pytest.mark.parametrize(("case", "status", "code"), BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_unacceptable_order_body_is_refused_and_writes_nothing(world, case, status, code):
    data, content_type = body_case(world.symbol, case)
    with leaves_nothing(world.stack):
        resp = raw(world.alice, "POST", "/api/orders", data, content_type)
        assert_error(resp, status, code)


# --------------------------------------------------------------------------- POST /api/orders/batch

def test_batch_of_more_than_1000_orders_is_refused_whole(world):
    orders = [order_body(world.symbol, limit_price="5.00", qty=1) for _ in range(1001)]
    with leaves_nothing(world.stack):
        resp = world.alice.post("/api/orders/batch", {"orders": orders})
        assert_error(resp, 413, "payload_too_large", "orders")


BATCH_SHAPE_CASES = [
    ("orders-object", {"orders": {"0": {}}}),
    ("orders-string", {"orders": "all of them"}),
    ("orders-null", {"orders": None}),
    ("orders-missing", {}),
]


@pytest.mark.parametrize("body", [c[1] for c in BATCH_SHAPE_CASES], ids=[c[0] for c in BATCH_SHAPE_CASES])
def test_batch_whose_orders_is_not_a_list_is_refused(world, body):
    with leaves_nothing(world.stack):
        assert_error(world.alice.post("/api/orders/batch", body), 422, "invalid", "orders")


@pytest.mark.parametrize(("case", "status", "code"), [
    ("json-array", 422, "invalid"),
    ("malformed", 400, "malformed_json"),
    ("nested-arrays-10000", 400, "malformed_json"),
    ("empty", 400, "bad_request"),
    ("oversized-3mb", 413, "payload_too_large"),
], ids=["json-array", "malformed", "nested-arrays-10000", "empty", "oversized-3mb"])
def test_unacceptable_batch_body_is_refused(world, case, status, code):
    data, content_type = body_case(world.symbol, case)
    with leaves_nothing(world.stack):
        assert_error(raw(world.alice, "POST", "/api/orders/batch", data, content_type), status, code)


def test_batch_of_only_invalid_orders_answers_each_item_and_writes_nothing(world):
    sym = world.symbol
    items = [
        order_body(sym, qty=0),
        order_body(sym, symbol="ZZZZ99"),
        order_body(sym, side="hold"),
        order_body(sym, limit_price="10.001"),
        order_body(sym, extra=1),
        order_body(sym, user_id=world.bob.user_id),
        "not an order",
        None,
        [order_body(sym)],
    ]
    expected = [
        (422, "invalid", "qty"),
        (422, "unknown_symbol", "symbol"),
        (422, "invalid", "side"),
        (422, "invalid", "limit_price"),
        (422, "invalid", "extra"),
        (403, "forbidden", "user_id"),
        (422, "invalid", None),
        (422, "invalid", None),
        (422, "invalid", None),
    ]
    listed = f"/api/orders?symbol={sym}&status=all"
    orders_before = world.alice.get(listed).json()
    with leaves_nothing(world.stack):
        resp = world.alice.post("/api/orders/batch", {"orders": items})
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].split(";")[0] == "application/json"
        results = resp.json()["results"]
        assert len(results) == len(items)
        got = []
        for result in results:
            assert set(result) == {"error"}, result
            error = result["error"]
            assert isinstance(error["message"], str) and error["message"]
            got.append((error.get("status"), error["code"], error.get("field")))
        assert got == expected
    assert world.alice.get(listed).json() == orders_before


# --------------------------------------------------------------------------- authentication

AUTH_ENDPOINTS = [
    # id, method, path ({uid}: alice's id), invalid body
    ("post-orders", "POST", "/api/orders", b'{"qty": -1, "bogus": '),
    ("post-orders-batch", "POST", "/api/orders/batch", b'{"orders": 5}'),
    ("get-orders", "GET", "/api/orders?status=bogus", None),
    ("get-portfolio", "GET", "/api/portfolios/{uid}", None),
    ("delete-order", "DELETE", "/api/orders/1", None),
    ("post-stocks", "POST", "/api/stocks", b'{"symbol": "lower", "reference_price": "NaN"}'),
    ("post-users", "POST", "/api/users", b"[[["),
    ("post-market-halt", "POST", "/api/market/halt", b"{bad"),
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def credentials(world: World, kind: str) -> dict[str, str]:
    """The Authorization header for each kind of bad credentials."""
    token = world.alice.session.headers["Authorization"].split(" ", 1)[1]
    header, payload, signature = token.split(".")
    instructor_claims = {"sub": str(world.alice.user_id), "role": "instructor", "name": "Mallory", "epoch": 1,
                         "jti": uuid.uuid4().hex, "iat": int(time.time()), "exp": int(time.time()) + 3600}
    if kind == "none":
        return {}
    if kind == "tampered-signature":
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        return {"Authorization": f"Bearer {header}.{payload}.{flipped}"}
    if kind == "tampered-payload":
        claims = json.loads(_unb64(payload))
        claims["role"] = "instructor"
        return {"Authorization": f"Bearer {header}.{_b64(json.dumps(claims).encode())}.{signature}"}
    if kind == "wrong-secret":
        return {"Authorization": "Bearer " + jwt.encode(instructor_claims, "not-the-exchange-secret-0123456789abc",
                                                          algorithm="HS256")}
    if kind == "alg-none":
        return {"Authorization": "Bearer " + jwt.encode(instructor_claims, None, algorithm="none")}
    if kind == "expired":
        expired, _ = issue_token(world.stack.settings.secret_key, world.alice.user_id, "instructor", "x", 1, -120)
        return {"Authorization": f"Bearer {expired}"}
    if kind == "garbage":
        return {"Authorization": "Bearer not-a-token"}
    if kind == "basic":
        return {"Authorization": "Basic xxx"}
    if kind == "token-without-scheme":
        return {"Authorization": token}
    raise AssertionError(kind)


CREDENTIALS = ["none", "tampered-signature", "tampered-payload", "wrong-secret", "alg-none", "expired", "garbage",
               "basic", "token-without-scheme"]


@pytest.mark.parametrize("kind", CREDENTIALS)
@pytest.mark.parametrize(("method", "path", "body"), [e[1:] for e in AUTH_ENDPOINTS],
                         ids=[e[0] for e in AUTH_ENDPOINTS])
def test_missing_or_forged_credentials_get_401_before_any_validation(world, method, path, body, kind):
    anonymous = world.stack.anonymous()
    url_path = path.format(uid=world.alice.user_id)
    resp = None
    try:
        with leaves_nothing(world.stack):
            resp = raw(anonymous, method, url_path, body, "application/json", credentials(world, kind))
            assert_error(resp, 401, "unauthorized")
    finally:
        if url_path == "/api/market/halt" and resp is not None and resp.status_code == 200:  # a forged token got through: undo it
            world.stack.instructor().post("/api/market/open")


# --------------------------------------------------------------------------- authorization

def test_trader_cannot_cancel_another_traders_order(world):
    alice, bob = world.alice, world.bob
    order = alice.order(world.symbol, "buy", 2, "9.00")
    alice.wait_order(order["id"], "new")
    try:
        with leaves_nothing(world.stack):
            assert_error(bob.delete(f"/api/orders/{order['id']}"), 403, "forbidden")
            assert_error(bob.get(f"/api/orders/{order['id']}"), 403, "forbidden")
        still = alice.get(f"/api/orders/{order['id']}").json()
        assert (still["status"], still["filled_qty"]) == ("new", 0)
        assert "cancel requested" not in [h["detail"] for h in still["history"]]
    finally:
        assert alice.delete(f"/api/orders/{order['id']}").status_code == 202
        alice.wait_order(order["id"], "canceled")


def test_trader_cannot_read_another_traders_portfolio(world):
    with leaves_nothing(world.stack):
        assert_error(world.alice.get(f"/api/portfolios/{world.bob.user_id}"), 403, "forbidden")
        assert_error(world.alice.get("/api/portfolios/not-a-number"), 403, "forbidden")
    assert world.alice.get(f"/api/portfolios/{world.alice.user_id}").status_code == 200


def test_trader_cannot_list_a_stock(world):
    symbol = "X" + uuid.uuid4().hex[:6].upper()
    with leaves_nothing(world.stack):
        resp = world.alice.post("/api/stocks", {"symbol": symbol, "name": "Sneaky", "reference_price": "10.00"})
        assert_error(resp, 403, "forbidden")
    assert_error(world.alice.get(f"/api/stocks/{symbol}"), 404, "not_found")


def test_trader_cannot_create_a_user(world):
    name = f"sneaky-{uuid.uuid4().hex[:8]}"
    with leaves_nothing(world.stack):
        resp = world.alice.post("/api/users", {"name": name, "role": "instructor", "starting_cash": "1000000.00"})
        assert_error(resp, 403, "forbidden")
    assert name not in [u["name"] for u in world.stack.anonymous().get("/api/users").json()]


@pytest.mark.parametrize("action", ["halt", "close", "open"])
def test_trader_cannot_change_the_market(world, action):
    with leaves_nothing(world.stack):
        assert_error(world.alice.post(f"/api/market/{action}"), 403, "forbidden")
    assert world.stack.anonymous().get("/api/market").json()["status"] == "open"


def test_trader_cannot_place_an_order_for_another_user(world):
    with leaves_nothing(world.stack):
        resp = world.alice.post("/api/orders", order_body(world.symbol, user_id=world.bob.user_id))
        assert_error(resp, 403, "forbidden", "user_id")
    assert world.bob.get(f"/api/orders?symbol={world.symbol}&status=all").json() == []


def test_cancelling_a_filled_order_is_a_conflict(stack, sandbox):
    sym = sandbox.symbol("25.00")
    seller = sandbox.trader("0.00", {sym: 5})
    buyer = sandbox.trader("1000.00")
    sell = seller.order(sym, "sell", 5, "25.00")
    seller.wait_order(sell["id"], "new")
    buy = buyer.order(sym, "buy", 5, "25.00")
    assert buyer.wait_order(buy["id"], "filled")["filled_qty"] == 5
    seller.wait_order(sell["id"], "filled")
    with leaves_nothing(stack):
        assert_error(buyer.delete(f"/api/orders/{buy['id']}"), 409, "order_final")
        assert_error(seller.delete(f"/api/orders/{sell['id']}"), 409, "order_final")
        # ownership is checked before finality: the other side's filled order is still not yours
        assert_error(buyer.delete(f"/api/orders/{sell['id']}"), 403, "forbidden")
    assert buyer.get(f"/api/orders/{buy['id']}").json()["status"] == "filled"
    assert seller.get(f"/api/orders/{sell['id']}").json()["status"] == "filled"


@pytest.mark.parametrize("order_id", ["999999999999", "9223372036854775807", "99999999999999999999999"],
                         ids=["large", "bigint-max", "beyond-bigint"])
@pytest.mark.parametrize("method", ["DELETE", "GET"])
def test_unknown_order_is_not_found(world, method, order_id):
    with leaves_nothing(world.stack):
        assert_error(raw(world.alice, method, f"/api/orders/{order_id}"), 404, "not_found")


# --------------------------------------------------------------------------- GET parameters and paths

GET_CASES = [
    # id, method, path ({sym}: the module's stock), status, code, field
    ("orders-status-bogus", "GET", "/api/orders?status=bogus", 422, "invalid", "status"),
    ("orders-symbol-lowercase", "GET", "/api/orders?symbol=abc", 422, "invalid", "symbol"),
    ("orders-limit-text", "GET", "/api/orders?limit=lots", 422, "invalid", "limit"),
    ("cancel-all-symbol-lowercase", "DELETE", "/api/orders?symbol=abc", 422, "invalid", "symbol"),
    ("stock-unknown", "GET", "/api/stocks/NOPE", 404, "not_found", None),
    ("stock-lowercase", "GET", "/api/stocks/nope", 404, "not_found", None),
    ("candles-unknown-symbol", "GET", "/api/stocks/NOPE/candles", 404, "not_found", None),
    ("candles-bad-interval", "GET", "/api/stocks/{sym}/candles?interval=7m", 422, "invalid", "interval"),
    ("candles-limit-text", "GET", "/api/stocks/{sym}/candles?limit=x", 422, "invalid", "limit"),
    ("trades-unknown-symbol", "GET", "/api/stocks/NOPE/trades", 404, "not_found", None),
    ("trades-limit-text", "GET", "/api/stocks/{sym}/trades?limit=ten", 422, "invalid", "limit"),
    ("books-levels-text", "GET", "/api/books/{sym}?levels=abc", 422, "invalid", "levels"),
    ("books-unknown-symbol", "GET", "/api/books/NOPE", 404, "not_found", None),
    ("books-lowercase-symbol", "GET", "/api/books/nope", 404, "not_found", None),
    ("books-nul-in-symbol", "GET", "/api/books/A%00B", 404, "not_found", None),
    ("stock-nul-in-symbol", "GET", "/api/stocks/A%00B", 404, "not_found", None),
    ("market-unknown-action", "POST", "/api/market/explode", 403, "forbidden", None),
    ("unknown-api-path", "GET", "/api/nothing", 404, "not_found", None),
    ("unknown-api-prefix-lookalike", "GET", "/api/ordersx", 404, "not_found", None),
    ("unknown-api-subpath", "GET", "/api/orders/1/fills", 404, "not_found", None),
    ("order-id-not-a-number", "GET", "/api/orders/abc", 404, "not_found", None),
    ("method-not-allowed", "PUT", "/api/orders", 405, "method_not_allowed", None),
]


@pytest.mark.parametrize(("method", "path", "status", "code", "field"), [c[1:] for c in GET_CASES],
                         ids=[c[0] for c in GET_CASES])
def test_bad_parameters_and_paths_are_refused(world, method, path, status, code, field):
    with leaves_nothing(world.stack):
        resp = raw(world.alice, method, path.format(sym=world.symbol))
        assert_error(resp, status, code, field)


def test_unknown_api_path_is_json_404_for_anonymous_callers_too(world):
    with leaves_nothing(world.stack):
        assert_error(raw(world.stack.anonymous(), "GET", "/api/nothing"), 404, "not_found")
        assert_error(raw(world.stack.anonymous(), "POST", "/api/nothing", b"{bad"), 404, "not_found")


CLAMP_CASES = [
    ("trades-limit-0", "/api/stocks/{sym}/trades?limit=0"),
    ("trades-limit-huge", "/api/stocks/{sym}/trades?limit=99999999"),
    ("trades-limit-negative", "/api/stocks/{sym}/trades?limit=-5"),
    ("trades-limit-beyond-int64", "/api/stocks/{sym}/trades?limit=99999999999999999999999"),
    ("candles-limit-0", "/api/stocks/{sym}/candles?limit=0"),
    ("candles-limit-huge", "/api/stocks/{sym}/candles?limit=99999999"),
    ("orders-limit-0", "/api/orders?limit=0"),
    ("orders-limit-huge", "/api/orders?limit=99999999"),
    ("leaderboard-limit-huge", "/api/leaderboard?limit=99999999"),
]


@pytest.mark.parametrize("path", [c[1] for c in CLAMP_CASES], ids=[c[0] for c in CLAMP_CASES])
def test_list_limits_are_clamped_not_refused(world, path):
    with leaves_nothing(world.stack):
        resp = world.alice.get(path.format(sym=world.symbol))
        assert resp.status_code == 200, resp.text
        assert isinstance(resp.json(), list)


@pytest.mark.parametrize("levels", ["0", "-3", "99999999"])
def test_book_levels_are_clamped_not_refused(world, levels):
    with leaves_nothing(world.stack):
        resp = world.alice.get(f"/api/books/{world.symbol}?levels={levels}")
        assert resp.status_code == 200, resp.text
        assert resp.json()["symbol"] == world.symbol


@pytest.mark.parametrize("path", ["/api/books/" + "A" * 5000, "/api/orders?symbol=" + "A" * 20000],
                         ids=["path-5000-chars", "query-20000-chars"])
def test_overlong_url_is_refused_as_json(world, path):
    with leaves_nothing(world.stack):
        assert_error(world.alice.get(path), 414)


# --------------------------------------------------------------------------- instructor and login input

STOCK_CASES = [
    # id, body ({new}: an unlisted symbol, {sym}: the module's stock), status, code, field
    ("symbol-lowercase", {"symbol": "lower", "name": "X", "reference_price": "10.00"}, 422, "invalid", "symbol"),
    ("symbol-missing", {"name": "X", "reference_price": "10.00"}, 422, "invalid", "symbol"),
    ("name-missing", {"symbol": "{new}", "reference_price": "10.00"}, 422, "invalid", "name"),
    ("name-blank", {"symbol": "{new}", "name": "   ", "reference_price": "10.00"}, 422, "invalid", "name"),
    ("name-too-long", {"symbol": "{new}", "name": "n" * 200, "reference_price": "10.00"}, 422, "invalid", "name"),
    ("name-control-char", {"symbol": "{new}", "name": "a\u0007b", "reference_price": "10.00"}, 422, "invalid",
     "name"),
    # A lone surrogate escape is not valid Unicode: refused as malformed JSON before any field check.
    ("name-lone-surrogate", {"symbol": "{new}", "name": "x\ud800", "reference_price": "10.00"}, 400,
     "malformed_json", None),
    ("price-missing", {"symbol": "{new}", "name": "X"}, 422, "invalid", "reference_price"),
    ("price-nan", {"symbol": "{new}", "name": "X", "reference_price": "NaN"}, 422, "invalid", "reference_price"),
    ("price-zero", {"symbol": "{new}", "name": "X", "reference_price": "0"}, 422, "invalid", "reference_price"),
    ("price-off-tick", {"symbol": "{new}", "name": "X", "reference_price": "10.001"}, 422, "invalid",
     "reference_price"),
    ("price-huge", {"symbol": "{new}", "name": "X", "reference_price": "1e30"}, 422, "invalid", "reference_price"),
    ("price-boolean", {"symbol": "{new}", "name": "X", "reference_price": True}, 422, "invalid", "reference_price"),
    ("unknown-field", {"symbol": "{new}", "name": "X", "reference_price": "10.00", "sector": "tech"}, 422,
     "invalid", "sector"),
    ("already-listed", {"symbol": "{sym}", "name": "X", "reference_price": "10.00"}, 409, "conflict", "symbol"),
    ("body-array", [{"symbol": "{new}", "name": "X", "reference_price": "10.00"}], 422, "invalid", None),
]


def fill(value: Any, **names: str) -> Any:
    """Replace {placeholders} in the string values of a JSON body."""
    if isinstance(value, dict):
        return {k: fill(v, **names) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, **names) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in names:
        return names[value[1:-1]]
    return value


@pytest.mark.parametrize(("body", "status", "code", "field"), [c[1:] for c in STOCK_CASES],
                         ids=[c[0] for c in STOCK_CASES])
def test_invalid_stock_listing_is_refused(world, body, status, code, field):
    new = "Y" + uuid.uuid4().hex[:6].upper()
    with leaves_nothing(world.stack):
        resp = world.instructor.post("/api/stocks", fill(body, new=new, sym=world.symbol))
        assert_error(resp, status, code, field)
    assert world.stack.anonymous().get(f"/api/stocks/{new}").status_code == 404


USER_CASES = [
    # id, body ({new}: an unused name, {taken}: alice's name, {sym}: the module's stock), status, code, field
    ("name-missing", {"starting_cash": "10.00"}, 422, "invalid", "name"),
    ("name-blank", {"name": "  "}, 422, "invalid", "name"),
    ("name-number", {"name": 42}, 422, "invalid", "name"),
    ("name-too-long", {"name": "n" * 65}, 422, "invalid", "name"),
    ("name-control-char", {"name": "a\u0001b"}, 422, "invalid", "name"),
    ("name-lone-surrogate", {"name": "x\udfff"}, 400, "malformed_json", None),
    ("name-taken", {"name": "{taken}"}, 409, "conflict", "name"),
    ("role-unknown", {"name": "{new}", "role": "admin"}, 422, "invalid", "role"),
    ("role-instructor", {"name": "{new}", "role": "instructor"}, 422, "invalid", "role"),
    ("cash-negative", {"name": "{new}", "starting_cash": "-1.00"}, 422, "invalid", "starting_cash"),
    ("cash-off-tick", {"name": "{new}", "starting_cash": "1.001"}, 422, "invalid", "starting_cash"),
    ("cash-huge", {"name": "{new}", "starting_cash": "1e13"}, 422, "invalid", "starting_cash"),
    ("cash-nan", {"name": "{new}", "starting_cash": "NaN"}, 422, "invalid", "starting_cash"),
    ("cash-boolean", {"name": "{new}", "starting_cash": False}, 422, "invalid", "starting_cash"),
    ("holdings-list", {"name": "{new}", "holdings": ["{sym}"]}, 422, "invalid", "holdings"),
    ("holdings-lowercase-symbol", {"name": "{new}", "holdings": {"abc": 1}}, 422, "invalid", "holdings"),
    ("holdings-zero", {"name": "{new}", "holdings": {"{sym}": 0}}, 422, "invalid", "holdings"),
    ("holdings-fractional", {"name": "{new}", "holdings": {"{sym}": 1.5}}, 422, "invalid", "holdings"),
    ("holdings-string", {"name": "{new}", "holdings": {"{sym}": "5"}}, 422, "invalid", "holdings"),
    ("unknown-field", {"name": "{new}", "email": "x@example.com"}, 422, "invalid", "email"),
]


def fill_keys(value: Any, **names: str) -> Any:
    value = fill(value, **names)
    if isinstance(value, dict):
        return {fill(k, **names): fill_keys(v, **names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("body", "status", "code", "field"), [c[1:] for c in USER_CASES],
                         ids=[c[0] for c in USER_CASES])
def test_invalid_user_creation_is_refused(world, body, status, code, field):
    new = f"new-{uuid.uuid4().hex[:8]}"
    taken = world.alice.user["name"]
    with leaves_nothing(world.stack):
        resp = world.instructor.post("/api/users", fill_keys(body, new=new, taken=taken, sym=world.symbol))
        assert_error(resp, status, code, field)
    assert new not in [u["name"] for u in world.stack.anonymous().get("/api/users").json()]


SESSION_CASES = [
    # id, body ({instructor}: the instructor's id), status, code, field
    ("user-id-missing", {}, 422, "invalid", "user_id"),
    ("user-id-string", {"user_id": "1"}, 422, "invalid", "user_id"),
    ("user-id-boolean", {"user_id": True}, 422, "invalid", "user_id"),
    ("user-id-fractional", {"user_id": 1.5}, 422, "invalid", "user_id"),
    ("user-id-unknown", {"user_id": 987654321}, 404, "not_found", "user_id"),
    ("user-id-beyond-bigint", {"user_id": 10**20}, 422, "invalid", "user_id"),
    ("instructor-without-password", {"user_id": "{instructor}"}, 401, "unauthorized", "password"),
    ("instructor-wrong-password", {"user_id": "{instructor}", "password": "guess"}, 401, "unauthorized", "password"),
    ("instructor-password-number", {"user_id": "{instructor}", "password": 1234}, 422, "invalid", "password"),
    ("instructor-password-lone-surrogate", {"user_id": "{instructor}", "password": "x\ud800"}, 400,
     "malformed_json", None),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), [c[1:] for c in SESSION_CASES],
                         ids=[c[0] for c in SESSION_CASES])
def test_invalid_login_is_refused(world, body, status, code, field):
    if body.get("user_id") == "{instructor}":
        body = {**body, "user_id": world.instructor.user_id}
    with leaves_nothing(world.stack):
        assert_error(world.stack.anonymous().post("/api/sessions", body), status, code, field)


def test_instructor_order_for_an_out_of_range_user_id_is_refused(world):
    with leaves_nothing(world.stack):
        resp = world.instructor.post("/api/orders", order_body(world.symbol, user_id=2**40))
        assert_error(resp, 422, "invalid", "user_id")


def test_instructor_order_for_a_user_nobody_knows_is_refused(world):
    with leaves_nothing(world.stack):
        resp = world.instructor.post("/api/orders", order_body(world.symbol, user_id=987654))
        assert_error(resp, 422, "unknown_user", "user_id")


def test_instructor_order_for_a_known_user_is_placed_for_them(world):
    resp = world.instructor.post("/api/orders", order_body(world.symbol, user_id=world.alice.user_id,
                                                           limit_price="1.00", qty=1))
    assert resp.status_code == 201 and resp.json()["user_id"] == world.alice.user_id
    world.alice.wait_order(resp.json()["id"], "new")
    assert world.alice.delete(f"/api/orders/{resp.json()['id']}").status_code == 202
    world.alice.wait_order(resp.json()["id"], "canceled")


def test_a_chunked_request_body_reaches_the_service(world):
    body = json.dumps(order_body(world.symbol, limit_price="1.00", qty=1)).encode()
    resp = world.alice.session.post(world.alice.base + "/api/orders", data=iter([body[:10], body[10:]]),
                                    headers={"Content-Type": "application/json"}, timeout=30)
    assert resp.status_code == 201, resp.text
    assert world.alice.delete(f"/api/orders/{resp.json()['id']}").status_code == 202
    world.alice.wait_order(resp.json()["id"], "canceled")
