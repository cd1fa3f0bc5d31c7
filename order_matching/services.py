"""order_matching's use cases: book and match approved orders, cancel, open and close
books, expire day orders at the close, start over at a reset.

Events about one symbol arrive in order (its queue has a single active consumer);
within a batch the writes are gathered (MatchingBatch) while events are emitted in
the order things happened.
"""

from __future__ import annotations

import logging

from service_runtime import contracts as events
from service_runtime.handlers import NotReady

from . import stops, store
from .batch import MatchingBatch
from .domain import DAY, BookOrder, MatchResult
from .order_book import OrderBook

log = logging.getLogger("papertrade.matching")
DEPTH_LEVELS = 10
REPLACE_FAILED = "replace_failed"


def open_book(batch: MatchingBatch, event: events.StockListed) -> None:
    store.add_symbol(batch.uow.conn, event.symbol, event.reference_price)
    batch.state.open(event.symbol)
    batch.state.delisted.discard(event.symbol)
    batch.uow.release(f"symbol:{event.symbol}")


def close_book(batch: MatchingBatch, event: events.StockDelisted) -> None:
    """Cancel every resting order of the symbol (reason `delisted`); orders still in
    flight are rejected when they arrive."""
    book = batch.book(event.symbol)
    if book is None:
        return
    store.set_listed(batch.uow.conn, event.symbol, False)
    batch.state.delisted.add(event.symbol)
    for order in list(book.orders()):
        removed = book.cancel(order.order_id)
        if removed is not None:
            batch.save(removed, "done", "canceled")
            batch.uow.emit(_canceled(removed, removed.remaining, "delisted"))
    for order in batch.state.stops[event.symbol].take_all():
        batch.save(order, "done", "canceled")
        batch.uow.emit(_canceled(order, order.remaining, "delisted"))
    batch.moved(book)


def reset(batch: MatchingBatch, event: events.SimulationReset) -> None:
    """Empty books, no executions, market open."""
    uow = batch.uow
    if not uow.begin_epoch(event.epoch):
        return
    store.reset_all(uow.conn)
    batch.start_over()
    batch.orders.clear()
    batch.symbols.update(batch.state.books)  # an empty book.updated for every symbol
    log.info("simulation reset: epoch %s", event.epoch)
    uow.release(f"epoch:{event.epoch}")


def change_market(batch: MatchingBatch, event: events.MarketStatusChanged) -> None:
    store.set_market_status(batch.uow.conn, event.status)
    batch.state.market = event.status
    if event.status != "closed":
        return
    for symbol, book in batch.state.books.items():
        for order in book.expire(DAY) + batch.state.stops[symbol].expire(DAY):
            batch.save(order, "done", "expired")
            batch.uow.emit(events.OrderExpired(order.order_id, order.user_id, symbol, order.filled_qty,
                                               order.remaining, order.filled_notional))
        batch.moved(book)


def match_order(batch: MatchingBatch, event: events.OrderApproved) -> None:
    state = batch.state
    book = batch.book(event.symbol)
    if book is None:
        raise NotReady(f"symbol:{event.symbol}")
    order = BookOrder(
        order_id=event.order_id, user_id=event.user_id, symbol=event.symbol, side=event.side, type=event.type,
        qty=event.qty, limit_price=event.limit_price, time_in_force=event.time_in_force,
        priority=state.next_priority(), collar_price=event.collar_price, stop_price=event.stop_price,
    )
    uow = batch.uow
    if event.order_id in state.early_cancels:
        state.early_cancels.discard(event.order_id)
        store.remove_early_cancel(uow.conn, event.order_id)
        batch.save(order, "done", "canceled")
        uow.emit(_canceled(order, order.qty, "canceled by user"))
        return
    refusal = _refusal(state.market, event.symbol in state.delisted, order.symbol)
    if refusal is None and event.replaces is not None:
        refusal = _replace(batch, book, event)
    if refusal is not None:
        batch.save(order, "done", "rejected")
        uow.emit(events.OrderRejected(order.order_id, order.user_id, order.symbol, *refusal))
        return
    steps, last_price = stops.submit(book, state.stops[event.symbol], order, state.last_prices.get(event.symbol),
                                     state.next_priority)
    for step in steps:
        if isinstance(step, stops.Held):
            batch.save(order, "waiting")
            uow.emit(events.OrderBooked(order.order_id, order.user_id, order.symbol, 0, order.qty, book.seq,
                                        triggered=False))
        elif isinstance(step, stops.Triggered):
            uow.emit(events.OrderTriggered(step.order.order_id, step.order.user_id, step.order.symbol,
                                           step.price, book.seq))
        else:
            _record(batch, book, step)
    if last_price is not None and last_price != state.last_prices.get(event.symbol):
        state.last_prices[event.symbol] = last_price
        batch.last_prices[event.symbol] = last_price


