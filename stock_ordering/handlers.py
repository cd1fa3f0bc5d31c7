"""What stock_ordering reacts to: what it must know at the door (users, listings, the
market), and how each order's status moves as portfolio and matching report on it.
It emits nothing from here: screens learn of fills from matching's own events
(socket_gateway/executions.py)."""

from __future__ import annotations

from service_runtime import contracts as events
from service_runtime.handlers import EventHandlers

from . import services
from .batch import OrderBatch

# The order door writes every event this service emits: its API relays them (front_door.py).
handlers = EventHandlers("stock_ordering", batch=OrderBatch, relay_in_api=True)


@handlers.on(events.UserCreated)
def user_created(batch: OrderBatch, event: events.UserCreated) -> None:
    services.learn_user(batch, event)


@handlers.on(events.UserUpdated)
def user_updated(batch: OrderBatch, event: events.UserUpdated) -> None:
    services.learn_user(batch, event)


@handlers.on(events.StockListed)
def stock_listed(batch: OrderBatch, event: events.StockListed) -> None:
    services.learn_listing(batch, event)


@handlers.on(events.StockDelisted)
def stock_delisted(batch: OrderBatch, event: events.StockDelisted) -> None:
    services.learn_delisting(batch, event)


@handlers.on(events.MarketStatusChanged)
def market_status_changed(batch: OrderBatch, event: events.MarketStatusChanged) -> None:
    services.learn_market(batch, event)


@handlers.on(events.SimulationReset)
def simulation_reset(batch: OrderBatch, event: events.SimulationReset) -> None:
    services.reset(batch, event)


@handlers.on(events.OrderRejected)
def order_rejected(batch: OrderBatch, event: events.OrderRejected) -> None:
    services.rejected(batch, event)


@handlers.on(events.OrderReplaced)
def order_replaced(batch: OrderBatch, event: events.OrderReplaced) -> None:
    services.replaced(batch, event)


@handlers.on(events.OrderTriggered)
def order_triggered(batch: OrderBatch, event: events.OrderTriggered) -> None:
    services.triggered(batch, event)


@handlers.on(events.OrderBooked)
def order_booked(batch: OrderBatch, event: events.OrderBooked) -> None:
    services.booked(batch, event)


@handlers.on(events.TradeExecuted)
def trade_executed(batch: OrderBatch, event: events.TradeExecuted) -> None:
    services.traded(batch, event)


@handlers.on(events.OrderCanceled)
def order_canceled(batch: OrderBatch, event: events.OrderCanceled) -> None:
    services.canceled(batch, event)


@handlers.on(events.OrderExpired)
def order_expired(batch: OrderBatch, event: events.OrderExpired) -> None:
    services.expired(batch, event)
