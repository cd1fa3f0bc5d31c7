"""Who consumes what, read from the consumers' own tables: each service's handler
table (`<service>/handlers.py`) and the gateway's push table (socket_gateway/push.py).

The one place that knows every consumer: `stack setup` declares their queues from
it, the audit and the dead-letter tool find the queues with it, and the event
catalog in docs/architecture.md is generated from it
(`python -m service_runtime.catalog`; tests/unit/test_docs.py keeps the two equal).
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import contracts
from .config import SERVICES
from .contracts import Event

GATEWAY = "socket_gateway"


def consumed_by_services() -> dict[str, list[type[Event]]]:
    """Each event service -> the domain events its handler table consumes."""
    from .entrypoints import service_handlers

    return {service: service_handlers(service).consumed for service in SERVICES}


def consumed_by_gateway() -> list[type[Event]]:
    from socket_gateway.push import PUSHES

    return PUSHES.consumed


def consumers_of(cls: type[Event]) -> list[str]:
    found = [service for service, consumed in consumed_by_services().items() if cls in consumed]
    if cls in consumed_by_gateway():
        found.append(GATEWAY)
    return found


def catalog_markdown() -> str:
    """The event catalog as a Markdown table (docs/architecture.md embeds it)."""
    services = consumed_by_services()
    gateway = consumed_by_gateway()
    lines = ["| event | kind | producer | payload | consumers |", "|---|---|---|---|---|"]
    for type_, cls in contracts.REGISTRY.items():
        consumers = [s for s, consumed in services.items() if cls in consumed] + ([GATEWAY] if cls in gateway else [])
        payload = ", ".join(f"`{name}`: {_type_name(hint)}" for name, hint in _fields(cls))
        kind = "notice" if cls.NOTICE else "domain"
        lines.append(f"| `{type_}` | {kind} | {', '.join(cls.PRODUCERS)} | {payload} | {', '.join(consumers)} |")
    records = sorted({r for cls in contracts.REGISTRY.values() for r in _records(cls)}, key=lambda r: r.__name__)
    if records:
        lines += ["", "| record | fields |", "|---|---|"]
        for rec in records:
            lines.append(f"| `{rec.__name__}` | " + ", ".join(f"`{n}`: {_type_name(h)}" for n, h in _fields(rec)) + " |")
    return "\n".join(lines)


def _fields(cls: type) -> list[tuple[str, Any]]:
    hints = typing.get_type_hints(cls)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]


def _records(cls: type) -> list[type]:
    found = []
    for _, hint in _fields(cls):
        for arg in (hint, *typing.get_args(hint)):
            if dataclasses.is_dataclass(arg) and isinstance(arg, type):
                found.append(arg)
                found.extend(_records(arg))
    return found


def _type_name(hint: Any) -> str:
    if hint is Decimal:
        return "decimal string"
    if hint is datetime:
        return "ISO 8601 time"
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _type_name(inner[0]) + " or null"
    if origin is list and args:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "object"
    return getattr(hint, "__name__", str(hint))


if __name__ == "__main__":
    print(catalog_markdown())
