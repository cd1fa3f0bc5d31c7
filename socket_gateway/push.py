"""Which domain event becomes which Socket.IO message, and who receives it.

Rooms: `sym:<SYMBOL>` (public, joined by `subscribe`), `user:<id>` (joined at
connect from a valid token), `instructors` (every instructor). An order or a
portfolio goes only to its owner's room and to instructors, never to a symbol
room or to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service_runtime.contracts import (
    BookUpdated,
    Envelope,
    MarketStatusChanged,
    OrderUpdated,
    PortfolioUpdated,
    PriceUpdated,
    SimulationReset,
    StockListed,
    TradeExecuted,
    UserCreated,
)

INSTRUCTORS = "instructors"
EVERYONE = None  # broadcast


def symbol_room(symbol: str) -> str:
    return f"sym:{symbol}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Push:
    event: str
    data: dict[str, Any]
    rooms: tuple[str | None, ...]


def pushes_for(envelope: Envelope) -> list[Push]:
    e = envelope.event
    if isinstance(e, OrderUpdated):
        return [Push("order", e.order, (user_room(e.user_id), INSTRUCTORS))]
    if isinstance(e, PortfolioUpdated):
        return [Push("portfolio", {**e.portfolio, "user_id": e.user_id}, (user_room(e.user_id), INSTRUCTORS))]
    if isinstance(e, TradeExecuted):
        return [Push("trade", {"seq": e.seq, "symbol": e.symbol, "price": e.price, "qty": e.qty,
                               "ts": e.executed_at, "trade_id": e.trade_id}, (symbol_room(e.symbol),))]
    if isinstance(e, PriceUpdated):
        return [Push("price", {"symbol": e.symbol, "last_price": e.last_price, "open": e.open, "high": e.high,
                               "low": e.low, "volume": e.volume, "change_pct": e.change_pct,
                               "trade_seq": e.trade_seq}, (symbol_room(e.symbol),))]
    if isinstance(e, BookUpdated):
        return [Push("book", {"symbol": e.symbol, "seq": e.seq, "bids": e.bids, "asks": e.asks},
                     (symbol_room(e.symbol),))]
    if isinstance(e, MarketStatusChanged):
        return [Push("market", {"status": e.status, "previous": e.previous}, (EVERYONE,))]
    if isinstance(e, StockListed):
        return [Push("stock", {"symbol": e.symbol, "name": e.name, "reference_price": e.reference_price},
                     (EVERYONE,))]
    if isinstance(e, UserCreated):
        return [Push("user", {"id": e.user_id, "name": e.name, "role": e.role}, (EVERYONE,))]
    if isinstance(e, SimulationReset):
        return [Push("reset", {"epoch": e.epoch}, (EVERYONE,))]
    return []
