"""The gateway's feed from RabbitMQ: its own exclusive, non-durable queue per
gateway process (so gateways scale out by adding processes), auto-ack (a lost
push costs nothing: browsers refetch over REST on reconnect), reconnecting by
itself. Runs as a greenlet; pika's blocking connection is cooperative under
gevent's monkey patching."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable

import pika
import pika.exceptions

from service_runtime import contracts
from service_runtime.bus import bindings_for, declare_topology
from service_runtime.config import Settings

log = logging.getLogger("papertrade.gateway")


class EventFeed:
    def __init__(self, settings: Settings, deliver: Callable[[str, dict], None],
                 on_connected: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.deliver = deliver
        # called once the queue is bound, on every (re)connect: what was published
        # while the feed was away is not in this new queue
        self.on_connected = on_connected
        self.connected = False
        self.received = 0
        self.epoch = 0
        self._stopping = False
        self._connection: pika.BlockingConnection | None = None

    def run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                self._consume()
                backoff = 0.5
            except (pika.exceptions.AMQPError, OSError) as exc:
                self.connected = False
                if self._stopping:
                    break
                log.warning("gateway feed: %s: %s; reconnecting in %.1fs", type(exc).__name__, exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def stop(self) -> None:
        self._stopping = True
        conn = self._connection
        if conn is not None and conn.is_open:
            with contextlib.suppress(Exception):  # closing on shutdown; nothing left to protect
                conn.add_callback_threadsafe(conn.close)

    def _consume(self) -> None:
        params = pika.URLParameters(self.settings.amqp_url)
        params.client_properties = {"connection_name": "socket_gateway"}
        params.heartbeat = 30
        self._connection = conn = pika.BlockingConnection(params)
        try:
            channel = conn.channel()
            declare_topology(channel, self.settings)
            queue = channel.queue_declare("", exclusive=True, auto_delete=True,
                                          arguments={"x-queue-type": "classic"}).method.queue
            for key in bindings_for(contracts.GATEWAY):
                channel.queue_bind(queue, self.settings.exchange, routing_key=key)
            channel.basic_consume(queue, self._on_message, auto_ack=True)
            self.connected = True
            if self.on_connected is not None:
                self.on_connected()
            log.info("gateway feed consuming %s", queue)
            channel.start_consuming()
        finally:
            self.connected = False
            if conn.is_open:
                conn.close()

    def _on_message(self, channel: object, method: object, props: object, body: bytes) -> None:
        self.received += 1
        try:
            message = json.loads(body)
            event_type, payload, epoch = message["type"], message["payload"], message["epoch"]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("gateway feed: unparseable message dropped: %s", exc)
            return
        cls = contracts.REGISTRY.get(event_type)
        if epoch < self.epoch and not (cls is not None and cls.EPOCH_FREE):
            return  # a straggler from before a reset
        if event_type == "simulation.reset":
            self.epoch = max(self.epoch, int(payload.get("epoch", epoch)))
        try:
            self.deliver(event_type, payload)
        except Exception:  # noqa: BLE001 - one bad push must not stop the feed
            log.exception("gateway feed: pushing %s %s failed", event_type, message.get("id"))
        finally:
            # Let the other greenlets run (socket writers, Engine.IO pings, HTTP):
            # while messages keep arriving the socket never blocks, so pika never
            # yields on its own. Without this a busy feed starved the pings until
            # clients gave up on the gateway (every client dropped in a soak at
            # 300 orders/s). Under gevent's monkey patching this is gevent.sleep(0).
            time.sleep(0)
