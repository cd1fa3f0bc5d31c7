"""user_accounts' rules: who a user is, what a valid user, class list and setting is.

Pure: values in, values or service_runtime.errors out. The request models
(schemas.py) have already checked the shape (types, required and unknown fields).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

from service_runtime.errors import Invalid
from service_runtime.identifiers import is_symbol
from service_runtime.money import is_on_tick, to_decimal

NAME_MAX = 64
CREATABLE_ROLES = ("trader", "bot")
DEFAULT_STARTING_CASH = Decimal("100000.00")
MAX_STARTING_CASH = Decimal("1000000000000")
MAX_GRANTED_SHARES = 1_000_000_000
MAX_BULK = 500
BULK_CSV_MAX_BYTES = 1_000_000
MAX_COMMISSION = Decimal("1000")
MAX_LIMIT = 1_000_000_000


@dataclass(frozen=True)
class NewUser:
    name: str
    role: str = "trader"
    starting_cash: Decimal = DEFAULT_STARTING_CASH
    holdings: dict[str, int] = field(default_factory=dict)


def user_name(value: str, field_name: str = "name") -> str:
    name = value.strip()
    if not name:
        raise Invalid("name is required and must be a non-empty string", field_name)
    if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise Invalid(f"name must be at most {NAME_MAX} printable characters", field_name)
    return name


def starting_cash(value: Decimal | None) -> Decimal:
    if value is None:
        return DEFAULT_STARTING_CASH
    if value < 0 or value > MAX_STARTING_CASH or not is_on_tick(value):
        raise Invalid("starting_cash must be between 0 and 1e12 in whole cents", "starting_cash")
    return value


def holdings(value: dict[str, int] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for symbol, qty in (value or {}).items():
        if not is_symbol(symbol):
            raise Invalid("symbols are 1 to 8 upper-case letters or digits", "holdings")
        if not 0 < qty <= MAX_GRANTED_SHARES:
            raise Invalid(f"holdings[{symbol}] must be a whole number of shares > 0", "holdings")
        out[symbol] = qty
    return out


def new_user(name: str, role: str | None, cash: Decimal | None, granted: dict[str, int] | None) -> NewUser:
    return NewUser(name=user_name(name), role=role or "trader", starting_cash=starting_cash(cash),
                   holdings=holdings(granted))


# -- a class at once -----------------------------------------------------------


def numbered_users(prefix: str, count: int, taken: list[str], role: str, cash: Decimal,
                   granted: dict[str, int]) -> list[NewUser]:
    """`count` users named "<prefix> <n>", numbering on from the highest taken."""
    if not 1 <= count <= MAX_BULK:
        raise Invalid(f"count must be a whole number from 1 to {MAX_BULK}", "count")
    prefix = prefix.strip()
    if not prefix or len(prefix) > NAME_MAX - 6:
        raise Invalid("prefix must be a short non-empty string", "prefix")
    start = next_number(prefix, taken)
    return [NewUser(user_name(f"{prefix} {n}"), role, cash, dict(granted)) for n in range(start, start + count)]


def next_number(prefix: str, names: list[str]) -> int:
    """1 + the highest N among existing names "<prefix> N" (so numbering continues)."""
    highest = 0
    for name in names:
        rest = name[len(prefix):]
        if name.startswith(prefix + " ") and rest.strip().isdigit():
            highest = max(highest, int(rest.strip()))
    return highest + 1


def csv_users(text: str, role: str, cash: Decimal, granted: dict[str, int]) -> list[NewUser]:
    """Header `name[,starting_cash][,SYMBOL...]`; an empty cell takes the body's default.
    All or nothing: an error names its line."""
    if not text.strip():
        raise Invalid("csv must be a non-empty string with a header row", "csv")
    if len(text) > BULK_CSV_MAX_BYTES:
        raise Invalid("csv is too large", "csv")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    if "name" not in header:
        raise Invalid("line 1: the header needs a name column", "csv")
    for column in header:
        if column not in ("name", "starting_cash") and not is_symbol(column):
            raise Invalid(f"line 1: column {column!r} is neither name, starting_cash nor a symbol", "csv")
    if len(set(header)) != len(header):
        raise Invalid("line 1: a column appears twice", "csv")
    users: list[NewUser] = []
    names: set[str] = set()
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines (a trailing newline) are not users
        if len(row) != len(header):
            raise Invalid(f"line {line_no}: {len(row)} cells, the header has {len(header)}", "csv")
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        try:
            users.append(_csv_user(cells, line_no, role, cash, granted))
        except Invalid as err:
            raise Invalid(err.message if err.message.startswith("line ") else f"line {line_no}: {err.message}",
                          "csv") from err
        if users[-1].name in names:
            raise Invalid(f"line {line_no}: the name {users[-1].name!r} appears twice", "csv")
        names.add(users[-1].name)
    if not users:
        raise Invalid("csv has no users after its header", "csv")
    if len(users) > MAX_BULK:
        raise Invalid(f"at most {MAX_BULK} users at once", "csv")
    return users


def _csv_user(cells: dict[str, str], line_no: int, role: str, cash: Decimal, granted: dict[str, int]) -> NewUser:
    user_holdings = dict(granted)
    for column, value in cells.items():
        if column in ("name", "starting_cash") or value == "":
            continue
        if not value.isdigit():
            raise Invalid(f"line {line_no}: {column} must be a whole number of shares", "csv")
        if int(value) == 0:
            user_holdings.pop(column, None)
        else:
            user_holdings[column] = int(value)
    own_cash = cash
    if cells.get("starting_cash"):
        try:
            own_cash = to_decimal(cells["starting_cash"])
        except ValueError as exc:
            raise Invalid(f"starting_cash {exc}", "csv") from exc
    return NewUser(user_name(cells["name"]), role, starting_cash(own_cash), holdings(user_holdings))


# -- settings ------------------------------------------------------------------


def commission(value: Decimal) -> Decimal:
    if value < 0 or value > MAX_COMMISSION or not is_on_tick(value):
        raise Invalid("commission_per_share must be 0 to 1000 in whole cents", "commission_per_share")
    return value


def limit(value: int | None, name: str) -> int | None:
    """A position or order-size limit: null turns it off."""
    if value is not None and not 1 <= value <= MAX_LIMIT:
        raise Invalid(f"{name} must be a positive whole number or null", name)
    return value
