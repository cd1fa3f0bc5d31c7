"""stock_ordering's event handlers: what it learns (users, symbols, market status)
and how each order's status moves as portfolio and matching report on it."""

from __future__ import annotations

import logging

from service_runtime.contracts import (
    MarketStatusChanged,
    OrderApproved,
    OrderBooked,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderUpdated,
    StockListed,
    TradeExecuted,
    UserCreated,
)
from service_runtime.handlers import EventHandlers, UnitOfWork

from . import store
from .domain import order_json

log = logging.getLogger("papertrade.orders")
handlers = EventHandlers("stock_ordering")


def _load(uow: UnitOfWork, order_id: int) -> dict | None:
    """The order as this batch last saw it (batches often touch one order several times)."""
    cache = uow.touched.setdefault("order_rows", {})  # type: ignore[arg-type]
    if order_id not in cache:
        row = store.get_order(uow.conn, order_id, for_update=True)
        if row is None:
            log.warning("event for unknown order %s ignored", order_id)
            return None
        cache[order_id] = row
    return cache[order_id]


def _save(uow: UnitOfWork, order: dict, detail: str | None = None) -> None:
    store.save_order(uow.conn, order, detail)
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
        store.add_history(uow.conn, [(order["id"], order["status"], order["filled_qty"], "approved")])


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
def announce_changed_orders(uow: UnitOfWork) -> None:
    rows = uow.touched.get("order_rows", {})
    for order_id in sorted(uow.touched.get("order", ())):
        order = rows[order_id]  # type: ignore[index]
        uow.emit(OrderUpdated(order_id=order_id, user_id=order["user_id"], order=order_json(order)))
