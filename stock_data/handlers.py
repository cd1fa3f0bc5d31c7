"""stock_data reacts to executions: each trade.executed extends the tape, moves the
stock's last price and day stats and its 1-minute candle; once per batch, one
price.updated per symbol that traded (never one per trade).

A batch costs a constant number of statements, whatever its size: `prefetch` locks
the batch's stocks and learns which of its trades are already on the tape (two
queries), the handler applies each new trade in memory, and `write_and_announce`
writes the tape, the candles and the stocks with one statement each."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from service_runtime.contracts import Event, MarketStatusChanged, SimulationReset, TradeExecuted
from service_runtime.handlers import EventHandlers, NotReady, UnitOfWork, release_now

from . import store

log = logging.getLogger("papertrade.stock_data")

handlers = EventHandlers("stock_data")


def symbol_key(symbol: str) -> str:
    return f"symbol:{symbol}"


@dataclass
class TradeBatch:
    """What a batch has loaded and what it will write (kept in uow.touched["trade_batch"])."""

    stocks: dict[str, dict[str, Any]] = field(default_factory=dict)  # locked rows, changed in memory
    checked: set[int] = field(default_factory=set)  # trade ids whose presence on the tape is known
    on_tape: set[int] = field(default_factory=set)  # ... of which these are on it (or applied now)
    tape: list[TradeExecuted] = field(default_factory=list)  # new trades to insert
    candles: dict[tuple[str, datetime], dict[str, Any]] = field(default_factory=dict)


def _batch(uow: UnitOfWork) -> TradeBatch:
    return uow.touched.setdefault("trade_batch", TradeBatch())  # type: ignore[arg-type, return-value]


@handlers.before_batch
def prefetch(uow: UnitOfWork, events: list[Event]) -> None:
    trades = [e for e in events if isinstance(e, TradeExecuted)]
    if not trades:
        return
    batch = _batch(uow)
    # Lock the stocks first, so concurrent batches on one symbol apply one after the
    # other, and only then look at the tape (it now holds what they committed).
    batch.stocks.update(store.stocks_for_update(uow.conn, {t.symbol for t in trades}))
    ids = {t.trade_id for t in trades}
    batch.on_tape |= store.trades_on_tape(uow.conn, ids)
    batch.checked |= ids


def _stock(uow: UnitOfWork, batch: TradeBatch, symbol: str) -> dict[str, Any]:
    stock = batch.stocks.get(symbol)
    if stock is None:
        # Not prefetched (an event released mid-batch), or not listed when the batch
        # started: ask now, as the listing may have committed since.
        stock = store.get_stock(uow.conn, symbol, for_update=True)
        if stock is None:
            raise NotReady(symbol_key(symbol))
        batch.stocks[symbol] = stock
    return stock


@handlers.on(TradeExecuted)
def apply_trade(uow: UnitOfWork, event: TradeExecuted) -> None:
    batch = _batch(uow)
    stock = _stock(uow, batch, event.symbol)  # raises NotReady before anything changes
    if event.trade_id not in batch.checked:
        batch.on_tape |= store.trades_on_tape(uow.conn, {event.trade_id})
        batch.checked.add(event.trade_id)
    if event.trade_id in batch.on_tape:
        log.info("trade %s (%s seq %s) already on the tape", event.trade_id, event.symbol, event.seq)
        return
    batch.on_tape.add(event.trade_id)
    store.apply_to_stock(stock, event)
    store.add_to_candle(batch.candles, event)
    batch.tape.append(event)
    uow.touch("symbol", event.symbol)


@handlers.on(SimulationReset)
def reset(uow: UnitOfWork, event: SimulationReset) -> None:
    """No trades or candles, prices back to the reference, market open."""
    if not uow.begin_epoch(event.epoch):
        return
    before = store.reset_all(uow.conn)
    if before["status"] != "open" or before["closes_at"] is not None:
        uow.emit(MarketStatusChanged(status="open", previous=before["status"], closes_at=None))
    log.info("simulation reset: epoch %s", event.epoch)
    uow.release(f"epoch:{event.epoch}")


@handlers.periodic
def close_when_the_session_ends(conn: psycopg.Connection) -> None:
    if store.close_session_if_due(conn):
        log.info("market closed: the session's time is up")


@handlers.after_batch
def write_and_announce(uow: UnitOfWork) -> None:
    """Write the batch's new trades, candles and stock statistics (one statement each),
    then emit one price.updated per symbol that traded."""
    batch: TradeBatch | None = uow.touched.get("trade_batch")  # type: ignore[assignment]
    if batch is None or not batch.tape:
        return
    symbols = sorted(uow.touched.get("symbol", ()))
    store.insert_trades(uow.conn, batch.tape)
    store.upsert_candles(uow.conn, list(batch.candles.values()))
    store.update_stocks(uow.conn, [batch.stocks[s] for s in symbols])
    for symbol in symbols:
        row = batch.stocks[symbol]
        if row["last_price"] is not None:
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
