"""stock_ordering's rules: what a valid order request is, and what status an order has.

Status is derived, never stored as the result of the last event: it comes from
cumulative facts (filled_qty, booked, cancel_requested, final_status), so events
arriving late or early from different producers can never move it backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service_runtime.auth import Principal
from service_runtime.identifiers import is_symbol, is_user_id
from service_runtime.money import MAX_PRICE, MAX_QTY, avg_price, is_on_tick, to_decimal
from service_runtime.web import ApiError

CLIENT_ORDER_ID_MAX = 48
SIDES = ("buy", "sell")
TYPES = ("market", "limit")
TIFS = ("day", "gtc", "ioc", "fok")
FIELDS = {"symbol", "side", "type", "qty", "limit_price", "time_in_force", "client_order_id", "user_id"}

OPEN_STATUSES = ("pending_new", "new", "partially_filled", "pending_cancel")
FINAL_STATUSES = ("filled", "canceled", "expired", "rejected")
MAX_BATCH = 1000


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

    @property
    def fingerprint(self) -> str:
        """What makes two requests with one client_order_id "the same body"."""
        price = format(self.limit_price, "f") if self.limit_price is not None else ""
        return f"{self.symbol}|{self.side}|{self.type}|{self.qty}|{price}|{self.time_in_force}"


def _invalid(message: str, field: str) -> ApiError:
    return ApiError(422, "invalid", message, field=field)


def parse_order(body: Any, who: Principal) -> NewOrder:
    """Validate one order request (POST /api/orders or a batch item)."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "an order must be a JSON object")
    unknown = set(body) - FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise _invalid(f"unknown field {name!r}", name)

    user_id = who.user_id
    if body.get("user_id") is not None:
        requested = body["user_id"]
        if not is_user_id(requested):
            raise _invalid("user_id must be a positive integer", "user_id")
        if requested != who.user_id and not who.is_instructor:
            raise ApiError(403, "forbidden", "only an instructor may place orders for another user", "user_id")
        user_id = requested

    symbol = body.get("symbol")
    if not is_symbol(symbol):
        raise _invalid("symbol must be 1 to 8 upper-case letters or digits", "symbol")
    side = body.get("side")
    if side not in SIDES:
        raise _invalid("side must be 'buy' or 'sell'", "side")
    order_type = body.get("type")
    if order_type not in TYPES:
        raise _invalid("type must be 'market' or 'limit'", "type")
    qty = body.get("qty")
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise _invalid("qty must be a whole number of shares", "qty")
    if not 1 <= qty <= MAX_QTY:
        raise _invalid(f"qty must be between 1 and {MAX_QTY:,}", "qty")
    tif = body.get("time_in_force", "day")
    if tif is None:
        tif = "day"
    if tif not in TIFS:
        raise _invalid("time_in_force must be one of day, gtc, ioc, fok", "time_in_force")

    raw_price = body.get("limit_price")
    limit_price: Decimal | None = None
    if order_type == "limit":
        if raw_price is None:
            raise _invalid("a limit order needs limit_price", "limit_price")
        try:
            limit_price = to_decimal(raw_price)
        except ValueError as exc:
            raise _invalid(f"limit_price {exc}", "limit_price") from exc
        if limit_price <= 0 or limit_price > MAX_PRICE:
            raise _invalid("limit_price must be greater than 0 and at most 1,000,000", "limit_price")
        if not is_on_tick(limit_price):
            raise _invalid("limit_price must be on the 0.01 tick", "limit_price")
        limit_price = limit_price.quantize(Decimal("0.01"))
    elif raw_price is not None:
        raise _invalid("a market order takes no limit_price", "limit_price")

    client_order_id = body.get("client_order_id")
    if client_order_id is not None and (
        not isinstance(client_order_id, str)
        or not 1 <= len(client_order_id) <= CLIENT_ORDER_ID_MAX
        or not client_order_id.isprintable()
    ):
        raise _invalid(f"client_order_id must be 1 to {CLIENT_ORDER_ID_MAX} printable characters",
                       "client_order_id")
    return NewOrder(user_id, symbol, side, order_type, qty, limit_price, tif, client_order_id)


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


def order_json(row: dict[str, Any]) -> dict[str, Any]:
    """An order as the public API shows it."""
    return {
        "id": row["id"],
        "client_order_id": row["client_order_id"],
        "user_id": row["user_id"],
        "symbol": row["symbol"],
        "side": row["side"],
        "type": row["type"],
        "qty": row["qty"],
        "limit_price": row["limit_price"],
        "time_in_force": row["time_in_force"],
        "status": row["status"],
        "filled_qty": row["filled_qty"],
        "filled_avg_price": avg_price(row["filled_qty"], row["filled_notional"]),
        "reject_reason": row["reject_reason"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
