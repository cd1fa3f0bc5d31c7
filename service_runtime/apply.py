"""Applying a batch of delivered events in one transaction: inbox, handlers, outbox.

Order of work (`apply_batch`):
1. claim the batch's event ids in the inbox (`inbox.claim_all`: a duplicate aborts
   the transaction, and the batch is applied again with `claim_new`, which skips
   what was seen; a batch with a redelivered message starts that way);
2. split the batch around its resets: each reset runs in a segment of its own, so
   what came before it is written in the old epoch and what follows starts from
   freshly loaded state;
3. per segment: the service's `Batch` loads what the events need, each event goes
   to its handler (old epochs ignored, newer ones and events about something not
   known yet parked), the batch writes, the announcers emit notices;
4. the unit of work writes the outbox rows and commits; then each batch's
   `committed` makes its changes the service's state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from . import inbox, revocation
from .contracts import Envelope, EpochFilter, SimulationReset
from .handlers import Batch, EventHandlers, NotReady
from .unit_of_work import UnitOfWork

log = logging.getLogger("papertrade.events")


class ParkedKeys:
    """The wait keys that have parked events, kept by the one worker that parks them,
    so releasing a key nothing waits for costs no query. `None` entries: unknown."""

    def __init__(self, keys: set[str] | None = None) -> None:
        self.keys = keys

    @classmethod
    def load(cls, conn: psycopg.Connection) -> ParkedKeys:
        rows = conn.execute("SELECT DISTINCT wait_key FROM parked_events").fetchall()
        return cls({r["wait_key"] for r in rows})

    def may_hold(self, key: str) -> bool:
        return self.keys is None or key in self.keys


class _Run:
    """One transaction's dispatching: the current segment's batch, the epoch as it moves."""

    def __init__(self, uow: UnitOfWork, handlers: EventHandlers, epochs: EpochFilter, parked: ParkedKeys) -> None:
        self.uow = uow
        self.handlers = handlers
        self.epochs = EpochFilter(epochs.epoch)
        self.parked = parked
        self.newly_parked: set[str] = set()
        self.released: set[str] = set()
        self.batch: Batch | None = None
        uow.releaser = self.release

    def dispatch(self, envelope: Envelope) -> None:
        uow = self.uow
        if self.epochs.is_old(envelope):
            log.info("ignored %s %s of old epoch %s", envelope.type, envelope.id, envelope.epoch)
            return
        if self.epochs.is_early(envelope):
            self._park(f"epoch:{envelope.epoch}", envelope)
            return
        event = envelope.event
        if isinstance(event, SimulationReset) and event.tokens_valid_from_epoch > 1:
            # tokens revoked by this reset: every service keeps the floor its API checks
            revocation.raise_floor(uow.conn, event.tokens_valid_from_epoch)
        handler = self.handlers.table.get(envelope.type)
        if handler is None:
            return
        previous, uow.envelope = uow.envelope, envelope
        try:
            handler(self.batch, event)
        except NotReady as wait:
            self._park(wait.wait_key, envelope)
        finally:
            uow.envelope = previous
            if uow.epoch is not None:
                self.epochs.advance(uow.epoch)

    def _park(self, key: str, envelope: Envelope) -> None:
        self.uow.park(key, envelope)
        self.newly_parked.add(key)

    def release(self, key: str) -> None:
        if not (self.parked.may_hold(key) or key in self.newly_parked):
            return
        self.released.add(key)
        self.newly_parked.discard(key)
        if self.uow.epoch is not None:  # released by a reset: they belong to the epoch it started
            self.epochs.advance(self.uow.epoch)
        for envelope in self.uow.take_parked(key):
            log.info("released %s %s (waited for %s)", envelope.type, envelope.id, key)
            self.dispatch(envelope)

    def after_commit(self) -> None:
        keys = self.parked.keys
        if keys is not None:
            keys -= self.released
            keys |= self.newly_parked


def segments(envelopes: Sequence[Envelope]) -> list[list[Envelope]]:
    """Split a batch around its simulation.reset events (each alone in its segment)."""
    out: list[list[Envelope]] = [[]]
    for envelope in envelopes:
        if envelope.type == SimulationReset.TYPE:
            out.append([envelope])
            out.append([])
        else:
            out[-1].append(envelope)
    return [s for s in out if s] or [[]]


def _unique(envelopes: Sequence[Envelope]) -> list[Envelope]:
    seen: set[uuid.UUID] = set()
    out = []
    for e in envelopes:
        if e.id in seen:
            log.info("duplicate %s %s skipped", e.type, e.id)
            continue
        seen.add(e.id)
        out.append(e)
    return out


def apply_batch(
    conn: psycopg.Connection,
    handlers: EventHandlers,
    envelopes: Sequence[Envelope],
    epochs: EpochFilter,
    parked: ParkedKeys | None = None,
    *,
    strict: bool = True,
    delete_sent: Sequence[int] = (),
    notify: bool = False,
) -> UnitOfWork:
    """Apply `envelopes` in one transaction and commit; return the committed unit of work
    (`outbox_rows` and `notices` to publish). Raises inbox.InboxConflict when a strict
    claim met a duplicate (nothing was applied: call again with strict=False)."""
    parked = parked if parked is not None else ParkedKeys()
    todo = _unique(envelopes)
    uow = UnitOfWork(conn, handlers.service, epoch=epochs.epoch, notify=notify)
    uow.delete_sent(delete_sent)
    run = _Run(uow, handlers, epochs, parked)
    batches: list[Batch] = []
    state: Any = handlers.state
    uow.begin()
    try:
        ids, types = [e.id for e in todo], [e.type for e in todo]
        claim = None
        if strict:
            inbox.claim_all(conn, ids, types)
        else:
            claim = inbox.claim_new(conn, ids, types)
        fresh: set[uuid.UUID] | None = None  # None: every id is new
        reset_done = False
        for segment in segments(todo):
            if reset_done and handlers.state_type is not None:
                state = handlers.state_type.load(conn)  # what the reset left, inside this transaction
            batch = handlers.new_batch(uow, state)
            run.batch = batch
            # the loads go out with the claim: one round trip for both
            batch.load([e.event for e in segment if not run.epochs.is_old(e) and not run.epochs.is_early(e)])
            if claim is not None:
                fresh = inbox.claimed(claim)
                claim = None
                for e in todo:
                    if e.id not in fresh:
                        log.info("duplicate %s %s skipped", e.type, e.id)
            epoch_before = run.epochs.epoch
            for envelope in segment:
                if fresh is None or envelope.id in fresh:
                    run.dispatch(envelope)
            reset_done = run.epochs.epoch > epoch_before
            batch.write()
            for announce in handlers.announcers:
                announce(batch)
            batches.append(batch)
        uow.commit()
    except BaseException as exc:
        uow.rollback()
        if inbox.is_conflict(exc):  # surfaced at the commit or at any answer read before it
            raise inbox.InboxConflict(str(exc)) from exc
        raise
    for batch in batches:
        batch.committed()
    if reset_done and handlers.state_type is not None:
        state = handlers.state_type.load(conn)
    handlers.state = state
    epochs.advance(run.epochs.epoch)
    run.after_commit()
    return uow


def apply_announcers(conn: psycopg.Connection, handlers: EventHandlers, epochs: EpochFilter,
                     delete_sent: Sequence[int] = (), notify: bool = False) -> UnitOfWork:
    """The announcers alone, with no events (a throttled announcement that was held back)."""
    return apply_batch(conn, handlers, [], epochs, delete_sent=delete_sent, notify=notify)
