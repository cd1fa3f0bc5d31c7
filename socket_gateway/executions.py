"""Execution reports: each order's state pushed to its owner straight from the events
about it, as a real exchange's execution reports come from the matching engine, not
from a downstream order database.

The tracker learns each order from `order.placed` (which carries what the API shows
of a new order) and follows it through portfolio's and matching's events, each of
which carries the order's cumulative state (filled quantity and notional, what
remains, how it ended). So a late or repeated event never moves an order backwards,
and the state pushed is the one stock_ordering records from the same events. Orders
placed before this gateway started are read once from stock_ordering's API when the
feed connects (`bootstrap`).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from datetime import datetime
from decimal import Decimal
from typing import Any

from service_runtime import contracts as events
from service_runtime.money import avg_price, fmt

FINAL = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
Order = dict[str, Any]


class OrderTracker:
    """Last known public state of open orders, bounded (least recently used first out):
    about 1 KB per order, so 20,000 open orders hold ~20 MB. An order pushed out, or
    never seen, gets no execution reports; its owner's screen refetches it over REST."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        # order id -> (order as the API shows it, filled notional, cancel requested)
        self._orders: OrderedDict[int, tuple[Order, Decimal, bool]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._orders)

    def clear(self) -> None:
        self._orders.clear()

    def status(self, order_id: int) -> str | None:
        known = self._orders.get(order_id)
        return known[0]["status"] if known else None

    def order(self, order_id: int) -> Order | None:
        known = self._orders.get(order_id)
        return known[0] if known else None

    # -- learning orders ---------------------------------------------------------

    def placed(self, e: events.OrderPlaced) -> None:
        if e.order_id in self._orders or e.created_at is None:
            return
        created = e.created_at.isoformat()
        order = {
            "id": e.order_id, "client_order_id": e.client_order_id, "user_id": e.user_id,
            # interned: every order repeats these few strings
            "symbol": sys.intern(e.symbol), "side": sys.intern(e.side), "type": sys.intern(e.type), "qty": e.qty,
            "limit_price": fmt(e.limit_price), "stop_price": fmt(e.stop_price),
            "triggered": False if e.stop_price is not None else None, "time_in_force": sys.intern(e.time_in_force),
            "replaces": e.replaces, "replaced_by": None,
            "status": "pending_new", "filled_qty": 0, "filled_avg_price": None, "reject_reason": None,
            "created_at": created, "updated_at": created,
        }
        self._remember(e.order_id, order, Decimal(0), False)

    def bootstrap(self, orders: list[Order]) -> None:
        """Open orders as stock_ordering's API shows them (at the feed's (re)connect)."""
        for order in orders:
            order_id = int(order["id"])
            if order_id in self._orders or order["status"] in FINAL:
                continue
            avg = order.get("filled_avg_price")
            notional = Decimal(avg) * order["filled_qty"] if avg is not None else Decimal(0)
            self._remember(order_id, dict(order), notional, order["status"] == "pending_cancel")

    # -- what happens to them -----------------------------------------------------------

    def cancel_requested(self, e: events.OrderCancelRequested, at: datetime) -> Order | None:
        known = self._orders.get(e.order_id)
        if known is None or known[0]["status"] in FINAL:
            return None
        order, notional, _ = known
        return self._update(e.order_id, order, notional, True, order["filled_qty"], None, at)

    def booked(self, e: events.OrderBooked, at: datetime) -> Order | None:
        return self._progress(e.order_id, e.filled_qty, e.filled_notional, None, at, booked=True)

    def triggered(self, e: events.OrderTriggered, at: datetime) -> Order | None:
        known = self._orders.get(e.order_id)
        if known is None or known[0].get("triggered") is not False:
            return None
        order, notional, requested = known
        updated = {**order, "triggered": True, "updated_at": at.isoformat()}
        self._remember(e.order_id, updated, notional, requested)
        return updated

    def replaced(self, e: events.OrderReplaced, at: datetime) -> Order | None:
        updated = self._progress(e.order_id, e.filled_qty, e.filled_notional, "replaced", at)
        if updated is not None:
            updated["replaced_by"] = e.replaced_by  # a fresh dict: the tracker has let the final order go
        return updated

    def trade(self, e: events.TradeExecuted) -> list[Order]:
        """The orders this trade changed, as they are now (zero, one or two of them)."""
        out = []
        for order_id, filled, notional in ((e.buy_order_id, e.buy_filled_qty, e.buy_filled_notional),
                                           (e.sell_order_id, e.sell_filled_qty, e.sell_filled_notional)):
            if notional is None:
                continue  # from before notionals travelled: the screen refetches
            updated = self._progress(order_id, filled, notional, None, e.executed_at, booked=True)
            if updated is not None:
                out.append(updated)
        return out

    def canceled(self, e: events.OrderCanceled, at: datetime) -> Order | None:
        return self._progress(e.order_id, e.filled_qty, e.filled_notional, "canceled", at)

    def expired(self, e: events.OrderExpired, at: datetime) -> Order | None:
        return self._progress(e.order_id, e.filled_qty, e.filled_notional, "expired", at)

    def rejected(self, e: events.OrderRejected, at: datetime) -> Order | None:
        known = self._orders.get(e.order_id)
        if known is None:
            return None
        order, notional, requested = known
        reason = f"{e.reason}: {e.message}" if e.message else e.reason
        self._orders.pop(e.order_id, None)
        return {**order, "status": "rejected", "reject_reason": reason, "updated_at": at.isoformat()}

    def _progress(self, order_id: int, filled: int, notional: Decimal, final: str | None, at: datetime,
                  booked: bool = False) -> Order | None:
        known = self._orders.get(order_id)
        if known is None:
            return None
        order, known_notional, requested = known
        if filled < order["filled_qty"] and final is None:
            return None  # older than what the owner has
        if filled <= order["filled_qty"]:
            filled, notional = order["filled_qty"], known_notional
        return self._update(order_id, order, notional, requested, filled, final, at, booked)

    def _update(self, order_id: int, order: Order, notional: Decimal, requested: bool, filled: int,
                final: str | None, at: datetime, booked: bool = False) -> Order | None:
        if filled >= order["qty"]:
            status = "filled"
        elif final is not None:
            status = final
        elif requested:
            status = "pending_cancel"
        elif filled > 0:
            status = "partially_filled"
        elif booked or order["status"] != "pending_new":
            status = "new"
        else:
            status = "pending_new"
        if status == order["status"] and filled == order["filled_qty"]:
            if status in FINAL:
                self._orders.pop(order_id, None)
            return None  # nothing new to show
        updated = {**order, "status": status, "filled_qty": filled,
                   "filled_avg_price": fmt(avg_price(filled, notional)), "updated_at": at.isoformat()}
        if status in FINAL:
            self._orders.pop(order_id, None)
        else:
            self._remember(order_id, updated, notional, requested)
        return updated

    def _remember(self, order_id: int, order: Order, notional: Decimal, requested: bool) -> None:
        self._orders[order_id] = (order, notional, requested)
        self._orders.move_to_end(order_id)
        while len(self._orders) > self.capacity:
            self._orders.popitem(last=False)
