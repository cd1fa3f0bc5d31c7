"""stock_data reacts to executions: each trade.executed extends the tape, moves the
stock's last price and day stats and its 1-minute candle; once per batch, one
price.updated per symbol that traded (never one per trade)."""

from __future__ import annotations

import logging

import psycopg

from service_runtime.contracts import TradeExecuted
from service_runtime.handlers import EventHandlers, NotReady, UnitOfWork, release_now

from . import store

log = logging.getLogger("papertrade.stock_data")

handlers = EventHandlers("stock_data")


def symbol_key(symbol: str) -> str:
    return f"symbol:{symbol}"


@handlers.on(TradeExecuted)
def apply_trade(uow: UnitOfWork, event: TradeExecuted) -> None:
    # Lock the stock first so concurrent batches on one symbol apply one after the other.
    if store.get_stock(uow.conn, event.symbol, for_update=True) is None:
        raise NotReady(symbol_key(event.symbol))
    if store.record_trade(uow.conn, event):
        uow.touch("symbol", event.symbol)
    else:
        log.info("trade %s (%s seq %s) already on the tape", event.trade_id, event.symbol, event.seq)


@handlers.after_batch
def announce_prices(uow: UnitOfWork) -> None:
    for symbol in sorted(uow.touched.get("symbol", ())):
        row = store.get_stock(uow.conn, symbol)
        if row is not None and row["last_price"] is not None:
            uow.emit(store.price_updated_event(row))


def release_symbol(conn: psycopg.Connection, symbol: str) -> bool:
    """Apply, in the caller's transaction, the trades parked until `symbol` was listed,
    and emit their price.updated. True when there were any."""
    waiting = conn.execute(
        "SELECT 1 FROM parked_events WHERE wait_key = %s LIMIT 1", (symbol_key(symbol),)
    ).fetchone()
    if waiting is None:
        return False
    release_now(conn, handlers, symbol_key(symbol))
    return True
