"""The fault-injection suite: while a multi-user order flow runs, each fault in
turn, and after each the count (tests/faults/flow.py) and the audit: orders lost,
trades duplicated, unexpected states all zero.

CI form by default (a few seconds of flow per fault, about 3 minutes in all);
PAPERTRADE_FAULTS_FULL=1 runs each fault longer, at a higher rate, and adds the
gateway kill and a SIGTERM of every process. Run it alone:

    nice -n 10 ./test.sh tests/faults -q                       # CI form
    PAPERTRADE_FAULTS_FULL=1 nice -n 10 ./test.sh tests/faults -q

The RabbitMQ and PostgreSQL restarts stop the shared servers for a few seconds:
other test runs on the machine see "connection refused" meanwhile. They run last.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pika
import pytest
import requests

from service_runtime.config import SERVICES, Settings
from service_runtime.topology import blocking_connection
from stack import dead_letters
from stack.processes import all_processes
from tests.faults.flow import OrderFlow
from tests.harness import RunningStack, Sandbox, running_stack, wait_for

pytestmark = pytest.mark.stack

FULL = os.environ.get("PAPERTRADE_FAULTS_FULL", "") not in ("", "0")
RATE = 40.0 if FULL else 15.0  # orders/s of the flow
BEFORE, DURING, AFTER = (10.0, 10.0, 10.0) if FULL else (1.5, 1.5, 1.5)  # seconds of flow around a fault
REPORT = Path(os.environ.get("PAPERTRADE_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts")) / "faults.json"
RESULTS: dict[str, dict] = {}
PG_CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect", *(os.listdir("/etc/postgresql")[:1] or ["15"]), "main"]


@pytest.fixture(scope="module")
def faulty():
    # an API says "degraded" after 1 s of events stuck in its outbox (default 5 s), within a fault's DURING
    with running_stack("faults", {"PAPERTRADE_OUTBOX_STALL_SECONDS": "1"}) as running:
        yield running
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(RESULTS, indent=2))


@pytest.fixture(scope="module")
def flow(faulty):
    box = Sandbox(faulty)
    symbols = {box.symbol("20.00"): "20.00", box.symbol("35.00"): "35.00"}
    traders = [box.trader("1000000.00", {s: 100000 for s in symbols}) for _ in range(6)]
    return OrderFlow(faulty, traders, symbols)


def around(flow: OrderFlow, fault, recover=None) -> dict:  # noqa: ANN001 - callables
    """Flow, fault, flow, recover, flow; then stop, count, and assert all zero."""
    before = (flow.tally.sent, flow.tally.retries)
    flow.start(RATE)
    try:
        time.sleep(BEFORE)
        fault()
        time.sleep(DURING)
        if recover:
            recover()
        time.sleep(AFTER)
    finally:
        flow.stop()
    count = flow.count()
    figures = {**count.summary(), "sent": flow.tally.sent - before[0], "retries": flow.tally.retries - before[1],
               "unknown": len(flow.tally.unknown)}
    assert count.lost == [] and count.duplicated == [] and count.unexpected == [] and count.audit == [], count
    assert flow.tally.unknown == set(), "placements that never got an answer in 60 s of retries"
    return figures


def record(name: str, figures: dict) -> None:
    RESULTS[name] = figures
    print(f"{name}: {figures}")


# ------------------------------------------------------------------ workers and APIs

def restart_worker(stack: RunningStack, name: str, env: dict[str, str] | None = None) -> None:
    """Restart a worker and wait until it relays again (it has no health URL)."""
    def started(log: str) -> int:  # a worker consumes its queue, or relays (user_accounts consumes nothing)
        return log.count(" consuming ") + log.count("relay: leader")

    before = started(stack.logs(name))
    stack.restart(name, env=env)
    deadline = time.monotonic() + 30
    while started(stack.logs(name)) == before:
        assert time.monotonic() < deadline, f"{name} did not come back"
        time.sleep(0.1)


@pytest.mark.parametrize("service", SERVICES)
def test_worker_sigkilled_and_restarted_loses_and_doubles_nothing(faulty, flow, service):
    name = f"{service}-worker"
    figures = around(flow, lambda: faulty.kill(name, signal.SIGKILL), lambda: restart_worker(faulty, name))
    assert faulty.alive(name)
    record(f"sigkill {name}", figures)


def test_order_matching_sigkilled_with_stops_waiting_loses_none_and_triggers_none_twice(faulty):
    box = Sandbox(faulty)
    sym = box.symbol("10.00")
    bidder = box.trader("100000.00")
    for i in range(6):
        bidder.wait_order(bidder.order(sym, "buy", 2, f"{9.90 - 0.1 * i:.2f}", time_in_force="gtc")["id"], "new")
    holders = [box.trader("0.00", {sym: 2}) for _ in range(4)]
    stops = []
    for i, holder in enumerate(holders):
        resp = holder.post("/api/orders", {"symbol": sym, "side": "sell", "type": "stop", "qty": 2,
                                           "stop_price": f"{9.90 - 0.1 * i:.2f}", "time_in_force": "gtc"})
        assert resp.status_code == 201, resp.text
        stops.append(holder.wait_order(resp.json()["id"], "new"))
    faulty.wait_quiet()
    faulty.kill("order_matching-worker", signal.SIGKILL)
    restart_worker(faulty, "order_matching-worker")
    seller = box.trader("0.00", {sym: 2})
    seller.order(sym, "sell", 2, "9.90")  # reaches the first stop; each stop's fills reach the next
    for holder, stop in zip(holders, stops, strict=True):
        done = holder.wait_order(stop["id"], "filled")
        triggered = [h for h in done["history"] if (h["detail"] or "").startswith("triggered")]
        assert len(triggered) == 1 and done["triggered"] is True, done["history"]
    faulty.wait_quiet()
    assert faulty.audit() == []


API_VICTIMS = ["stock_ordering-api", "gateway"] if FULL else ["stock_ordering-api"]


@pytest.mark.parametrize("name", API_VICTIMS)
def test_api_process_killed_mid_request_loses_no_order(faulty, flow, name):
    """Kill the process while requests are in it: the clients see broken connections
    or 503s, retry with the same client_order_id, and each order exists once."""
    figures = around(flow, lambda: faulty.kill(name, signal.SIGKILL), lambda: faulty.restart(name))
    assert figures["retries"] > 0, "the kill was meant to land on requests in flight"
    record(f"sigkill {name}", figures)


def test_every_event_delivered_twice_is_applied_once(faulty, flow):
    workers = [f"{s}-worker" for s in SERVICES]

    def double() -> None:
        for w in workers:
            restart_worker(faulty, w, {"PAPERTRADE_FAULTS": "publish_twice"})

    def single() -> None:
        for w in workers:
            restart_worker(faulty, w)

    try:
        figures = around(flow, double, single)
    except BaseException:
        single()
        raise
    for service in ("user_portfolio", "stock_data", "stock_ordering", "order_matching"):
        assert "duplicate" in faulty.logs(f"{service}-worker"), service
    record("every event delivered twice", figures)


# ------------------------------------------------------------------ poison

def dead_count(stack: RunningStack, service: str) -> int:
    with blocking_connection(stack.settings) as conn:
        return conn.channel().queue_declare(stack.settings.dead_letter_queue(service), passive=True
                                            ).method.message_count


def publish(stack: RunningStack, routing_key: str, body: bytes) -> None:
    with blocking_connection(stack.settings) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish(stack.settings.exchange, routing_key, body, pika.BasicProperties(delivery_mode=2))


def failing_trade() -> dict:
    """Parses, but settles a trade for orders user_portfolio never reserved: fails every time."""
    now = datetime.now(UTC).isoformat()
    return {
        "id": str(uuid.uuid4()), "type": "trade.executed", "version": 1, "occurred_at": now,
        "producer": "order_matching", "epoch": 1,
        "payload": {
            "trade_id": 999999001, "seq": 1, "symbol": "ZZZZ", "price": "1.00", "qty": 1,
            "buy_order_id": 999999001, "sell_order_id": 999999002, "buyer_id": 1, "seller_id": 1,
            "taker_side": "buy", "buy_filled_qty": 1, "sell_filled_qty": 1, "buy_remaining": 0,
            "sell_remaining": 0, "executed_at": now,
        },
    }


def test_poison_messages_are_dead_lettered_without_blocking_the_flow_and_can_be_replayed(faulty, flow):
    poison = failing_trade()
    before = dead_count(faulty, "user_portfolio")

    def inject() -> None:
        publish(faulty, "trade.executed.p01", b"{this is not json")
        publish(faulty, "trade.executed.p01", json.dumps(poison).encode())

    figures = around(flow, inject)  # the orders sent after the poison all reached their states
    wait_for("both poison messages dead-lettered", lambda: dead_count(faulty, "user_portfolio") == before + 2, 30)

    # Visible from the admin command: one unparseable, one failing trade, each rejected.
    letters = dead_letters.list_dead_letters(faulty.settings, "user_portfolio")
    assert [(d.type, d.event_id) for d in letters][-2:] == [(None, None), ("trade.executed", poison["id"])]
    assert {d.reason for d in letters[-2:]} == {"rejected"}
    assert dead_count(faulty, "user_portfolio") == before + 2  # listing keeps them

    # Replayed, the failing one fails again and comes back, marked as replayed once.
    replayed = dead_letters.replay_dead_letters(faulty.settings, "user_portfolio", poison["id"])
    assert [d.event_id for d in replayed] == [poison["id"]]
    wait_for("the replayed poison message back in the dead-letter queue",
             lambda: any(d.event_id == poison["id"] and d.replays == 1
                         for d in dead_letters.list_dead_letters(faulty.settings, "user_portfolio")), 30)
    assert dead_count(faulty, "user_portfolio") == before + 2

    # The command line, as an operator runs it.
    env = {**os.environ, **faulty.env}
    out = subprocess.run([sys.executable, "-m", "stack", "dead-letters", "list", "--service", "user_portfolio"],
                         env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"trade.executed {poison['id']}" in out and "unparseable" in out
    assert out.strip().endswith(f"{before + 2} dead letter(s)")
    assert flow.count().clean
    record("poison (unparseable + failing handler)", figures)


# ------------------------------------------------------------------ clean shutdown

SIGTERM_VICTIMS = ([s.name for s in all_processes(Settings())] if FULL else
                   ["stock_ordering-api", "order_matching-worker", "user_portfolio-worker", "gateway"])


def test_every_process_shuts_down_cleanly_on_sigterm(faulty, flow):
    """SIGTERM: finish or give back the work in hand and exit 0; nothing lost."""
    codes: dict[str, int] = {}

    def terminate_each() -> None:
        for name in SIGTERM_VICTIMS:
            child = faulty.supervisor.children[name]
            started = time.monotonic()
            child.signal(signal.SIGTERM)
            child.proc.wait(15)
            codes[name] = child.proc.returncode
            assert time.monotonic() - started < 12, f"{name} took too long to stop"
            if name.endswith("-worker"):
                restart_worker(faulty, name)
            else:
                faulty.restart(name)

    figures = around(flow, terminate_each)
    assert codes == {name: 0 for name in SIGTERM_VICTIMS}
    for name in SIGTERM_VICTIMS:
        if name.endswith("-worker"):
            assert "finishing in-flight work" in faulty.logs(name)
    record("sigterm " + ", ".join(SIGTERM_VICTIMS), figures)


# ------------------------------------------------------------------ the servers (last: they disturb the machine)

def health_urls(stack: RunningStack) -> dict[str, str]:
    """Every process's /healthz: the workers' from their logs (their port is a free one)."""
    urls = {"gateway": f"{stack.url}/healthz"}
    for service in SERVICES:
        urls[f"{service}-api"] = f"{stack.settings.service_url(service)}/healthz"
        port = re.findall(r"metrics at http://[\d.]+:(\d+)/metrics", stack.logs(f"{service}-worker"))[-1]
        urls[f"{service}-worker"] = f"http://127.0.0.1:{port}/healthz"
    return urls


def health_of(url: str) -> tuple[int, dict]:
    resp = requests.get(url, timeout=10)
    return resp.status_code, resp.json()


def wait_health(urls: dict[str, str], want: Callable[[str, int, dict], bool], timeout: float) -> dict[str, tuple]:
    deadline = time.monotonic() + timeout
    while True:
        seen = {name: health_of(url) for name, url in urls.items()}
        if all(want(name, *got) for name, got in seen.items()) or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def broker_down(name: str, status: int, body: dict) -> bool:
    """What each process says while RabbitMQ is away (issue 6)."""
    if name.endswith("-api"):  # still serving (the outbox), but saying so
        return status == 200 and body["status"] == "degraded" and body["events"]["status"] == "stalled"
    return status == 503 and body["broker"] == "disconnected"


def test_rabbitmq_restart_is_survived(faulty, flow):
    accepted_while_down: list[int] = []
    urls = health_urls(faulty)
    health_while_down: dict[str, tuple] = {}

    def stop() -> None:
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
        n = len(flow.tally.accepted)
        time.sleep(1.0)
        accepted_while_down.append(len(flow.tally.accepted) - n)
        # every worker and the gateway answer 503 naming the broker; the order API, whose
        # outbox fills with the flow's orders, says "degraded" (the others have nothing to
        # send while nothing moves: they stay 200 "ok")
        watched = {k: v for k, v in urls.items() if not k.endswith("-api") or k == "stock_ordering-api"}
        health_while_down.update(wait_health(watched, broker_down, 20))
        for name in set(urls) - set(watched):
            assert health_of(urls[name])[0] == 200, name

    def start() -> None:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)

    try:
        figures = around(flow, stop, start)
    finally:
        start()
    # Orders are still accepted while the broker is away: the front door only writes its database.
    assert accepted_while_down[0] > 0
    assert all(broker_down(name, *got) for name, got in health_while_down.items()), health_while_down
    # ... and every health endpoint is "ok" again by itself
    after = wait_health(urls, lambda name, status, body: status == 200 and body["status"] == "ok", 60)
    assert all(status == 200 and body["status"] == "ok" for status, body in after.values()), after
    for service in SERVICES:
        assert faulty.alive(f"{service}-worker")
    record("rabbitmq restart", figures)


def test_postgresql_restart_answers_503_then_recovers_by_itself(faulty, flow):
    seen: dict[str, object] = {}
    api = f"http://127.0.0.1:{faulty.settings.service_port('stock_ordering')}"

    def stop() -> None:
        subprocess.run([*PG_CLUSTER, "stop", "-m", "fast"], check=True, capture_output=True, timeout=60)
        trader = flow.traders[0]
        started = time.monotonic()
        resp = trader.session.post(trader.base + "/api/orders", json=flow.body(flow.rng), timeout=15)
        seen["order"] = (resp.status_code, resp.json()["error"]["code"], time.monotonic() - started)
        health = requests.get(api + "/healthz", timeout=15)
        seen["health"] = (health.status_code, health.json()["status"])

    def start() -> None:
        # exit status 2: already running (the finally after a start that worked)
        done = subprocess.run([*PG_CLUSTER, "start"], capture_output=True, timeout=60)
        assert done.returncode in (0, 2), done.stderr

    try:
        figures = around(flow, stop, start)
    finally:
        start()
    status, code, took = seen["order"]
    assert (status, code) == (503, "unavailable") and took < 7, seen
    assert seen["health"] == (503, "unavailable")
    assert requests.get(api + "/healthz", timeout=15).status_code == 200
    for name in faulty.supervisor.children:
        assert faulty.alive(name), name
    record("postgresql restart", {**figures, "order_while_down": [status, code, round(took, 2)]})
