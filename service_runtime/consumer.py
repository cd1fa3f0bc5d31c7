"""Consuming one queue in batches: what has arrived is applied as one transaction and
acked with one `multiple=True` ack after the commit.

Batches are whatever arrived while the last one ran: small when quiet (low latency),
large under load (few commits). A message that cannot be parsed is dead-lettered at
once. When a batch fails for a reason other than the database, its messages are
retried one by one (`HANDLER_ATTEMPTS` times each, with a growing pause scheduled on
the I/O loop, never slept), and the one that keeps failing is dead-lettered while
the others go on; meanwhile newer messages wait, so the queue's order holds. A
database outage is not poison: the batch goes back to the queue (`Requeue`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from pika.spec import Basic, BasicProperties

from . import contracts
from .contracts import Envelope

log = logging.getLogger("papertrade.consumer")

HANDLER_ATTEMPTS = 3
RETRY_PAUSE = 0.05  # seconds, times the attempt number
FORCE_HEADER = "x-papertrade-force"  # set by `stack dead-letters replay --force`


@dataclass
class Delivery:
    tag: int
    envelope: Envelope
    redelivered: bool
    forced: bool = False


class Refuse(Exception):
    """This message must not be applied (too old to check against the inbox): dead-letter it."""


Apply = Callable[[list[Delivery]], None]


class BatchConsumer:
    def __init__(self, queue: str, apply: Apply, *, prefetch: int, max_batch: int, name: str,
                 check: Callable[[Delivery], None] | None = None, auto_ack: bool = False,
                 exclusive_queue: Callable[[Any, Callable[[str], None]], None] | None = None) -> None:
        self.queue = queue
        self.apply = apply
        self.prefetch = prefetch
        self.max_batch = max_batch
        self.name = name
        self.check = check  # raises Refuse for a message that must be dead-lettered
        self.auto_ack = auto_ack
        self.exclusive_queue = exclusive_queue  # a gateway: declare its own queue, then consume it
        self.channel: Any = None
        self._connection: Any = None
        self._buffer: list[Delivery] = []
        self._flush_scheduled = False
        self._isolating: list[tuple[Delivery, int]] = []  # (delivery, attempts so far)
        self.batches = 0
        self.events = 0
        self.on_first_delivery: Callable[[], None] | None = None

    # -- lifecycle -----------------------------------------------------------------

    def attach(self, connection: Any) -> None:
        self._connection = connection
        self._buffer, self._isolating = [], []
        self._flush_scheduled = False
        connection.channel(on_open_callback=self._on_channel)

    def detach(self) -> None:
        self.channel = None
        self._connection = None

    @property
    def consuming(self) -> bool:
        return self.channel is not None and self.channel.is_open

    def _on_channel(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.basic_qos(prefetch_count=self.prefetch)
        if self.exclusive_queue is not None:
            self.exclusive_queue(channel, self._consume)
        else:
            self._consume(self.queue)

    def _consume(self, queue: str) -> None:
        self.queue = queue
        self.channel.basic_consume(queue, self._on_message, auto_ack=self.auto_ack)
        log.info("%s consuming %s", self.name, queue)

    def _on_channel_closed(self, channel: Any, reason: Exception) -> None:
        log.warning("%s: consume channel closed: %s", self.name, reason)
        self.channel = None
        conn = self._connection
        if conn is not None and conn.is_open:
            conn.close()

    # -- receiving -------------------------------------------------------------------

    def _on_message(self, channel: Any, method: Basic.Deliver, props: BasicProperties, body: bytes) -> None:
        try:
            envelope = contracts.parse(body)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("%s: unparseable message dead-lettered: %s", self.name, exc)
            if not self.auto_ack:
                channel.basic_reject(method.delivery_tag, requeue=False)
            return
        forced = bool(props.headers and props.headers.get(FORCE_HEADER))
        self._buffer.append(Delivery(method.delivery_tag, envelope, method.redelivered, forced))
        if not self._flush_scheduled:
            # call_later(0) runs after every message already read from the socket has
            # been dispatched: the batch is "what has arrived".
            self._flush_scheduled = True
            self._connection.ioloop.call_later(0, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._isolating or not self._buffer or not self.consuming:
            return
        batch = self._take(self._buffer[: self.max_batch])
        del self._buffer[: self.max_batch]
        if self._buffer:
            self._flush_scheduled = True
            self._connection.ioloop.call_later(0, self._flush)
        if not batch:
            return
        if self.on_first_delivery is not None:
            first, self.on_first_delivery = self.on_first_delivery, None
            first()
        try:
            self.apply(batch)
        except psycopg.OperationalError:
            self._requeue(batch)
            raise
        except Exception:  # noqa: BLE001 - a handler bug: isolate the poison message
            log.exception("%s: batch of %d failed; retrying one by one", self.name, len(batch))
            self._isolating = [(d, 0) for d in batch]
            self._connection.ioloop.call_later(0, self._isolate_next)
            return
        self._ack(batch)

    def _take(self, deliveries: list[Delivery]) -> list[Delivery]:
        """The deliveries that may be applied; the refused ones are dead-lettered."""
        if self.check is None:
            return deliveries
        out = []
        for d in deliveries:
            try:
                self.check(d)
                out.append(d)
            except Refuse as why:
                log.error("%s: %s %s dead-lettered: %s", self.name, d.envelope.type, d.envelope.id, why)
                if not self.auto_ack:
                    self.channel.basic_reject(d.tag, requeue=False)
        return out

    def _ack(self, batch: list[Delivery]) -> None:
        self.batches += 1
        self.events += len(batch)
        if not self.auto_ack and self.consuming:
            # Tags on a channel increase; acking the highest with multiple=True acks the
            # whole batch in one frame. Rejected tags are already settled.
            self.channel.basic_ack(max(d.tag for d in batch), multiple=True)

    def _requeue(self, batch: list[Delivery]) -> None:
        if self.auto_ack or not self.consuming:
            return
        try:
            for d in batch:
                self.channel.basic_nack(d.tag, requeue=True)
        except Exception:  # noqa: BLE001 - the channel may be gone; unacked messages return anyway
            pass

    # -- poison isolation ----------------------------------------------------------------

    def _isolate_next(self) -> None:
        if not self._isolating or not self.consuming:
            return
        delivery, attempts = self._isolating[0]
        try:
            self.apply([delivery])
        except psycopg.OperationalError:
            self._requeue([d for d, _ in self._isolating])
            self._isolating = []
            raise
        except Exception:  # noqa: BLE001
            attempts += 1
            log.exception("%s: %s %s failed (attempt %d/%d)", self.name, delivery.envelope.type,
                          delivery.envelope.id, attempts, HANDLER_ATTEMPTS)
            if attempts < HANDLER_ATTEMPTS:
                self._isolating[0] = (delivery, attempts)
                self._connection.ioloop.call_later(RETRY_PAUSE * attempts, self._isolate_next)
                return
            log.error("%s: dead-lettering %s %s", self.name, delivery.envelope.type, delivery.envelope.id)
            if not self.auto_ack:
                self.channel.basic_reject(delivery.tag, requeue=False)
        else:
            if not self.auto_ack:
                self.channel.basic_ack(delivery.tag)
            self.events += 1
        self._isolating.pop(0)
        self._connection.ioloop.call_later(0, self._isolate_next if self._isolating else self._flush)
