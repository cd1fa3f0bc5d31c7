"""The events a service reacts to: one visible table per service.

A service writes, in its own `handlers.py`:

    handlers = EventHandlers("user_portfolio", batch=PortfolioBatch, state=PortfolioState)

    @handlers.on(OrderPlaced)
    def reserve(batch: PortfolioBatch, event: OrderPlaced) -> None:
        services.reserve_for_order(batch, event)

    @handlers.announce
    def portfolios(batch: PortfolioBatch) -> None: ...   # notices, after the writes

so reading a service shows what it reacts to (nameko style), and `handlers.table`
is the one mapping from event type to function (cosmicpython style). The queues'
bindings and the catalog's consumers are derived from these tables
(service_runtime/topology.py, service_runtime/catalog.py).

A handler is the whole reaction to its event: it calls one use case, which reads
and changes the batch's typed rows (`Batch`). Announcers only emit notices from
what the batch changed. A handler that finds something missing raises
`NotReady(key)` before changing anything; the event is parked under that key and
replayed when a use case calls `batch.uow.release(key)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import psycopg

from .contracts import Event

if TYPE_CHECKING:
    from .unit_of_work import UnitOfWork

log = logging.getLogger("papertrade.events")


class NotReady(Exception):
    """The event depends on something this service has not seen yet (wait_key names it)."""

    def __init__(self, wait_key: str) -> None:
        super().__init__(wait_key)
        self.wait_key = wait_key


class State(Protocol):
    """What a service keeps in memory between batches, rebuilt from its database
    whenever the worker (re)starts, becomes the active consumer, or a batch fails."""

    @classmethod
    def load(cls, conn: psycopg.Connection) -> State: ...


class Batch:
    """One transaction's typed working set of a service. Subclasses declare what the
    batch reads (`load`, sent before the handlers run) and writes (`write`, sent
    after them, with the outbox rows); `committed` runs once the commit succeeded
    (merge what changed into the long-lived `state`)."""

    def __init__(self, uow: UnitOfWork, state: Any = None) -> None:
        self.uow = uow
        self.state = state

    def load(self, events: Sequence[Event]) -> None:
        """Queue the reads the batch's events need (pipelined: answers are read lazily)."""

    def write(self) -> None:
        """Queue the writes of what the handlers changed."""

    def committed(self) -> None:
        """The transaction committed: make its changes the state the next batch sees."""

    def start_over(self) -> None:
        """A reset has wiped the service's tables in this transaction: from here on the
        batch works on the state as the tables now hold it."""
        if self.state is not None:
            self.state = type(self.state).load(self.uow.conn)


B = TypeVar("B", bound=Batch)
Handler = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Periodic:
    fn: Callable[[UnitOfWork], None]
    seconds: float
    # asked of the in-memory state first: a timed action with nothing to do costs no query
    when: Callable[[Any], bool] | None = None


class EventHandlers(Generic[B]):
    def __init__(self, service: str, batch: type[B] = Batch, state: type | None = None,
                 relay_in_api: bool = False) -> None:  # type: ignore[assignment]
        self.service = service
        # the service's API writes (nearly) all its events and relays them itself
        # (Settings.relay_in_api can leave them to the worker instead)
        self.relay_in_api = relay_in_api
        self.batch_type = batch
        self.state_type = state
        self.state: Any = None
        self.table: dict[str, Handler] = {}
        self.classes: dict[str, type[Event]] = {}
        self.announcers: list[Callable[[B], None]] = []
        self.periodic_hooks: list[Periodic] = []

    def on(self, event_cls: type[Event]) -> Callable[[Handler], Handler]:
        if event_cls.NOTICE:
            raise ValueError(f"{event_cls.TYPE} is a notice: only gateways consume notices")

        def register(fn: Handler) -> Handler:
            if event_cls.TYPE in self.table:
                raise ValueError(f"{event_cls.TYPE} already handled by {self.table[event_cls.TYPE].__name__}")
            self.table[event_cls.TYPE] = fn
            self.classes[event_cls.TYPE] = event_cls
            return fn

        return register

    def announce(self, fn: Callable[[B], None]) -> Callable[[B], None]:
        """Run once per batch after its writes: emit notices (one portfolio.updated per
        user, one book.updated per symbol) from what the batch changed."""
        self.announcers.append(fn)
        return fn

    def periodic(self, seconds: float, when: Callable[[Any], bool] | None = None
                 ) -> Callable[[Callable[[UnitOfWork], None]], Callable[[UnitOfWork], None]]:
        """Run every `seconds` by the worker, in a transaction of its own (a timed action
        such as closing the market when its session ends), when `when(state)` says there
        is something to do. Must be idempotent: a hot standby may run it too."""

        def register(fn: Callable[[UnitOfWork], None]) -> Callable[[UnitOfWork], None]:
            self.periodic_hooks.append(Periodic(fn, seconds, when))
            return fn

        return register

    @property
    def consumed(self) -> list[type[Event]]:
        return [self.classes[t] for t in sorted(self.classes)]

    @property
    def event_types(self) -> list[str]:
        return sorted(self.table)

    def rebuild(self, conn: psycopg.Connection) -> None:
        """Load the in-memory state from the database (nothing for a service without one)."""
        if self.state_type is not None:
            self.state = self.state_type.load(conn)

    def new_batch(self, uow: UnitOfWork, state: Any = None) -> B:
        return self.batch_type(uow, self.state if state is None else state)
