"""order_matching's resources as the public API shows them."""

from __future__ import annotations

from typing import Any


def public_book(depth: dict[str, Any]) -> dict[str, Any]:
    """Aggregated depth: bids and asks best first, each level's price, qty and order count."""
    def level(r: dict[str, Any]) -> dict[str, Any]:
        return {"price": r["price"], "qty": int(r["qty"]), "orders": r["orders"]}

    return {
        "symbol": depth["symbol"],
        "seq": depth["seq"],
        "bids": [level(r) for r in depth["levels"] if r["side"] == "buy"],
        "asks": [level(r) for r in depth["levels"] if r["side"] == "sell"],
    }
