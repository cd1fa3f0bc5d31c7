"""stock_data's resources as the public API shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .domain import change_pct


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
    return {"time": iso(row["time"]), "open": row["open"], "high": row["high"], "low": row["low"],
            "close": row["close"], "volume": row["volume"]}


def public_trade(row: dict[str, Any]) -> dict[str, Any]:
    return {"seq": row["seq"], "symbol": row["symbol"], "price": row["price"], "qty": row["qty"],
            "ts": iso(row["executed_at"])}


def public_market(row: dict[str, Any]) -> dict[str, Any]:
    return {"status": row["status"], "changed_at": iso(row["changed_at"]), "closes_at": iso(row["closes_at"])}
