"""The messaging tables stay bounded. Inbox rows go once past their retention, and
exactly-once holds across it: a delivery recent enough to have its row is
recognised, and one older than what was pruned is dead-lettered rather than risked
twice, until an operator forces it. An event parked for something that never comes
goes to the dead letters, and applies when replayed once the cause is fixed."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from service_runtime.messages import partition_of
from stack.dead_letters import list_dead_letters, replay_dead_letters
from tests.harness import Sandbox, running_stack, wait_for
from tests.integration.test_poison import dead_letters, publish

pytestmark = pytest.mark.stack

RETENTION_S = 6.0
PARKED_S = 3.0


@pytest.fixture(scope="module")
def short_memory():
    env = {"PAPERTRADE_INBOX_RETENTION_HOURS": str(RETENTION_S / 3600), "PAPERTRADE_INBOX_PRUNE_SECONDS": "0.5",
           "PAPERTRADE_PARKED_EXPIRY_HOURS": str(PARKED_S / 3600)}
    with running_stack("inbox-retention", env) as stack:
        yield stack


def inbox_has(stack, service: str, event_id: str) -> bool:
    with stack.db(service) as conn:
        return conn.execute("SELECT 1 FROM inbox WHERE event_id = %s", (event_id,)).fetchone() is not None


def user_created(user_id: int, occurred_at: datetime) -> dict:
    return {"id": str(uuid.uuid4()), "type": "user.created", "version": 1, "occurred_at": occurred_at.isoformat(),
            "producer": "user_accounts", "epoch": 1,
            "payload": {"user_id": user_id, "name": f"Replayed {user_id}", "role": "trader",
                        "starting_cash": "10.00", "holdings": {}}}


def has_account(stack, user_id: int) -> bool:
    with stack.db("user_portfolio") as conn:
        return conn.execute("SELECT 1 FROM accounts WHERE user_id = %s", (user_id,)).fetchone() is not None


def test_rows_past_the_retention_are_pruned_and_newer_ones_kept(short_memory):
    stack = short_memory
    fresh = user_created(900_001, datetime.now(UTC))
    publish(stack, "user.created", json.dumps(fresh).encode())
    wait_for("user_portfolio to apply it", lambda: has_account(stack, 900_001))
    assert inbox_has(stack, "user_portfolio", fresh["id"])  # inside the window: a redelivery is recognised
    time.sleep(RETENTION_S / 2)
    younger = user_created(900_003, datetime.now(UTC))
    publish(stack, "user.created", json.dumps(younger).encode())
    wait_for("user_portfolio to apply the younger one", lambda: has_account(stack, 900_003))
    wait_for("the older inbox row to be pruned", lambda: not inbox_has(stack, "user_portfolio", fresh["id"]),
             RETENTION_S + 15)
    # pruned by age: the row processed half a retention later is still there
    assert inbox_has(stack, "user_portfolio", younger["id"])
    with stack.db("user_portfolio") as conn:
        horizon = conn.execute("SELECT value #>> '{}' AS t FROM service_state"
                               " WHERE key = 'inbox_pruned_before'").fetchone()
    assert horizon is not None and datetime.fromisoformat(horizon["t"]) > datetime.fromisoformat(fresh["occurred_at"])
    # pruning changed nothing else: the exchange still trades
    box = Sandbox(stack)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("100.00"), box.trader("0.00", {sym: 1})
    bid = buyer.order(sym, "buy", 1, "10.00")
    buyer.wait_order(bid["id"], "new")
    seller.order(sym, "sell", 1, "10.00")
    assert buyer.wait_order(bid["id"], "filled")["filled_qty"] == 1


def test_an_event_older_than_what_was_pruned_is_dead_lettered_until_forced(short_memory):
    stack = short_memory
    wait_for("a pruning horizon", lambda: _horizon(stack) is not None, RETENTION_S + 15)
    before = dead_letters(stack, "user_portfolio")
    old = user_created(900_002, datetime.now(UTC) - timedelta(hours=1))
    publish(stack, "user.created", json.dumps(old).encode())
    wait_for("the old event dead-lettered", lambda: dead_letters(stack, "user_portfolio") == before + 1)
    assert not has_account(stack, 900_002)

    replayed = replay_dead_letters(stack.settings, "user_portfolio", old["id"])  # without --force: refused again
    assert [d.event_id for d in replayed] == [old["id"]]
    wait_for("refused again", lambda: dead_letters(stack, "user_portfolio") == before + 1)
    assert not has_account(stack, 900_002)

    replay_dead_letters(stack.settings, "user_portfolio", old["id"], force=True)
    wait_for("the forced replay applied", lambda: has_account(stack, 900_002))
    assert dead_letters(stack, "user_portfolio") == before


def _horizon(stack) -> str | None:
    with stack.db("user_portfolio") as conn:
        row = conn.execute("SELECT value #>> '{}' AS t FROM service_state WHERE key = 'inbox_pruned_before'").fetchone()
    return row["t"] if row else None


def test_an_event_parked_too_long_goes_to_the_dead_letters_and_applies_when_replayed(short_memory):
    stack = short_memory
    sym = Sandbox(stack).symbol("10.00")
    before = dead_letters(stack, "user_portfolio")
    placed = {"id": str(uuid.uuid4()), "type": "order.placed", "version": 1, "occurred_at": datetime.now(UTC).isoformat(),
              "producer": "stock_ordering", "epoch": 1,
              "payload": {"order_id": 910_001, "user_id": 910_001, "symbol": sym, "side": "buy", "type": "limit",
                          "qty": 1, "limit_price": "10.00", "time_in_force": "day", "client_order_id": None,
                          "created_at": None}}
    publish(stack, f"order.placed.{_partition(sym)}", json.dumps(placed).encode())
    wait_for("it to be parked", lambda: _parked(stack) == 1)
    wait_for("it to reach the dead letters", lambda: dead_letters(stack, "user_portfolio") == before + 1,
             PARKED_S + 15)
    assert _parked(stack) == 0
    (letter,) = [d for d in list_dead_letters(stack.settings, "user_portfolio") if d.event_id == placed["id"]]
    assert letter.reason == "parked too long"

    # the cause fixed (the user exists now), the replay applies it
    publish(stack, "user.created", json.dumps(user_created(910_001, datetime.now(UTC))).encode())
    wait_for("the user", lambda: has_account(stack, 910_001))
    # forced, so that the inbox's horizon (6 s here) cannot refuse it on a slow machine;
    # forcing skips only that check: the inbox would still drop it had its claim stayed
    replay_dead_letters(stack.settings, "user_portfolio", placed["id"], force=True)
    wait_for("the order reserved", lambda: _reserved(stack, 910_001))
    assert dead_letters(stack, "user_portfolio") == before


def _partition(symbol: str) -> str:
    return f"p{partition_of(symbol):02d}"


def _parked(stack) -> int:
    with stack.db("user_portfolio") as conn:
        return conn.execute("SELECT count(*) AS n FROM parked_events").fetchone()["n"]


def _reserved(stack, order_id: int) -> bool:
    with stack.db("user_portfolio") as conn:
        return conn.execute("SELECT 1 FROM reservations WHERE order_id = %s", (order_id,)).fetchone() is not None


def test_force_replays_only_a_named_event(short_memory):
    with pytest.raises(ValueError, match="--id"):
        replay_dead_letters(short_memory.settings, "user_portfolio", force=True)
