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

from service_runtime.contracts import (
    BookUpdated,
    Envelope,
    Event,
    LeaderboardUpdated,
    MarketStatusChanged,
    OrderBooked,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PortfolioUpdated,
    PriceUpdated,
    SettingsChanged,
    SimulationReset,
    StockDelisted,
    StockListed,
    TradeExecuted,
    UserCreated,
    UserUpdated,
)

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


@PUSHES.on(OrderPlaced)
def order_placed(e: OrderPlaced, ctx: PushContext) -> list[Push]:
    ctx.tracker.placed(e)  # not pushed: the REST answer showed it pending_new
    return []


@PUSHES.on(OrderCancelRequested)
def order_cancel_requested(e: OrderCancelRequested, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.cancel_requested(e, ctx.at)])


@PUSHES.on(OrderBooked)
def order_booked(e: OrderBooked, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.booked(e, ctx.at)])


@PUSHES.on(OrderRejected)
def order_rejected(e: OrderRejected, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.rejected(e, ctx.at)])


@PUSHES.on(OrderCanceled)
def order_canceled(e: OrderCanceled, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.canceled(e, ctx.at)])


@PUSHES.on(OrderExpired)
def order_expired(e: OrderExpired, ctx: PushContext) -> list[Push]:
    return _orders([ctx.tracker.expired(e, ctx.at)])


@PUSHES.on(TradeExecuted)
def trade_executed(e: TradeExecuted, ctx: PushContext) -> list[Push]:
    """Both orders' new state first (their execution reports), then the tape."""
    tape = Push("trade", {"seq": e.seq, "symbol": e.symbol, "price": e.price, "qty": e.qty,
                          "ts": e.executed_at, "trade_id": e.trade_id}, (symbol_room(e.symbol),))
    return [*_orders(ctx.tracker.trade(e)), tape]


@PUSHES.on(PortfolioUpdated)
def portfolio_updated(e: PortfolioUpdated, ctx: PushContext) -> list[Push]:
    return [Push("portfolio", e.portfolio, (user_room(e.user_id), INSTRUCTORS))]


@PUSHES.on(PriceUpdated)
def price_updated(e: PriceUpdated, ctx: PushContext) -> list[Push]:
    return [Push("price", e, (symbol_room(e.symbol),))]


@PUSHES.on(BookUpdated)
def book_updated(e: BookUpdated, ctx: PushContext) -> list[Push]:
    return [Push("book", e, (symbol_room(e.symbol),))]


@PUSHES.on(MarketStatusChanged)
def market_status_changed(e: MarketStatusChanged, ctx: PushContext) -> list[Push]:
    return [Push("market", e, (EVERYONE,))]


@PUSHES.on(StockListed)
def stock_listed(e: StockListed, ctx: PushContext) -> list[Push]:
    return [Push("stock", e, (EVERYONE,))]


@PUSHES.on(StockDelisted)
def stock_delisted(e: StockDelisted, ctx: PushContext) -> list[Push]:
    return [Push("delisted", e, (EVERYONE,))]


@PUSHES.on(SettingsChanged)
def settings_changed(e: SettingsChanged, ctx: PushContext) -> list[Push]:
    return [Push("settings", e, (EVERYONE,))]


@PUSHES.on(LeaderboardUpdated)
def leaderboard_updated(e: LeaderboardUpdated, ctx: PushContext) -> list[Push]:
    return [Push("leaderboard", e.rows, (INSTRUCTORS,)),
            Push("leaderboard", e.rows[:TRADER_LEADERBOARD_ROWS], (TRADERS,))]


@PUSHES.on(UserCreated)
def user_created(e: UserCreated, ctx: PushContext) -> list[Push]:
    return [Push("user", {"id": e.user_id, "name": e.name, "role": e.role}, (EVERYONE,))]


@PUSHES.on(UserUpdated)
def user_updated(e: UserUpdated, ctx: PushContext) -> list[Push]:
    return [Push("user", {"id": e.user_id, "name": e.name, "role": e.role}, (EVERYONE,))]


@PUSHES.on(SimulationReset)
def simulation_reset(e: SimulationReset, ctx: PushContext) -> list[Push]:
    ctx.tracker.clear()  # the orders it knew are gone
    return [Push("reset", {"epoch": e.epoch}, (EVERYONE,))]
