"""Which domain event becomes which Socket.IO message, and who receives it.

Rooms: `sym:<SYMBOL>` (public, joined by `subscribe`), `user:<id>` (joined at
connect from a valid token), `instructors` (every instructor). An order or a
portfolio goes only to its owner's room and to instructors, never to a symbol
room or to everyone.

The gateway works on the raw JSON payloads (money is already a string there):
decoding every event into typed records and back would cost more CPU than the
rest of the push, for nothing it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .executions import OrderTracker

INSTRUCTORS = "instructors"
AUTHENTICATED = "authenticated"  # every client that connected with a valid token
EVERYONE = None  # broadcast
LEADERBOARD_INTERVAL = 1.0  # seconds: the leaderboard is pushed at most this often


def symbol_room(symbol: str) -> str:
    return f"sym:{symbol}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Push:
    event: str
    data: dict[str, Any]
    rooms: tuple[str | None, ...]


def _private(event: str) -> Callable[[dict[str, Any]], list[Push]]:
    def build(p: dict[str, Any]) -> list[Push]:
        body = p["order"] if event == "order" else {**p["portfolio"], "user_id": p["user_id"]}
        return [Push(event, body, (user_room(p["user_id"]), INSTRUCTORS))]
    return build


def _trade(p: dict[str, Any]) -> list[Push]:
    return [Push("trade", {"seq": p["seq"], "symbol": p["symbol"], "price": p["price"], "qty": p["qty"],
                           "ts": p["executed_at"], "trade_id": p["trade_id"]}, (symbol_room(p["symbol"]),))]


def _price(p: dict[str, Any]) -> list[Push]:
    keys = ("symbol", "last_price", "open", "high", "low", "volume", "change_pct", "trade_seq")
    return [Push("price", {k: p[k] for k in keys}, (symbol_room(p["symbol"]),))]


def _book(p: dict[str, Any]) -> list[Push]:
    return [Push("book", {"symbol": p["symbol"], "seq": p["seq"], "bids": p["bids"], "asks": p["asks"]},
                 (symbol_room(p["symbol"]),))]


# event type -> the pushes it makes; the gateway's queue is bound to exactly these
# (service_runtime/contracts.py lists the gateway as their consumer).
PUSHES: dict[str, Callable[[dict[str, Any]], list[Push]]] = {
    "order.placed": lambda p: [],  # not pushed: the execution reports learn the order from it
    "order.updated": _private("order"),
    "portfolio.updated": _private("portfolio"),
    "trade.executed": _trade,
    "price.updated": _price,
    "book.updated": _book,
    "market.status_changed": lambda p: [Push("market", {"status": p["status"], "previous": p["previous"],
                                                        "closes_at": p.get("closes_at")}, (EVERYONE,))],
    "stock.delisted": lambda p: [Push("delisted", {"symbol": p["symbol"]}, (EVERYONE,))],
    "settings.changed": lambda p: [Push("settings", {k: p[k] for k in ("commission_per_share", "max_position",
                                                                       "max_order_qty")}, (EVERYONE,))],
    "leaderboard.updated": lambda p: [Push("leaderboard", p["rows"], (AUTHENTICATED,))],
    "stock.listed": lambda p: [Push("stock", {"symbol": p["symbol"], "name": p["name"],
                                              "reference_price": p["reference_price"]}, (EVERYONE,))],
    "user.created": lambda p: [Push("user", {"id": p["user_id"], "name": p["name"], "role": p["role"]},
                                    (EVERYONE,))],
    "user.updated": lambda p: [Push("user", {"id": p["user_id"], "name": p["name"], "role": p["role"]},
                                    (EVERYONE,))],
    "simulation.reset": lambda p: [Push("reset", {"epoch": p["epoch"]}, (EVERYONE,))],
}


def pushes_for(event_type: str, payload: dict[str, Any], tracker: OrderTracker | None = None) -> list[Push]:
    """What to push for one event. With a tracker, a trade also pushes both orders'
    new state first (the execution reports of socket_gateway/executions.py)."""
    build = PUSHES.get(event_type)
    pushes = build(payload) if build else []
    if tracker is not None:
        if event_type == "order.placed":
            tracker.order_placed(payload)
        elif event_type == "order.updated":
            if not tracker.adds_news(payload):
                pushes = []
            tracker.order_updated(payload)
        elif event_type == "simulation.reset":
            tracker.clear()  # the orders it knew are gone
        elif event_type == "trade.executed":
            reports = [Push("order", order, (user_room(order["user_id"]), INSTRUCTORS))
                       for order in tracker.trade(payload)]
            pushes = reports + pushes
    return pushes
