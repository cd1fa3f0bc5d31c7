"""Integration events: the typed records services exchange over RabbitMQ.

Each event is a frozen dataclass holding its payload; `Envelope` adds what every
message carries (id, type, version, occurred_at, producer, epoch). The catalog in
docs/architecture.md is generated from this module (`python -m service_runtime.contracts`),
so the two cannot drift apart.

Money fields are Decimal and travel as strings. Symbol-scoped events are routed
with a partition suffix so matching can be sharded by symbol (see `routing_key`).
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from . import jsonio

# Symbol-scoped events carry the symbol's partition in their routing key, so a
# shard of order_matching binds only its partitions. 16 leaves room to grow.
PARTITIONS = 16


def partition_of(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) % PARTITIONS


class Event:
    """Base of every integration event. Subclasses are frozen dataclasses."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    PRODUCER: ClassVar[str] = ""
    CONSUMERS: ClassVar[tuple[str, ...]] = ()
    # Set-up events (users, listings, settings) are not part of a simulation's
    # state: a reset keeps what they set up, so they apply whatever their epoch
    # (an old-epoch listing that arrives after a reset must not be lost).
    EPOCH_FREE: ClassVar[bool] = False

    def routing_key(self) -> str:
        symbol = getattr(self, "symbol", None)
        if symbol:
            return f"{self.TYPE}.p{partition_of(symbol):02d}"
        return self.TYPE

    def to_payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Event:
        converters = _converters(cls)
        kwargs = {}
        for name, convert in converters.items():
            if name in payload:
                value = payload[name]
                kwargs[name] = convert(value) if value is not None else None
        return cls(**kwargs)


def _identity(value: Any) -> Any:
    return value


def _to_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _to_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


_CONVERTER_CACHE: dict[type, dict[str, Any]] = {}


def _converters(cls: type) -> dict[str, Any]:
    cached = _CONVERTER_CACHE.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    converters: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = set(typing.get_args(hint)) | {hint}
        if Decimal in args:
            converters[f.name] = _to_decimal
        elif datetime in args:
            converters[f.name] = _to_datetime
        elif int in args and str not in args:
            converters[f.name] = int
        else:
            converters[f.name] = _identity
    _CONVERTER_CACHE[cls] = converters
    return converters


REGISTRY: dict[str, type[Event]] = {}


def event(type_: str, producer: str, consumers: tuple[str, ...], version: int = 1, epoch_free: bool = False):
    """Declare an event class: registers it under its type with its producer and consumers.
    `epoch_free`: a set-up event that applies in every epoch (see Event.EPOCH_FREE)."""

    def wrap(cls: type) -> type:
        cls = dataclass(frozen=True, slots=True)(cls)
        cls.TYPE = type_
        cls.VERSION = version
        cls.PRODUCER = producer
        cls.CONSUMERS = consumers
        cls.EPOCH_FREE = epoch_free
        REGISTRY[type_] = cls
        return cls

    return wrap


@dataclass(frozen=True, slots=True)
class Envelope:
    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    producer: str
    epoch: int
    event: Event

    def to_json(self) -> str:
        return jsonio.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "version": self.version,
                "occurred_at": self.occurred_at.isoformat(),
                "producer": self.producer,
                "epoch": self.epoch,
                "payload": self.event.to_payload(),
            }
        )


class UnknownEvent(ValueError):
    pass


def wrap(evt: Event, producer: str, epoch: int, occurred_at: datetime | None = None) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        type=evt.TYPE,
        version=evt.VERSION,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        epoch=epoch,
        event=evt,
    )


