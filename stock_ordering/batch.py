"""What one batch of events reads and writes in stock_ordering.

Orders are written by the API (placed, cancel requested) as well as by the worker,
so the worker keeps none in memory: a batch locks and reads, in one query sent with
its inbox claim, every order its events name (`load`), the use cases change those
rows in memory and queue history rows, and `write` sends every changed order in one
statement and the history in another, with the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from service_runtime.contracts import (
    Event,
    OrderBooked,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderTriggered,
    TradeExecuted,
)
from service_runtime.handlers import Batch

from . import store
from .domain import derive_status

ABOUT_ONE_ORDER = (OrderRejected, OrderBooked, OrderCanceled, OrderExpired, OrderTriggered, OrderReplaced)
Row = dict[str, Any]


class OrderBatch(Batch):
    def __init__(self, uow, state: Any = None) -> None:  # noqa: ANN001 - a UnitOfWork
        super().__init__(uow, state)
        self._loaded: psycopg.Cursor | None = None
        self._wanted: set[int] = set()
        self.orders: dict[int, Row | None] = {}
        self.changed: set[int] = set()
        self.history: list[tuple[int, str, int, str | None]] = []

    def load(self, events: Sequence[Event]) -> None:
        ids: set[int] = set()
        for event in events:
            if isinstance(event, TradeExecuted):
                ids.update((event.buy_order_id, event.sell_order_id))
            elif isinstance(event, ABOUT_ONE_ORDER):
                ids.add(event.order_id)
        if ids:
            self._wanted = ids
            self._loaded = store.send_orders_for_update(self.uow.conn, ids)

    def order(self, order_id: int) -> Row | None:
        """The order as this batch last saw it (batches often touch one order several
        times); read on its own when the batch's load did not name it (a released event)."""
        if self._loaded is not None:
            for row in self._loaded.fetchall():
                self.orders[row["id"]] = row
            for missing in self._wanted - self.orders.keys():
                self.orders[missing] = None
            self._loaded = None
        if order_id not in self.orders:
            self.orders[order_id] = store.get_order(self.uow.conn, order_id, for_update=True)
        return self.orders[order_id]

    def save(self, order: Row, detail: str | None = None) -> None:
        """Derive the order's status now (a history row when it changed); the row itself
        is written once, at the end of the batch."""
        status = derive_status(order)
        if status != order["status"]:
            order["status"] = status
            self.history.append((order["id"], status, order["filled_qty"], detail))
        self.changed.add(order["id"])

    def note(self, order: Row, detail: str) -> None:
        self.history.append((order["id"], order["status"], order["filled_qty"], detail))

    def write(self) -> None:
        conn = self.uow.conn
        store.update_orders(conn, [self.orders[i] for i in sorted(self.changed)])  # type: ignore[misc]
        store.add_history(conn, self.history)
