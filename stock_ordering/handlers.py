"""stock_ordering's event handlers: what it learns (users, symbols, market status)
and how each order's status moves as portfolio and matching report on it.

A batch costs a constant number of statements, whatever its size: `prefetch` locks
and loads every order the batch mentions in one query, the handlers change those
rows in memory (and queue their history rows), and `write_and_announce` writes
every changed order with one UPDATE and every history row with one INSERT, then
emits one order.updated per changed order."""

from __future__ import annotations

import logging
from typing import Any

from service_runtime.contracts import (
    Event,
    MarketStatusChanged,
    OrderApproved,
    OrderBooked,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderUpdated,
    SimulationReset,
    StockDelisted,
    StockListed,
    TradeExecuted,
    UserCreated,
)
from service_runtime.handlers import EventHandlers, UnitOfWork

from . import store
from .domain import order_json

log = logging.getLogger("papertrade.orders")
handlers = EventHandlers("stock_ordering")

# Per-batch scratch space in uow.touched: the orders as this batch last saw them, the
# ids the prefetch found missing, and the history rows to insert at the end.
ROWS, MISSING, HISTORY = "order_rows", "order_missing", "order_history"
ABOUT_ONE_ORDER = (OrderApproved, OrderRejected, OrderBooked, OrderCanceled, OrderExpired)


def _scratch(uow: UnitOfWork, key: str, empty: Any) -> Any:
    return uow.touched.setdefault(key, empty)


@handlers.before_batch
def prefetch(uow: UnitOfWork, events: list[Event]) -> None:
    """Lock and load, in one query, every order the batch's events mention."""
    ids: set[int] = set()
    for event in events:
        if isinstance(event, TradeExecuted):
            ids.update((event.buy_order_id, event.sell_order_id))
        elif isinstance(event, ABOUT_ONE_ORDER):
            ids.add(event.order_id)
    if not ids:
        return
    rows = store.orders_for_update(uow.conn, ids)
    cache = _scratch(uow, ROWS, {})
    for order_id, row in rows.items():
        cache.setdefault(order_id, row)
    _scratch(uow, MISSING, set()).update(ids - rows.keys())


def _load(uow: UnitOfWork, order_id: int) -> dict | None:
    """The order as this batch last saw it (batches often touch one order several times).
    Prefetched for the batch's events; loaded singly for any other (a released event)."""
    cache = _scratch(uow, ROWS, {})
    if order_id in cache:
        return cache[order_id]
    row = None
    if order_id not in _scratch(uow, MISSING, set()):
        row = store.get_order(uow.conn, order_id, for_update=True)
    if row is None:
        log.warning("event for unknown order %s ignored", order_id)
        return None
    cache[order_id] = row
    return row


def _history(uow: UnitOfWork, order: dict, detail: str | None) -> None:
    _scratch(uow, HISTORY, []).append((order["id"], order["status"], order["filled_qty"], detail))


def _save(uow: UnitOfWork, order: dict, detail: str | None = None) -> None:
    """Derive the order's status now (a history row when it changed); the row itself is
    written once, at the end of the batch."""
    if store.refresh_status(order):
        _history(uow, order, detail)
    uow.touch("order", order["id"])


@handlers.on(UserCreated)
def remember_user(uow: UnitOfWork, event: UserCreated) -> None:
    uow.execute(
        "INSERT INTO known_users (user_id, name, role) VALUES (%s, %s, %s) ON CONFLICT (user_id) DO NOTHING",
        (event.user_id, event.name, event.role),
    )


@handlers.on(StockListed)
def remember_symbol(uow: UnitOfWork, event: StockListed) -> None:
    uow.execute(
        "INSERT INTO known_symbols (symbol, name) VALUES (%s, %s) ON CONFLICT (symbol) DO NOTHING",
        (event.symbol, event.name),
    )


