"""The event bus: RabbitMQ topology, and the worker that consumes and relays.

Topology (declared idempotently by `declare_topology`):
- one durable topic exchange `<ns>.events` for every domain event;
- per consuming service a durable queue `<ns>.<service>` (quorum by default,
  single active consumer, so events from one producer are applied in order and a
  second worker is a hot standby), bound to `<type>.#` for each event it handles;
- a dead-letter exchange `<ns>.dead` and per service `<ns>.<service>.dead`, where
  poison messages are kept, visible and replayable.

`EventWorker` runs one service's event side in a single thread on one pika
SelectConnection:
- consume: messages are buffered as they arrive and handled as one batch in one
  transaction (inbox, handlers, outbox), then acked with `multiple=True` after
  the commit. Batches are whatever arrived while the last one ran, so they are
  small when quiet (low latency) and large under load (few commits).
- relay: unsent outbox rows are published in id order with publisher confirms
  pipelined (many in flight), and marked sent once confirmed. It is woken by
  LISTEN/NOTIFY on commit, by its own handler commits, and by a 1 s safety timer.
  Only the holder of a PostgreSQL advisory lock relays, so a standby worker never
  publishes out of order.
Both reconnect by themselves when RabbitMQ or PostgreSQL go away.

pika over aio-pika: on this machine pika publishes and consumes 2-4x faster per
CPU (docs/decisions.md); its SelectConnection gives pipelined confirms.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions
import psycopg
from pika.adapters.select_connection import PollEvents, SelectConnection
from pika.spec import Basic, BasicProperties

from . import contracts, faults, outbox
from . import metrics as metrics_mod
from . import shards as shards_mod
from .config import SERVICES, Settings
from .db import connect
from .handlers import EventHandlers, UnitOfWork, process_batch

log = logging.getLogger("papertrade.bus")

PERSISTENT = 2
DELIVERY_LIMIT = 20  # quorum queues dead-letter a message redelivered this often (a crash loop)
HANDLER_ATTEMPTS = 3
MAX_IN_FLIGHT = 10_000  # unconfirmed publishes before the relay waits
FETCH_LIMIT = 2000  # outbox rows read per relay round
MARK_DELAY = 0.05  # seconds: confirmed outbox rows are deleted together at most this often


def queue_arguments(settings: Settings, service: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "x-dead-letter-exchange": settings.dead_letter_exchange,
        "x-dead-letter-routing-key": service,
        "x-single-active-consumer": True,
    }
    if settings.quorum_queues:
        args["x-queue-type"] = "quorum"
        args["x-delivery-limit"] = DELIVERY_LIMIT
    return args


def bindings_for(service: str) -> list[str]:
    """The routing keys a service's queue is bound to, from the event catalog.

    `order.approved.#` matches both `order.approved` and `order.approved.p07`.
    """
    return [f"{cls.TYPE}.#" for cls in contracts.consumed_by(service)]


def shard_bindings(shard: int, shards: int) -> list[str]:
    """The routing keys of matching shard `shard` of `shards`: symbol-scoped events only
    for the partitions it owns (`order.approved.p03`), events about every symbol
    (`market.status_changed`, `simulation.reset`) whatever their key."""
    keys = []
    for cls in contracts.consumed_by(shards_mod.MATCHING):
        if contracts.is_symbol_scoped(cls):
            keys.extend(f"{cls.TYPE}.p{p:02d}" for p in shards_mod.partitions_of(shard, shards))
        else:
            keys.append(f"{cls.TYPE}.#")
    return keys


def queue_bindings(settings: Settings, service: str) -> dict[str, list[str]]:
    """queue name -> its routing keys, for one consuming service (one queue per matching shard)."""
    if service == shards_mod.MATCHING and settings.matching_shards > 1:
        return {settings.matching_queue(k): shard_bindings(k, settings.matching_shards)
                for k in range(settings.matching_shards)}
    keys = bindings_for(service)
    return {settings.queue(service): keys} if keys else {}


def declare_topology(channel: Any, settings: Settings) -> None:
    """Declare the exchanges and every service's queues and bindings (idempotent).

    Every process that publishes declares the whole topology before its first
    publish: a message published before its consumer's queue exists would be
    dropped by the exchange, so no process may rely on the consumers having
    started first.
    """
    channel.exchange_declare(settings.exchange, exchange_type="topic", durable=True)
    channel.exchange_declare(settings.dead_letter_exchange, exchange_type="direct", durable=True)
    for service in SERVICES:
        keys = bindings_for(service)
        if not keys:
            continue
        dead = settings.dead_letter_queue(service)
        channel.queue_declare(
            dead, durable=True, arguments={"x-queue-type": "quorum"} if settings.quorum_queues else None
        )
        channel.queue_bind(dead, settings.dead_letter_exchange, routing_key=service)
        for queue, queue_keys in queue_bindings(settings, service).items():
            channel.queue_declare(queue, durable=True, arguments=queue_arguments(settings, service))
            for key in queue_keys:
                channel.queue_bind(queue, settings.exchange, routing_key=key)


def blocking_connection(settings: Settings, name: str = "papertrade") -> pika.BlockingConnection:
    params = pika.URLParameters(settings.amqp_url)
    params.client_properties = {"connection_name": name}
    params.connection_attempts = 1
    params.socket_timeout = 5
    return pika.BlockingConnection(params)


def advisory_key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


# A consumer that becomes active waits this long for its predecessor's database
# session (and so its last transaction) to end before it rebuilds and consumes.
ACTIVATION_LOCK_TIMEOUT = "30s"

_M = metrics_mod.REGISTRY
EVENTS = _M.counter("papertrade_events_processed_total", "Events a worker handled (committed and acked)")
BATCHES = _M.counter("papertrade_batches_total", "Batches (transactions) a worker committed")
BATCH_SECONDS = _M.histogram("papertrade_batch_seconds", "Time to apply and commit one batch")
EVENT_AGE = _M.histogram("papertrade_event_age_seconds",
                         "From an event's creation (occurred_at) to the commit of its handling")
PUBLISHED = _M.counter("papertrade_events_published_total", "Outbox events a worker relayed (confirmed)")
LEADER = _M.gauge("papertrade_relay_leader", "1 while this worker holds its database's relay lock")
ACTIVE = _M.gauge("papertrade_consumer_active", "1 while this worker is its queue's single active consumer")
QUEUE_DEPTH = _M.gauge("papertrade_queue_messages", "Messages ready in the worker's queue (RabbitMQ)")
OUTBOX_UNSENT = _M.gauge("papertrade_outbox_unsent_events", "Outbox rows not yet confirmed by RabbitMQ")
OUTBOX_LAG = _M.gauge("papertrade_outbox_lag_seconds", "Age of the oldest unsent outbox row (0 when none)")


@dataclass
class _Delivery:
    tag: int
    body: bytes
    redelivered: bool


class _Stats:
    """What the worker did lately, logged every 10 s while there is activity."""

    INTERVAL = 10.0

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.since = time.monotonic()
        self.batches = self.events = self.relays = self.published = 0
        self.tx_ms = self.confirm_ms = self.max_confirm_ms = self.max_tx_ms = 0.0
        self.lag_ms: list[float] = []

    def consumed(self, n: int, took_ms: float, envelopes: list[contracts.Envelope]) -> None:
        self.batches += 1
        self.events += n
        self.tx_ms += took_ms
        self.max_tx_ms = max(self.max_tx_ms, took_ms)
        now = time.time()
        self.lag_ms.append(max((now - e.occurred_at.timestamp()) * 1000 for e in envelopes))

    def relayed(self, n: int, took_ms: float) -> None:
        self.relays += 1
        self.published += n
        self.confirm_ms += took_ms
        self.max_confirm_ms = max(self.max_confirm_ms, took_ms)

    def maybe_report(self, service: str) -> None:
        if time.monotonic() - self.since < self.INTERVAL:
            return
        if self.batches or self.relays:
            lag = sorted(self.lag_ms)
            log.info(
                "%s stats: consumed %d events in %d batches (tx avg %.1f ms, max %.1f; event age at commit "
                "p50 %.0f ms, max %.0f); relayed %d events in %d rounds (publish-to-confirm avg %.1f ms, max %.1f)",
                service, self.events, self.batches, self.tx_ms / max(self.batches, 1), self.max_tx_ms,
                lag[len(lag) // 2] if lag else 0, lag[-1] if lag else 0, self.published, self.relays,
                self.confirm_ms / max(self.relays, 1), self.max_confirm_ms,
            )
        self.reset()


@dataclass
class _RelayState:
    in_flight: dict[int, tuple[int, float]] = field(default_factory=dict)  # tag -> (outbox id, sent at)
    confirmed: list[int] = field(default_factory=list)
    confirm_ms: list[float] = field(default_factory=list)
    mark_scheduled: bool = False
    next_tag: int = 1
    # Unsent rows may exist that are not in flight (at start, after a refused round):
    # new rows then go through a read of the outbox, in id order, not from memory.
    behind: bool = True


class EventWorker:
    """Consumes one service's queue and relays its outbox (see the module docstring)."""

    def __init__(
        self,
        service: str,
        handlers: EventHandlers | None,
        settings: Settings,
        queue: str | None = None,
        database: str | None = None,
    ) -> None:
        self.service = service
        self.handlers = handlers
        self.settings = settings
        # a matching shard has its own database and queue (service_runtime/shards.py)
        self.database = database or service
        self.db_url = settings.database_url(self.database)
        self.queue = queue or settings.queue(service)
        self._labels = {"service": service, "queue": self.queue}
        self._active = False  # this consumer got its first delivery (see _activate)
        self.consumes = bool(handlers and handlers.event_types)
        self._stopping = False
        self._connection: SelectConnection | None = None
        self._consume_channel: Any = None
        self._publish_channel: Any = None
        self._buffer: list[_Delivery] = []
        self._flush_scheduled = False
        self._follow_up_scheduled = False
        self._relay = _RelayState()
        self._db: psycopg.Connection | None = None
        self._listen: psycopg.Connection | None = None
        self._leader = False
        self._epoch: int | None = None  # the simulation epoch, read once, then kept by our own batches
        self.batches = 0
        self.events = 0
        self.stats = _Stats()

    # ------------------------------------------------------------------ lifecycle
    def health(self) -> dict[str, Any]:
        """What the worker's /healthz says: "ok" only while connected to RabbitMQ and
        PostgreSQL (and consuming, for a consumer); otherwise "unavailable" (503), naming
        what is missing. It reconnects by itself (`run`)."""
        conn = self._connection
        broker = conn is not None and conn.is_open
        # a consumer's batch connection, or the relay's LISTEN connection (a worker that
        # only relays opens its batch connection at its first publish)
        database = any(c is not None and not c.closed for c in (self._db, self._listen))
        consuming = not self.consumes or (
            broker and self._consume_channel is not None and self._consume_channel.is_open)
        ok = broker and database and consuming
        body: dict[str, Any] = {
            "status": "ok" if ok else "unavailable",
            "service": self.service,
            "broker": "connected" if broker else "disconnected",
            # its database session is opened once the broker connection is up
            "database": "connected" if database else ("disconnected" if broker else "idle"),
        }
        if self.consumes:
            body["consuming"] = consuming
        if not broker:
            body["message"] = ("not connected to RabbitMQ, reconnecting by itself: events wait in the "
                               "outbox and in the queues meanwhile")
        elif not database:
            body["message"] = "not connected to PostgreSQL, reconnecting by itself"
        elif not consuming:
            body["message"] = f"not consuming {self.queue} yet"
        return body

    def healthy(self) -> bool:
        return self.health()["status"] == "ok"

    def run(self) -> None:
        """Run until SIGTERM/SIGINT; reconnect with backoff on any failure."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        backoff = 0.5
        while not self._stopping:
            started = time.monotonic()
            try:
                self._declare()
                self._run_connection()
            except (pika.exceptions.AMQPError, OSError, psycopg.Error) as exc:
                log.warning("%s worker: %s: %s; reconnecting", self.service, type(exc).__name__, exc)
            self._drop_db()
            if self._stopping:
                break
            if time.monotonic() - started > 10:
                backoff = 0.5
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        log.info("%s worker stopped after %d batches, %d events", self.service, self.batches, self.events)

    def stop(self) -> None:
        self._stopping = True
        conn = self._connection
        if conn is not None:
            conn.ioloop.add_callback_threadsafe(self._close)

    def _on_signal(self, signum: int, frame: Any) -> None:
        log.info("%s worker: signal %d, finishing in-flight work", self.service, signum)
        self.stop()

    def _close(self) -> None:
        conn = self._connection
        if self._relay.confirmed:
            self._mark_confirmed()  # not left to the timer: it dies with the connection
        if conn is not None and conn.is_open:
            conn.close()
        elif conn is not None:
            conn.ioloop.stop()

    def _declare(self) -> None:
        with blocking_connection(self.settings, f"{self.service}-declare") as conn:
            declare_topology(conn.channel(), self.settings)

    def _run_connection(self) -> None:
        params = pika.URLParameters(self.settings.amqp_url)
        params.client_properties = {"connection_name": f"{self.service}-worker"}
        self._relay = _RelayState()
        self._buffer = []
        self._flush_scheduled = False
        self._leader = False
        self._connection = SelectConnection(
            params,
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
        )
        if self._follow_up_scheduled:
            # its timer went with the old connection's loop: schedule it on the new one
            self._follow_up_scheduled = False
            self._schedule_follow_up(1.0)
        try:
            self._connection.ioloop.start()
        finally:
            self._unwatch_listen()
            conn, self._connection = self._connection, None
            if conn is not None and conn.is_open:
                # We left the loop on an exception: close cleanly so the broker
                # requeues our unacked deliveries at once.
                try:
                    conn.close()
                    conn.ioloop.start()
                except Exception:  # noqa: BLE001
                    pass

    def _on_open_error(self, conn: Any, err: Exception) -> None:
        log.warning("%s worker: cannot connect to RabbitMQ: %s", self.service, err)
        conn.ioloop.stop()

    def _on_closed(self, conn: Any, reason: Exception) -> None:
        if not self._stopping:
            log.warning("%s worker: RabbitMQ connection closed: %s", self.service, reason)
        conn.ioloop.stop()

    def _on_open(self, conn: Any) -> None:
        conn.channel(on_open_callback=self._on_publish_channel)
        if self.consumes:
            conn.channel(on_open_callback=self._on_consume_channel)

    def _on_channel_closed(self, channel: Any, reason: Exception) -> None:
        if not self._stopping:
            log.warning("%s worker: channel closed: %s", self.service, reason)
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _on_consume_channel(self, channel: Any) -> None:
        self._consume_channel = channel
        self._set_active(False)  # a new consumer may be a standby until its first delivery
        self.handlers.run_on_start(self._conn())
        channel.add_on_close_callback(self._on_channel_closed)
        channel.basic_qos(prefetch_count=self.settings.consumer_prefetch)
        channel.basic_consume(self.queue, self._on_message, auto_ack=False)
        log.info("%s worker consuming %s (%s)", self.service, self.queue, ", ".join(self.handlers.event_types))

    def _on_publish_channel(self, channel: Any) -> None:
        self._publish_channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.confirm_delivery(self._on_confirm)
        self._schedule_maintenance()
        self._relay_kick()

    # ------------------------------------------------------------------ database
    def _conn(self) -> psycopg.Connection:
        if self._db is None or self._db.closed:
            self._db = connect(self.db_url, custom_plans=True)
            self._set_active(False)  # the activation lock was held by the old session
        return self._db

    def _set_active(self, active: bool) -> None:
        self._active = active
        ACTIVE.set(1 if active else 0, **self._labels)

    def _activate(self) -> None:
        """The first delivery of a consumer: it is now the queue's single active consumer.

        A standby has idled since it connected while the active consumer changed the
        database, so in-memory state (order_matching's books) is rebuilt now. First it
        takes the queue's activation lock, a session advisory lock the previous active
        consumer held for as long as its database session lived: a predecessor killed
        in the middle of a commit is thereby finished (committed or rolled back) before
        we read, so nothing it committed is missed and nothing is applied twice (its
        unacked messages come back as redeliveries and the inbox drops what committed).
        """
        conn = self._conn()
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{ACTIVATION_LOCK_TIMEOUT}'")
            conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(f"consume:{self.queue}"),))
        if self.handlers is not None:
            self.handlers.run_on_start(conn)
        self._set_active(True)
        log.info("%s worker: active consumer of %s", self.service, self.queue)

    def _drop_db(self) -> None:
        self._unwatch_listen()
        for conn in (self._db, self._listen):
            if conn is not None:
                with contextlib.suppress(Exception):  # closing a broken connection may fail too
                    conn.close()
        self._db = None
        self._listen = None
        self._leader = False
        LEADER.set(0, **self._labels)
        self._set_active(False)
        self._epoch = None

    def _unwatch_listen(self) -> None:
        if self._listen is not None and self._connection is not None:
            with contextlib.suppress(Exception):  # not registered, or the fd is gone already
                self._connection.ioloop.remove_handler(self._listen.fileno())

    # ------------------------------------------------------------------ consuming
    def _on_message(self, channel: Any, method: Basic.Deliver, props: BasicProperties, body: bytes) -> None:
        self._buffer.append(_Delivery(method.delivery_tag, body, method.redelivered))
        if not self._flush_scheduled:
            # call_later(0) runs after every message already read from the socket
            # has been dispatched: the batch is "what has arrived".
            self._flush_scheduled = True
            self._connection.ioloop.call_later(0, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._buffer or self._consume_channel is None:
            return
        batch = self._buffer[: self.settings.max_batch]
        del self._buffer[: len(batch)]
        if self._buffer:
            self._flush_scheduled = True
            self._connection.ioloop.call_later(0, self._flush)
        envelopes = []
        good: list[_Delivery] = []
        for delivery in batch:
            try:
                envelopes.append(contracts.parse(delivery.body))
                good.append(delivery)
            except (ValueError, KeyError, TypeError) as exc:
                log.error("%s: unparseable message dead-lettered: %s", self.service, exc)
                self._consume_channel.basic_reject(delivery.tag, requeue=False)
        if not good:
            return
        try:
            self._apply(envelopes)
        except psycopg.OperationalError as exc:
            # The database is down: nothing was applied. Give the messages back
            # and let the reconnect loop retry with backoff.
            log.warning("%s: database unavailable (%s); requeueing batch", self.service, exc)
            self._nack_all(good)
            raise
        except Exception:  # noqa: BLE001 - a handler bug: isolate the poison message
            log.exception("%s: batch of %d failed; retrying one by one", self.service, len(good))
            self.handlers.run_on_start(self._conn())
            self._apply_one_by_one(good, envelopes)
            return
        self._ack_batch(good)
        self.batches += 1
        self.events += len(good)
        EVENTS.inc(len(good), **self._labels)
        BATCHES.inc(1, **self._labels)

    def _apply(self, envelopes: list[contracts.Envelope]) -> None:
        started = time.perf_counter()
        try:
            if not self._active:
                self._activate()
            emitted = self._commit(envelopes).outbox_rows
        except psycopg.OperationalError:
            self._drop_db()
            raise
        faults.crash_point("after_commit_before_ack")
        took = (time.perf_counter() - started) * 1000
        if log.isEnabledFor(logging.DEBUG):
            for env in envelopes:
                log.debug("%s handled %s %s", self.service, env.type, env.id)
        self.stats.consumed(len(envelopes), took, envelopes)
        BATCH_SECONDS.observe(took / 1000, service=self.service)
        now = time.time()
        for env in envelopes:
            EVENT_AGE.observe(max(0.0, now - env.occurred_at.timestamp()), service=self.service)
        if emitted:
            self._relay_own(emitted)

    def _commit(self, envelopes: list[contracts.Envelope]) -> UnitOfWork:
        """Apply `envelopes` (none: only the batch hooks) in one transaction and commit;
        schedule the follow-up the batch asked for. The caller relays `outbox_rows`."""
        conn = self._conn()
        with conn.transaction():
            if self._epoch is None:
                self._epoch = outbox.read_epoch(conn)
            uow = process_batch(conn, self.handlers, envelopes, epoch=self._epoch, notify=False)
        self._epoch = uow.epoch
        if uow.follow_up is not None:
            self._schedule_follow_up(uow.follow_up)
        return uow

    def _schedule_follow_up(self, delay: float) -> None:
        if self._follow_up_scheduled or self._connection is None:
            return
        self._follow_up_scheduled = True
        self._connection.ioloop.call_later(delay, self._run_follow_up)

    def _run_follow_up(self) -> None:
        """The batch hooks once more with no events (UnitOfWork.run_again_in)."""
        self._follow_up_scheduled = False
        try:
            uow = self._commit([])
        except psycopg.OperationalError as exc:
            log.warning("%s: follow-up: database unavailable: %s", self.service, exc)
            self._drop_db()
            return
        except Exception:  # noqa: BLE001 - an announcement must not stop the worker
            log.exception("%s: follow-up failed", self.service)
            return
        if uow.outbox_rows:
            self._relay_own(uow.outbox_rows)

    def _apply_one_by_one(self, deliveries: list[_Delivery], envelopes: list[contracts.Envelope]) -> None:
        for delivery, envelope in zip(deliveries, envelopes, strict=True):
            for attempt in range(1, HANDLER_ATTEMPTS + 1):
                try:
                    self._apply([envelope])
                    self._consume_channel.basic_ack(delivery.tag)
                    break
                except psycopg.OperationalError:
                    self._nack_all(deliveries[deliveries.index(delivery):])
                    raise
                except Exception:  # noqa: BLE001
                    self.handlers.run_on_start(self._conn())
                    log.exception(
                        "%s: %s %s failed (attempt %d/%d)", self.service, envelope.type, envelope.id,
                        attempt, HANDLER_ATTEMPTS,
                    )
                    if attempt == HANDLER_ATTEMPTS:
                        log.error("%s: dead-lettering %s %s", self.service, envelope.type, envelope.id)
                        self._consume_channel.basic_reject(delivery.tag, requeue=False)
                    else:
                        time.sleep(0.05 * attempt)

    def _ack_batch(self, deliveries: list[_Delivery]) -> None:
        # Tags on a channel increase; acking the highest with multiple=True acks
        # the whole batch in one frame. Rejected tags are already settled.
        self._consume_channel.basic_ack(max(d.tag for d in deliveries), multiple=True)

    def _nack_all(self, deliveries: list[_Delivery]) -> None:
        try:
            for d in deliveries:
                self._consume_channel.basic_nack(d.tag, requeue=True)
        except Exception:  # noqa: BLE001 - the channel may be gone; unacked messages return anyway
            pass

    # ------------------------------------------------------------------ relaying
    def _schedule_maintenance(self) -> None:
        if self._connection is None or not self._connection.is_open:
            return
        try:
            self._ensure_leadership()
        except psycopg.Error as exc:
            log.warning("%s relay: database unavailable: %s", self.service, exc)
            self._drop_db()
        self._run_periodic()
        self._relay_kick()
        self._observe()
        self.stats.maybe_report(self.service)
        self._connection.ioloop.call_later(1.0, self._schedule_maintenance)

    def _observe(self) -> None:
        """Gauges for /metrics, once a second: the queue's depth, the outbox's backlog."""
        channel = self._consume_channel
        if self.consumes and channel is not None and channel.is_open:
            def depth(frame: Any) -> None:
                QUEUE_DEPTH.set(frame.method.message_count, queue=self.queue)
            channel.queue_declare(self.queue, passive=True, callback=depth)
        if self._listen is not None and not self._listen.closed:
            try:
                unsent, lag = outbox.lag(self._listen)
            except psycopg.Error as exc:
                log.warning("%s: outbox gauges: %s", self.service, exc)
                self._drop_db()
                return
            OUTBOX_UNSENT.set(unsent, service=self.service, database=self.database)
            OUTBOX_LAG.set(lag, service=self.service, database=self.database)

    def _run_periodic(self) -> None:
        """The service's timed actions (handlers.periodic), each in its own transaction."""
        if self.handlers is None:
            return
        for fn in self.handlers.periodic_hooks:
            try:
                conn = self._conn()
                with conn.transaction():
                    fn(conn)
            except psycopg.OperationalError as exc:
                log.warning("%s: periodic %s: database unavailable: %s", self.service, fn.__name__, exc)
                self._drop_db()
            except Exception:  # noqa: BLE001 - a timed action must not stop the worker
                log.exception("%s: periodic %s failed", self.service, fn.__name__)

    def _ensure_leadership(self) -> None:
        if self._leader and self._listen is not None and not self._listen.closed:
            return
        if self._listen is None or self._listen.closed:
            self._listen = connect(self.db_url, autocommit=True)
            # This connection only reads the outbox and marks rows sent. A mark lost
            # in a database crash means the row is published again and dropped by
            # the consumers' inboxes, so it need not wait for its WAL flush.
            self._listen.execute("SET synchronous_commit = off")
        # Advisory locks belong to one database: each matching shard's database has its
        # own relay leader, and shards sharing a server do not contend.
        got = self._listen.execute(
            "SELECT pg_try_advisory_lock(%s) AS ok", (advisory_key(f"relay:{self.database}"),)
        ).fetchone()["ok"]
        if not got:
            return
        self._listen.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
        self._connection.ioloop.add_handler(self._listen.fileno(), self._on_notify, PollEvents.READ)
        self._leader = True
        LEADER.set(1, **self._labels)
        log.info("%s relay: leader, publishing the outbox of %s", self.service, self.database)

    def _on_notify(self, fd: int, events: int) -> None:
        try:
            for _ in self._listen.notifies(timeout=0):
                pass
        except psycopg.Error as exc:
            log.warning("%s relay: LISTEN connection lost: %s", self.service, exc)
            self._unwatch_listen()
            self._drop_db()
            return
        self._relay_kick()

    def _relaying(self) -> bool:
        """This worker holds the relay lock and can publish now."""
        return self._leader and self._publish_channel is not None and self._publish_channel.is_open

    def _relay_kick(self) -> None:
        """Publish unsent rows that are not already on their way.

        Publishing does not wait for the confirms of earlier rounds: rows go out as
        soon as they commit, confirms come back in the background, and confirmed
        rows are marked sent together (see _mark_confirmed)."""
        relay = self._relay
        if not self._relaying():
            return
        pending = {oid for oid, _ in relay.in_flight.values()} | set(relay.confirmed)
        if len(pending) >= MAX_IN_FLIGHT:
            relay.behind = True
            return
        try:
            # The relay's own autocommit connection: one statement, no BEGIN/COMMIT.
            rows = outbox.fetch_unsent(self._listen, limit=FETCH_LIMIT, exclude=sorted(pending))
        except psycopg.Error as exc:
            log.warning("%s relay: database unavailable: %s", self.service, exc)
            self._drop_db()
            return
        self._publish(rows)
        relay.behind = len(rows) >= FETCH_LIMIT  # else every unsent row is now on its way

    def _relay_own(self, rows: list[outbox.OutboxRow]) -> None:
        """Publish the rows this worker's batch just committed as they were written,
        without reading them back (one query less per batch: at a low rate a batch
        is an event or two, and every round trip counts). Only the relay leader
        publishes; rows written by the service's API come through `_relay_kick`."""
        relay = self._relay
        if not self._relaying():
            relay.behind = True
            return
        if relay.behind or len(relay.in_flight) + len(relay.confirmed) >= MAX_IN_FLIGHT:
            self._relay_kick()  # older unsent rows go first
            return
        self._publish(rows)

    def _publish(self, rows: list[outbox.OutboxRow]) -> None:
        relay = self._relay
        copies = 2 if faults.enabled("publish_twice") else 1
        now = time.perf_counter()
        for outbox_id, routing_key, body in rows:
            for _ in range(copies):
                self._publish_channel.basic_publish(
                    self.settings.exchange,
                    routing_key,
                    body,
                    BasicProperties(delivery_mode=PERSISTENT, content_type="application/json"),
                )
                relay.in_flight[relay.next_tag] = (outbox_id, now)
                relay.next_tag += 1

    def _on_confirm(self, frame: Any) -> None:
        relay = self._relay
        method = frame.method
        tags = (
            [t for t in relay.in_flight if t <= method.delivery_tag]
            if method.multiple
            else [method.delivery_tag]
        )
        if isinstance(method, Basic.Nack):
            # The broker refused: leave the rows unsent, they go again next round.
            log.warning("%s relay: %d publishes nacked; will resend", self.service, len(tags))
            for t in tags:
                relay.in_flight.pop(t, None)
            relay.behind = True
            return
        now = time.perf_counter()
        for t in tags:
            entry = relay.in_flight.pop(t, None)
            if entry is not None:
                relay.confirmed.append(entry[0])
                relay.confirm_ms.append((now - entry[1]) * 1000)
        if relay.confirmed and not relay.mark_scheduled:
            # Confirms arrive in many frames and rounds: delete what has come every
            # MARK_DELAY, not once per round (at a low rate a round is an event or two).
            # Rows confirmed but not yet deleted stay out of the next rounds.
            relay.mark_scheduled = True
            self._connection.ioloop.call_later(MARK_DELAY, self._mark_confirmed)

    def _mark_confirmed(self) -> None:
        relay = self._relay
        relay.mark_scheduled = False
        confirmed, relay.confirmed = sorted(set(relay.confirmed)), []
        latencies, relay.confirm_ms = relay.confirm_ms, []
        if not confirmed:
            return
        faults.crash_point("after_publish_before_mark")
        if self._listen is None or self._listen.closed:
            # The database went away since these were published (_drop_db): leave
            # them unsent; the next leader publishes them again, the inboxes drop
            # the copies. (Found by the fault suite's PostgreSQL restart.)
            log.warning("%s relay: %d confirmed but the database is gone; they go again", self.service,
                        len(confirmed))
            return
        try:
            outbox.mark_sent(self._listen, confirmed)
        except psycopg.Error as exc:
            # Not marked: they will be published again; inboxes drop the copies.
            log.warning("%s relay: could not mark %d sent: %s", self.service, len(confirmed), exc)
            self._drop_db()
            return
        self.stats.relayed(len(confirmed), max(latencies) if latencies else 0.0)
        PUBLISHED.inc(len(confirmed), service=self.service, database=self.database)
