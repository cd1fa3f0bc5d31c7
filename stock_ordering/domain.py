"""stock_ordering's rules: what a valid order is, and what status an order has.

Status is derived, never stored as the result of the last event: it comes from
cumulative facts (filled_qty, booked, cancel_requested, final_status), so events
arriving late or early from different producers can never move it backwards. Pure:
the request models (schemas.py) have checked the shape already.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from service_runtime.errors import Conflict, Invalid
from service_runtime.identifiers import is_symbol
from service_runtime.money import MAX_PRICE, MAX_QTY, is_on_tick

CLIENT_ORDER_ID_MAX = 48
OPEN_STATUSES = ("pending_new", "new", "partially_filled", "pending_cancel")
FINAL_STATUSES = ("filled", "canceled", "expired", "rejected", "replaced")
REPLACEABLE = ("new", "partially_filled")
MAX_BATCH = 1000
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class NewOrder:
    user_id: int
    symbol: str
    side: str
    type: str
    qty: int
    limit_price: Decimal | None
    time_in_force: str
    client_order_id: str | None
    stop_price: Decimal | None = None
    replaces: int | None = None  # a replacement: the order it replaces

    @property
    def fingerprint(self) -> str:
        """What makes two requests with one client_order_id "the same body"."""
        price = format(self.limit_price, "f") if self.limit_price is not None else ""
        stop = f"|{self.stop_price:f}" if self.stop_price is not None else ""
        replaces = f"|replaces {self.replaces}" if self.replaces is not None else ""
        return f"{self.symbol}|{self.side}|{self.type}|{self.qty}|{price}|{self.time_in_force}{stop}{replaces}"


# which prices each order type needs (and takes)
NEEDS_LIMIT = ("limit", "stop_limit")
NEEDS_STOP = ("stop", "stop_limit")
STOP_TIME_IN_FORCES = ("day", "gtc")


def new_order(user_id: int, symbol: str, side: str, type_: str, qty: int, limit_price: Decimal | None,
              time_in_force: str | None, client_order_id: str | None,
              stop_price: Decimal | None = None) -> NewOrder:
    """An order request's rules; each refusal names the field to fix."""
    if not is_symbol(symbol):
        raise Invalid("symbol must be 1 to 8 upper-case letters or digits", "symbol")
    if not 1 <= qty <= MAX_QTY:
        raise Invalid(f"qty must be between 1 and {MAX_QTY:,}", "qty")
    limit_price = _price(type_, "limit_price", limit_price, type_ in NEEDS_LIMIT)
    stop_price = _price(type_, "stop_price", stop_price, type_ in NEEDS_STOP)
    if stop_price is not None:
        if time_in_force not in (None, *STOP_TIME_IN_FORCES):
            raise Invalid(f"a {type_} order is day or gtc, not {time_in_force}", "time_in_force")
        if limit_price is not None and (limit_price < stop_price if side == "buy" else limit_price > stop_price):
            relation = "below" if side == "buy" else "above"
            raise Invalid(f"a stop_limit {side}'s limit_price may not be {relation} its stop_price (it would "
                          "rest away from the price that triggered it)", "limit_price")
    if client_order_id is not None and (
        not 1 <= len(client_order_id) <= CLIENT_ORDER_ID_MAX or not client_order_id.isprintable()
    ):
        raise Invalid(f"client_order_id must be 1 to {CLIENT_ORDER_ID_MAX} printable characters", "client_order_id")
    return NewOrder(user_id, symbol, side, type_, qty, limit_price, time_in_force or "day", client_order_id,
                    stop_price)


def _price(type_: str, field: str, price: Decimal | None, needed: bool) -> Decimal | None:
    if price is None:
        if needed:
            raise Invalid(f"a {type_} order needs {field}", field)
        return None
    if not needed:
        raise Invalid(f"a {type_} order takes no {field}", field)
    if price <= 0 or price > MAX_PRICE:
        raise Invalid(f"{field} must be greater than 0 and at most 1,000,000", field)
    if not is_on_tick(price):
        raise Invalid(f"{field} must be on the 0.01 tick", field)
    return price.quantize(CENT)


