"""order_matching's event handlers: the books live in memory, every change is
written to its database in the same transaction as the events announcing it,
and the books are rebuilt from that database on every start (`load_books`).

Events about one symbol arrive in order because the queue has a single active
consumer; within a batch, database writes are gathered and flushed once
(`flush_batch`), while events are emitted in the order things happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg

from service_runtime.config import get_settings
from service_runtime.contracts import (
    BookUpdated,
    MarketStatusChanged,
    OrderApproved,
    OrderBooked,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderRejected,
    SimulationReset,
    StockDelisted,
    StockListed,
    TradeExecuted,
)
from service_runtime.handlers import EventHandlers, NotReady, UnitOfWork
from service_runtime.shards import trade_id

from . import store
from .domain import DAY, BookOrder, MatchResult, OrderBook

log = logging.getLogger("papertrade.matching")
handlers = EventHandlers("order_matching")
DEPTH_LEVELS = 10
TRADE_ID_BLOCK = 200


@dataclass
class MatchingState:
    books: dict[str, OrderBook] = field(default_factory=dict)
    market: str = "closed"
    priority: int = 0
    early_cancels: set[int] = field(default_factory=set)
    trade_ids: list[int] = field(default_factory=list)
    delisted: set[str] = field(default_factory=set)


state = MatchingState()


@handlers.on_start
def load_books(conn: psycopg.Connection) -> None:
    """Rebuild every book from the database: resting orders in priority order."""
    shards = get_settings().matching_shards
    recorded = store.recorded_shards(conn)
    if recorded is not None and recorded != shards:
        raise RuntimeError(f"this database was set up for {recorded} matching shards, "
                           f"but PAPERTRADE_MATCHING_SHARDS={shards}: run `python -m stack setup` with the same count")
    fresh = MatchingState()
    for symbol, seq in store.load_symbols(conn).items():
        fresh.books[symbol] = OrderBook(symbol, seq)
    resting = store.load_resting(conn)
    for order in resting:
        fresh.books[order.symbol].add_resting(order)
    fresh.market = store.market_status(conn)
    fresh.priority = store.max_priority(conn)
    fresh.early_cancels = store.early_cancels(conn)
    fresh.delisted = store.delisted_symbols(conn)
    global state
    state = fresh
    log.info("books rebuilt: %d symbols, %d resting orders, market %s", len(fresh.books), len(resting), fresh.market)


class _Batch:
    """What a batch changed, flushed to the database once in `flush_batch`."""

    def __init__(self) -> None:
        self.orders: dict[int, tuple[BookOrder, str, str | None]] = {}
        self.executions: list[tuple] = []
        self.seqs: dict[str, int] = {}

    def order(self, order: BookOrder, status: str, outcome: str | None = None) -> None:
        self.orders[order.order_id] = (order, status, outcome)


def _batch(uow: UnitOfWork) -> _Batch:
    batch = uow.touched.get("batch")
    if batch is None:
        batch = uow.touched["batch"] = _Batch()  # type: ignore[assignment]
    return batch  # type: ignore[return-value]


def _trade_id(uow: UnitOfWork) -> int:
    if not state.trade_ids:
        # Each shard draws from its own database's sequence; the ids interleave so
        # they are unique across shards (and unchanged with one shard).
        settings = get_settings()
        state.trade_ids = [trade_id(raw, settings.matching_shard, settings.matching_shards)
                           for raw in store.next_trade_ids(uow.conn, TRADE_ID_BLOCK)]
    return state.trade_ids.pop(0)


@handlers.on(StockListed)
def open_book(uow: UnitOfWork, event: StockListed) -> None:
    store.add_symbol(uow.conn, event.symbol, event.reference_price)
    state.books.setdefault(event.symbol, OrderBook(event.symbol))
    state.delisted.discard(event.symbol)
    uow.release(f"symbol:{event.symbol}")


@handlers.on(StockDelisted)
def close_book(uow: UnitOfWork, event: StockDelisted) -> None:
    """Cancel every resting order of the symbol (reason `delisted`); orders still in
    flight are rejected when they arrive."""
    book = state.books.get(event.symbol)
    if book is None:
        return
    store.set_listed(uow.conn, event.symbol, False)
    state.delisted.add(event.symbol)
    batch = _batch(uow)
    for order in list(book.orders()):
        removed = book.cancel(order.order_id)
        if removed is None:
            continue
        batch.order(removed, "done", "canceled")
        uow.emit(OrderCanceled(removed.order_id, removed.user_id, removed.symbol, removed.filled_qty,
                               removed.remaining, "delisted"))
    batch.seqs[event.symbol] = book.seq
    uow.touch("symbol", event.symbol)


@handlers.on(SimulationReset)
def reset(uow: UnitOfWork, event: SimulationReset) -> None:
    """Empty books, no executions, market open; the in-memory books are rebuilt from that."""
    if not uow.begin_epoch(event.epoch):
        return
    store.reset_all(uow.conn)
    load_books(uow.conn)
    for symbol in state.books:
        uow.touch("symbol", symbol)  # an empty book.updated for every symbol
    log.info("simulation reset: epoch %s", event.epoch)
    uow.release(f"epoch:{event.epoch}")


@handlers.on(MarketStatusChanged)
def market_changed(uow: UnitOfWork, event: MarketStatusChanged) -> None:
    store.set_market_status(uow.conn, event.status)
    state.market = event.status
    if event.status != "closed":
        return
    batch = _batch(uow)
    for symbol, book in state.books.items():
        for order in book.expire(DAY):
            batch.order(order, "done", "expired")
            uow.emit(OrderExpired(order.order_id, order.user_id, symbol, order.filled_qty, order.remaining))
        batch.seqs[symbol] = book.seq
        uow.touch("symbol", symbol)


@handlers.on(OrderApproved)
def match_order(uow: UnitOfWork, event: OrderApproved) -> None:
    book = state.books.get(event.symbol)
    if book is None:
        raise NotReady(f"symbol:{event.symbol}")
    batch = _batch(uow)
    state.priority += 1
    order = BookOrder(
        order_id=event.order_id, user_id=event.user_id, symbol=event.symbol, side=event.side, type=event.type,
        qty=event.qty, limit_price=event.limit_price, time_in_force=event.time_in_force,
        priority=state.priority, collar_price=event.collar_price,
    )
    if event.order_id in state.early_cancels:
        state.early_cancels.discard(event.order_id)
        store.remove_early_cancel(uow.conn, event.order_id)
        batch.order(order, "done", "canceled")
        uow.emit(OrderCanceled(order.order_id, order.user_id, order.symbol, 0, order.qty, "canceled by user"))
        return
    if event.symbol in state.delisted:
        batch.order(order, "done", "rejected")
        uow.emit(OrderRejected(order.order_id, order.user_id, order.symbol, "delisted",
                               f"{order.symbol} was delisted while the order was in flight"))
        return
    if state.market != "open":
        batch.order(order, "done", "rejected")
        uow.emit(OrderRejected(order.order_id, order.user_id, order.symbol, f"market_{state.market}",
                               f"the market is {state.market}: the order reached the book too late"))
        return
    result = book.submit(order)
    _record(uow, batch, book, result)


def _record(uow: UnitOfWork, batch: _Batch, book: OrderBook, result: MatchResult) -> None:
    order = result.order
    for fill in result.fills:
        trade_id = _trade_id(uow)
        batch.executions.append(
            (trade_id, fill.symbol, fill.seq, fill.price, fill.qty, fill.buy_order_id, fill.sell_order_id,
             fill.buyer_id, fill.seller_id, fill.taker_side, uow.now)
        )
        uow.emit(
            TradeExecuted(
                trade_id=trade_id, seq=fill.seq, symbol=fill.symbol, price=fill.price, qty=fill.qty,
                buy_order_id=fill.buy_order_id, sell_order_id=fill.sell_order_id, buyer_id=fill.buyer_id,
                seller_id=fill.seller_id, taker_side=fill.taker_side, buy_filled_qty=fill.buy_filled_qty,
                sell_filled_qty=fill.sell_filled_qty, buy_remaining=fill.buy_remaining,
                sell_remaining=fill.sell_remaining, executed_at=uow.now,
            )
        )
        log.info("trade %s %s %s @ %s (buy %s / sell %s)", trade_id, fill.symbol, fill.qty, fill.price,
                 fill.buy_order_id, fill.sell_order_id)
    for resting in result.touched:
        batch.order(resting, "resting" if resting.remaining else "done", None if resting.remaining else "filled")
    if result.rested:
        batch.order(order, "resting")
        uow.emit(OrderBooked(order.order_id, order.user_id, order.symbol, order.filled_qty, order.remaining,
                             book.seq))
    elif result.canceled_qty:
        batch.order(order, "done", "canceled")
        uow.emit(OrderCanceled(order.order_id, order.user_id, order.symbol, order.filled_qty,
                               result.canceled_qty, result.cancel_reason or "canceled"))
    else:
        batch.order(order, "done", "filled")
    batch.seqs[book.symbol] = book.seq
    uow.touch("symbol", book.symbol)


@handlers.on(OrderCancelRequested)
def cancel_order(uow: UnitOfWork, event: OrderCancelRequested) -> None:
    book = state.books.get(event.symbol)
    removed = book.cancel(event.order_id) if book is not None else None
    if removed is not None:
        batch = _batch(uow)
        batch.order(removed, "done", "canceled")
        batch.seqs[removed.symbol] = book.seq
        uow.touch("symbol", removed.symbol)
        uow.emit(OrderCanceled(removed.order_id, removed.user_id, removed.symbol, removed.filled_qty,
                               removed.remaining, "canceled by user"))
        return
    if store.order_status(uow.conn, event.order_id) is None and event.order_id not in _batch(uow).orders:
        # The cancel overtook its order (they come from different producers):
        # keep it, and cancel the order the moment it arrives.
        store.add_early_cancel(uow.conn, event.order_id, event.user_id, event.symbol)
        state.early_cancels.add(event.order_id)
    # Otherwise the order is already done (filled, canceled, rejected): the cancel lost the race.


@handlers.after_batch
def flush_batch(uow: UnitOfWork) -> None:
    batch = uow.touched.get("batch")
    if batch is not None:
        store.insert_executions(uow.conn, batch.executions)  # type: ignore[union-attr]
        store.save_orders(uow.conn, list(batch.orders.values()))  # type: ignore[union-attr]
        store.save_seqs(uow.conn, batch.seqs)  # type: ignore[union-attr]
    for symbol in sorted(uow.touched.get("symbol", ())):
        book = state.books[symbol]
        bids, asks = book.depth(DEPTH_LEVELS)
        uow.emit(
            BookUpdated(
                symbol=symbol,
                seq=book.seq,
                bids=[{"price": p, "qty": q, "orders": n} for p, q, n in bids],
                asks=[{"price": p, "qty": q, "orders": n} for p, q, n in asks],
            )
        )
