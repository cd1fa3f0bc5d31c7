"""Which event becomes which Socket.IO message, and who receives it: one table.

    @pushes.on(TradeExecuted)
    def trade(event: TradeExecuted, ctx: PushContext) -> list[Push]: ...

The gateway's queue is bound to exactly the events this table lists
(socket_gateway/consumer.py), and the catalog names the gateway as their consumer.

Rooms: `sym:<SYMBOL>` (public, joined by `subscribe`), `user:<id>` (joined at
connect from a valid token), `instructors` (every instructor), `authenticated`.
An order or a portfolio goes only to its owner's room and to instructors, never to
a symbol room or to everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service_runtime import contracts as events
from service_runtime.contracts import Envelope, Event

from .executions import Order, OrderTracker

INSTRUCTORS = "instructors"
TRADERS = "traders"  # signed-in clients that are not instructors
EVERYONE = None  # broadcast
LEADERBOARD_INTERVAL = 1.0  # seconds: the leaderboard is pushed at most this often
# The notice carries the board's head (user_portfolio/ranking.py); instructors get all of
# it, a trader's screen its first rows: a class of thousands must not send each
# student's browser thousands of rows a second.
TRADER_LEADERBOARD_ROWS = 100


def symbol_room(symbol: str) -> str:
    return f"sym:{symbol}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Push:
    event: str
    data: Any
    rooms: tuple[str | None, ...]


@dataclass
class PushContext:
    """What a push may need besides its event: the order tracker and the event's time."""

    tracker: OrderTracker
    at: datetime


Builder = Callable[[Any, PushContext], list[Push]]


class PushTable:
    def __init__(self) -> None:
        self.table: dict[str, Builder] = {}
        self.classes: list[type[Event]] = []

    def on(self, event_cls: type[Event]) -> Callable[[Builder], Builder]:
        def register(fn: Builder) -> Builder:
            self.table[event_cls.TYPE] = fn
            self.classes.append(event_cls)
            return fn

        return register

    @property
    def consumed(self) -> list[type[Event]]:
        return list(self.classes)

    def pushes_for(self, envelope: Envelope, tracker: OrderTracker) -> list[Push]:
        build = self.table.get(envelope.type)
        return build(envelope.event, PushContext(tracker, envelope.occurred_at)) if build else []


PUSHES = PushTable()


def _orders(orders: list[Order | None]) -> list[Push]:
    return [Push("order", o, (user_room(o["user_id"]), INSTRUCTORS)) for o in orders if o is not None]


@PUSHES.on(events.OrderPlaced)
def order_placed(e: events.OrderPlaced, ctx: PushContext) -> list[Push]:
    ctx.tracker.placed(e)  # not pushed: the REST answer showed it pending_new
    return []


@PUSHES.on(events.OrderCancelRequested)
def order_cancel_requested(e: events.OrderCancelRequested, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.cancel_requested(e, ctx.at)])


@PUSHES.on(events.OrderBooked)
def order_booked(e: events.OrderBooked, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.booked(e, ctx.at)])


@PUSHES.on(events.OrderReplaced)
def order_replaced(e: events.OrderReplaced, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.replaced(e, ctx.at)])


@PUSHES.on(events.OrderTriggered)
def order_triggered(e: events.OrderTriggered, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.triggered(e, ctx.at)])


@PUSHES.on(events.OrderRejected)
def order_rejected(e: events.OrderRejected, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.rejected(e, ctx.at)])


@PUSHES.on(events.OrderCanceled)
def order_canceled(e: events.OrderCanceled, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.canceled(e, ctx.at)])


@PUSHES.on(events.OrderExpired)
def order_expired(e: events.OrderExpired, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.expired(e, ctx.at)])


@PUSHES.on(events.TradeExecuted)
def trade_executed(e: events.TradeExecuted, ctx: PushContext) -> list[Push]:
    """Both orders' new state first (their execution reports), then the tape."""
    tape = Push("trade", {"seq": e.seq, "symbol": e.symbol, "price": e.price, "qty": e.qty,
                          "ts": e.executed_at, "trade_id": e.trade_id}, (symbol_room(e.symbol),))
    return [*_orders(ctx.tracker.trade(e)), tape]


@PUSHES.on(events.PortfolioUpdated)
def portfolio_updated(e: events.PortfolioUpdated, ctx: PushContext) -> list[Push]:
    return [Push("portfolio", e.portfolio, (user_room(e.user_id), INSTRUCTORS))]


@PUSHES.on(events.PriceUpdated)
def price_updated(e: events.PriceUpdated, ctx: PushContext) -> list[Push]:
    return [Push("price", e, (symbol_room(e.symbol),))]


@PUSHES.on(events.BookUpdated)
def book_updated(e: events.BookUpdated, ctx: PushContext) -> list[Push]:
    return [Push("book", e, (symbol_room(e.symbol),))]


@PUSHES.on(events.MarketStatusChanged)
def market_status_changed(e: events.MarketStatusChanged, ctx: PushContext) -> list[Push]:
    return [Push("market", e, (EVERYONE,))]


@PUSHES.on(events.StockListed)
def stock_listed(e: events.StockListed, ctx: PushContext) -> list[Push]:
    return [Push("stock", e, (EVERYONE,))]


@PUSHES.on(events.StockDelisted)
def stock_delisted(e: events.StockDelisted, ctx: PushContext) -> list[Push]:
    return [Push("delisted", e, (EVERYONE,))]


@PUSHES.on(events.SettingsChanged)
def settings_changed(e: events.SettingsChanged, ctx: PushContext) -> list[Push]:
    return [Push("settings", e, (EVERYONE,))]


@PUSHES.on(events.LeaderboardUpdated)
def leaderboard_updated(e: events.LeaderboardUpdated, ctx: PushContext) -> list[Push]:
    return [Push("leaderboard", e.rows, (INSTRUCTORS,)),
            Push("leaderboard", e.rows[:TRADER_LEADERBOARD_ROWS], (TRADERS,))]


@PUSHES.on(events.UserCreated)
def user_created(e: events.UserCreated, ctx: PushContext) -> list[Push]:
    return [Push("user", {"id": e.user_id, "name": e.name, "role": e.role}, (EVERYONE,))]


@PUSHES.on(events.UserUpdated)
def user_updated(e: events.UserUpdated, ctx: PushContext) -> list[Push]:
    return [Push("user", {"id": e.user_id, "name": e.name, "role": e.role}, (EVERYONE,))]


@PUSHES.on(events.SimulationReset)
def simulation_reset(e: events.SimulationReset, ctx: PushContext) -> list[Push]:
    ctx.tracker.clear()  # the orders it knew are gone
    return [Push("reset", {"epoch": e.epoch}, (EVERYONE,))]
