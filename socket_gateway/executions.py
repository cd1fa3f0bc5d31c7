"""Execution reports: an order's new state pushed straight from the matching engine's
trade, before stock_ordering has recorded it.

Why: on a real exchange the owner learns of a fill from the matching engine's
execution report, not from a downstream order database. Here the path through
stock_ordering costs two more durable writes (its queue and its commit, ~4 ms of
fsync each on this machine) and a busy worker; a `trade.executed` already holds
everything that changes in an order (its cumulative fill and what remains), and
it is committed in order_matching's database before it is published.

The tracker keeps the last order object stock_ordering announced (`order.updated`,
also emitted when the order is placed) and, on a trade, derives the next one with
the same average-price rule. stock_ordering's own `order.updated` follows and is
pushed too; clients merge by order id and never move an order backwards
(frontend/src/orders.ts). When the tracker does not know the order, or has missed
a fill, it pushes nothing and the owner waits for stock_ordering's update.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from service_runtime.money import avg_price, fmt

FINAL = frozenset({"filled", "canceled", "expired", "rejected"})


class OrderTracker:
    """Last known public state of open orders, bounded (least recently used first out)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        # order id -> (order object as the API shows it, filled notional as a Decimal)
        self._orders: OrderedDict[int, tuple[dict[str, Any], Decimal]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._orders)

    def clear(self) -> None:
        self._orders.clear()

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
        self._orders[order_id] = (order, Decimal(notional))
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
            out.append(updated)
        return out
