"""What order_matching keeps in memory (the books), and what one batch writes.

The books live in memory and are changed in place as events are matched; every
change is written in the same transaction as the events announcing it, and the
books are rebuilt from the database whenever the worker starts, becomes the active
consumer, or a batch fails (the runtime reloads `Books` then), so memory never
holds what did not commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import psycopg

from service_runtime.config import get_settings
from service_runtime.contracts import Event
from service_runtime.handlers import Batch
from service_runtime.shards import trade_id

from . import store
from .domain import BookOrder
from .order_book import OrderBook
from .stops import StopBook

TRADE_ID_BLOCK = 200
log = logging.getLogger("papertrade.matching")


@dataclass
class Books:
    books: dict[str, OrderBook] = field(default_factory=dict)
    stops: dict[str, StopBook] = field(default_factory=dict)  # untriggered stops, per symbol
    last_prices: dict[str, Decimal] = field(default_factory=dict)  # each symbol's last trade
    market: str = "closed"
    priority: int = 0
    early_cancels: set[int] = field(default_factory=set)
    delisted: set[str] = field(default_factory=set)
    trade_ids: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, conn: psycopg.Connection) -> Books:
        """Every book from the database: resting orders in priority order."""
        shards = get_settings().matching_shards
        recorded = store.recorded_shards(conn)
        if recorded is not None and recorded != shards:
            raise RuntimeError(f"this database was set up for {recorded} matching shards, but "
                               f"PAPERTRADE_MATCHING_SHARDS={shards}: run `python -m stack setup` with the same count")
        symbols = store.load_symbols(conn)
        books = cls({symbol: OrderBook(symbol, seq) for symbol, (seq, _) in symbols.items()},
                    {symbol: StopBook() for symbol in symbols},
                    {symbol: last for symbol, (_, last) in symbols.items() if last is not None})
        resting = store.load_resting(conn)
        for order in resting:
            books.books[order.symbol].add_resting(order)
        waiting = store.load_waiting(conn)
        for order in waiting:
            books.stops[order.symbol].add(order)
        books.market = store.market_status(conn)
        books.priority = store.max_priority(conn)
        books.early_cancels = store.early_cancels(conn)
        books.delisted = store.delisted_symbols(conn)
        log.info("books rebuilt: %d symbols, %d resting orders, %d stops waiting, market %s", len(books.books),
                 len(resting), len(waiting), books.market)
        return books

    def next_priority(self) -> int:
        self.priority += 1
        return self.priority

    def open(self, symbol: str) -> OrderBook:
        self.stops.setdefault(symbol, StopBook())
        return self.books.setdefault(symbol, OrderBook(symbol))


Execution = tuple[int, str, int, Decimal, int, int, int, int, int, str, datetime]


class MatchingBatch(Batch):
    state: Books

    def __init__(self, uow, state: Books) -> None:  # noqa: ANN001 - a UnitOfWork
        super().__init__(uow, state)
        self.orders: dict[int, tuple[BookOrder, str, str | None]] = {}  # id -> (order, status, outcome)
        self.executions: list[Execution] = []
        self.seqs: dict[str, int] = {}
        self.last_prices: dict[str, Decimal] = {}  # symbols that traded: their last price
        self.symbols: set[str] = set()  # books whose depth changed

    def load(self, events: Sequence[Event]) -> None:
        """Nothing to read: the books are in memory."""

    def book(self, symbol: str) -> OrderBook | None:
        return self.state.books.get(symbol)

    def save(self, order: BookOrder, status: str, outcome: str | None = None) -> None:
        self.orders[order.order_id] = (order, status, outcome)

    def moved(self, book: OrderBook) -> None:
        self.seqs[book.symbol] = book.seq
        self.symbols.add(book.symbol)

    def next_trade_id(self) -> int:
        ids = self.state.trade_ids
        if not ids:
            # Each shard draws from its own database's sequence; the ids interleave so
            # they are unique across shards (and unchanged with one shard).
            settings = get_settings()
            ids.extend(trade_id(raw, settings.matching_shard, settings.matching_shards)
                       for raw in store.next_trade_ids(self.uow.conn, TRADE_ID_BLOCK))
        return ids.pop(0)

    def write(self) -> None:
        conn = self.uow.conn
        store.insert_executions(conn, self.executions)
        store.save_orders(conn, list(self.orders.values()))
        store.save_seqs(conn, self.seqs, self.last_prices)
