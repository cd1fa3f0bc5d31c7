"""Event handlers: the table a service declares, and the unit of work they run in.

A service writes, in its own `handlers.py`:

    handlers = EventHandlers("user_portfolio")

    @handlers.on(OrderPlaced)
    def reserve(uow: UnitOfWork, event: OrderPlaced) -> None: ...

so reading a service shows what it reacts to (nameko style), and
`handlers.table` is the one visible mapping from event type to function
(cosmicpython style).

`process_batch` applies a batch of delivered envelopes in one transaction: inbox
first (duplicates skipped), then the handlers, then the outbox. A handler that
finds something missing raises `NotReady(key)` *before writing anything*; the
event is parked under that key and replayed when a handler calls
`uow.release(key)`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from . import contracts, inbox, outbox, revocation
from .contracts import Envelope, Event

log = logging.getLogger("papertrade.events")

Handler = Callable[["UnitOfWork", Any], None]


class NotReady(Exception):
    """The event depends on something this service has not seen yet (wait_key names it)."""

    def __init__(self, wait_key: str) -> None:
        super().__init__(wait_key)
        self.wait_key = wait_key


class EventHandlers:
    def __init__(self, service: str) -> None:
        self.service = service
        self.table: dict[str, Handler] = {}
        self._after_batch: list[Callable[[UnitOfWork], None]] = []
        self._on_start: list[Callable[[psycopg.Connection], None]] = []
        self._before_batch: list[Callable[[UnitOfWork, list[Event]], None]] = []
        self.periodic_hooks: list[Callable[[psycopg.Connection], None]] = []

    def on(self, event_cls: type[Event]) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if event_cls.TYPE in self.table:
                raise ValueError(f"{event_cls.TYPE} already handled by {self.table[event_cls.TYPE].__name__}")
            self.table[event_cls.TYPE] = fn
            return fn

        return register

    def before_batch(
        self, fn: Callable[[UnitOfWork, list[Event]], None]
    ) -> Callable[[UnitOfWork, list[Event]], None]:
        """Run once per batch, after the inbox and before the handlers, with the batch's
        new events: load in a few queries the rows the handlers will need, so a batch
        costs a constant number of round trips, not several per event. Handlers must
        still load on a miss (events released from the parking lot were not seen here)."""
        self._before_batch.append(fn)
        return fn

    def run_before_batch(self, uow: UnitOfWork, events: list[Event]) -> None:
        for fn in self._before_batch:
            fn(uow, events)

    def after_batch(self, fn: Callable[[UnitOfWork], None]) -> Callable[[UnitOfWork], None]:
        """Run once per batch, before commit: merge per-batch notifications (one
        portfolio.updated per user, one book.updated per symbol) here."""
        self._after_batch.append(fn)
        return fn

    def on_start(self, fn: Callable[[psycopg.Connection], None]) -> Callable[[psycopg.Connection], None]:
        """Run before consuming, on every (re)connect and after a failed batch: rebuild
        in-memory state (order_matching's books) from the database."""
        self._on_start.append(fn)
        return fn

    def periodic(self, fn: Callable[[psycopg.Connection], None]) -> Callable[[psycopg.Connection], None]:
        """Run about once a second by the worker, in a transaction of its own (a timed
        action, such as closing the market at the end of a session). Must be idempotent:
        a hot-standby worker may run it too."""
        self.periodic_hooks.append(fn)
        return fn

    def run_on_start(self, conn: psycopg.Connection) -> None:
        for fn in self._on_start:
            with conn.transaction():
                fn(conn)

    @property
    def event_types(self) -> list[str]:
        return sorted(self.table)

    def run_after_batch(self, uow: UnitOfWork) -> None:
        for fn in self._after_batch:
            fn(uow)


class UnitOfWork:
    """One transaction's worth of work: the connection, the events to emit, the epoch,
    and per-batch scratch space (`touched`) for merging notifications."""

    def __init__(
        self, conn: psycopg.Connection, producer: str, epoch: int | None = None,
        handlers: EventHandlers | None = None,
    ) -> None:
        self.conn = conn
        self.producer = producer
        self.epoch = outbox.read_epoch(conn) if epoch is None else epoch
        self.envelope: Envelope | None = None
        self.touched: dict[str, set] = {}
        self._pending: list[Event] = []
        self._handlers = handlers
        self.emitted: list[Envelope] = []
        self.outbox_rows: list[outbox.OutboxRow] = []  # what flush wrote, for the worker's relay
        self.now = datetime.now(UTC)
        self.follow_up: float | None = None

    def run_again_in(self, seconds: float) -> None:
        """Ask the worker to run the batch hooks once more, with no events, in about
        `seconds` (a throttled announcement sends what it held back then, so the
        last change is never left unannounced while the system is quiet)."""
        self.follow_up = seconds if self.follow_up is None else min(self.follow_up, seconds)

    def emit(self, event: Event) -> None:
        self._pending.append(event)

    def touch(self, kind: str, key: Any) -> None:
        self.touched.setdefault(kind, set()).add(key)

    def execute(self, sql: str, params: Any = None) -> psycopg.Cursor:
        return self.conn.execute(sql, params)

    def park(self, wait_key: str, envelope: Envelope) -> None:
        self.conn.execute(
            "INSERT INTO parked_events (wait_key, event_id, body) VALUES (%s, %s, %s)",
            (wait_key, envelope.id, envelope.to_json()),
        )
        log.info("parked %s %s until %s", envelope.type, envelope.id, wait_key)

    def release(self, wait_key: str) -> None:
        """Replay, now, the events that waited for `wait_key` (oldest first)."""
        rows = self.conn.execute(
            "DELETE FROM parked_events WHERE wait_key = %s RETURNING id, body", (wait_key,)
        ).fetchall()
        for row in sorted(rows, key=lambda r: r["id"]):
            envelope = contracts.parse(row["body"])
            log.info("released %s %s (waited for %s)", envelope.type, envelope.id, wait_key)
            self.dispatch(envelope)

    def set_epoch(self, epoch: int) -> None:
        self.conn.execute("UPDATE service_state SET value = to_jsonb(%s::int) WHERE key = 'epoch'", (epoch,))
        self.epoch = epoch

    def begin_epoch(self, epoch: int) -> bool:
        """Start epoch `epoch` (a reset handler calls this first, before wiping its
        state): False when this service is already there (a repeated reset). Writing
        the epoch row first makes writers that hold it (the order front door reads
        it FOR SHARE) finish before the wipe, or wait and then see the new epoch.
        Parked events of older epochs are dropped: they belong to the wiped state."""
        if epoch <= self.epoch:
            log.info("reset to epoch %s ignored: already at epoch %s", epoch, self.epoch)
            return False
        self.set_epoch(epoch)
        self.conn.execute(
            "DELETE FROM parked_events WHERE (body::jsonb ->> 'epoch')::int < %s"
            " AND NOT (body::jsonb ->> 'type' = ANY(%s))",
            (epoch, [t for t, cls in contracts.REGISTRY.items() if cls.EPOCH_FREE]),
        )
        return True

    def dispatch(self, envelope: Envelope) -> None:
        assert self._handlers is not None
        epoch_free = envelope.event.EPOCH_FREE
        if envelope.epoch < self.epoch and not epoch_free:
            log.info("ignored %s %s of old epoch %s", envelope.type, envelope.id, envelope.epoch)
            return
        if envelope.epoch > self.epoch and not epoch_free and envelope.type != contracts.SimulationReset.TYPE:
            self.park(f"epoch:{envelope.epoch}", envelope)
            return
        event = envelope.event
        if isinstance(event, contracts.SimulationReset) and event.tokens_valid_from_epoch > 1:
            # tokens revoked by this reset: every service keeps the floor its API checks
            revocation.raise_floor(self.conn, event.tokens_valid_from_epoch)
        handler = self._handlers.table.get(envelope.type)
        if handler is None:
            return
        previous, self.envelope = self.envelope, envelope
        try:
            handler(self, envelope.event)
        except NotReady as wait:
            self.park(wait.wait_key, envelope)
        finally:
            self.envelope = previous

    def flush(self, notify: bool = True) -> list[Envelope]:
        now = datetime.now(UTC)
        envelopes = [contracts.wrap(evt, self.producer, self.epoch, now) for evt in self._pending]
        self._pending.clear()
        self.outbox_rows.extend(outbox.write(self.conn, envelopes, notify=notify))
        return envelopes


def process_batch(
    conn: psycopg.Connection, handlers: EventHandlers, envelopes: list[Envelope],
    epoch: int | None = None, notify: bool = True,
) -> UnitOfWork:
    """Apply a batch inside the caller's open transaction; return its unit of work
    (`uow.emitted`: the events it wrote to the outbox, `uow.epoch`: the epoch after it).

    Duplicates (redeliveries, or the same id twice in one batch) are skipped by
    the inbox, so running the same batch twice has the effect of running it once.
    The worker passes the epoch it already knows (saving a query per batch) and
    notify=False (it wakes its own relay after the commit).
    """
    uow = UnitOfWork(conn, handlers.service, epoch=epoch, handlers=handlers)
    claims = [(e.id, e.type) for e in envelopes]
    # Without a reset in the batch (one segment), the inbox claim and the batch's loads
    # share a round trip: the loads go out for every event before the claim answers
    # which are new (a duplicate, rare, only loads rows for nothing).
    loaded = bool(envelopes) and not any(e.type == contracts.SimulationReset.TYPE for e in envelopes)
    if loaded:
        with conn.pipeline():
            sent = inbox.send_claim(conn, claims)
            _load(uow, handlers, envelopes)
        fresh = inbox.claimed(sent)
    else:
        fresh = inbox.claim(conn, claims)
    seen: set[uuid.UUID] = set()
    todo: list[Envelope] = []
    for envelope in envelopes:
        if envelope.id not in fresh or envelope.id in seen:
            log.info("duplicate %s %s skipped", envelope.type, envelope.id)
            continue
        seen.add(envelope.id)
        todo.append(envelope)
    emitted: list[Envelope] = []
    for segment in _segments(todo):
        # A reset runs in a segment of its own: what came before it is written and
        # emitted in the old epoch, and what follows starts from empty batch caches
        # (rows loaded before the reset would be stale after it).
        if not loaded:
            _load(uow, handlers, segment)
        loaded = False
        for envelope in segment:
            uow.dispatch(envelope)
        emitted.extend(_write(uow, handlers, notify))
    uow.emitted = emitted
    return uow


def _load(uow: UnitOfWork, handlers: EventHandlers, envelopes: list[Envelope]) -> None:
    """The before_batch hooks, from empty batch caches, for the events of the current epoch."""
    uow.touched = {}
    handlers.run_before_batch(uow, [e.event for e in envelopes if e.epoch == uow.epoch or e.event.EPOCH_FREE])


def _write(uow: UnitOfWork, handlers: EventHandlers, notify: bool = True) -> list[Envelope]:
    """The after_batch hooks and the outbox rows, sent together: one round trip (a hook
    that needs an answer, such as a valuation, still waits for it)."""
    with uow.conn.pipeline():
        handlers.run_after_batch(uow)
        return uow.flush(notify=notify)


def _segments(envelopes: list[Envelope]) -> list[list[Envelope]]:
    """Split a batch around its simulation.reset events (each alone in its segment)."""
    segments: list[list[Envelope]] = [[]]
    for envelope in envelopes:
        if envelope.type == contracts.SimulationReset.TYPE:
            segments.append([envelope])
            segments.append([])
        else:
            segments[-1].append(envelope)
    return [s for s in segments if s] or [[]]


def release_now(conn: psycopg.Connection, handlers: EventHandlers, wait_key: str) -> list[Envelope]:
    """For HTTP handlers that create what parked events wait for (a listed symbol):
    replay them now, in the caller's transaction, with the batch hooks."""
    uow = UnitOfWork(conn, handlers.service, handlers=handlers)
    uow.release(wait_key)
    return _write(uow, handlers)


def emit_now(conn: psycopg.Connection, producer: str, events: list[Event], epoch: int | None = None
             ) -> list[Envelope]:
    """For HTTP handlers: emit events in the caller's transaction (no inbox involved);
    `epoch`: the caller already read it in this transaction."""
    return outbox.emit(conn, producer, events, epoch=epoch)
