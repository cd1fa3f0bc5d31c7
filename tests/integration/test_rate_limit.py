"""Per-token rate limiting of order entry, on a stack started with a low limit
(0.5 requests/s, burst 5), and the default limit refusing nothing in normal use."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from papertrade_client import Client
from tests.harness import Sandbox, running_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def limited():
    env = {"PAPERTRADE_RATE_LIMIT": "0.5", "PAPERTRADE_RATE_LIMIT_BURST": "5", "PAPERTRADE_RATE_LIMIT_BOTS": "0"}
    with running_stack("ratelimit", env) as running:
        yield running


def order_count(stack, user_id: int) -> int:  # noqa: ANN001
    with stack.db("stock_ordering") as conn:
        return conn.execute("SELECT count(*) AS n FROM orders WHERE user_id = %s", (user_id,)).fetchone()["n"]


def body(sym: str, price: str = "9.00") -> dict:
    return {"symbol": sym, "side": "buy", "type": "limit", "qty": 1, "limit_price": price}


def test_past_the_burst_order_entry_answers_429_with_retry_after_and_writes_nothing(limited):
    box = Sandbox(limited)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00")
    codes = [trader.post("/api/orders", body(sym)).status_code for _ in range(5)]
    assert codes == [201] * 5
    refused = trader.post("/api/orders", body(sym))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"  # one token per 2 s
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and "per second" in error["message"]
    assert order_count(limited, trader.user_id) == 5
    # reads are not limited, and another token of the same user has its own bucket
    assert all(trader.get("/api/orders").status_code == 200 for _ in range(10))
    other = limited.login(trader.user_id)
    assert other.post("/api/orders", body(sym)).status_code == 201
    # anonymous callers are refused for who they are first
    assert limited.anonymous().post("/api/orders", body(sym)).status_code == 401

    time.sleep(2.1)
    assert trader.post("/api/orders", body(sym)).status_code == 201
    assert trader.post("/api/orders", body(sym)).status_code == 429
    assert order_count(limited, trader.user_id) == 7


def test_a_batch_counts_once_and_cancels_count(limited):
    box = Sandbox(limited)
    sym = box.symbol("10.00")
    trader = box.trader("100000.00")
    for _ in range(4):
        resp = trader.post("/api/orders/batch", {"orders": [body(sym) for _ in range(50)]})
        assert resp.status_code == 200 and len(resp.json()["results"]) == 50
    assert order_count(limited, trader.user_id) == 200
    first = trader.get(f"/api/orders?symbol={sym}&limit=1").json()[0]
    assert trader.delete(f"/api/orders/{first['id']}").status_code == 202  # the fifth request
    assert trader.delete("/api/orders").status_code == 429
    refused = trader.post("/api/orders/batch", {"orders": [body(sym)]})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert order_count(limited, trader.user_id) == 200


def test_concurrent_requests_on_one_token_share_one_bucket(limited):
    box = Sandbox(limited)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00")
    token = trader.session.headers["Authorization"]

    def place(_: int) -> int:
        import requests

        return requests.post(limited.url + "/api/orders", json=body(sym), headers={"Authorization": token},
                             timeout=30).status_code

    with ThreadPoolExecutor(12) as pool:
        codes = sorted(pool.map(place, range(12)))
    assert codes == [201] * 5 + [429] * 7
    assert order_count(limited, trader.user_id) == 5


def test_bots_are_not_limited_unless_configured(limited):
    box = Sandbox(limited)
    sym = box.symbol("10.00")
    bot = box.trader("100000.00", role="bot")
    assert [bot.post("/api/orders", body(sym)).status_code for _ in range(12)] == [201] * 12


def test_the_client_waits_out_a_429_and_places_everything(limited):
    box = Sandbox(limited)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00")
    c = Client(limited.url, retries=3)
    c.login(trader.user_id)
    orders = [c.place_order(sym, "buy", 1, "9.00") for _ in range(6)]
    assert [o.created for o in orders] == [True] * 6 and c.retried == 1
    assert order_count(limited, trader.user_id) == 6


def test_the_default_limit_refuses_nothing_at_a_normal_pace(stack, sandbox):
    """The shared stack runs with the default (200/s per token, burst 400): 300 orders
    from one token, as fast as eight threads can send them, all go through."""
    sym = sandbox.symbol("10.00")
    trader = sandbox.trader("100000.00")
    token = trader.session.headers["Authorization"]

    def place(_: int) -> int:
        import requests

        return requests.post(stack.url + "/api/orders", json=body(sym), headers={"Authorization": token},
                             timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(place, range(300)))
    assert codes.count(201) == 300
