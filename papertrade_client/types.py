"""Typed records for what the API returns: money as Decimal, never float.

Each record is a frozen dataclass built by `parse(Record, json_dict)`, which
converts each known field by its annotation and keeps fields it does not know in
`extra` (the contract allows the server to add fields). Adding a record for a
new endpoint is a dataclass with annotated fields, nothing more.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    starting_cash: Decimal | None = None
    holdings: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Session:
    token: str
    user: User
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Position:
    symbol: str
    qty: int
    reserved_qty: int
    avg_cost: Decimal
    last_price: Decimal
    market_value: Decimal
    unrealized_pl: Decimal
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Portfolio:
    user_id: int
    cash: Decimal
    reserved_cash: Decimal
    buying_power: Decimal
    equity: Decimal
    realized_pl: Decimal
    unrealized_pl: Decimal
    positions: list[Position]
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def position(self, symbol: str) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)


@dataclass(frozen=True)
class LeaderboardRow:
    user_id: int
    name: str
    equity: Decimal
    return_pct: Decimal
    realized_pl: Decimal
    unrealized_pl: Decimal
    rank: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Stock:
    symbol: str
    name: str
    reference_price: Decimal
    last_price: Decimal
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    change_pct: Decimal
    volume: int
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Candle:
    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Trade:
    """A trade on the tape (GET /api/stocks/{symbol}/trades, and the `trade` push)."""

    seq: int
    symbol: str
    price: Decimal
    qty: int
    ts: datetime
    trade_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    qty: int
    orders: int
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Book:
    symbol: str
    seq: int
    bids: list[BookLevel]
    asks: list[BookLevel]
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Market:
    status: str
    previous: str | None = None
    changed: bool | None = None
    changed_at: datetime | None = None
    closes_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Price:
    """The `price` push."""

    symbol: str
    last_price: Decimal
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    volume: int
    change_pct: Decimal
    trade_seq: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class OrderHistoryEntry:
    status: str
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Order:
    id: int
    client_order_id: str | None
    user_id: int
    symbol: str
    side: str
    type: str
    qty: int
    limit_price: Decimal | None
    time_in_force: str
    status: str
    filled_qty: int
    filled_avg_price: Decimal | None
    reject_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    stop_price: Decimal | None = None
    triggered: bool | None = None  # stops: False until a trade reaches stop_price
    replaces: int | None = None  # a replacement: the order it replaces
    replaced_by: int | None = None
    history: list[OrderHistoryEntry] | None = None
    # set by the client, not the server: False when the server answered 200 with
    # the earlier order for a repeated client_order_id, True for a new one (201)
    created: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    OPEN_STATUSES: typing.ClassVar[tuple[str, ...]] = ("pending_new", "new", "partially_filled", "pending_cancel")

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


# ------------------------------------------------------------------ conversion
Converter = typing.Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, float):  # never from our server; do not guess a float's digits
        value = repr(value)
    return Decimal(value) if isinstance(value, str) else Decimal(str(value))


def _to_datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _converter(tp: Any) -> Converter:
    """A function turning a JSON value into `tp` (built once per field: parsing a
    batch of 1,000 orders should not inspect annotations 15,000 times)."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _converter(args[0]) if len(args) == 1 else _identity
    if tp is Decimal:
        return _to_decimal
    if tp is datetime:
        return _to_datetime
    if tp is int:
        return int
    if origin is list:
        (item,) = typing.get_args(tp)
        inner = _converter(item)
        return lambda values: [inner(v) for v in values]
    if dataclasses.is_dataclass(tp):
        return lambda value: parse(tp, value) if isinstance(value, dict) else value
    return _identity


@cache
def _plan(cls: type) -> tuple[dict[str, Converter], tuple[str, ...]]:
    """Per record type: a converter per known field, and the optional fields that
    default to None when the server leaves them out."""
    hints = typing.get_type_hints(cls)
    converters: dict[str, Converter] = {}
    optional: list[str] = []
    for f in dataclasses.fields(cls):
        if f.name == "extra":
            continue
        converters[f.name] = _converter(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and typing.get_origin(hints[f.name]) in (Union, types.UnionType):
            optional.append(f.name)
    return converters, tuple(optional)


def parse(cls: type[T], data: dict[str, Any], **overrides: Any) -> T:
    """Build a record from a JSON object: known fields converted, the rest in `extra`."""
    converters, optional = _plan(cls)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        convert = converters.get(key)
        if convert is None:
            extra[key] = value
        else:
            kwargs[key] = None if value is None else convert(value)
    for name in optional:  # an optional field the server left out is None, not a TypeError
        if name not in kwargs:
            kwargs[name] = None
    kwargs.update(overrides)
    return cls(**kwargs, extra=extra)  # type: ignore[call-arg]


def to_json(value: Any) -> Any:
    """A record (or list of them) back to JSON-ready data: Decimal and datetime as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "extra"}
        out.update(value.extra)  # type: ignore[attr-defined]
        return out
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value
