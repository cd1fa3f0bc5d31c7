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


# -- bulk creation ------------------------------------------------------------

MAX_BULK = 500
BULK_CSV_MAX_BYTES = 1_000_000


def _bulk_defaults(body: dict[str, Any]) -> tuple[Decimal, dict[str, int]]:
    """The body's default starting_cash and holdings, validated as for one user."""
    probe = parse_new_user({"name": "x", "starting_cash": body.get("starting_cash"),
                            "holdings": body.get("holdings")})
    return probe.starting_cash, probe.holdings


def parse_bulk(body: dict[str, Any], taken_with_prefix: list[str]) -> list[NewUser]:
    """Validate POST /api/users/bulk: either count + prefix or csv. All or nothing:
    any bad input raises ApiError(422) (a CSV error names its line)."""
    unknown = set(body) - {"count", "prefix", "csv", "starting_cash", "holdings", "role"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    role = body.get("role", "trader")
    if role not in CREATABLE_ROLES:
        raise ApiError(422, "invalid", f"role must be one of {', '.join(CREATABLE_ROLES)}", field="role")
    cash, holdings = _bulk_defaults(body)
    if ("csv" in body) == ("count" in body):
        raise ApiError(422, "invalid", "send either count (with prefix) or csv", field="count")
    if "count" in body:
        count = body["count"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BULK:
            raise ApiError(422, "invalid", f"count must be a whole number from 1 to {MAX_BULK}", field="count")
        prefix = body.get("prefix", "Student")
        if not isinstance(prefix, str) or not prefix.strip() or len(prefix.strip()) > NAME_MAX - 6:
            raise ApiError(422, "invalid", "prefix must be a short non-empty string", field="prefix")
        prefix = prefix.strip()
        start = next_number(prefix, taken_with_prefix)
        return [
            parse_new_user({"name": f"{prefix} {n}", "role": role, "starting_cash": str(cash),
                            "holdings": holdings})
            for n in range(start, start + count)
        ]
    return parse_bulk_csv(body["csv"], cash, holdings, role)


def next_number(prefix: str, names: list[str]) -> int:
    """1 + the highest N among existing names "<prefix> N" (so numbering continues)."""
    highest = 0
    for name in names:
        rest = name[len(prefix):]
        if name.startswith(prefix + " ") and rest.strip().isdigit():
            highest = max(highest, int(rest.strip()))
    return highest + 1


def parse_bulk_csv(text: Any, cash: Decimal, holdings: dict[str, int], role: str) -> list[NewUser]:
    """Header `name[,starting_cash][,SYMBOL...]`; an empty cell takes the body's default."""
    import csv
    import io

    if not isinstance(text, str) or not text.strip():
        raise ApiError(422, "invalid", "csv must be a non-empty string with a header row", field="csv")
    if len(text) > BULK_CSV_MAX_BYTES:
        raise ApiError(422, "invalid", "csv is too large", field="csv")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    if "name" not in header:
        raise ApiError(422, "invalid", "line 1: the header needs a name column", field="csv")
    for column in header:
        if column not in ("name", "starting_cash") and not is_symbol(column):
            raise ApiError(422, "invalid", f"line 1: column {column!r} is neither name, starting_cash nor a symbol",
                           field="csv")
    if len(set(header)) != len(header):
        raise ApiError(422, "invalid", "line 1: a column appears twice", field="csv")
    users: list[NewUser] = []
    names: set[str] = set()
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines (a trailing newline) are not users
        if len(row) != len(header):
            raise ApiError(422, "invalid", f"line {line_no}: {len(row)} cells, the header has {len(header)}",
                           field="csv")
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        user_holdings = dict(holdings)
        for column, value in cells.items():
            if column in ("name", "starting_cash") or value == "":
                continue
            if not value.isdigit():
                raise ApiError(422, "invalid", f"line {line_no}: {column} must be a whole number of shares",
                               field="csv")
            if int(value) == 0:
                user_holdings.pop(column, None)
            else:
                user_holdings[column] = int(value)
        try:
            user = parse_new_user({"name": cells["name"], "role": role,
                                   "starting_cash": cells.get("starting_cash") or str(cash),
                                   "holdings": user_holdings})
        except ApiError as err:
            raise ApiError(422, "invalid", f"line {line_no}: {err.message}", field="csv") from err
        if user.name in names:
            raise ApiError(422, "invalid", f"line {line_no}: the name {user.name!r} appears twice", field="csv")
        names.add(user.name)
        users.append(user)
    if not users:
        raise ApiError(422, "invalid", "csv has no users after its header", field="csv")
    if len(users) > MAX_BULK:
        raise ApiError(422, "invalid", f"at most {MAX_BULK} users at once", field="csv")
    return users


# -- settings -----------------------------------------------------------------

MAX_COMMISSION = Decimal("1000")
MAX_LIMIT = 1_000_000_000


def parse_settings_update(body: dict[str, Any]) -> dict[str, Any]:
    """Validate PUT /api/settings (a partial update; null turns a limit off)."""
    unknown = set(body) - {"commission_per_share", "max_position", "max_order_qty"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    changes: dict[str, Any] = {}
    if "commission_per_share" in body:
        try:
            value = to_decimal(body["commission_per_share"])
        except (ValueError, TypeError) as exc:
            raise ApiError(422, "invalid", f"commission_per_share {exc}", field="commission_per_share") from exc
        if value < 0 or value > MAX_COMMISSION or not is_on_tick(value):
            raise ApiError(422, "invalid", "commission_per_share must be 0 to 1000 in whole cents",
                           field="commission_per_share")
        changes["commission_per_share"] = value
    for key in ("max_position", "max_order_qty"):
        if key in body:
            value = body[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 1 <= value <= MAX_LIMIT):
                raise ApiError(422, "invalid", f"{key} must be a positive whole number or null", field=key)
            changes[key] = value
    return changes


def public_settings(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "commission_per_share": row["commission_per_share"],
        "max_position": row["max_position"],
        "max_order_qty": row["max_order_qty"],
    }
