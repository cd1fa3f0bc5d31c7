"""What stock_data reacts to: executions move the tape, prices and candles; its own
listings and market changes, back from the broker, update what its worker keeps in
memory; a reset starts over. One price.updated per symbol per batch."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from service_runtime import contracts as events
from service_runtime.handlers import EventHandlers
from service_runtime.unit_of_work import UnitOfWork

from . import services
from .batch import StockData, StockDataBatch

handlers = EventHandlers("stock_data", batch=StockDataBatch, state=StockData)


@handlers.on(events.TradeExecuted)
def trade_executed(batch: StockDataBatch, event: events.TradeExecuted) -> None:
    services.apply_trade(batch, event)


@handlers.on(events.StockListed)
def stock_listed(batch: StockDataBatch, event: events.StockListed) -> None:
    services.learn_listing(batch, event)


@handlers.on(events.MarketStatusChanged)
def market_status_changed(batch: StockDataBatch, event: events.MarketStatusChanged) -> None:
    services.learn_market(batch, event)


@handlers.on(events.SimulationReset)
def simulation_reset(batch: StockDataBatch, event: events.SimulationReset) -> None:
    services.reset(batch, event)


@handlers.announce
def prices(batch: StockDataBatch) -> None:
    services.announce_prices(batch)


@handlers.periodic(1.0, when=lambda state: state is not None
                   and state.session_check_due(datetime.now(UTC), time.monotonic()))
def close_when_the_session_ends(uow: UnitOfWork) -> None:
    services.close_session_if_due(uow)
