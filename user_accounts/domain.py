"""user_accounts' rules: who a user is, and what a valid new user looks like."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service_runtime.identifiers import is_symbol
from service_runtime.money import is_on_tick, to_decimal
from service_runtime.web import ApiError

NAME_MAX = 64
CREATABLE_ROLES = ("trader", "bot")
DEFAULT_STARTING_CASH = Decimal("100000.00")
MAX_STARTING_CASH = Decimal("1000000000000")
MAX_GRANTED_SHARES = 1_000_000_000


@dataclass(frozen=True)
class NewUser:
    name: str
    role: str = "trader"
    starting_cash: Decimal = DEFAULT_STARTING_CASH
    holdings: dict[str, int] = field(default_factory=dict)


def parse_new_user(body: dict[str, Any]) -> NewUser:
    """Validate POST /api/users; raise ApiError(422) naming the field."""
    unknown = set(body) - {"name", "role", "starting_cash", "holdings"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(422, "invalid", "name is required and must be a non-empty string", field="name")
    name = name.strip()
    if len(name) > NAME_MAX or any(ord(c) < 32 for c in name):
        raise ApiError(422, "invalid", f"name must be at most {NAME_MAX} printable characters", field="name")
    role = body.get("role", "trader")
    if role not in CREATABLE_ROLES:
        raise ApiError(422, "invalid", f"role must be one of {', '.join(CREATABLE_ROLES)}", field="role")
    cash = DEFAULT_STARTING_CASH
    if body.get("starting_cash") is not None:
        try:
            cash = to_decimal(body["starting_cash"])
        except ValueError as exc:
            raise ApiError(422, "invalid", f"starting_cash {exc}", field="starting_cash") from exc
        if cash < 0 or cash > MAX_STARTING_CASH or not is_on_tick(cash):
            raise ApiError(
                422, "invalid", "starting_cash must be between 0 and 1e12 in whole cents", field="starting_cash"
            )
    holdings_in = body.get("holdings") or {}
    if not isinstance(holdings_in, dict):
        raise ApiError(422, "invalid", "holdings must be an object {SYMBOL: qty}", field="holdings")
    holdings: dict[str, int] = {}
    for symbol, qty in holdings_in.items():
        if not is_symbol(symbol):
            raise ApiError(422, "invalid", "symbols are 1 to 8 upper-case letters or digits", field="holdings")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 0 < qty <= MAX_GRANTED_SHARES:
            raise ApiError(422, "invalid", f"holdings[{symbol}] must be a whole number of shares > 0",
                           field="holdings")
        holdings[symbol] = qty
    return NewUser(name=name, role=role, starting_cash=cash, holdings=holdings)


def public_user(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "role": row["role"]}
