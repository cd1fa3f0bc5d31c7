"""What a worker tells about itself: Prometheus metrics, and a stats line every 10 s
while there is activity."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from . import metrics
from .contracts import Envelope

if TYPE_CHECKING:
    from .relay import OutboxRelay

log = logging.getLogger("papertrade.worker")

_M = metrics.REGISTRY
EVENTS = _M.counter("papertrade_events_processed_total", "Events a worker handled (committed and acked)")
BATCHES = _M.counter("papertrade_batches_total", "Batches (transactions) a worker committed")
BATCH_SECONDS = _M.histogram("papertrade_batch_seconds", "Time to apply and commit one batch")
EVENT_AGE = _M.histogram("papertrade_event_age_seconds",
                         "From an event's creation (occurred_at) to the commit of its handling")
ACTIVE = _M.gauge("papertrade_consumer_active", "1 while this worker is its queue's single active consumer")
QUEUE_DEPTH = _M.gauge("papertrade_queue_messages", "Messages ready in the worker's queue (RabbitMQ)")
OUTBOX_UNSENT = _M.gauge("papertrade_outbox_unsent_events", "Outbox rows not yet confirmed by RabbitMQ")
OUTBOX_LAG = _M.gauge("papertrade_outbox_lag_seconds", "Age of the oldest unsent outbox row (0 when none)")


class WorkerStats:
    INTERVAL = 10.0

    def __init__(self, service: str) -> None:
        self.service = service
        self.reset()

    def reset(self) -> None:
        self.since = time.monotonic()
        self.batches = self.events = 0
        self.tx_ms = self.max_tx_ms = 0.0
        self.lag_ms: list[float] = []
        self.published_before = 0

    def consumed(self, n: int, took_ms: float, envelopes: list[Envelope]) -> None:
        self.batches += 1
        self.events += n
        self.tx_ms += took_ms
        self.max_tx_ms = max(self.max_tx_ms, took_ms)
        now = time.time()
        self.lag_ms.append(max((now - e.occurred_at.timestamp()) * 1000 for e in envelopes))

    def maybe_report(self, relay: OutboxRelay) -> None:
        if time.monotonic() - self.since < self.INTERVAL:
            return
        published = relay.published - self.published_before
        if self.batches or published:
            lag = sorted(self.lag_ms)
            confirm = relay.confirm_ms
            log.info(
                "%s stats: consumed %d events in %d batches (tx avg %.1f ms, max %.1f; event age at commit "
                "p50 %.0f ms, max %.0f); relayed %d events (publish-to-confirm max %.1f ms)",
                self.service, self.events, self.batches, self.tx_ms / max(self.batches, 1), self.max_tx_ms,
                lag[len(lag) // 2] if lag else 0, lag[-1] if lag else 0, published,
                max(confirm) if confirm else 0.0,
            )
        relay.confirm_ms.clear()
        published_now = relay.published
        self.reset()
        self.published_before = published_now
