"""Security: who may call what, and what hostile input can do (nothing).

- the authorization matrix: every endpoint of every service (read from the apps'
  URL maps, so a new endpoint must be classified here) for anonymous, trader,
  another trader, bot and instructor;
- the instructor password stored with argon2id, tokens signed and expiring (forged
  and expired tokens: test_bad_input), no secret in any deployment file (and
  tests/unit/test_compose.py);
- errors never carry a stack trace or SQL, whatever is sent; SQL and HTML/script
  in names are stored and returned verbatim, as JSON, and harm nothing;
- CORS: no other origin may call the API or open a Socket.IO session.

Runs on an exchange of its own: the instructor's column of the matrix calls
instructor-only endpoints (with bodies they refuse, but still).
"""

from __future__ import annotations

import importlib
import re
import time
from pathlib import Path

import pytest
import requests

from service_runtime.config import HOUSE_BOTS, SERVICES, Settings
from service_runtime.web import create_app
from tests.harness import Sandbox, running_stack

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]

# access: public (anyone), auth (any logged-in user, on their own data), own (a
# user's resource: the owner and the instructor; another trader gets 403/404),
# instructor (instructors only).
MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/api/users"): "public",
    ("POST", "/api/users"): "instructor",
    ("POST", "/api/users/bulk"): "instructor",
    ("PATCH", "/api/users/<int:user_id>"): "instructor",
    ("GET", "/api/settings"): "auth",
    ("PUT", "/api/settings"): "instructor",
    ("GET", "/api/simulation"): "public",  # the epoch (public in /api/market too) and the token floor
    ("POST", "/api/simulation/reset"): "instructor",
    ("POST", "/api/sessions"): "public",
    ("GET", "/api/portfolios"): "instructor",
    ("GET", "/api/portfolios/<user_id_text>/ledger"): "own",
    ("GET", "/api/portfolios/<user_id_text>"): "own",
    ("GET", "/api/leaderboard"): "auth",
    ("GET", "/api/exports/leaderboard.csv"): "instructor",
    ("GET", "/api/exports/portfolios.csv"): "instructor",
    ("GET", "/api/exports/trades.csv"): "instructor",
    ("GET", "/api/stocks"): "public",
    ("GET", "/api/stocks/<symbol>"): "public",
    ("POST", "/api/stocks"): "instructor",
    ("DELETE", "/api/stocks/<symbol>"): "instructor",
    ("GET", "/api/stocks/<symbol>/candles"): "public",
    ("GET", "/api/stocks/<symbol>/trades"): "public",
    ("GET", "/api/market"): "public",
    ("POST", "/api/market/<action>"): "instructor",
    ("POST", "/api/orders"): "auth",
    ("POST", "/api/orders/batch"): "auth",
    ("GET", "/api/orders"): "auth",
    ("GET", "/api/orders/<int:order_id>"): "own",
    ("DELETE", "/api/orders/<int:order_id>"): "own",
    ("PATCH", "/api/orders/<int:order_id>"): "own",
    ("DELETE", "/api/orders"): "auth",
    ("GET", "/api/exports/orders.csv"): "instructor",
    ("GET", "/api/books/<symbol>"): "public",
    ("GET", "/api/bots"): "instructor",
    ("PUT", "/api/bots/config"): "instructor",
    ("POST", "/api/bots/start"): "instructor",
    ("POST", "/api/bots/stop"): "instructor",
    ("GET", "/api/scenarios"): "instructor",
    ("GET", "/api/scenarios/<name>"): "instructor",
    ("PUT", "/api/scenarios/<name>"): "instructor",
    ("POST", "/api/scenarios/<name>/load"): "instructor",
}
# Calls whose success would change the exchange under the other checks: the
# instructor tries them last, in test_the_instructor_may_make_the_exchange_changing_calls.
INSTRUCTOR_LAST = {("POST", "/api/simulation/reset"), ("POST", "/api/bots/start"), ("DELETE", "/api/orders")}
ROLES = ["anonymous", "trader", "other_trader", "bot", "instructor"]
# Bodies every caller who gets past authorization refuses (422/400): nothing is written.
BODY = {"POST": {"bogus": True}, "PUT": {"bogus": True}}


