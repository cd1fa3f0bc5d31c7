"""Execution reports: an order's new state pushed straight from the matching engine's
trade, before stock_ordering has recorded it.

Why: on a real exchange the owner learns of a fill from the matching engine's
execution report, not from a downstream order database. Here the path through
stock_ordering costs two more durable writes (its queue and its commit, ~4 ms of
fsync each on this machine) and a busy worker; a `trade.executed` already holds
everything that changes in an order (its cumulative fill and what remains), and
it is committed in order_matching's database before it is published.

The tracker learns each order from `order.placed` (which carries what the API
shows of a new order) and keeps the last state stock_ordering announced
(`order.updated`); on a trade it derives the next one with the same average-price
rule. stock_ordering's own `order.updated` follows; the gateway pushes it only
when it says more than the execution report did (a status or fill the report did
not show), and clients merge by order id and never move an order backwards
(frontend/src/orders.ts). When the tracker does not know the order, or has missed
a fill, it pushes nothing and the owner waits for stock_ordering's update.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from service_runtime.money import avg_price, fmt

FINAL = frozenset({"filled", "canceled", "expired", "rejected"})


class OrderTracker:
    """Last known public state of open orders, bounded (least recently used first out).

    The bound is the gateway's memory: about 1 KB per order, so 20,000 open orders
    hold ~20 MB (100,000 held 120 MB after a benchmark's minute of resting orders).
    An order pushed out only loses its execution reports: its owner gets
    stock_ordering's updates instead, a few milliseconds later."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        # order id -> (order object as the API shows it, filled notional as a Decimal)
        self._orders: OrderedDict[int, tuple[dict[str, Any], Decimal]] = OrderedDict()
        # order id -> (status, filled_qty) of the last execution report pushed
        self._reported: OrderedDict[int, tuple[str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._orders)

    def clear(self) -> None:
        self._orders.clear()
        self._reported.clear()

    def order_placed(self, payload: dict[str, Any]) -> None:
        """Learn a new order (pending_new, nothing filled) from `order.placed`."""
        order_id = int(payload["order_id"])
        if order_id in self._orders or payload.get("created_at") is None:
            return  # known already, or announced by an older producer without the fields
        order = {
            "id": order_id, "client_order_id": payload.get("client_order_id"), "user_id": payload["user_id"],
            # interned: every order repeats these few strings
            "symbol": sys.intern(payload["symbol"]), "side": sys.intern(payload["side"]),
            "type": sys.intern(payload["type"]), "qty": payload["qty"],
            "limit_price": payload["limit_price"], "time_in_force": sys.intern(payload["time_in_force"]),
            "status": "pending_new", "filled_qty": 0, "filled_avg_price": None, "reject_reason": None,
            "created_at": payload["created_at"], "updated_at": payload["created_at"],
        }
        self._remember(order_id, order, Decimal(0))

    def adds_news(self, payload: dict[str, Any]) -> bool:
        """Whether stock_ordering's `order.updated` shows something the last execution
        report for that order did not (if not, pushing it again is only noise)."""
        order = payload["order"]
        order_id = int(order["id"])
        reported = self._reported.get(order_id)
        if reported is None:
            return True
        if order["filled_qty"] < reported[1]:
            return False  # older than the report the owner already has
        if (order["status"], order["filled_qty"]) == reported:
            del self._reported[order_id]  # caught up: later updates are news again
            return False
        del self._reported[order_id]
        return True

    def order(self, order_id: int) -> dict[str, Any] | None:
        known = self._orders.get(order_id)
        return known[0] if known else None

    def status(self, order_id: int) -> str | None:
        known = self._orders.get(order_id)
        return known[0]["status"] if known else None

    def order_updated(self, payload: dict[str, Any]) -> None:
        """Remember (or forget, once final) what stock_ordering says an order is."""
        order = payload["order"]
        notional = payload.get("filled_notional")
        order_id = int(order["id"])
        if order["status"] in FINAL or notional is None:
            self._orders.pop(order_id, None)
            return
        known = self._orders.get(order_id)
        if known is not None and known[0]["filled_qty"] > order["filled_qty"]:
            return  # we already derived a later fill than this update shows
        self._remember(order_id, order, Decimal(notional))

    def _remember(self, order_id: int, order: dict[str, Any], notional: Decimal) -> None:
        self._orders[order_id] = (order, notional)
        self._orders.move_to_end(order_id)
        while len(self._orders) > self.capacity:
            self._orders.popitem(last=False)

    def trade(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The orders this trade changed, as they are now (zero, one or two of them)."""
        price, qty = Decimal(payload["price"]), int(payload["qty"])
        out = []
        for side in ("buy", "sell"):
            order_id = int(payload[f"{side}_order_id"])
            known = self._orders.get(order_id)
            if known is None:
                continue
            order, notional = known
            cumulative = int(payload[f"{side}_filled_qty"])
            if order["filled_qty"] != cumulative - qty:
                # A fill we have not seen (or this one twice): leave it to stock_ordering.
                continue
            notional += price * qty
            if cumulative >= order["qty"]:
                status = "filled"
            elif order["status"] == "pending_cancel":
                status = "pending_cancel"
            else:
                status = "partially_filled"
            updated = {
                **order,
                "status": status,
                "filled_qty": cumulative,
                "filled_avg_price": fmt(avg_price(cumulative, notional)),
                "updated_at": payload["executed_at"],
            }
            if status in FINAL:
                self._orders.pop(order_id, None)
            else:
                self._orders[order_id] = (updated, notional)
            self._reported[order_id] = (status, cumulative)
            self._reported.move_to_end(order_id)
            while len(self._reported) > self.capacity:
                self._reported.popitem(last=False)
            out.append(updated)
        return out
