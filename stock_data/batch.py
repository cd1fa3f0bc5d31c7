"""What stock_data's worker keeps in memory, and what one batch of events changes.

The worker is the only writer of the stocks' day statistics, so it keeps them in
memory (`StockData`, loaded at start and after any failure) and a batch only
writes: the tape, the candles and the statistics of the stocks it moved, in one
round trip with its commit. A batch changes copies (`StockDataBatch.stock`); they
become the state only once the commit succeeded.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import psycopg

from service_runtime.contracts import Event
from service_runtime.handlers import Batch

from . import store
from .domain import Candle, StockStats, first_candle, minute_of

RECHECK_SECONDS = 10.0


@dataclass
class StockData:
    stocks: dict[str, StockStats] = field(default_factory=dict)
    market: str = "closed"
    closes_at: datetime | None = None

    @classmethod
    def load(cls, conn: psycopg.Connection) -> StockData:
        market = store.get_market(conn)
        return cls({s.symbol: s for s in store.load_stats(conn)}, market["status"], market["closes_at"])

    checked_at: float = 0.0  # monotonic time the database was last asked

    def session_check_due(self, now: datetime, monotonic: float) -> bool:
        """Whether to ask the database if the session is over: when memory says so, and
        every RECHECK_SECONDS anyway (the market row may have been changed behind the
        worker's back, by hand or by a worker that was active before it)."""
        due = self.market != "closed" and self.closes_at is not None and self.closes_at <= now
        if due or monotonic - self.checked_at >= RECHECK_SECONDS:
            self.checked_at = monotonic
            return True
        return False


class StockDataBatch(Batch):
    state: StockData

    def __init__(self, uow, state: StockData) -> None:  # noqa: ANN001 - a UnitOfWork
        super().__init__(uow, state)
        self.changed: dict[str, StockStats] = {}
        self.tape: list[tuple[int, str, int, Decimal, int, datetime]] = []
        self.candles: dict[tuple[str, datetime], Candle] = {}
        self.market: tuple[str, datetime | None] | None = None

    def load(self, events: Sequence[Event]) -> None:
        """Nothing to read: the state is in memory."""

    def start_over(self) -> None:
        super().start_over()
        self.changed.clear()
        self.tape.clear()
        self.candles.clear()
        self.market = None

    def stock(self, symbol: str) -> StockStats | None:
        """The stock as this batch changes it (a copy until commit), None when unknown."""
        stats = self.changed.get(symbol)
        if stats is None:
            current = self.state.stocks.get(symbol)
            if current is None:
                return None
            stats = self.changed[symbol] = copy.copy(current)
        return stats

    def listed(self, stats: StockStats) -> None:
        self.changed[stats.symbol] = stats

    def record_trade(self, trade_id: int, symbol: str, seq: int, price: Decimal, qty: int, at: datetime) -> None:
        self.tape.append((trade_id, symbol, seq, price, qty, at))
        key = (symbol, minute_of(at))
        candle = self.candles.get(key)
        if candle is None:
            self.candles[key] = first_candle(symbol, at, seq, price, qty)
        else:
            candle.add(seq, price, qty)

    @property
    def traded(self) -> list[str]:
        return sorted({t[1] for t in self.tape})

    def write(self) -> None:
        conn = self.uow.conn
        store.insert_trades(conn, self.tape)
        store.merge_candles(conn, list(self.candles.values()))
        store.update_stats(conn, [self.changed[s] for s in self.traded])

    def committed(self) -> None:
        self.state.stocks.update(self.changed)
        if self.market is not None:
            self.state.market, self.state.closes_at = self.market
