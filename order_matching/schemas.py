"""order_matching's response models (its part of the OpenAPI document)."""

from __future__ import annotations

from service_runtime.openapi import Limit, Money, Out, Query


class BookQuery(Query):
    levels: Limit = None


class Level(Out):
    price: Money
    qty: int
    orders: int


class Book(Out):
    symbol: str
    seq: int
    bids: list[Level]
    asks: list[Level]