def parse(body: bytes | str) -> Envelope:
    """Decode a message body; raises ValueError (UnknownEvent included) for anything malformed."""
    data = jsonio.trusted_loads(body)
    if not isinstance(data, dict):
        raise ValueError("event body is not a JSON object")
    try:
        cls = REGISTRY[data["type"]]
    except KeyError as exc:
        raise UnknownEvent(f"unknown event type {data.get('type')!r}") from exc
    return Envelope(
        id=uuid.UUID(data["id"]),
        type=data["type"],
        version=int(data["version"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        producer=data["producer"],
        epoch=int(data["epoch"]),
        event=cls.from_payload(data["payload"]),
    )


# ---------------------------------------------------------------------------
# The catalog. Producer and consumers are declared here so the documentation
# and the queue bindings come from one table.
# ---------------------------------------------------------------------------

GATEWAY = "socket_gateway"


@event("user.created", "user_accounts", ("user_portfolio", "stock_ordering", GATEWAY), epoch_free=True)
class UserCreated(Event):
    user_id: int
    name: str
    role: str
    starting_cash: Decimal
    holdings: dict[str, int] = field(default_factory=dict)


@event("user.updated", "user_accounts", (GATEWAY,), epoch_free=True)
class UserUpdated(Event):
    user_id: int
    name: str
    role: str


@event(
    "simulation.reset",
    "user_accounts",
    ("user_portfolio", "stock_data", "stock_ordering", "order_matching", GATEWAY),
)
class SimulationReset(Event):
    """Every service returns to its starting state and starts epoch `epoch`
    (docs/architecture.md, "Reset and epochs"). Traders' and bots' tokens issued in
    an epoch below `tokens_valid_from_epoch` are refused from then on (`epoch` when
    the instructor revoked tokens at this reset; the floor only goes up, so 1 changes
    nothing): service_runtime/revocation.py."""

    epoch: int
    requested_by: int
    tokens_valid_from_epoch: int = 1


@event("settings.changed", "user_accounts", ("user_portfolio", GATEWAY), epoch_free=True)
class SettingsChanged(Event):
    """The simulation's trading rules, all of them (limits are null when off)."""

    commission_per_share: Decimal
    max_position: int | None
    max_order_qty: int | None


@event("stock.listed", "stock_data", ("user_portfolio", "stock_ordering", "order_matching", GATEWAY),
       epoch_free=True)
class StockListed(Event):
    """A new listing, or a relisting of a delisted symbol."""

    symbol: str
    name: str
    reference_price: Decimal


@event("stock.delisted", "stock_data", ("stock_ordering", "order_matching", GATEWAY), epoch_free=True)
class StockDelisted(Event):
    """No new orders for the symbol; matching cancels its resting orders (reason `delisted`)."""

    symbol: str


@event("market.status_changed", "stock_data", ("stock_ordering", "order_matching", GATEWAY))
class MarketStatusChanged(Event):
    status: str
    previous: str
    closes_at: datetime | None = None  # an open session's automatic close


@event("price.updated", "stock_data", (GATEWAY,))
class PriceUpdated(Event):
    symbol: str
    last_price: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: int
    change_pct: Decimal
    trade_seq: int


@event("order.placed", "stock_ordering", ("user_portfolio", GATEWAY))
class OrderPlaced(Event):
    """`client_order_id` and `created_at` complete the order as the API shows it, so the
    gateway knows an order before its first fill (socket_gateway/executions.py)."""

    order_id: int
    user_id: int
    symbol: str
    side: str
    type: str
    qty: int
    limit_price: Decimal | None
    time_in_force: str
    client_order_id: str | None = None
    created_at: datetime | None = None


@event("order.cancel_requested", "stock_ordering", ("order_matching",))
class OrderCancelRequested(Event):
    order_id: int
    user_id: int
    symbol: str


@event("order.approved", "user_portfolio", ("order_matching", "stock_ordering"))
class OrderApproved(Event):
    order_id: int
    user_id: int
    symbol: str
    side: str
    type: str
    qty: int
    limit_price: Decimal | None
    time_in_force: str
    collar_price: Decimal | None


@event("order.rejected", "user_portfolio", ("stock_ordering", "user_portfolio"))
class OrderRejected(Event):
    """Produced by user_portfolio (no cash/shares) or by order_matching (market not open
    when the order reached the book); consumers key on the order, not the producer."""

    order_id: int
    user_id: int
    symbol: str
    reason: str
    message: str


@event("order.booked", "order_matching", ("stock_ordering",))
class OrderBooked(Event):
    order_id: int
    user_id: int
    symbol: str
    filled_qty: int
    remaining_qty: int
    book_seq: int


@event("trade.executed", "order_matching", ("user_portfolio", "stock_data", "stock_ordering", GATEWAY))
class TradeExecuted(Event):
    trade_id: int
    seq: int
    symbol: str
    price: Decimal
    qty: int
    buy_order_id: int
    sell_order_id: int
    buyer_id: int
    seller_id: int
    taker_side: str
    buy_filled_qty: int
    sell_filled_qty: int
    buy_remaining: int
    sell_remaining: int
    executed_at: datetime


@event("order.canceled", "order_matching", ("user_portfolio", "stock_ordering"))
class OrderCanceled(Event):
    order_id: int
    user_id: int
    symbol: str
    filled_qty: int
    canceled_qty: int
    reason: str


@event("order.expired", "order_matching", ("user_portfolio", "stock_ordering"))
class OrderExpired(Event):
    order_id: int
    user_id: int
    symbol: str
    filled_qty: int
    expired_qty: int


@event("book.updated", "order_matching", (GATEWAY,))
class BookUpdated(Event):
    symbol: str
    seq: int
    bids: list
    asks: list


@event("order.updated", "stock_ordering", (GATEWAY,))
class OrderUpdated(Event):
    """The order as GET /api/orders/{id} shows it, after a batch changed it (one per
    order per batch), so the gateway can push it without asking anyone.
    `filled_notional` (sum of price x qty of its fills) lets the gateway derive the
    order's next state from a trade (socket_gateway/executions.py)."""

    order_id: int
    user_id: int
    order: dict
    filled_notional: Decimal | None = None


@event("portfolio.updated", "user_portfolio", (GATEWAY,))
class PortfolioUpdated(Event):
    user_id: int
    portfolio: dict


@event("leaderboard.updated", "user_portfolio", (GATEWAY,))
class LeaderboardUpdated(Event):
    """The traders' leaderboard (bots left out), after a batch that settled trades or
    moved prices; the gateway pushes it at most once per second."""

    rows: list


def is_symbol_scoped(cls: type[Event]) -> bool:
    """Routed with its symbol's partition (`<type>.pNN`): the event has a `symbol` field."""
    return any(f.name == "symbol" for f in dataclasses.fields(cls))  # type: ignore[arg-type]


def consumed_by(service: str) -> list[type[Event]]:
    return [cls for cls in REGISTRY.values() if service in cls.CONSUMERS]


def catalog_markdown() -> str:
    """The event catalog as a Markdown table (docs/architecture.md embeds it)."""
    lines = ["| event | producer | payload | consumers |", "|---|---|---|---|"]
    for type_, cls in REGISTRY.items():
        hints = typing.get_type_hints(cls)
        payload = ", ".join(
            f"`{f.name}`: {_type_name(hints[f.name])}" for f in dataclasses.fields(cls)
        )
        producer = cls.PRODUCER + (", order_matching" if type_ == "order.rejected" else "")
        lines.append(f"| `{type_}` | {producer} | {payload} | {', '.join(cls.CONSUMERS)} |")
    return "\n".join(lines)


def _type_name(hint: Any) -> str:
    if hint is Decimal:
        return "decimal string"
    if hint is datetime:
        return "ISO 8601 time"
    args = typing.get_args(hint)
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _type_name(inner[0]) + " or null"
    return getattr(hint, "__name__", str(hint))


if __name__ == "__main__":
    print(catalog_markdown())
