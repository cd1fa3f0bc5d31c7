"""user_portfolio's response models and query parameters (its part of the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service_runtime.openapi import Limit, Money, Out, Query, Timestamp


class Position(Out):
    symbol: str
    qty: int = Field(description="counts reserved shares too")
    reserved_qty: int
    avg_cost: Money
    last_price: Money | None
    market_value: Money | None
    unrealized_pl: Money | None


class Portfolio(Out):
    user_id: int
    name: str | None = None
    cash: Money = Field(description="includes reserved cash")
    reserved_cash: Money
    buying_power: Money = Field(description="cash - reserved_cash")
    equity: Money
    realized_pl: Money
    unrealized_pl: Money
    positions: list[Position]


class RosterRow(Portfolio):
    role: str
    trades: int
    starting_equity: Money
    return_pct: Money


class LedgerEntry(Out):
    id: int
    ts: Timestamp
    kind: str = Field(description="starting_cash, grant, trade, commission, ...")
    symbol: str | None
    qty: int | None
    amount: Money | None
    ref: str | None = Field(description="trade:<id> or order:<id>")


class LedgerQuery(Query):
    limit: Limit = None


class LeaderboardRow(Out):
    rank: int | None = None
    user_id: int
    name: str
    equity: Money
    return_pct: Money
    realized_pl: Money
    unrealized_pl: Money


class RosterQuery(Query):
    role: Literal["trader", "bot", "instructor"] | None = Field(None, description="only users of this role")


class LeaderboardQuery(Query):
    limit: Limit = None
    include_bots: Literal["true", "false"] | None = Field(None, description="default false")
