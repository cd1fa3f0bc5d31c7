"""Tokens revoked by a reset (the instructor's choice): on a whole stack, the old
trader and bot tokens get 401 from every service and the gateway, connected sockets
are signed out, a new login works, instructors keep theirs, a reset without the
flag revokes nothing. The house bots' side is in test_house_bots, the browser's in
tests/e2e/test_browser.py.

The stack is this module's own: resets wipe it."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import socketio

from tests.harness import INSTRUCTOR_PASSWORD, Api, RunningStack, Sandbox, running_stack
from tests.integration.test_gateway import token_of

pytestmark = pytest.mark.stack

REVOKED = {"error": {"code": "unauthorized", "message": "token revoked by a reset; log in again"}}


@pytest.fixture(scope="module")
def exchange():
    with running_stack("revoke") as running:
        yield running


def reset(stack: RunningStack, body: dict | None) -> dict:
    resp = stack.instructor().post("/api/simulation/reset", body)
    assert resp.status_code == 202, resp.text
    return resp.json()


def wait_market_epoch(stack: RunningStack, epoch: int) -> None:
    deadline = time.monotonic() + 20
    while stack.anonymous().get("/api/market").json()["epoch"] != epoch:
        assert time.monotonic() < deadline, "stock_data never applied the reset"
        time.sleep(0.05)


def calls(api: Api) -> dict[str, requests.Response]:
    """One call that needs a token to each service that has such calls."""
    return {
        "user_accounts": api.get("/api/settings"),
        "user_portfolio": api.get(f"/api/portfolios/{api.user_id}"),
        "stock_ordering": api.get("/api/orders"),
        # instructors only: a valid trader token gets 403, a revoked one 401
        "stock_data": api.post("/api/stocks", {"symbol": "NOPE9", "name": "x", "reference_price": "1.00"}),
    }


def socket_connect(stack: RunningStack, token: str) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(stack.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return client


def refused_because(stack: RunningStack, token: str) -> str:
    """Connect with `token`, which must be refused: the gateway's reason."""
    client = socketio.Client(reconnection=False)
    reasons: list = []
    client.on("connect_error", reasons.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(stack.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return str(reasons)


def test_a_reset_without_the_flag_keeps_every_token(exchange):
    trader = Sandbox(exchange).trader("1000.00")
    done = reset(exchange, {})
    assert done["tokens_valid_from_epoch"] == 1
    wait_market_epoch(exchange, done["epoch"])
    assert {s: r.status_code for s, r in calls(trader).items()} == {
        "user_accounts": 200, "user_portfolio": 200, "stock_ordering": 200, "stock_data": 403}
    socket_connect(exchange, token_of(trader)).disconnect()


def test_a_revoking_reset_signs_traders_and_bots_out_everywhere_and_keeps_the_instructor(exchange):
    box = Sandbox(exchange)
    symbol = box.symbol("10.00")
    trader, bot = box.trader("1000.00"), box.trader("1000.00", role="bot")
    instructor = exchange.instructor()
    placed = trader.order(symbol, "buy", 1, "9.00")
    trader.wait_order(placed["id"], "new")
    # a socket connected before the reset: the gateway tells it and disconnects it
    watcher = socket_connect(exchange, token_of(trader))
    told: list[dict] = []
    gone = threading.Event()
    watcher.on("revoked", told.append)
    watcher.on("disconnect", lambda *_: gone.set())

    started = time.monotonic()
    done = reset(exchange, {"revoke_tokens": True})
    assert done["tokens_valid_from_epoch"] == done["epoch"]
    for api in (trader, bot):
        pending = {"user_accounts", "user_portfolio", "stock_ordering", "stock_data"}
        while pending:
            for service, resp in calls(api).items():
                if service in pending and resp.status_code == 401:
                    assert resp.json() == REVOKED, (service, resp.text)
                    pending.discard(service)
            assert time.monotonic() - started < 10, f"still accepted by {pending}"
            time.sleep(0.05)
    took = time.monotonic() - started
    assert gone.wait(10) and told == [{"message": REVOKED["error"]["message"]}]
    # a new socket with the old token is refused, saying why
    assert "token revoked by a reset; log in again" in refused_because(exchange, token_of(trader))
    # the instructor who reset keeps the dashboard, with the token from before the reset
    assert instructor.get("/api/portfolios").status_code == 200
    socket_connect(exchange, token_of(instructor)).disconnect()

    # a new login works everywhere, the socket included
    again = exchange.login(trader.user_id)
    wait_market_epoch(exchange, done["epoch"])
    assert {s: r.status_code for s, r in calls(again).items()} == {
        "user_accounts": 200, "user_portfolio": 200, "stock_ordering": 200, "stock_data": 403}
    order = again.order(symbol, "buy", 1, "9.00")
    assert again.wait_order(order["id"], "new")["status"] == "new"
    socket_connect(exchange, token_of(again)).disconnect()
    print(f"every service refused the old tokens {took:.2f} s after the reset")


def test_a_gateway_started_after_a_revoking_reset_refuses_the_old_tokens(exchange):
    """Its event queue is exclusive: it reads the floor from user_accounts when its feed connects."""
    trader = Sandbox(exchange).trader("1000.00")
    old = token_of(trader)
    exchange.kill("gateway")
    done = reset_direct(exchange, {"revoke_tokens": True})
    exchange.restart("gateway")
    assert "revoked by a reset" in refused_because(exchange, old)
    fresh = exchange.login(trader.user_id)
    socket_connect(exchange, token_of(fresh)).disconnect()
    assert done["tokens_valid_from_epoch"] == done["epoch"]


def reset_direct(stack: RunningStack, body: dict) -> dict:
    """POST the reset to user_accounts itself (the gateway is down)."""
    base = stack.settings.service_url("user_accounts")
    session = requests.post(base + "/api/sessions", json={"user_id": stack.users["Instructor"],
                                                          "password": INSTRUCTOR_PASSWORD}, timeout=10).json()
    resp = requests.post(base + "/api/simulation/reset", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {session['token']}"})
    assert resp.status_code == 202, resp.text
    return resp.json()


def test_the_cli_resets_with_revoke_tokens_and_tells_a_signed_out_trader_to_log_in_again(exchange, tmp_path):
    from tests.integration.test_cli import Cmd

    trader = Sandbox(exchange).trader("1000.00")
    (tmp_path / "teacher").mkdir()
    (tmp_path / "student").mkdir()
    teacher, student = Cmd(exchange, tmp_path / "teacher"), Cmd(exchange, tmp_path / "student")
    teacher("login", str(exchange.users["Instructor"]), "--password", INSTRUCTOR_PASSWORD)
    student("login", str(trader.user_id))
    assert student.json("orders") == []
    assert "add --yes" in teacher("reset", code=2)  # no terminal to confirm on: --yes is required
    done = teacher.json("reset", "--revoke-tokens", "--yes")
    assert done["tokens_valid_from_epoch"] == done["epoch"]
    deadline = time.monotonic() + 10
    while "revoked" not in (out := student("orders", code=None)):
        assert time.monotonic() < deadline, out
        time.sleep(0.1)
    assert "error: 401 unauthorized: token revoked by a reset; log in again" in out
    assert "run `papertrade login USER_ID` again" in out
    student("login", str(trader.user_id))
    assert student.json("orders") == []
    assert "epoch" in teacher("reset", "--yes")  # the instructor's kept token still works
