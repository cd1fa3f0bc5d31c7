"""What every integration event is made of: the base class and its declaration
(`@event`, `@notice`, `@record`), the envelope every message carries, time-ordered
ids, encoding and decoding, and the epoch filter. The events themselves are the
catalog in service_runtime/contracts.py.
"""

from __future__ import annotations

import dataclasses
import os
import time
import types
import typing
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from . import jsonio

# Symbol-scoped events carry the symbol's partition in their routing key, so a
# shard of order_matching binds only its partitions. 16 leaves room to grow.
PARTITIONS = 16
RESET_TYPE = "simulation.reset"  # the event that starts a new epoch (contracts.SimulationReset)


def partition_of(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) % PARTITIONS


def new_event_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Time-ordered ids keep the inboxes' primary key append-mostly (a random id
    touches a random index page per insert, and the whole index once the table
    outgrows memory), and tell how old an event is (`event_time`)."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(8), "big")
    if ms <= _last_ms:  # within one millisecond, a counter keeps one process's ids in order
        ms, _counter = _last_ms, _counter + 1
        if _counter > 0xFFF:
            ms, _counter = ms + 1, 0
    else:
        _counter = rand >> 54  # a random start leaves room to count up
    _last_ms = ms
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | _counter << 64 | 0b10 << 62 | rand & (2**62 - 1)
    return uuid.UUID(int=value)


_last_ms = 0
_counter = 0


def event_time(event_id: uuid.UUID) -> datetime | None:
    """When a UUIDv7 event id was made (None for another kind of id)."""
    if event_id.version != 7:
        return None
    return datetime.fromtimestamp((event_id.int >> 80) / 1000, UTC)


class Event:
    """Base of every integration event. Subclasses are frozen dataclasses."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    PRODUCERS: ClassVar[tuple[str, ...]] = ()
    NOTICE: ClassVar[bool] = False
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
        return {name: getattr(self, name) for name in _field_names(type(self))}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Event:
        return _build(cls, payload)


# ---------------------------------------------------------------------------
# Decoding: one converter per field, built once per class from its type hints.
# ---------------------------------------------------------------------------

Converter = Callable[[Any], Any]
_CONVERTERS: dict[type, dict[str, Converter]] = {}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _identity(value: Any) -> Any:
    return value


def _to_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _to_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _converter(hint: Any) -> Converter:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        convert = _converter(inner[0]) if len(inner) == 1 else _identity
        return lambda v: None if v is None else convert(v)
    if origin is list:
        item = _converter(args[0]) if args else _identity
        if item is _identity:
            return list
        return lambda v: [item(x) for x in v]
    if hint is Decimal:
        return _to_decimal
    if hint is datetime:
        return _to_datetime
    if hint is int:
        return int
    if dataclasses.is_dataclass(hint):
        return lambda v: v if isinstance(v, hint) else _build(hint, v)
    return _identity


def _converters(cls: type) -> dict[str, Converter]:
    cached = _CONVERTERS.get(cls)
    if cached is None:
        hints = typing.get_type_hints(cls)
        cached = _CONVERTERS[cls] = {f.name: _converter(hints[f.name]) for f in dataclasses.fields(cls)}
    return cached


def _build(cls: type, payload: dict[str, Any]) -> Any:
    kwargs = {}
    for name, convert in _converters(cls).items():
        if name in payload:
            value = payload[name]
            kwargs[name] = None if value is None else convert(value)
    return cls(**kwargs)


# ---------------------------------------------------------------------------
# Declaring events and the records nested in them.
# ---------------------------------------------------------------------------

REGISTRY: dict[str, type[Event]] = {}


def _declare(type_: str, producers: str | tuple[str, ...], version: int, epoch_free: bool, notice: bool):
    def wrap(cls: type) -> type:
        cls = dataclass(frozen=True, slots=True)(cls)
        cls.TYPE = type_
        cls.VERSION = version
        cls.PRODUCERS = (producers,) if isinstance(producers, str) else producers
        cls.EPOCH_FREE = epoch_free
        cls.NOTICE = notice
        REGISTRY[type_] = cls
        return cls

    return wrap


def event(type_: str, producers: str | tuple[str, ...], version: int = 1, epoch_free: bool = False):
    """Declare a domain event (outbox, persistent, durable queues, inbox).
    `epoch_free`: a set-up event that applies in every epoch (see Event.EPOCH_FREE)."""
    return _declare(type_, producers, version, epoch_free, notice=False)


def notice(type_: str, producers: str | tuple[str, ...], version: int = 1, epoch_free: bool = False):
    """Declare a notice: a snapshot for screens, published after the commit, never stored."""
    return _declare(type_, producers, version, epoch_free, notice=True)


def record(cls: type) -> type:
    """A typed record nested in an event's payload (a book level, a position)."""
    return dataclass(frozen=True, slots=True)(cls)


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
        id=new_event_id(),
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


class EpochFilter:
    """Which envelopes still count: those of the current epoch, set-up events of any
    epoch, and the reset that starts a newer one. Workers and gateways alike keep
    one; a reset raises it."""

    def __init__(self, epoch: int = 1) -> None:
        self.epoch = epoch

    def is_old(self, envelope: Envelope) -> bool:
        return envelope.epoch < self.epoch and not envelope.event.EPOCH_FREE

    def is_early(self, envelope: Envelope) -> bool:
        """Of a newer epoch this consumer has not reset to yet (to be parked)."""
        return (envelope.epoch > self.epoch and not envelope.event.EPOCH_FREE
                and envelope.type != RESET_TYPE)

    def advance(self, epoch: int) -> None:
        self.epoch = max(self.epoch, epoch)


def is_symbol_scoped(cls: type[Event]) -> bool:
    """Routed with its symbol's partition (`<type>.pNN`): the event has a `symbol` field."""
    return "symbol" in _field_names(cls)
