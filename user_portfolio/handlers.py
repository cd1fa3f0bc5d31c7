"""What user_portfolio reacts to: accounts and listings to know, orders to reserve for,
trades to settle, closing orders to release; then one portfolio.updated per touched
user per batch and, at most once a second, the leaderboard."""

from __future__ import annotations

from service_runtime import contracts as events
from service_runtime.handlers import EventHandlers

from . import services
from .batch import PortfolioBatch, Portfolios

handlers = EventHandlers("user_portfolio", batch=PortfolioBatch, state=Portfolios)
_leaderboard = services.LeaderboardAnnouncer()


@handlers.on(events.UserCreated)
def user_created(batch: PortfolioBatch, event: events.UserCreated) -> None:
    services.open_account(batch, event)


@handlers.on(events.UserUpdated)
def user_updated(batch: PortfolioBatch, event: events.UserUpdated) -> None:
    services.rename_account(batch, event)


@handlers.on(events.StockListed)
def stock_listed(batch: PortfolioBatch, event: events.StockListed) -> None:
    services.list_symbol(batch, event)


@handlers.on(events.SettingsChanged)
def settings_changed(batch: PortfolioBatch, event: events.SettingsChanged) -> None:
    services.change_rules(batch, event)


@handlers.on(events.SimulationReset)
def simulation_reset(batch: PortfolioBatch, event: events.SimulationReset) -> None:
    services.reset(batch, event)


@handlers.on(events.OrderPlaced)
def order_placed(batch: PortfolioBatch, event: events.OrderPlaced) -> None:
    services.reserve_for_order(batch, event)


@handlers.on(events.TradeExecuted)
def trade_executed(batch: PortfolioBatch, event: events.TradeExecuted) -> None:
    services.settle_trade(batch, event)


@handlers.on(events.OrderCanceled)
def order_canceled(batch: PortfolioBatch, event: events.OrderCanceled) -> None:
    services.release_order(batch, event.order_id, "canceled", event.filled_qty)


@handlers.on(events.OrderExpired)
def order_expired(batch: PortfolioBatch, event: events.OrderExpired) -> None:
    services.release_order(batch, event.order_id, "expired", event.filled_qty)


@handlers.on(events.OrderReplaced)
def order_replaced(batch: PortfolioBatch, event: events.OrderReplaced) -> None:
    services.replace_reservation(batch, event)


@handlers.on(events.OrderRejected)
def order_rejected(batch: PortfolioBatch, event: events.OrderRejected) -> None:
    # matching's rejections release what the order holds; our own come back too, holding nothing
    if batch.uow.envelope is None or batch.uow.envelope.producer != handlers.service:
        services.release_order(batch, event.order_id, "rejected", None)


@handlers.announce
def ranking(batch: PortfolioBatch) -> None:
    _leaderboard.after(batch)


@handlers.announce
def portfolios(batch: PortfolioBatch) -> None:
    services.announce_portfolios(batch)
