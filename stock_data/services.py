"""stock_data's use cases: listing, the market's status, and what an execution moves.

Routes call the listing and market ones with a unit of work; the worker's handlers
call the others with a StockDataBatch."""

from __future__ import annotations

import logging
from typing import Any

from service_runtime import contracts as events
from service_runtime.errors import Conflict, NotFound
from service_runtime.handlers import NotReady
from service_runtime.unit_of_work import UnitOfWork

from . import store
from .batch import StockDataBatch
from .domain import CLOSED, MARKET_STATUSES, NewStock, StockStats, change_pct

log = logging.getLogger("papertrade.stock_data")

Row = dict[str, Any]


def symbol_key(symbol: str) -> str:
    return f"symbol:{symbol}"


# -- instructors' commands (HTTP) ------------------------------------------------


def list_stock(uow: UnitOfWork, stock: NewStock) -> Row:
    """List a stock (or list a delisted one again) and announce it."""
    row = store.list_or_relist(uow.conn, stock.symbol, stock.name, stock.reference_price)
    if row is None:
        raise Conflict(f"{stock.symbol} is already listed", "symbol")
    uow.emit(events.StockListed(symbol=row["symbol"], name=row["name"], reference_price=row["reference_price"]))
    return row


def delist_stock(uow: UnitOfWork, symbol: str) -> Row:
    row = store.delist(uow.conn, symbol)
    if row is None:
        if store.get_stock(uow.conn, symbol) is None:
            raise NotFound(f"no stock {symbol!r}")
        raise Conflict(f"{symbol} is not listed", "symbol")
    uow.emit(events.StockDelisted(symbol=symbol))
    return row


def change_market(uow: UnitOfWork, status: str, session_minutes: int | None = None) -> tuple[Row, str, bool]:
    """Set the status (and, opening, the session's automatic close); announce it when it
    or the close time changed. Returns (market, previous status, changed)."""
    if status not in MARKET_STATUSES:
        raise ValueError(f"market status must be one of {', '.join(MARKET_STATUSES)}")
    before = store.get_market(uow.conn, for_update=True)
    if before["status"] == status and session_minutes is None:
        return before, before["status"], False
    after = store.set_market(uow.conn, status, session_minutes)
    uow.emit(events.MarketStatusChanged(status=status, previous=before["status"], closes_at=after["closes_at"]))
    return after, before["status"], True


def close_session_if_due(uow: UnitOfWork) -> bool:
    """Close the market when its session's time is up, as POST /api/market/close would."""
    if not store.session_due(uow.conn):
        return False
    change_market(uow, CLOSED)
    log.info("market closed: the session's time is up")
    return True


# -- what the worker reacts to -------------------------------------------------------


def apply_trade(batch: StockDataBatch, trade: events.TradeExecuted) -> None:
    """Extend the tape, move the stock's day statistics and its 1-minute candle."""
    stats = batch.stock(trade.symbol)
    if stats is None:
        raise NotReady(symbol_key(trade.symbol))  # not listed here yet: wait for stock.listed
    stats.apply(trade.seq, trade.price, trade.qty)
    batch.record_trade(trade.trade_id, trade.symbol, trade.seq, trade.price, trade.qty, trade.executed_at)


def learn_listing(batch: StockDataBatch, event: events.StockListed) -> None:
    """Our own listing, back from the broker: trades that waited for it apply now."""
    known = batch.stock(event.symbol)
    if known is None:
        batch.listed(StockStats(event.symbol, event.name, event.reference_price))
    else:
        known.name, known.reference_price, known.listed = event.name, event.reference_price, True
    batch.uow.release(symbol_key(event.symbol))


def learn_market(batch: StockDataBatch, event: events.MarketStatusChanged) -> None:
    """Our own market change, back from the broker: when the session must close."""
    batch.market = (event.status, event.closes_at)


def reset(batch: StockDataBatch, event: events.SimulationReset) -> None:
    """No trades or candles, prices back to the reference, market open."""
    uow = batch.uow
    if not uow.begin_epoch(event.epoch):
        return
    before = store.get_market(uow.conn, for_update=True)
    store.reset_all(uow.conn)
    batch.start_over()
    if before["status"] != "open" or before["closes_at"] is not None:
        uow.emit(events.MarketStatusChanged(status="open", previous=before["status"], closes_at=None))
    log.info("simulation reset: epoch %s", event.epoch)
    uow.release(f"epoch:{event.epoch}")


def announce_prices(batch: StockDataBatch) -> None:
    """One price.updated per symbol that traded in the batch."""
    for symbol in batch.traded:
        s = batch.changed[symbol]
        if s.last_price is not None:
            batch.uow.notify(events.PriceUpdated(
                symbol=s.symbol, last_price=s.last_price, open=s.day_open, high=s.day_high, low=s.day_low,
                volume=s.volume, change_pct=change_pct(s.last_price, s.reference_price), trade_seq=s.last_trade_seq,
            ))