def _replace(batch: MatchingBatch, book: OrderBook, event: events.OrderApproved) -> tuple[str, str] | None:
    """Take the replaced order out of the book (or the stops) for its replacement, in
    the same step; a refusal when it is no longer the order the replace was asked for."""
    old = stops.take_out_replaced(book, batch.state.stops[event.symbol], event.replaces,  # type: ignore[arg-type]
                                  event.replaces_filled_qty, event.user_id)
    if old is None:
        return REPLACE_FAILED, (f"order {event.replaces} was filled, canceled or changed before the replace "
                                "reached the book")
    batch.save(old, "done", "replaced")
    batch.moved(book)
    batch.uow.emit(events.OrderReplaced(old.order_id, old.user_id, old.symbol, event.order_id, old.filled_qty,
                                        old.filled_notional))
    return None


def _refusal(market: str, delisted: bool, symbol: str) -> tuple[str, str] | None:
    if delisted:
        return "delisted", f"{symbol} was delisted while the order was in flight"
    if market != "open":
        return f"market_{market}", f"the market is {market}: the order reached the book too late"
    return None


def _record(batch: MatchingBatch, book: OrderBook, result: MatchResult) -> None:
    order = result.order
    uow = batch.uow
    taker_notional = order.filled_notional
    for fill, resting in zip(result.fills, result.touched, strict=True):
        notional = fill.price * fill.qty
        taker_notional += notional
        resting.filled_notional += notional
        buy, sell = (order, resting) if fill.buy_order_id == order.order_id else (resting, order)
        trade_id = batch.next_trade_id()
        batch.executions.append(
            (trade_id, fill.symbol, fill.seq, fill.price, fill.qty, fill.buy_order_id, fill.sell_order_id,
             fill.buyer_id, fill.seller_id, fill.taker_side, uow.now)
        )
        uow.emit(events.TradeExecuted(
            trade_id=trade_id, seq=fill.seq, symbol=fill.symbol, price=fill.price, qty=fill.qty,
            buy_order_id=fill.buy_order_id, sell_order_id=fill.sell_order_id, buyer_id=fill.buyer_id,
            seller_id=fill.seller_id, taker_side=fill.taker_side, buy_filled_qty=fill.buy_filled_qty,
            sell_filled_qty=fill.sell_filled_qty, buy_remaining=fill.buy_remaining,
            sell_remaining=fill.sell_remaining, executed_at=uow.now,
            buy_filled_notional=taker_notional if buy is order else buy.filled_notional,
            sell_filled_notional=taker_notional if sell is order else sell.filled_notional,
        ))
        log.info("trade %s %s %s @ %s (buy %s / sell %s)", trade_id, fill.symbol, fill.qty, fill.price,
                 fill.buy_order_id, fill.sell_order_id)
    order.filled_notional = taker_notional
    for resting in result.touched:
        batch.save(resting, "resting" if resting.remaining else "done", None if resting.remaining else "filled")
    if result.rested:
        batch.save(order, "resting")
        uow.emit(events.OrderBooked(order.order_id, order.user_id, order.symbol, order.filled_qty, order.remaining,
                                    book.seq, order.filled_notional, triggered=True if order.triggered else None))
    elif result.canceled_qty:
        batch.save(order, "done", "canceled")
        uow.emit(_canceled(order, result.canceled_qty, result.cancel_reason or "canceled"))
    else:
        batch.save(order, "done", "filled")
    batch.moved(book)


def _canceled(order: BookOrder, qty: int, reason: str) -> events.OrderCanceled:
    return events.OrderCanceled(order.order_id, order.user_id, order.symbol, order.filled_qty, qty, reason,
                         order.filled_notional)


def cancel_order(batch: MatchingBatch, event: events.OrderCancelRequested) -> None:
    book = batch.book(event.symbol)
    removed = book.cancel(event.order_id) if book is not None else None
    if removed is None and event.symbol in batch.state.stops:
        removed = batch.state.stops[event.symbol].cancel(event.order_id)
    uow = batch.uow
    if removed is not None:
        batch.save(removed, "done", "canceled")
        batch.moved(book)  # type: ignore[arg-type]
        uow.emit(_canceled(removed, removed.remaining, "canceled by user"))
        return
    if event.order_id not in batch.orders and store.order_status(uow.conn, event.order_id) is None:
        # The cancel overtook its order (they come from different producers):
        # keep it, and cancel the order the moment it arrives.
        store.add_early_cancel(uow.conn, event.order_id, event.user_id, event.symbol)
        batch.state.early_cancels.add(event.order_id)
    # Otherwise the order is already done (filled, canceled, rejected): the cancel lost the race.


def announce_books(batch: MatchingBatch) -> None:
    """One book.updated per symbol whose depth the batch changed."""
    for symbol in sorted(batch.symbols):
        book = batch.state.books[symbol]
        bids, asks = book.depth(DEPTH_LEVELS)
        batch.uow.notify(events.BookUpdated(symbol=symbol, seq=book.seq,
                                     bids=[events.BookLevel(p, q, n) for p, q, n in bids],
                                     asks=[events.BookLevel(p, q, n) for p, q, n in asks]))
