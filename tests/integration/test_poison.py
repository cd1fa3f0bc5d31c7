"""Poison messages go to the dead-letter queue, visible, and do not block the
messages behind them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pika
import pytest

from service_runtime.topology import blocking_connection
from tests.harness import wait_for

pytestmark = pytest.mark.stack


def dead_letters(stack, service: str) -> int:
    with blocking_connection(stack.settings) as conn:
        return conn.channel().queue_declare(stack.settings.dead_letter_queue(service), passive=True).method.message_count


def publish(stack, routing_key: str, body: bytes) -> None:
    with blocking_connection(stack.settings) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish(stack.settings.exchange, routing_key, body, pika.BasicProperties(delivery_mode=2))


def test_unparseable_and_failing_messages_are_dead_lettered_and_the_rest_flows(stack, sandbox):
    before = {s: dead_letters(stack, s) for s in ("user_portfolio", "stock_data", "stock_ordering")}
    publish(stack, "trade.executed.p01", b"{this is not json")
    # Parses, but settles a trade for orders user_portfolio never reserved: its handler fails every time.
    event = {
        "id": str(uuid.uuid4()), "type": "trade.executed", "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(), "producer": "order_matching", "epoch": 1,
        "payload": {
            "trade_id": 999999001, "seq": 1, "symbol": "ZZZZ", "price": "1.00", "qty": 1,
            "buy_order_id": 999999001, "sell_order_id": 999999002, "buyer_id": 1, "seller_id": 1,
            "taker_side": "buy", "buy_filled_qty": 1, "sell_filled_qty": 1, "buy_remaining": 0,
            "sell_remaining": 0, "executed_at": datetime.now(UTC).isoformat(),
        },
    }
    publish(stack, "trade.executed.p01", json.dumps(event).encode())

    for service, poisoned in (("user_portfolio", 2), ("stock_ordering", 1), ("stock_data", 1)):
        wait_for(f"{service}'s poison dead-lettered",
                 lambda s=service, n=poisoned: dead_letters(stack, s) >= before[s] + n)

    # The messages behind the poison still flow.
    sym = sandbox.symbol("5.00")
    buyer = sandbox.trader("100.00")
    seller = sandbox.trader("0.00", {sym: 1})
    b = buyer.order(sym, "buy", 1, "5.00")
    buyer.wait_order(b["id"], "new")
    s = seller.order(sym, "sell", 1, "5.00")
    assert seller.wait_order(s["id"], "filled")
    assert buyer.wait_order(b["id"], "filled")
