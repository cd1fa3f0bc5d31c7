"""The order door's group commit: concurrent order requests share one transaction.

One commit per HTTP request caps the exchange near 300 orders/s on two cores
(shared/PERFORMANCE-NOTES.md). A request hands its validated orders in and waits;
whichever request thread finds no commit under way becomes the committer: it takes
everything waiting, runs `services.place_orders` once for all of it in one unit of
work, answers each request, and goes on while more is waiting. An order alone
commits at once, in its own thread, with no hand-over to another thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field

import psycopg

from service_runtime.db import Database
from service_runtime.errors import Unavailable

from . import services
from .domain import NewOrder
from .services import Outcome

log = logging.getLogger("papertrade.orders")

MAX_ORDERS_PER_COMMIT = 5000
SERVICE = "stock_ordering"


@dataclass
class _Job:
    orders: list[NewOrder]
    done: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    failure: BaseException | None = None


class OrderDoor:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._waiting: deque[_Job] = deque()
        self._lock = threading.Lock()  # guards _waiting and _committing
        self._committing = False

    def submit(self, orders: list[NewOrder], timeout: float = 15.0) -> list[Outcome]:
        job = _Job(orders)
        with self._lock:
            self._waiting.append(job)
            lead = not self._committing
            if lead:
                self._committing = True
        if lead:
            self._commit_while_waiting()
        if not job.done.wait(timeout):
            raise Unavailable("the order service is too busy; try again", retry_after=1)
        if job.failure is not None:
            if isinstance(job.failure, psycopg.OperationalError):
                raise Unavailable("the order database is unavailable", retry_after=2)
            raise job.failure
        return job.outcomes

    def _commit_while_waiting(self) -> None:
        while True:
            with self._lock:
                jobs: list[_Job] = []
                count = 0
                while self._waiting and count < MAX_ORDERS_PER_COMMIT:
                    job = self._waiting.popleft()
                    jobs.append(job)
                    count += len(job.orders)
                if not jobs:
                    self._committing = False
                    return
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        orders = [o for job in jobs for o in job.orders]
        try:
            with self.database.unit_of_work(SERVICE) as uow:
                outcomes = services.place_orders(uow, orders)
            for env in uow.emitted:
                log.info("order %s placed (event %s)", env.event.order_id, env.id)  # type: ignore[attr-defined]
            start = 0
            for job in jobs:
                job.outcomes = outcomes[start:start + len(job.orders)]
                start += len(job.orders)
        except Exception as exc:  # noqa: BLE001 - every waiting request must be answered
            log.warning("order door: commit of %d orders failed: %s", len(orders), exc)
            for job in jobs:
                job.failure = exc
        for job in jobs:
            job.done.set()