@handlers.on(StockDelisted)
def forget_symbol(uow: UnitOfWork, event: StockDelisted) -> None:
    """New orders for it are refused at the door (unknown_symbol); matching cancels the resting ones."""
    uow.execute("DELETE FROM known_symbols WHERE symbol = %s", (event.symbol,))


@handlers.on(SimulationReset)
def reset(uow: UnitOfWork, event: SimulationReset) -> None:
    """No orders, market open. begin_epoch writes the epoch row first: the front door
    holds it share-locked while it inserts, so no old-epoch order survives this."""
    if not uow.begin_epoch(event.epoch):
        return
    store.reset_all(uow.conn)
    log.info("simulation reset: epoch %s", event.epoch)
    uow.release(f"epoch:{event.epoch}")


@handlers.on(MarketStatusChanged)
def remember_market(uow: UnitOfWork, event: MarketStatusChanged) -> None:
    uow.execute("UPDATE market SET status = %s, changed_at = now() WHERE id = 1", (event.status,))


@handlers.on(OrderApproved)
def approved(uow: UnitOfWork, event: OrderApproved) -> None:
    # Approval alone does not change the status: an order stays pending_new until
    # matching has handled it, so a client that waits for it to leave pending_new
    # knows the book has seen it.
    order = _load(uow, event.order_id)
    if order is not None and not order["final_status"]:
        _history(uow, order, "approved")


@handlers.on(OrderRejected)
def rejected(uow: UnitOfWork, event: OrderRejected) -> None:
    order = _load(uow, event.order_id)
    if order is None or order["final_status"]:
        return
    order["final_status"] = "rejected"
    order["reject_reason"] = f"{event.reason}: {event.message}" if event.message else event.reason
    _save(uow, order, order["reject_reason"])


@handlers.on(OrderBooked)
def booked(uow: UnitOfWork, event: OrderBooked) -> None:
    order = _load(uow, event.order_id)
    if order is None:
        return
    order["booked"] = True
    order["filled_qty"] = max(order["filled_qty"], event.filled_qty)
    _save(uow, order)


@handlers.on(TradeExecuted)
def traded(uow: UnitOfWork, event: TradeExecuted) -> None:
    for order_id, cumulative in ((event.buy_order_id, event.buy_filled_qty),
                                 (event.sell_order_id, event.sell_filled_qty)):
        order = _load(uow, order_id)
        if order is None:
            continue
        order["booked"] = True
        store.apply_fill(order, cumulative, event.price, event.qty)
        _save(uow, order, f"trade {event.trade_id}: {event.qty} @ {event.price}")


@handlers.on(OrderCanceled)
def canceled(uow: UnitOfWork, event: OrderCanceled) -> None:
    _finish(uow, event.order_id, "canceled", event.filled_qty, event.reason)


@handlers.on(OrderExpired)
def expired(uow: UnitOfWork, event: OrderExpired) -> None:
    _finish(uow, event.order_id, "expired", event.filled_qty, "market closed")


def _finish(uow: UnitOfWork, order_id: int, final: str, filled_qty: int, detail: str) -> None:
    order = _load(uow, order_id)
    if order is None:
        return
    order["booked"] = True
    order["filled_qty"] = max(order["filled_qty"], filled_qty)
    if not order["final_status"]:
        order["final_status"] = "filled" if order["filled_qty"] >= order["qty"] else final
    _save(uow, order, detail)


@handlers.after_batch
def write_and_announce(uow: UnitOfWork) -> None:
    """Write the batch's changed orders (one UPDATE) and history rows (one INSERT), then
    emit one order.updated per changed order."""
    rows = uow.touched.get(ROWS, {})
    changed = [rows[order_id] for order_id in sorted(uow.touched.get("order", ()))]  # type: ignore[index]
    store.update_orders(uow.conn, changed)
    store.add_history(uow.conn, uow.touched.get(HISTORY, []))  # type: ignore[arg-type]
    for order in changed:
        uow.emit(OrderUpdated(
            order_id=order["id"], user_id=order["user_id"], order=order_json(order),
            filled_notional=order["filled_notional"],
        ))
