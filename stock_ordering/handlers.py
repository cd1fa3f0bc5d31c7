"""What stock_ordering reacts to: what it must know at the door (users, listings, the
market), and how each order's status moves as portfolio and matching report on it.
It emits nothing from here: screens learn of fills from matching's own events
(socket_gateway/executions.py)."""

from __future__ import annotations

from service_runtime.contracts import (
    MarketStatusChanged,
    OrderBooked,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    SimulationReset,
    StockDelisted,
    StockListed,
    TradeExecuted,
    UserCreated,
    UserUpdated,
)
from service_runtime.handlers import EventHandlers

from . import services
from .batch import OrderBatch

# The order door writes every event this service emits: its API relays them (front_door.py).
handlers = EventHandlers("stock_ordering", batch=OrderBatch, relay_in_api=True)


@handlers.on(UserCreated)
def user_created(batch: OrderBatch, event: UserCreated) -> None:
    services.learn_user(batch, event)


@handlers.on(UserUpdated)
def user_updated(batch: OrderBatch, event: UserUpdated) -> None:
    services.learn_user(batch, event)


@handlers.on(StockListed)
def stock_listed(batch: OrderBatch, event: StockListed) -> None:
    services.learn_listing(batch, event)


@handlers.on(StockDelisted)
def stock_delisted(batch: OrderBatch, event: StockDelisted) -> None:
    services.learn_delisting(batch, event)


@handlers.on(MarketStatusChanged)
def market_status_changed(batch: OrderBatch, event: MarketStatusChanged) -> None:
    services.learn_market(batch, event)


@handlers.on(SimulationReset)
def simulation_reset(batch: OrderBatch, event: SimulationReset) -> None:
    services.reset(batch, event)


@handlers.on(OrderRejected)
def order_rejected(batch: OrderBatch, event: OrderRejected) -> None:
    services.rejected(batch, event)


@handlers.on(OrderBooked)
def order_booked(batch: OrderBatch, event: OrderBooked) -> None:
    services.booked(batch, event)


@handlers.on(TradeExecuted)
def trade_executed(batch: OrderBatch, event: TradeExecuted) -> None:
    services.traded(batch, event)


@handlers.on(OrderCanceled)
def order_canceled(batch: OrderBatch, event: OrderCanceled) -> None:
    services.canceled(batch, event)


@handlers.on(OrderExpired)
def order_expired(batch: OrderBatch, event: OrderExpired) -> None:
    services.expired(batch, event)
