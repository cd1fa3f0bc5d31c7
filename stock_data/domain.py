"""stock_data's rules: what a valid listing is, market states, change %, candle intervals,
and the JSON shapes of stocks, candles and tape entries. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service_runtime.identifiers import is_symbol
from service_runtime.money import MAX_PRICE, TICK, is_on_tick, to_decimal
from service_runtime.web import ApiError

NAME_MAX = 64

OPEN, HALTED, CLOSED = "open", "halted", "closed"
MARKET_STATUSES = (OPEN, HALTED, CLOSED)
# POST /api/market/<action> -> the status it sets.
MARKET_ACTIONS = {"open": OPEN, "halt": HALTED, "close": CLOSED}

# Candle intervals -> the stride date_bin aggregates the 1-minute rows with.
INTERVALS = {
    "1m": "1 minute",
    "5m": "5 minutes",
    "15m": "15 minutes",
    "1h": "1 hour",
    "1d": "1 day",
}
CANDLES_DEFAULT, CANDLES_MAX = 500, 5000
TAPE_DEFAULT, TAPE_MAX = 100, 5000

PCT_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class NewStock:
    symbol: str
    name: str
    reference_price: Decimal




def parse_reference_price(value: object) -> Decimal:
    """A listing price: > 0, <= 1,000,000, on the 0.01 tick; ValueError otherwise."""
    price = to_decimal(value)
    if price <= 0 or price > MAX_PRICE:
        raise ValueError(f"must be greater than 0 and at most {MAX_PRICE}")
    if not is_on_tick(price):
        raise ValueError("must be on the 0.01 tick")
    return price.quantize(TICK)


def parse_new_stock(body: dict[str, Any]) -> NewStock:
    """Validate POST /api/stocks; raise ApiError(422) naming the field."""
    unknown = set(body) - {"symbol", "name", "reference_price"}
    if unknown:
        first = sorted(unknown)[0]
        raise ApiError(422, "invalid", f"unknown field {first!r}", field=first)
    symbol = body.get("symbol")
    if not is_symbol(symbol):
        raise ApiError(422, "invalid", "symbol must be 1 to 8 upper-case letters or digits", field="symbol")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(422, "invalid", "name is required and must be a non-empty string", field="name")
    name = name.strip()
    if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ApiError(422, "invalid", f"name must be at most {NAME_MAX} printable characters", field="name")
    if body.get("reference_price") is None:
        raise ApiError(422, "invalid", "reference_price is required", field="reference_price")
    try:
        price = parse_reference_price(body["reference_price"])
    except ValueError as exc:
        raise ApiError(422, "invalid", f"reference_price {exc}", field="reference_price") from exc
    return NewStock(symbol=symbol, name=name, reference_price=price)


def change_pct(last_price: Decimal | None, reference_price: Decimal) -> Decimal:
    """(last - reference) / reference * 100, to 2 decimals (half up); 0.00 before the first trade."""
    if last_price is None:
        return Decimal("0.00")
    return ((last_price - reference_price) / reference_price * 100).quantize(PCT_PLACES, rounding=ROUND_HALF_UP)


def iso(value: datetime | None) -> str | None:
    """Times in JSON: ISO 8601 in UTC, whatever the session time zone was."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def public_stock(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": row["symbol"],
        "name": row["name"],
        "reference_price": row["reference_price"],
        "last_price": row["last_price"] if row["last_price"] is not None else row["reference_price"],
        "open": row["day_open"],
        "high": row["day_high"],
        "low": row["day_low"],
        "change_pct": change_pct(row["last_price"], row["reference_price"]),
        "volume": row["volume"],
        "updated_at": iso(row["updated_at"]),
        "listed": row.get("listed", True),
    }


def public_candle(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": iso(row["time"]),
        "open": row["open"],
        "high": row["high"],
        "low": row["low"],
        "close": row["close"],
        "volume": row["volume"],
    }


def public_trade(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "symbol": row["symbol"],
        "price": row["price"],
        "qty": row["qty"],
        "ts": iso(row["executed_at"]),
    }


def public_market(row: dict[str, Any]) -> dict[str, Any]:
    return {"status": row["status"], "changed_at": iso(row["changed_at"]), "closes_at": iso(row["closes_at"])}


SESSION_MAX_MINUTES = 600


def parse_session_minutes(body: dict[str, Any] | None) -> int | None:
    """POST /api/market/open's optional {"session_minutes": 1..600}."""
    if not body:
        return None
    unknown = set(body) - {"session_minutes"}
    if unknown:
        raise ApiError(422, "invalid", f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    minutes = body.get("session_minutes")
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= SESSION_MAX_MINUTES:
        raise ApiError(422, "invalid", f"session_minutes must be a whole number from 1 to {SESSION_MAX_MINUTES}",
                       field="session_minutes")
    return minutes
