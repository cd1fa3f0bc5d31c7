"""The outbox relay on a thread of its own, for an API process that writes most of its
service's events (the order door): request threads hand it what they committed."""

from __future__ import annotations

import logging
import threading
import time

import pika
from pika.adapters.select_connection import SelectConnection

from .config import Settings
from .contracts import Envelope
from .outbox import OutboxRow
from .relay import KICK_INTERVAL, OutboxRelay

log = logging.getLogger("papertrade.relay")


class RelayThread:
    """An outbox relay on a connection and I/O loop of its own, for an API process that
    writes most of its service's events (the order door): the request threads hand it
    what they committed (`publish_own`) and take confirmed ids into their next commit."""

    def __init__(self, settings: Settings, database: str, service: str) -> None:
        self.settings = settings
        self.relay = OutboxRelay(settings, database, service)
        self._lock = threading.Lock()
        self._connection: SelectConnection | None = None
        self._stopping = False
        self._last_kick = 0.0
        self._thread = threading.Thread(target=self._run, name=f"{service}-relay", daemon=True)
        self._thread.start()

    @property
    def ready(self) -> bool:
        conn = self._connection
        return conn is not None and conn.is_open and self.relay.ready

    def publish_own(self, rows: list[OutboxRow], notices: list[Envelope] = ()) -> bool:  # type: ignore[assignment]
        """Hand committed rows to the relay; False when it cannot take them now (the
        caller then NOTIFYs, and whoever holds the lock reads them)."""
        conn = self._connection
        if conn is None or not conn.is_open:
            return False

        def publish() -> None:
            self.relay.publish_own(rows)
            self.relay.publish_notices(list(notices))

        conn.ioloop.add_callback_threadsafe(publish)
        return True

    def take_confirmed(self) -> list[int]:
        with self._lock:
            return self.relay.take_confirmed()

    def settled(self, ids: list[int], committed: bool) -> None:
        with self._lock:
            self.relay.settled(ids, committed)

    def stop(self) -> None:
        self._stopping = True
        conn = self._connection
        if conn is not None:
            conn.ioloop.add_callback_threadsafe(conn.close)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            params = pika.URLParameters(self.settings.amqp_url)
            params.client_properties = {"connection_name": f"{self.relay.service}-api-relay"}
            self._connection = SelectConnection(
                params, on_open_callback=self._on_open,
                on_open_error_callback=lambda c, e: c.ioloop.stop(),
                on_close_callback=lambda c, e: c.ioloop.stop())
            try:
                self._connection.ioloop.start()
            except Exception:  # noqa: BLE001 - the relay thread must outlive any failure
                log.exception("%s api relay failed", self.relay.service)
            self.relay.detach()
            self.relay.drop_db()
            if self._stopping:
                break
            time.sleep(backoff)  # its own thread: nothing else waits on this loop
            backoff = min(backoff * 2, 5.0)

    def _on_open(self, connection: SelectConnection) -> None:
        self.relay.attach(connection)
        self._tick(connection)

    def _tick(self, connection: SelectConnection) -> None:
        if not connection.is_open:
            return
        now = time.monotonic()
        with self._lock:
            self.relay.maintain()
            if self.relay.behind or now - self._last_kick >= KICK_INTERVAL:
                self._last_kick = now
                self.relay.kick()
        connection.ioloop.call_later(1.0, lambda: self._tick(connection))

