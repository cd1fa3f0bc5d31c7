"""The gateway's feed from RabbitMQ, on the shared consumer (service_runtime/consumer.py).

Each gateway process has its own exclusive, non-durable queue (so gateways scale out
by adding processes), bound to what the push table lists, and consumes it with
auto-ack: a lost push costs nothing, browsers refetch over REST on reconnect.
Envelopes are parsed by `contracts.parse` and filtered by epoch like a worker's.
The I/O loop runs in a greenlet: under gevent's monkey patching pika's
SelectConnection is cooperative.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import pika
from pika.adapters.select_connection import SelectConnection

from service_runtime import topology
from service_runtime.config import Settings
from service_runtime.consumer import BatchConsumer, Delivery
from service_runtime.contracts import Envelope, EpochFilter, SimulationReset

from .push import PUSHES

log = logging.getLogger("papertrade.gateway")


class EventFeed:
    def __init__(self, settings: Settings, deliver: Callable[[Envelope], None],
                 on_connected: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.deliver = deliver
        # called once the queue is bound, on every (re)connect: what was published
        # while the feed was away is not in this new queue
        self.on_connected = on_connected
        self.received = 0
        self.epochs = EpochFilter(0)
        self._stopping = False
        self._connection: SelectConnection | None = None
        self.consumer = BatchConsumer("", self._apply, prefetch=0, max_batch=500, name="socket_gateway",
                                      auto_ack=True, exclusive_queue=self._declare_queue)

    @property
    def connected(self) -> bool:
        return self.consumer.consuming

    def run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            started = time.monotonic()
            params = pika.URLParameters(self.settings.amqp_url)
            params.client_properties = {"connection_name": "socket_gateway"}
            self._connection = SelectConnection(
                params, on_open_callback=self._on_open,
                on_open_error_callback=lambda c, e: self._lost(c, e),
                on_close_callback=lambda c, e: self._lost(c, e))
            try:
                self._connection.ioloop.start()
            except Exception:  # noqa: BLE001 - the feed must outlive any failure
                log.exception("gateway feed failed")
            self.consumer.detach()
            if self._stopping:
                break
            if time.monotonic() - started > 10:
                backoff = 0.5
            log.warning("gateway feed: reconnecting in %.1fs", backoff)
            gevent.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def stop(self) -> None:
        self._stopping = True
        conn = self._connection
        if conn is not None:
            with contextlib.suppress(Exception):  # closing on shutdown; nothing left to protect
                conn.ioloop.add_callback_threadsafe(conn.close)

    def _lost(self, conn: Any, reason: Any) -> None:
        if not self._stopping:
            log.warning("gateway feed: RabbitMQ connection lost: %s", reason)
        conn.ioloop.stop()

    def _on_open(self, conn: SelectConnection) -> None:
        self.consumer.attach(conn)

    def _declare_queue(self, channel: Any, consume: Callable[[str], None]) -> None:
        def declared(frame: Any) -> None:
            queue = frame.method.queue
            keys = topology.bindings(PUSHES.consumed)

            def bind_next(_: Any = None) -> None:
                if keys:
                    channel.queue_bind(queue, self.settings.exchange, routing_key=keys.pop(), callback=bind_next)
                    return
                consume(queue)
                if self.on_connected is not None:
                    self.on_connected()

            bind_next()

        def exchanges_ready(_: Any = None) -> None:
            channel.queue_declare("", exclusive=True, auto_delete=True, arguments={"x-queue-type": "classic"},
                                  callback=declared)

        channel.exchange_declare(self.settings.exchange, exchange_type="topic", durable=True,
                                 callback=exchanges_ready)

    def _apply(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            envelope = delivery.envelope
            self.received += 1
            if self.epochs.is_old(envelope):
                continue  # a straggler from before a reset
            if isinstance(envelope.event, SimulationReset):
                self.epochs.advance(envelope.event.epoch)
            try:
                self.deliver(envelope)
            except Exception:  # noqa: BLE001 - one bad push must not stop the feed
                log.exception("gateway feed: pushing %s %s failed", envelope.type, envelope.id)
        # Let the other greenlets run (socket writers, Engine.IO pings, HTTP): while
        # messages keep arriving the socket never blocks, so the loop never yields on
        # its own, and a busy feed would starve the pings until clients gave up.
        gevent.sleep(0)