def service_rules() -> set[tuple[str, str]]:
    settings = Settings(namespace="ptrules", secret_key="x" * 40)
    rules = set()
    for service in (*SERVICES, HOUSE_BOTS):
        app = create_app(service, [importlib.import_module(f"{service}.routes").bp], settings)
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith("/api/"):
                rules |= {(m, rule.rule) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return rules


def test_every_endpoint_is_classified_in_the_matrix():
    assert service_rules() == set(MATRIX)


@pytest.fixture(scope="module")
def world():
    with running_stack("security") as running:
        box = Sandbox(running)
        sym = box.symbol("10.00")
        owner = box.trader("1000.00")
        order = owner.order(sym, "buy", 1, "9.00")
        owner.wait_order(order["id"], "new")
        callers = {"anonymous": running.anonymous(), "trader": owner, "other_trader": box.trader("1000.00"),
                   "bot": box.trader("1000.00", role="bot"), "instructor": box.instructor}
        yield running, callers, {"user_id_text": str(owner.user_id), "user_id": str(owner.user_id),
                                 "order_id": str(order["id"]),
                                 "symbol": "NOPE9", "action": "sideways", "name": "no-such-scenario"}


CASES = [(m, r, role) for m, r in sorted(MATRIX) for role in ROLES
         if not (role == "instructor" and (m, r) in INSTRUCTOR_LAST)]


@pytest.mark.parametrize(("method", "rule", "role"), CASES, ids=[f"{m} {r} {role}" for m, r, role in CASES])
def test_authorization_matrix(world, method, rule, role):
    stack, callers, values = world
    access = MATRIX[(method, rule)]
    path = re.sub(r"<(?:int:)?(\w+)>", lambda m: values[m.group(1)], rule)
    caller = callers[role]
    resp = caller.session.request(method, stack.url + path, json=BODY.get(method), timeout=30)
    assert resp.status_code < 500, resp.text
    if access == "public":
        assert resp.status_code not in (401, 403), resp.text
    elif role == "anonymous":
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
    elif access == "instructor" and role != "instructor":
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    elif access == "own" and role in ("other_trader", "bot"):
        assert resp.status_code in (403, 404), resp.text  # never another's data
        assert str(values.get("user_id_text")) not in resp.text or resp.status_code == 403
    else:
        assert resp.status_code not in (401, 403), resp.text


def test_socket_io_accepts_every_role_and_refuses_a_forged_token(world):
    import socketio

    stack, callers, _ = world
    for role, api in callers.items():
        token = api.session.headers.get("Authorization", " ").split(" ", 1)[1] or None
        sio = socketio.Client(reconnection=False)
        sio.connect(stack.url, auth={"token": token} if token else None, transports=["websocket"], wait_timeout=10)
        try:
            assert sio.call("subscribe", {"symbols": ["NOPE9"]}, timeout=10) is not None, role
        finally:
            sio.disconnect()
    forged = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        forged.connect(stack.url, auth={"token": "not.a.token"}, transports=["websocket"], wait_timeout=10)


def test_the_instructor_password_is_stored_with_argon2id(world):
    stack, _, _ = world
    with stack.db("user_accounts") as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE role = 'instructor'").fetchone()
    assert row["password_hash"].startswith("$argon2id$")
    assert "instructor-test-password" not in row["password_hash"]
    # argon2id with a memory cost that makes guessing slow (argon2-cffi's default: 64 MiB, 3 passes)
    params = dict(p.split("=") for p in row["password_hash"].split("$")[3].split(","))
    assert int(params["m"]) >= 65536 and int(params["t"]) >= 3


HOSTILE_NAMES = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "Robert'); DROP TABLE users;--",
    "' OR '1'='1",
    "\"; SELECT pg_sleep(5); --",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_sql_and_script_in_a_name_are_stored_verbatim_and_harm_nothing(world, name):
    stack, callers, _ = world
    teacher = callers["instructor"]
    resp = teacher.post("/api/users", {"name": name, "starting_cash": "10.00"})
    assert resp.status_code == 201, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    listed = stack.anonymous().get("/api/users")
    assert listed.headers["Content-Type"].startswith("application/json")
    assert name in [u["name"] for u in listed.json()]
    with stack.db("user_accounts") as conn:
        assert conn.execute("SELECT count(*) AS n FROM users WHERE name = %s", (name,)).fetchone()["n"] == 1


def test_the_front_end_never_renders_markup_from_data():
    """React escapes text; the only ways around it are these, and none is used."""
    for path in (ROOT / "frontend" / "src").rglob("*.ts*"):
        text = path.read_text()
        for risky in ("dangerouslySetInnerHTML", "innerHTML", "outerHTML", "insertAdjacentHTML", "eval("):
            assert risky not in text, f"{path}: {risky}"


LEAKS = re.compile(r"Traceback|File \"|psycopg|SELECT |INSERT |UPDATE |sqlalchemy|werkzeug|line \d+", re.I)
HOSTILE_REQUESTS = [
    ("GET", "/api/stocks/' OR 1=1--", None),
    ("GET", "/api/orders/99999999999999999999999", None),
    ("GET", "/api/portfolios/1;DROP TABLE accounts", None),
    ("GET", "/api/orders?status=' OR 1=1--&limit=1e99", None),
    ("GET", "/api/stocks/AAPL/candles?interval=%00&limit=-1", None),
    ("POST", "/api/orders", {"symbol": "' OR 1=1--", "side": "buy", "type": "limit", "qty": 1, "limit_price": "1"}),
    ("POST", "/api/orders", {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 10**40, "limit_price": "1e400"}),
    ("POST", "/api/orders", {"symbol": ["x"], "side": {"a": 1}, "type": None, "qty": "1", "limit_price": True}),
    ("POST", "/api/orders", [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]),
    ("POST", "/api/orders/batch", {"orders": [{"qty": float("1e308")}] * 3}),
    ("POST", "/api/sessions", {"user_id": "1 OR 1=1", "password": {"$ne": None}}),
    ("POST", "/api/sessions", {"user_id": 10**30}),
    ("DELETE", "/api/orders/-1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), HOSTILE_REQUESTS, ids=[f"{m} {p}"[:60] for m, p, _ in HOSTILE_REQUESTS])
def test_no_error_carries_a_stack_trace_or_sql(world, method, path, body):
    stack, callers, _ = world
    resp = callers["trader"].session.request(method, stack.url + path, json=body, timeout=30)
    assert resp.headers["Content-Type"].startswith("application/json")
    if path == "/api/orders/batch" and resp.status_code == 200:  # a batch answers each item
        assert all(set(r) == {"error"} for r in resp.json()["results"]), resp.text
    else:
        assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
        assert set(resp.json()) == {"error"}
    assert not LEAKS.search(resp.text), resp.text


def test_a_body_over_the_limit_and_a_non_json_body_are_refused(world):
    stack, callers, _ = world
    trader = callers["trader"]
    big = trader.session.post(stack.url + "/api/orders", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                              headers={"Content-Type": "application/json"}, timeout=30)
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    form = trader.session.post(stack.url + "/api/orders", data="symbol=AAPL&qty=1",
                               headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert 400 <= form.status_code < 500 and "error" in form.json()


def test_no_other_origin_may_call_the_api_or_open_a_socket(world):
    stack, callers, _ = world
    evil = {"Origin": "http://evil.example"}
    pre = requests.options(stack.url + "/api/orders", headers={
        **evil, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"},
        timeout=10)
    assert "Access-Control-Allow-Origin" not in pre.headers
    got = callers["trader"].session.get(stack.url + "/api/orders", headers=evil, timeout=10)
    assert "Access-Control-Allow-Origin" not in got.headers
    handshake = requests.get(stack.url + "/socket.io/?EIO=4&transport=polling", headers=evil, timeout=10)
    assert handshake.status_code == 400 and "Access-Control-Allow-Origin" not in handshake.headers
    same = requests.get(stack.url + "/socket.io/?EIO=4&transport=polling", headers={"Origin": stack.url}, timeout=10)
    assert same.status_code == 200


def test_no_deployment_file_holds_a_secret():
    """Every secret comes from the environment: `KEY: ${KEY:?...}` in compose, empty in .env.example."""
    assignment = re.compile(r"^\s*(?:export\s+)?[\w-]*(SECRET|PASSWORD|PASS)\w*\s*[:=]\s*(?P<value>\S*)", re.I)
    in_url = re.compile(r"://[^:/\s]+:(?P<value>[^@\s]+)@")
    for name in (".env.example", "docker-compose.yml", "Dockerfile", "run.sh"):
        for line in (ROOT / name).read_text().splitlines():
            if line.lstrip().startswith("#"):
                continue
            for m in (assignment.search(line), in_url.search(line)):
                if m:
                    value = m.group("value").strip("'\"")
                    assert value == "" or value.startswith("$"), f"{name}: {line}"


def test_the_instructor_may_make_the_exchange_changing_calls(world):
    """Last in the module: these succeed for the instructor and change the exchange."""
    stack, callers, _ = world
    teacher = callers["instructor"]
    assert teacher.session.delete(stack.url + "/api/orders", timeout=30).status_code == 202
    started = teacher.session.post(stack.url + "/api/bots/start", json={"market_makers": 0, "noise_traders": 0,
                                                                       "momentum_traders": 0, "value_traders": 0},
                                   timeout=60)
    assert started.status_code == 200, started.text
    assert teacher.session.post(stack.url + "/api/bots/stop", timeout=60).status_code == 200
    reset = teacher.session.post(stack.url + "/api/simulation/reset", timeout=30)
    assert reset.status_code == 202 and reset.json()["epoch"] >= 2


def test_after_a_revoking_reset_every_endpoint_refuses_the_old_trader_and_bot_tokens(world):
    """Last in the module (it signs everyone out): the matrix again for the tokens a reset
    revoked. Every endpoint that needs a token answers 401 "token revoked by a reset"; house_bots'
    (instructors only, no floor of its own: docs/decisions.md) still 403; public ones still answer."""
    stack, callers, values = world
    reset = callers["instructor"].post("/api/simulation/reset", {"revoke_tokens": True})
    assert reset.status_code == 202 and reset.json()["tokens_valid_from_epoch"] == reset.json()["epoch"]
    house_bots = {r for r in MATRIX if r[1].startswith(("/api/bots", "/api/scenarios"))}
    deadline = time.monotonic() + 15
    for role in ("trader", "bot"):
        caller = callers[role]
        for method, rule in sorted(MATRIX):
            if MATRIX[(method, rule)] == "public" or (method, rule) in INSTRUCTOR_LAST:
                continue
            path = re.sub(r"<(?:int:)?(\w+)>", lambda m: values[m.group(1)], rule)
            while True:  # each service refuses them once it has applied the reset (within a second)
                resp = caller.session.request(method, stack.url + path, json=BODY.get(method), timeout=30)
                if resp.status_code == 401 or (method, rule) in house_bots or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            if (method, rule) in house_bots:
                assert resp.status_code == 403, (method, rule, role, resp.text)
            else:
                assert resp.status_code == 401, (method, rule, role, resp.text)
                assert resp.json()["error"]["message"] == "token revoked by a reset; log in again"
    assert callers["instructor"].get("/api/portfolios").status_code == 200  # the instructor's token is kept
