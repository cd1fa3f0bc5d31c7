"""One service's event side inside a worker process: its batch consumer, its outbox
relay, activation as its queue's single active consumer, its timed actions, the
inbox's pruning and held-back announcements (service_runtime/worker.py hosts one
or more of these on one connection)."""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from pika.adapters.select_connection import SelectConnection

from . import faults, gc_watch, inbox, parked, topology
from .activation import take_activation_lock
from .apply import ParkedKeys, apply_announcers, apply_batch
from .config import Settings
from .consumer import BatchConsumer, Delivery, Refuse
from .contracts import EpochFilter
from .db import connect
from .handlers import EventHandlers
from .outbox import lag, read_epoch
from .relay import KICK_INTERVAL, OutboxRelay
from .unit_of_work import UnitOfWork
from .worker_stats import (
    ACTIVE,
    BATCH_SECONDS,
    BATCHES,
    EVENT_AGE,
    EVENTS,
    OUTBOX_LAG,
    OUTBOX_UNSENT,
    QUEUE_DEPTH,
    WorkerStats,
)

log = logging.getLogger("papertrade.worker")

GAUGE_INTERVAL = 15.0  # seconds between reads of the queue depth and the outbox backlog


class ServiceRunner:
    """One service's event side in a worker (see the module docstring)."""

    def __init__(self, settings: Settings, service: str, handlers: EventHandlers,
                 queue: str | None = None, database: str | None = None) -> None:
        self.settings = settings
        self.service = service
        self.handlers = handlers
        self.database = database or service
        self.db_url = settings.database_url(self.database)
        self.queue = queue or settings.queue(service)
        self.labels = {"service": service, "queue": self.queue}
        # where the API relays its own events, the worker keeps out of the way
        self.relays = not (handlers.relay_in_api and settings.relay_in_api)
        self.relay = OutboxRelay(settings, self.database, service, leads=self.relays)
        self.notifies = not self.relays  # its commits wake the relay that does
        self.consumer: BatchConsumer | None = None
        if handlers.consumed:
            self.consumer = BatchConsumer(self.queue, self._apply, prefetch=settings.consumer_prefetch,
                                          max_batch=settings.max_batch, name=service, check=self._check)
        self.epochs = EpochFilter()
        self.parked = ParkedKeys()
        self.horizon: datetime | None = None  # ids older than this may have been pruned
        self.active = False
        self.stats = WorkerStats(service)
        self._db: psycopg.Connection | None = None
        self._connection: SelectConnection | None = None
        self._follow_up_scheduled = False
        self._last_gauges = self._last_kick = self._last_prune = 0.0

    # -- on the shared connection -------------------------------------------------

    def attach(self, connection: SelectConnection) -> None:
        self._connection = connection
        self._follow_up_scheduled = False
        self.relay.attach(connection)
        if self.consumer is not None:
            self._set_active(False)  # a new consumer may be a standby until its first delivery
            self.consumer.on_first_delivery = self._activate
            self.consumer.attach(connection)
        for hook in self.handlers.periodic_hooks:
            connection.ioloop.call_later(hook.seconds, lambda h=hook: self._run_periodic(h))

    def detach(self) -> None:
        self.relay.detach()
        if self.consumer is not None:
            self.consumer.detach()
        self._connection = None

    def declare(self, channel: Any) -> None:
        topology.declare_exchanges(channel, self.settings)
        if self.consumer is not None:
            topology.declare_service(channel, self.settings, self.service, self.handlers.consumed)

    def close(self) -> None:
        self.relay.close()
        self.drop_db()

    # -- the batch connection -------------------------------------------------------

    def conn(self) -> psycopg.Connection:
        if self._db is None or self._db.closed:
            self._db = connect(self.db_url, autocommit=True, custom_plans=True)
            self._set_active(False)  # the activation lock was held by the old session
            if self._delivering():
                # Still the queue's active consumer: the new session holds the lock too,
                # or a successor taking over later would not wait for our last commit.
                self._take_activation()
            else:
                self._load()
        return self._db

    def _delivering(self) -> bool:
        """The broker already gives this consumer the queue (its first delivery came)."""
        consumer = self.consumer
        return consumer is not None and consumer.consuming and consumer.on_first_delivery is None

    def _load(self) -> None:
        """What the runner keeps in memory: the epoch, parked keys, the inbox horizon and
        the service's own state (on every new session, and after a failed batch)."""
        conn = self._db
        assert conn is not None
        self.epochs = EpochFilter(read_epoch(conn))
        self.parked = ParkedKeys.load(conn)
        self.horizon = inbox.read_horizon(conn)
        self.handlers.rebuild(conn)
        gc_watch.settle()  # the state just loaded is long-lived: out of the collector's way

    def drop_db(self) -> None:
        if self._db is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                self._db.close()
        self._db = None
        self.relay.drop_db()
        self._set_active(False)

    def _set_active(self, active: bool) -> None:
        self.active = active
        ACTIVE.set(1 if active else 0, **self.labels)

    def _activate(self) -> None:
        self.conn()
        if not self.active:
            self._take_activation()

    def _take_activation(self) -> None:
        assert self._db is not None
        take_activation_lock(self._db, self.queue)
        self._load()  # the predecessor's last commit is in the database now
        self._set_active(True)
        log.info("%s worker: active consumer of %s", self.service, self.queue)

    # -- applying -------------------------------------------------------------------

    def _check(self, delivery: Delivery) -> None:
        horizon = self.horizon
        if horizon is not None and not delivery.forced and delivery.envelope.occurred_at < horizon:
            raise Refuse(f"older than the inbox's retention (pruned before {horizon.isoformat()}): it may "
                         "have been applied already; replay it with --force if it never was")

    def _apply(self, deliveries: list[Delivery]) -> None:
        envelopes = [d.envelope for d in deliveries]
        started = time.perf_counter()

        def apply(strict: bool) -> Any:
            return lambda conn, deleting: apply_batch(conn, self.handlers, envelopes, self.epochs, self.parked,
                                                      strict=strict, delete_sent=deleting, notify=self.notifies)

        if any(d.redelivered for d in deliveries):  # after a crash: duplicates are likely, claim first
            uow = self._commit(apply(False))
        else:
            uow = self._commit(apply(True), retry_duplicates=apply(False))
        faults.crash_point("after_commit_before_ack")
        took = time.perf_counter() - started
        self.stats.consumed(len(envelopes), took * 1000, envelopes)
        BATCH_SECONDS.observe(took, service=self.service)
        EVENTS.inc(len(envelopes), **self.labels)
        BATCHES.inc(1, **self.labels)
        now = time.time()
        for env in envelopes:
            EVENT_AGE.observe(max(0.0, now - env.occurred_at.timestamp()), service=self.service)
        self._published(uow)

    def _commit(self, run: Any, retry_duplicates: Any = None) -> UnitOfWork:
        """Run one transaction (`run(conn, ids to delete)`), handing it the outbox rows the
        broker confirmed since the last one; rebuild the in-memory state when it fails.

        `retry_duplicates`: the same batch, claiming only new ids. A strict claim learns of
        a duplicate only at the end, and a handler may fail first on it (an order already
        in the book): any failure of the strict try is retried that way once."""
        conn = self.conn()
        deleting = self.relay.take_confirmed()
        try:
            try:
                uow = run(conn, deleting)
            except psycopg.OperationalError:
                raise
            except Exception as exc:
                if retry_duplicates is None:
                    raise
                if isinstance(exc, inbox.InboxConflict):
                    log.info("%s: a duplicate in the batch; applying what is new", self.service)
                self._load()  # what the failed try changed in memory is gone
                uow = retry_duplicates(conn, deleting)
        except psycopg.OperationalError:
            self.relay.settled(deleting, committed=False)
            self.drop_db()
            raise
        except BaseException:
            self.relay.settled(deleting, committed=False)
            with contextlib.suppress(psycopg.Error):
                self._load()
            raise
        self.relay.settled(deleting, committed=True)
        if uow.follow_up is not None:
            self._schedule_follow_up(uow.follow_up)
        return uow

    def _published(self, uow: UnitOfWork) -> None:
        self.relay.publish_own(uow.outbox_rows)
        self.relay.publish_notices(uow.notices)

    def _schedule_follow_up(self, delay: float) -> None:
        if self._follow_up_scheduled or self._connection is None:
            return
        self._follow_up_scheduled = True
        self._connection.ioloop.call_later(delay, self._run_follow_up)

    def _run_follow_up(self) -> None:
        self._follow_up_scheduled = False
        try:
            uow = self._commit(lambda conn, deleting: apply_announcers(conn, self.handlers, self.epochs, deleting,
                                                                      notify=self.notifies))
        except psycopg.OperationalError as exc:
            log.warning("%s: follow-up: database unavailable: %s", self.service, exc)
            return
        except Exception:  # noqa: BLE001 - an announcement must not stop the worker
            log.exception("%s: follow-up failed", self.service)
            return
        self._published(uow)

    def _run_periodic(self, hook: Any) -> None:
        connection = self._connection
        if connection is None or not connection.is_open:
            return
        if hook.when is not None and not hook.when(self.handlers.state):
            connection.ioloop.call_later(hook.seconds, lambda: self._run_periodic(hook))
            return
        try:
            def run(conn: psycopg.Connection, deleting: list[int]) -> UnitOfWork:
                with UnitOfWork(conn, self.service, epoch=self.epochs.epoch, notify=self.notifies) as uow:
                    uow.delete_sent(deleting)
                    hook.fn(uow)
                return uow

            self._published(self._commit(run))
        except psycopg.OperationalError as exc:
            log.warning("%s: periodic %s: database unavailable: %s", self.service, hook.fn.__name__, exc)
        except Exception:  # noqa: BLE001 - a timed action must not stop the worker
            log.exception("%s: periodic %s failed", self.service, hook.fn.__name__)
        connection.ioloop.call_later(hook.seconds, lambda: self._run_periodic(hook))

    # -- once a second ------------------------------------------------------------------

    def tick(self) -> None:
        now = time.monotonic()
        self.relay.maintain()
        if self.relay.behind or now - self._last_kick >= KICK_INTERVAL:
            self._last_kick = now
            self.relay.kick()
        if now - self._last_gauges >= GAUGE_INTERVAL and (self.consumer is None or self.consumer.consuming):
            self._last_gauges = now
            self._observe()
        if self.active and now - self._last_prune >= self.settings.inbox_prune_seconds:
            self._last_prune = now
            self._prune()
        self.stats.maybe_report(self.relay)

    def _observe(self) -> None:
        consumer = self.consumer
        if consumer is not None and consumer.consuming:
            def depth(frame: Any) -> None:
                QUEUE_DEPTH.set(frame.method.message_count, queue=self.queue)
            consumer.channel.queue_declare(self.queue, passive=True, callback=depth)
        try:
            unsent, age = lag(self.conn())
        except psycopg.Error as exc:
            log.warning("%s: outbox gauges: %s", self.service, exc)
            self.drop_db()
            return
        OUTBOX_UNSENT.set(unsent, service=self.service, database=self.database)
        OUTBOX_LAG.set(age, service=self.service, database=self.database)

    def _prune(self) -> None:
        """Inbox rows past the retention go, and events parked past their expiry move to
        the dead letters, one chunk per tick and transaction, so a large backlog never
        holds up the batches in between."""
        now = datetime.now(UTC)
        cutoff = now - timedelta(hours=self.settings.inbox_retention_hours)
        removed = expired = 0
        try:
            conn = self.conn()
            with conn.transaction():
                pruning = inbox.prune(conn, cutoff)
                if pruning:
                    inbox.write_horizon(conn, cutoff)
            removed = pruning  # committed: only now is the horizon ours
            with conn.transaction():
                expired = parked.expire(conn, self.service, now - timedelta(hours=self.settings.parked_expiry_hours))
        except psycopg.Error as exc:
            log.warning("%s: pruning the inbox and parked events: %s", self.service, exc)
        if expired:
            log.warning("%s: %d events parked longer than %s h moved to the dead letters", self.service, expired,
                        self.settings.parked_expiry_hours)
        if removed:
            self.horizon = cutoff
            log.info("%s: pruned %d inbox rows processed before %s", self.service, removed, cutoff.isoformat())
        if removed == inbox.PRUNE_CHUNK or expired == parked.EXPIRE_CHUNK:
            self._last_prune = 0.0  # more to go: again at the next tick

    def health(self) -> dict[str, Any]:
        database = self._db is not None and not self._db.closed
        consuming = self.consumer is None or self.consumer.consuming
        return {"database": database, "consuming": consuming, "active": self.active,
                "relay_leader": self.relay.leader}
