"""user_portfolio's resources as the public API shows them."""

from __future__ import annotations

import dataclasses
from typing import Any

from service_runtime.money import fmt, money

from .valuation import Valuation, leaderboard, portfolio_view

# ledger.kind -> the kind the API shows
LEDGER_KINDS = {"grant_cash": "starting_cash", "grant_shares": "grant", "buy": "trade", "sell": "trade",
                "commission": "commission"}


def as_json(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def portfolio_json(v: Valuation) -> dict[str, Any]:
    return as_json(portfolio_view(v))


def roster_row(v: Valuation) -> dict[str, Any]:
    """GET /api/portfolios: the portfolio plus role, trades, starting_equity, return_pct."""
    return {**portfolio_json(v), "role": v.role, "trades": v.fills, "starting_equity": money(v.starting_equity),
            "return_pct": fmt(v.return_pct)}


def leaderboard_json(valuations: list[Valuation]) -> list[dict[str, Any]]:
    return [as_json(row) for row in leaderboard(valuations)]


def ledger_entry(r: dict[str, Any]) -> dict[str, Any]:
    amount = r["starting_cash"] if r["kind"] == "grant_cash" else r["amount"]
    ref = f"trade:{r['trade_id']}" if r["trade_id"] is not None else (
        f"order:{r['order_id']}" if r["order_id"] is not None else None)
    return {"id": r["id"], "ts": r["created_at"], "kind": LEDGER_KINDS.get(r["kind"], r["kind"]),
            "symbol": r["symbol"], "qty": r["qty"], "amount": money(amount), "ref": ref}
