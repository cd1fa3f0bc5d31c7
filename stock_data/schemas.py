"""stock_data's request and response models: the shape of what comes in (validated
once, by @api) and goes out (documented in /api/openapi.json)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt, StrictStr

from service_runtime.openapi import Body, Limit, Money, MoneyIn, Out, Query, Timestamp


class Stock(Out):
    symbol: str
    name: str
    reference_price: Money
    last_price: Money | None
    open: Money | None
    high: Money | None
    low: Money | None
    change_pct: Money | None
    volume: int
    updated_at: Timestamp | None
    listed: bool | None = None


class NewStock(Body):
    symbol: StrictStr = Field(description="1 to 8 upper-case letters or digits")
    name: StrictStr
    reference_price: MoneyIn


class CandleQuery(Query):
    interval: Literal["1m", "5m", "15m", "1h", "1d"] | None = Field(None, description="1m (default)")
    limit: Limit = None


class Candle(Out):
    time: Timestamp
    open: Money
    high: Money
    low: Money
    close: Money
    volume: int


class TapeQuery(Query):
    limit: Limit = None


class TapeTrade(Out):
    seq: int
    symbol: str
    price: Money
    qty: int
    ts: Timestamp


class Market(Out):
    status: Literal["open", "halted", "closed"]
    changed_at: Timestamp | None = None
    closes_at: Timestamp | None = None
    epoch: int | None = None


class MarketChanged(Market):
    previous: Literal["open", "halted", "closed"]
    changed: bool


class MarketChange(Body):
    session_minutes: StrictInt | None = Field(
        None, description="open only: close by itself after N minutes (1 to 600)")
