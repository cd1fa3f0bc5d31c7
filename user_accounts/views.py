"""user_accounts' resources as the public API shows them."""

from __future__ import annotations

from typing import Any


def public_user(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "role": row["role"]}


def created_user(row: dict[str, Any]) -> dict[str, Any]:
    return {**public_user(row), "starting_cash": row["starting_cash"], "holdings": row["holdings"]}


def public_settings(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "commission_per_share": row["commission_per_share"],
        "max_position": row["max_position"],
        "max_order_qty": row["max_order_qty"],
    }