def door_check(order: NewOrder, market: str, symbols: set[str]) -> Invalid | Conflict | None:
    """What the door refuses at once, from what it has learned of listings and the market."""
    if order.symbol not in symbols:
        return Invalid(f"{order.symbol} is not listed", "symbol", code="unknown_symbol")
    if market != "open":
        return Conflict(f"the market is {market}: new orders are not accepted", code=f"market_{market}")
    return None


def repeat_check(order: NewOrder, existing: dict[str, Any]) -> Conflict | None:
    """A repeated client_order_id with the same body returns the first order; another body is refused."""
    if existing["fingerprint"] == order.fingerprint:
        return None
    return Conflict(f"client_order_id {order.client_order_id!r} was used for a different order {existing['id']}",
                    "client_order_id", code="duplicate_client_order_id")


def derive_status(order: dict[str, Any]) -> str:
    final = order.get("final_status")
    if final:
        return final
    if order["filled_qty"] >= order["qty"]:
        return "filled"
    if order["cancel_requested"]:
        return "pending_cancel"
    if order["filled_qty"] > 0:
        return "partially_filled"
    if order["booked"]:
        return "new"
    return "pending_new"


def record_fills(order: dict[str, Any], filled_qty: int, filled_notional: Decimal | None) -> None:
    """Cumulative facts from matching: the furthest state reported wins, whatever the
    order the reports arrive in."""
    if filled_qty > order["filled_qty"] or (filled_qty == order["filled_qty"] and filled_notional is not None
                                            and filled_notional > order["filled_notional"]):
        order["filled_qty"] = filled_qty
        if filled_notional is not None:
            order["filled_notional"] = filled_notional
    if order["filled_qty"] >= order["qty"] and not order["final_status"]:
        order["final_status"] = "filled"


def finish(order: dict[str, Any], final: str, filled_qty: int, filled_notional: Decimal | None) -> None:
    """A final report (canceled, expired): filled wins if the fills completed it."""
    order["booked"] = True
    record_fills(order, filled_qty, filled_notional)
    if not order["final_status"]:
        order["final_status"] = "filled" if order["filled_qty"] >= order["qty"] else final


def reject(order: dict[str, Any], reason: str, message: str) -> bool:
    """False when the order already ended otherwise."""
    if order["final_status"]:
        return False
    order["final_status"] = "rejected"
    order["reject_reason"] = f"{reason}: {message}" if message else reason
    return True


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Changes:
    """What a replace changes (None: as the order it replaces has it)."""

    qty: int | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None
    client_order_id: str | None = None


def replacement(old: dict[str, Any], changes: Changes) -> NewOrder:
    """The order that replaces `old`: the same symbol, side and type, for what `old`
    still has open unless told otherwise, checked by the rules every order is."""
    if old["status"] not in REPLACEABLE or old["cancel_requested"]:
        raise Conflict(f"order {old['id']} is {old['status']}: only a new or partially filled order can be replaced",
                       code="order_not_replaceable")
    if old["replaced_by"] is not None:
        raise Conflict(f"order {old['id']} is already being replaced by order {old['replaced_by']}",
                       code="order_not_replaceable")
    order = new_order(  # its rules refuse a limit or stop price the order's type takes none of
        old["user_id"], old["symbol"], old["side"], old["type"],
        changes.qty if changes.qty is not None else old["qty"] - old["filled_qty"],
        changes.limit_price if changes.limit_price is not None else old["limit_price"],
        changes.time_in_force or old["time_in_force"], changes.client_order_id,
        changes.stop_price if changes.stop_price is not None else old["stop_price"],
    )
    return replace(order, replaces=old["id"])
