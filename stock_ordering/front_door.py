"""The order front door: group commit for concurrent order requests.

One commit per HTTP request caps the whole exchange near 300 orders/s on two
cores (shared/PERFORMANCE-NOTES.md). So request threads hand their validated
orders to one writer thread per API process, which gathers everything that is
waiting into one transaction (orders, history, outbox), commits once, and then
answers each request. Under no load a request still commits at once, alone.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg

from service_runtime.contracts import Event, OrderPlaced
from service_runtime.db import Database
from service_runtime.handlers import emit_now
from service_runtime.web import ApiError

from . import store
from .domain import NewOrder, order_json

log = logging.getLogger("papertrade.orders")

MAX_ORDERS_PER_COMMIT = 5000
SERVICE = "stock_ordering"


@dataclass
class Outcome:
    """201 new order, 200 the earlier order for a repeated client_order_id, or an error."""

    status: int
    order: dict[str, Any] | None = None
    error: ApiError | None = None


@dataclass
class _Job:
    orders: list[NewOrder]
    done: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    failure: Exception | None = None


class OrderWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, orders: list[NewOrder], timeout: float = 15.0) -> list[Outcome]:
        self._ensure_thread()
        job = _Job(orders)
        self._queue.put(job)
        if not job.done.wait(timeout):
            raise ApiError(503, "unavailable", "the order service is too busy; try again", retry_after=1)
        if job.failure is not None:
            if isinstance(job.failure, psycopg.OperationalError):
                raise ApiError(503, "unavailable", "the order database is unavailable", retry_after=2)
            raise job.failure
        return job.outcomes

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="order-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            jobs = [self._queue.get()]
            count = len(jobs[0].orders)
            while count < MAX_ORDERS_PER_COMMIT:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                count += len(job.orders)
            try:
                self._commit(jobs)
            except Exception as exc:  # noqa: BLE001 - every waiting request must be answered
                log.warning("order writer: commit of %d orders failed: %s", count, exc)
                for job in jobs:
                    job.failure = exc
            for job in jobs:
                job.done.set()

    def _commit(self, jobs: list[_Job]) -> None:
        with self.database.transaction() as conn, conn.pipeline():
            # Pipeline mode: the history, outbox and NOTIFY statements, whose results
            # nobody waits for, go to the server together.
            status, symbols, epoch = store.door_state(conn)
            to_insert: list[NewOrder] = []
            slots: list[tuple[_Job, int]] = []
            for job in jobs:
                job.outcomes = [Outcome(0)] * len(job.orders)
                for i, order in enumerate(job.orders):
                    error = door_check(order, status, symbols)
                    if error is not None:
                        job.outcomes[i] = Outcome(error.status, error=error)
                    else:
                        to_insert.append(order)
                        slots.append((job, i))
            rows = store.insert_orders(conn, to_insert)
            placed: list[Event] = []
            history = []
            for (job, i), order, row in zip(slots, to_insert, rows, strict=True):
                if row is None:
                    job.outcomes[i] = _repeat(conn, order)
                    continue
                job.outcomes[i] = Outcome(201, order_json(row))
                history.append((row["id"], "pending_new", 0, None))
                placed.append(
                    OrderPlaced(
                        order_id=row["id"], user_id=row["user_id"], symbol=row["symbol"], side=row["side"],
                        type=row["type"], qty=row["qty"], limit_price=row["limit_price"],
                        time_in_force=row["time_in_force"], client_order_id=row["client_order_id"],
                        created_at=row["created_at"],
                    )
                )
            store.add_history(conn, history)
            # the epoch read above: reading it again would cost a round trip per commit
            envelopes = emit_now(conn, SERVICE, placed, epoch=epoch)
        for env in envelopes:
            log.info("order %s placed (event %s)", env.event.order_id, env.id)


def door_check(order: NewOrder, market: str, symbols: set[str]) -> ApiError | None:
    if order.symbol not in symbols:
        return ApiError(422, "unknown_symbol", f"{order.symbol} is not listed", field="symbol")
    if market != "open":
        return ApiError(409, f"market_{market}", f"the market is {market}: new orders are not accepted")
    return None


def _repeat(conn: psycopg.Connection, order: NewOrder) -> Outcome:
    existing = store.find_by_client_order_id(conn, order.user_id, order.client_order_id or "")
    if existing is None:  # pragma: no cover - the conflict row is visible in our own transaction
        return Outcome(409, error=ApiError(409, "conflict", "client_order_id conflict", "client_order_id"))
    if existing["fingerprint"] != order.fingerprint:
        return Outcome(
            409,
            error=ApiError(
                409, "duplicate_client_order_id",
                f"client_order_id {order.client_order_id!r} was used for a different order {existing['id']}",
                field="client_order_id",
            ),
        )
    return Outcome(200, order_json(existing))
