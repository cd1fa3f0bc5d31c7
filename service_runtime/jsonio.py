"""JSON in and out with Decimal kept exact.

Input: numbers become Decimal (so 0.1 stays 0.1), NaN/Infinity are refused, and
nesting is bounded so a hostile body cannot exhaust the stack.
Output: Decimal as a plain string, datetimes as ISO 8601.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32


class JSONInputError(ValueError):
    """The body is not acceptable JSON."""


def _refuse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not allowed in JSON")


def _depth_ok(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    # A cheap scan before parsing: json.loads recurses per level and a body of
    # 100k '[' raises RecursionError deep in the parser.
    depth = 0
    in_string = False
    escaped = False
    data = text if isinstance(text, str) else text.decode("utf-8", "replace")
    for ch in data:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads(text: str | bytes) -> Any:
    """Parse untrusted JSON: Decimal numbers, no NaN/Infinity, bounded depth, valid Unicode."""
    if not _depth_ok(text):
        raise JSONInputError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except JSONInputError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JSONInputError("malformed JSON") from exc
    # "\ud800" escapes decode to lone surrogates, which no database or encoder
    # accepts; only bodies that contain such an escape pay for the walk.
    raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if "\\ud" in raw.lower() and not _valid_unicode(value):
        raise JSONInputError("JSON strings must be valid Unicode (lone surrogate escape)")
    return value


def _valid_unicode(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_valid_unicode(k) and _valid_unicode(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_valid_unicode(v) for v in value)
    return True


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # typed records nested in events and views (contracts.record)
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"))


def trusted_loads(text: str | bytes) -> Any:
    """Parse JSON we wrote ourselves (events): Decimal numbers, no depth scan."""
    return json.loads(text, parse_float=Decimal)
