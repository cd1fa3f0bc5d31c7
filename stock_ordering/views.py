"""stock_ordering's resources as the public API shows them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from service_runtime.money import avg_price

EXPORT_COLUMNS = ["id", "client_order_id", "user_id", "symbol", "side", "type", "qty", "limit_price",
                  "time_in_force", "status", "filled_qty", "filled_avg_price", "reject_reason", "created_at",
                  "updated_at", "stop_price", "triggered", "replaces", "replaced_by"]  # new columns go last: scripts read them by position


def order_json(row: dict[str, Any]) -> dict[str, Any]:
    """An order as the public API shows it."""
    return {
        "id": row["id"],
        "client_order_id": row["client_order_id"],
        "user_id": row["user_id"],
        "symbol": row["symbol"],
        "side": row["side"],
        "type": row["type"],
        "qty": row["qty"],
        "limit_price": row["limit_price"],
        "stop_price": row["stop_price"],
        "triggered": row["triggered"],
        "replaces": row["replaces"],
        "replaced_by": row["replaced_by"],
        "time_in_force": row["time_in_force"],
        "status": row["status"],
        "filled_qty": row["filled_qty"],
        "filled_avg_price": avg_price(row["filled_qty"], row["filled_notional"]),
        "reject_reason": row["reject_reason"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def orders_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        order = order_json(row)
        writer.writerow(["" if order[c] is None else _cell(order[c]) for c in EXPORT_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value
