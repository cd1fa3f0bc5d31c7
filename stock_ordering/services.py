"""stock_ordering's use cases: taking orders at the door, cancels, and moving each
order's status as portfolio and matching report on it.

Routes call the door and cancel use cases with a unit of work (the door through the
group commit of front_door.py); the worker's handlers call the others with an
OrderBatch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from service_runtime import contracts as events
from service_runtime.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from service_runtime.unit_of_work import UnitOfWork

from . import store
from .batch import OrderBatch
from .domain import (
    Changes,
    NewOrder,
    derive_status,
    door_check,
    finish,
    is_final,
    record_fills,
    reject,
    repeat_check,
    replacement,
)

log = logging.getLogger("papertrade.orders")
Row = dict[str, Any]


# -- the door --------------------------------------------------------------------


@dataclass
class Outcome:
    """201 a new order, 200 the earlier order for a repeated client_order_id, or a refusal."""

    status: int
    order: Row | None = None
    error: DomainError | None = None


def place_orders(uow: UnitOfWork, orders: list[NewOrder], replaced: dict[int, int] | None = None) -> list[Outcome]:
    """Store valid orders `pending_new` and announce each (order.placed), all in one
    transaction; refuse those the door already knows will fail (unknown symbol, market
    not open), answer a repeated client_order_id with its first order.

    The door share-locks the epoch row (store.door_state): a reset, which writes that
    row before deleting orders, either waits for these to commit and deletes them, or
    commits first and these are stored and announced in the new epoch."""
    market, symbols, epoch = store.door_state(uow.conn, (o.symbol for o in orders))
    uow.epoch = epoch
    outcomes: list[Outcome] = [Outcome(0)] * len(orders)
    accepted: list[tuple[int, NewOrder]] = []
    for i, order in enumerate(orders):
        refusal = door_check(order, market, symbols)
        if refusal is not None:
            outcomes[i] = Outcome(0, error=refusal)
        else:
            accepted.append((i, order))
    rows = store.insert_orders(uow.conn, [o for _, o in accepted])
    history = []
    for (i, order), row in zip(accepted, rows, strict=True):
        if row is None:
            outcomes[i] = _repeated(uow, order)
            continue
        outcomes[i] = Outcome(201, row)
        old = row["replaces"]
        history.append((row["id"], "pending_new", 0, f"replaces order {old}" if old else None))
        uow.emit(events.OrderPlaced(
            order_id=row["id"], user_id=row["user_id"], symbol=row["symbol"], side=row["side"], type=row["type"],
            qty=row["qty"], limit_price=row["limit_price"], time_in_force=row["time_in_force"],
            client_order_id=row["client_order_id"], created_at=row["created_at"], stop_price=row["stop_price"],
            replaces=old, replaces_filled_qty=(replaced or {}).get(old) if old else None,
        ))
    store.add_history(uow.conn, history)
    return outcomes


def _repeated(uow: UnitOfWork, order: NewOrder) -> Outcome:
    existing = store.find_by_client_order_id(uow.conn, order.user_id, order.client_order_id or "")
    if existing is None:  # pragma: no cover - the conflicting row is visible in our own transaction
        return Outcome(0, error=Conflict("client_order_id conflict", "client_order_id"))
    refusal = repeat_check(order, existing)
    return Outcome(0, error=refusal) if refusal is not None else Outcome(200, existing)


def check_on_behalf(uow_or_conn: Any, placed_by: int, is_instructor: bool, orders: list[NewOrder]) -> None:
    """Only an instructor places orders for others, and only for users this service
    knows (an order for a user that does not exist would wait forever). Orders for
    oneself need no check: the signed token proves the user exists."""
    others = {o.user_id for o in orders if o.user_id != placed_by}
    if not others:
        return
    if not is_instructor:
        raise Forbidden("only an instructor may place orders for another user", "user_id")
    missing = sorted(others - store.known_users(uow_or_conn, others))
    if missing:
        raise Invalid(f"no user {missing[0]}", "user_id", code="unknown_user")


# -- replace ---------------------------------------------------------------------------


def replace_order(uow: UnitOfWork, order_id: int, user_id: int, is_instructor: bool, changes: Changes) -> Outcome:
    """A new order for the old one's symbol, side and type, announced with what the old
    one had filled: matching swaps them in one step if nothing filled since, or refuses
    the new one (`replace_failed`) and the old one goes on."""
    old = owned(store.get_order(uow.conn, order_id, for_update=True), order_id, user_id, is_instructor)
    if changes.client_order_id:  # a retry of this replace returns the replacement it placed
        earlier = store.find_by_client_order_id(uow.conn, old["user_id"], changes.client_order_id)
        if earlier is not None and earlier["replaces"] == old["id"]:
            return Outcome(200, earlier)
    new = replacement(old, changes)
    [outcome] = place_orders(uow, [new], replaced={old["id"]: old["filled_qty"]})
    if outcome.status == 201 and outcome.order is not None:
        old["replaced_by"] = outcome.order["id"]
        store.update_orders(uow.conn, [old])
        store.add_history(uow.conn, [(old["id"], old["status"], old["filled_qty"],
                                      f"replace requested: order {old['replaced_by']}")])
    return outcome


# -- cancels -----------------------------------------------------------------------


def owned(order: Row | None, order_id: int, user_id: int, is_instructor: bool) -> Row:
    if order is None:
        raise NotFound(f"no order {order_id}")
    if order["user_id"] != user_id and not is_instructor:
        raise Forbidden("that order belongs to another user")
    return order


def cancel_order(uow: UnitOfWork, order_id: int, user_id: int, is_instructor: bool) -> Row:
    """Mark the order pending_cancel and ask matching (asking twice sends nothing new)."""
    order = owned(store.get_order(uow.conn, order_id, for_update=True), order_id, user_id, is_instructor)
    if is_final(order["status"]):
        raise Conflict(f"order {order_id} is already {order['status']}", code="order_final")
    _request_cancel(uow, order)
    return order


def cancel_all(uow: UnitOfWork, user_id: int, symbol: str | None) -> list[Row]:
    orders = store.open_orders_for_update(uow.conn, user_id, symbol)
    for order in orders:
        _request_cancel(uow, order)
    return orders


def _request_cancel(uow: UnitOfWork, order: Row) -> None:
    if order["cancel_requested"]:
        return
    order["cancel_requested"] = True
    status = derive_status(order)
    changed = status != order["status"]
    order["status"] = status
    store.update_orders(uow.conn, [order])
    if changed:
        store.add_history(uow.conn, [(order["id"], status, order["filled_qty"], "cancel requested")])
    uow.emit(events.OrderCancelRequested(order["id"], order["user_id"], order["symbol"]))


# -- what the worker learns ------------------------------------------------------------


def learn_user(batch: OrderBatch, event: events.UserCreated | events.UserUpdated) -> None:
    store.remember_user(batch.uow.conn, event.user_id, event.name, event.role)


def learn_listing(batch: OrderBatch, event: events.StockListed) -> None:
    store.remember_symbol(batch.uow.conn, event.symbol, event.name)


def learn_delisting(batch: OrderBatch, event: events.StockDelisted) -> None:
    """New orders for it are refused at the door (unknown_symbol); matching cancels the resting ones."""
    store.forget_symbol(batch.uow.conn, event.symbol)


def learn_market(batch: OrderBatch, event: events.MarketStatusChanged) -> None:
    store.set_market(batch.uow.conn, event.status)


def reset(batch: OrderBatch, event: events.SimulationReset) -> None:
    """No orders, market open. begin_epoch writes the epoch row first: the door holds it
    share-locked while it inserts, so no old-epoch order survives this."""
    if not batch.uow.begin_epoch(event.epoch):
        return
    store.reset_all(batch.uow.conn)
    log.info("simulation reset: epoch %s", event.epoch)
    batch.uow.release(f"epoch:{event.epoch}")


# -- how an order's status moves ------------------------------------------------------


def rejected(batch: OrderBatch, event: events.OrderRejected) -> None:
    order = batch.order(event.order_id)
    if order is not None and reject(order, event.reason, event.message):
        batch.save(order, order["reject_reason"])
        _unlink(batch, order)


def replaced(batch: OrderBatch, event: events.OrderReplaced) -> None:
    order = batch.order(event.order_id)
    if order is None or order["final_status"]:
        return
    record_fills(order, event.filled_qty, event.filled_notional)
    order["final_status"] = "replaced"
    order["replaced_by"] = event.replaced_by
    batch.save(order, f"replaced by order {event.replaced_by}")


def _unlink(batch: OrderBatch, order: Row) -> None:
    """A replacement that ended before it replaced anything: the order it was for may
    be replaced again."""
    if order["replaces"] is None:
        return
    old = batch.order(order["replaces"])
    if old is not None and old["replaced_by"] == order["id"] and old["final_status"] != "replaced":
        old["replaced_by"] = None
        batch.save(old, f"replace by order {order['id']} refused")


def booked(batch: OrderBatch, event: events.OrderBooked) -> None:
    order = batch.order(event.order_id)
    if order is None:
        return
    order["booked"] = True
    record_fills(order, event.filled_qty, event.filled_notional)
    batch.save(order, "waiting for its stop price" if event.triggered is False else None)


def triggered(batch: OrderBatch, event: events.OrderTriggered) -> None:
    order = batch.order(event.order_id)
    if order is None or order["triggered"]:
        return
    order["triggered"] = True
    batch.save(order)
    batch.note(order, f"triggered by a trade at {event.price}")


def traded(batch: OrderBatch, event: events.TradeExecuted) -> None:
    for order_id, filled, notional in ((event.buy_order_id, event.buy_filled_qty, event.buy_filled_notional),
                                       (event.sell_order_id, event.sell_filled_qty, event.sell_filled_notional)):
        order = batch.order(order_id)
        if order is None:
            continue
        order["booked"] = True
        if notional is None and filled > order["filled_qty"]:  # a report from before notionals travelled
            notional = order["filled_notional"] + event.price * event.qty
        record_fills(order, filled, notional)
        batch.save(order, f"trade {event.trade_id}: {event.qty} @ {event.price}")


def canceled(batch: OrderBatch, event: events.OrderCanceled) -> None:
    _finish(batch, event.order_id, "canceled", event.filled_qty, event.filled_notional, event.reason)


def expired(batch: OrderBatch, event: events.OrderExpired) -> None:
    _finish(batch, event.order_id, "expired", event.filled_qty, event.filled_notional, "market closed")


def _finish(batch: OrderBatch, order_id: int, final: str, filled: int, notional: Any, detail: str) -> None:
    order = batch.order(order_id)
    if order is None:
        return
    finish(order, final, filled, notional)
    batch.save(order, detail)
    _unlink(batch, order)
