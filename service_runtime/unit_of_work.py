"""The unit of work: one transaction, and the events announcing what it changed.

Routes and event handlers call the same use cases with one of these. It owns its
transaction: it sends BEGIN and COMMIT itself, on an autocommit connection in
psycopg's pipeline mode, so statements whose answers nobody waits for travel
together and a batch of events that only writes costs one round trip, commit
included (psycopg's own transaction blocks sync at BEGIN and at COMMIT).

    with unit_of_work(conn, "stock_data") as uow:      # BEGIN
        services.list_stock(uow, ...)                   # statements; uow.emit(event)
                                                        # outbox rows + COMMIT, one round trip

Domain events go to the outbox in the same transaction (`emit`); notices
(contracts.notice) are kept for the caller to publish after the commit (`notify`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import pq

from . import contracts, outbox
from .contracts import Envelope, Event
from .db import forget_prepared

log = logging.getLogger("papertrade.events")

Releaser = Callable[[str], None]


class UnitOfWork:
    def __init__(self, conn: psycopg.Connection, service: str, epoch: int | None = None,
                 notify: bool = True) -> None:
        self.conn = conn
        self.service = service
        self.epoch = epoch  # read on first need when not given
        self.now = datetime.now(UTC)
        self.envelope: Envelope | None = None  # the event being handled, if any
        self.notify_relay = notify  # NOTIFY at commit (an API's rows); a worker publishes its own
        self._events: list[Envelope] = []
        self._notices: list[Envelope] = []
        self._delete: list[int] = []
        self._pipeline: Any = None  # the pipeline's context manager
        self._in_pipeline: psycopg.Pipeline | None = None
        self._pending: outbox.PendingRows | None = None
        self.releaser: Releaser | None = None  # set by the batch runner: replays parked events
        self.outbox_rows: list[outbox.OutboxRow] = []  # after commit: what the relay publishes
        self.notices: list[Envelope] = []  # after commit: to publish, transient
        self.emitted: list[Envelope] = []  # after commit: the domain events written
        self.follow_up: float | None = None

    # -- the transaction --------------------------------------------------------

    def __enter__(self) -> UnitOfWork:
        self.begin()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def begin(self) -> None:
        if not self.conn.autocommit:
            raise RuntimeError("a unit of work needs an autocommit connection (it sends BEGIN itself)")
        self._pipeline = self.conn.pipeline()
        self._in_pipeline = self._pipeline.__enter__()
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        """Write the outbox rows, delete what the relay had confirmed, commit: one round
        trip. A failure rolls back and raises."""
        try:
            if self._events:
                self._pending = outbox.send(self.conn, self._events)
                self.emitted = list(self._events)
                if self.notify_relay:
                    outbox.notify(self.conn)
            outbox.delete_sent(self.conn, self._delete)
            self.conn.execute("COMMIT")
            self._end_pipeline()
        except BaseException:
            self.rollback()
            raise
        self.outbox_rows = self._pending.rows() if self._pending is not None else []
        self.notices = list(self._notices)

    def rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._end_pipeline()
        self._events.clear()
        self._notices.clear()
        self.emitted = []
        if self.conn.closed:
            return
        with contextlib.suppress(psycopg.Error):
            if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
                self.conn.execute("ROLLBACK")
            forget_prepared(self.conn)

    def _end_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.__exit__(None, None, None)

    def sync(self) -> None:
        """Send what is queued and wait for the answers (a use case that must read what
        it just wrote before going on)."""
        if self._pipeline is not None:
            self._in_pipeline.sync()

    # -- what the transaction announces -------------------------------------------

    def emit(self, event: Event) -> None:
        """A domain event, written to the outbox at commit, stamped with the epoch it
        happened in (a batch that resets emits what came before in the old one)."""
        if event.NOTICE:
            raise ValueError(f"{event.TYPE} is a notice: use notify()")
        self._events.append(contracts.wrap(event, self.service, self._current_epoch(), self.now))

    def notify(self, event: Event) -> None:
        """A notice, published after the commit and never stored."""
        if not event.NOTICE:
            raise ValueError(f"{event.TYPE} is a domain event: use emit()")
        self._notices.append(contracts.wrap(event, self.service, self._current_epoch(), self.now))

    def _current_epoch(self) -> int:
        if self.epoch is None:
            self.epoch = outbox.read_epoch(self.conn)
        return self.epoch

    def delete_sent(self, ids: Sequence[int]) -> None:
        """Outbox rows the broker confirmed: deleted in this transaction (no round trip of their own)."""
        self._delete.extend(ids)

    @property
    def deleting(self) -> list[int]:
        return self._delete

    def run_again_in(self, seconds: float) -> None:
        """Ask the worker to run the announcers once more, with no events, in about
        `seconds` (a throttled announcement sends what it held back then)."""
        self.follow_up = seconds if self.follow_up is None else min(self.follow_up, seconds)

    # -- waiting for what has not arrived yet ----------------------------------------

    def park(self, wait_key: str, envelope: Envelope) -> None:
        self.conn.execute(
            "INSERT INTO parked_events (wait_key, event_id, body) VALUES (%s, %s, %s)",
            (wait_key, envelope.id, envelope.to_json()),
        )
        log.info("parked %s %s until %s", envelope.type, envelope.id, wait_key)

    def release(self, wait_key: str) -> None:
        """Replay, now, the events that waited for `wait_key` (oldest first)."""
        if self.releaser is not None:
            self.releaser(wait_key)

    def take_parked(self, wait_key: str) -> list[Envelope]:
        rows = self.conn.execute(
            "DELETE FROM parked_events WHERE wait_key = %s RETURNING id, body", (wait_key,)
        ).fetchall()
        return [contracts.parse(r["body"]) for r in sorted(rows, key=lambda r: r["id"])]

    # -- epochs ------------------------------------------------------------------------

    def begin_epoch(self, epoch: int) -> bool:
        """Start epoch `epoch` (a reset's use case calls this first, before wiping its
        state): False when this service is already there (a repeated reset). Writing
        the epoch row first makes writers that hold it (the order front door reads it
        FOR SHARE) finish before the wipe, or wait and then see the new epoch. Parked
        events of older epochs are dropped: they belong to the wiped state."""
        current = self.epoch if self.epoch is not None else outbox.read_epoch(self.conn)
        if epoch <= current:
            log.info("reset to epoch %s ignored: already at epoch %s", epoch, current)
            return False
        self.conn.execute("UPDATE service_state SET value = to_jsonb(%s::int) WHERE key = 'epoch'", (epoch,))
        self.epoch = epoch
        self.conn.execute(
            "DELETE FROM parked_events WHERE (body::jsonb ->> 'epoch')::int < %s"
            " AND NOT (body::jsonb ->> 'type' = ANY(%s))",
            (epoch, [t for t, cls in contracts.REGISTRY.items() if cls.EPOCH_FREE]),
        )
        return True


@contextlib.contextmanager
def unit_of_work(conn: psycopg.Connection, service: str, epoch: int | None = None,
                 notify: bool = True) -> Iterator[UnitOfWork]:
    uow = UnitOfWork(conn, service, epoch=epoch, notify=notify)
    with uow:
        yield uow
