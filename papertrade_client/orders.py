"""What an order request is, checked on the client side as the contract states it.

The CLI's `load --dry-run` uses `OrderRequest.problems()` to report a file's bad
lines without sending anything; the server checks the same rules again.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SIDES = ("buy", "sell")
TYPES = ("market", "limit", "stop", "stop_limit")
STOP_TIME_IN_FORCE = ("day", "gtc")
TIME_IN_FORCE = ("day", "gtc", "ioc", "fok")
MAX_QTY = 1_000_000
MAX_PRICE = Decimal("1000000")
TICK = Decimal("0.01")
CLIENT_ORDER_ID_MAX = 48
MAX_BATCH = 1000
SYMBOL = re.compile(r"^[A-Z0-9]{1,8}$")


def new_client_order_id() -> str:
    """A fresh idempotency key: 32 hex characters (the contract allows 48)."""
    return uuid.uuid4().hex


@dataclass
class OrderRequest:
    symbol: str
    side: str
    qty: int
    limit_price: Decimal | None = None
    type: str | None = None  # None: "limit" when limit_price is given, else "market"
    time_in_force: str | None = None
    client_order_id: str | None = None
    user_id: int | None = None  # an instructor placing for another user
    stop_price: Decimal | None = None  # stop and stop_limit orders

    @property
    def order_type(self) -> str:
        """The type given, or the one the prices imply (limit and/or stop price)."""
        if self.type:
            return self.type
        if self.stop_price is not None:
            return "stop_limit" if self.limit_price is not None else "stop"
        return "limit" if self.limit_price is not None else "market"

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"symbol": self.symbol, "side": self.side, "type": self.order_type, "qty": self.qty}
        if self.limit_price is not None:
            body["limit_price"] = format(Decimal(self.limit_price), "f")
        if self.stop_price is not None:
            body["stop_price"] = format(Decimal(self.stop_price), "f")
        if self.time_in_force is not None:
            body["time_in_force"] = self.time_in_force
        if self.client_order_id is not None:
            body["client_order_id"] = self.client_order_id
        if self.user_id is not None:
            body["user_id"] = self.user_id
        return body

    def with_client_order_id(self) -> OrderRequest:
        """This request with an idempotency key (a generated one when it has none), so
        that a retry returns the first order instead of placing a second."""
        if self.client_order_id:
            return self
        return OrderRequest(self.symbol, self.side, self.qty, self.limit_price, self.type, self.time_in_force,
                            new_client_order_id(), self.user_id, self.stop_price)

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for each rule the request breaks; empty when it is valid."""
        out: list[tuple[str, str]] = []
        if not isinstance(self.symbol, str) or not SYMBOL.match(self.symbol):
            out.append(("symbol", "symbol must be 1 to 8 upper-case letters or digits"))
        if self.side not in SIDES:
            out.append(("side", "side must be 'buy' or 'sell'"))
        if self.order_type not in TYPES:
            out.append(("type", "type must be one of market, limit, stop, stop_limit"))
        if isinstance(self.qty, bool) or not isinstance(self.qty, int) or not 1 <= self.qty <= MAX_QTY:
            out.append(("qty", f"qty must be a whole number from 1 to {MAX_QTY:,}"))
        kind = self.order_type
        for name, needed in (("limit_price", kind in ("limit", "stop_limit")), ("stop_price", kind in ("stop", "stop_limit"))):
            out.extend(_price_problems(kind, name, getattr(self, name), needed))
        if kind in ("stop", "stop_limit") and self.time_in_force not in (None, *STOP_TIME_IN_FORCE):
            out.append(("time_in_force", f"a {kind} order is day or gtc"))
        if self.time_in_force is not None and self.time_in_force not in TIME_IN_FORCE:
            out.append(("time_in_force", "time_in_force must be one of day, gtc, ioc, fok"))
        coid = self.client_order_id
        if coid is not None and (not 1 <= len(coid) <= CLIENT_ORDER_ID_MAX or not coid.isprintable()):
            out.append(("client_order_id", f"client_order_id must be 1 to {CLIENT_ORDER_ID_MAX} printable characters"))
        if self.user_id is not None and (isinstance(self.user_id, bool) or not isinstance(self.user_id, int)
                                         or self.user_id < 1):
            out.append(("user_id", "user_id must be a positive integer"))
        return out

    @classmethod
    def from_fields(cls, row: dict[str, Any]) -> OrderRequest:
        """From a CSV row or a JSON object (strings or numbers); raises ValueError naming
        the field for what cannot even be read (a qty that is not a number, an unknown column)."""
        known = {"symbol", "side", "type", "qty", "limit_price", "stop_price", "time_in_force", "client_order_id",
                 "user_id"}
        unknown = sorted(k for k in row if k not in known and k is not None)
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}")

        def text(name: str) -> str | None:
            value = row.get(name)
            if value is None:
                return None
            value = str(value).strip()
            return value or None

        def whole(name: str) -> int | None:
            value = row.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            if isinstance(value, bool | float):
                raise ValueError(f"{name} must be a whole number")
            if isinstance(value, int):
                return value
            if isinstance(value, Decimal):
                if value != value.to_integral_value():
                    raise ValueError(f"{name} must be a whole number")
                return int(value)
            try:
                return int(str(value).strip())
            except ValueError:
                raise ValueError(f"{name} must be a whole number, not {value!r}") from None

        def decimal(name: str) -> Decimal | None:
            value = text(name)
            if value is None:
                return None
            try:
                return Decimal(value)
            except InvalidOperation:
                raise ValueError(f"{name} must be a number, not {value!r}") from None

        symbol = text("symbol")
        side = text("side")
        return cls(
            symbol=symbol.upper() if symbol else "",
            side=side.lower() if side else "",
            qty=whole("qty") or 0,
            limit_price=decimal("limit_price"),
            type=(text("type") or "").lower() or None,
            time_in_force=(text("time_in_force") or "").lower() or None,
            client_order_id=text("client_order_id"),
            user_id=whole("user_id"),
            stop_price=decimal("stop_price"),
        )


def _price_problems(kind: str, name: str, price: Decimal | None, needed: bool) -> list[tuple[str, str]]:
    if price is None:
        return [(name, f"a {kind} order needs {name}")] if needed else []
    if not needed:
        return [(name, f"a {kind} order takes no {name}")]
    if not isinstance(price, Decimal) or not price.is_finite() or not 0 < price <= MAX_PRICE:
        return [(name, f"{name} must be greater than 0 and at most 1,000,000")]
    if price % TICK != 0:
        return [(name, f"{name} must be on the 0.01 tick")]
    return []
