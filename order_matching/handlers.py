"""What order_matching reacts to: approved orders are matched, cancels take orders out
of the book, listings open books, the close expires day orders, a reset empties them.
One book.updated per changed book per batch."""

from __future__ import annotations

from service_runtime import contracts as events
from service_runtime.handlers import EventHandlers

from . import services
from .batch import Books, MatchingBatch

handlers = EventHandlers("order_matching", batch=MatchingBatch, state=Books)


@handlers.on(events.OrderApproved)
def order_approved(batch: MatchingBatch, event: events.OrderApproved) -> None:
    services.match_order(batch, event)


@handlers.on(events.OrderCancelRequested)
def order_cancel_requested(batch: MatchingBatch, event: events.OrderCancelRequested) -> None:
    services.cancel_order(batch, event)


@handlers.on(events.StockListed)
def stock_listed(batch: MatchingBatch, event: events.StockListed) -> None:
    services.open_book(batch, event)


@handlers.on(events.StockDelisted)
def stock_delisted(batch: MatchingBatch, event: events.StockDelisted) -> None:
    services.close_book(batch, event)


@handlers.on(events.MarketStatusChanged)
def market_status_changed(batch: MatchingBatch, event: events.MarketStatusChanged) -> None:
    services.change_market(batch, event)


@handlers.on(events.SimulationReset)
def simulation_reset(batch: MatchingBatch, event: events.SimulationReset) -> None:
    services.reset(batch, event)


@handlers.announce
def books(batch: MatchingBatch) -> None:
    services.announce_books(batch)
