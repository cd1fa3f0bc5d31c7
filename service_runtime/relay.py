"""The outbox relay: publishes a database's committed outbox rows in id order with
pipelined publisher confirms, and has confirmed rows deleted.

It runs on a pika SelectConnection's I/O loop (a worker's, or a thread of its own in
an API process that writes most of its service's events, see relay_thread.RelayThread):
- rows its host just committed are published at once, from memory (`publish_own`),
  unless older rows are still unsent, which are then read first, in id order;
- rows other processes commit wake it by LISTEN/NOTIFY and are read (`kick`);
- confirms come back in the background, never waited for before the next publish;
- confirmed ids are deleted in the host's next transaction (`take_confirmed`), or by
  the relay itself when no transaction comes soon;
- only the holder of the database's relay advisory lock publishes, so a standby
  never publishes out of order.
Notices (contracts.notice) are published right after their commit, transient and
unconfirmed, on a channel of their own.
"""

from __future__ import annotations

import contextlib
import logging
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pika.adapters.select_connection import PollEvents, SelectConnection
from pika.spec import Basic, BasicProperties

from . import faults, outbox
from . import metrics as metrics_mod
from .config import Settings
from .contracts import Envelope
from .db import connect
from .outbox import OutboxRow
from .parked import DEAD_LETTER_PREFIX

log = logging.getLogger("papertrade.relay")

PERSISTENT = 2
TRANSIENT = 1
MAX_IN_FLIGHT = 10_000  # unconfirmed publishes before the relay waits
FETCH_LIMIT = 2000  # outbox rows read per round
IDLE_DELETE_DELAY = 0.2  # seconds: confirmed rows no transaction took are deleted by the relay then
KICK_INTERVAL = 10.0  # seconds between safety reads of the outbox (NOTIFY and own rows come at once)
DOMAIN_PROPS = BasicProperties(delivery_mode=PERSISTENT, content_type="application/json")
NOTICE_PROPS = BasicProperties(delivery_mode=TRANSIENT, content_type="application/json")

_M = metrics_mod.REGISTRY
PUBLISHED = _M.counter("papertrade_events_published_total", "Outbox events a relay published (confirmed)")
LEADER = _M.gauge("papertrade_relay_leader", "1 while this process holds its database's relay lock")
NOTICES = _M.counter("papertrade_notices_published_total", "Notices published after their commit")


def advisory_key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@dataclass
class _InFlight:
    by_tag: dict[int, tuple[int, float]] = field(default_factory=dict)  # tag -> (outbox id, sent at)
    next_tag: int = 1


class OutboxRelay:
    """One database's relay on a host's pika connection (see the module docstring)."""

    def __init__(self, settings: Settings, database: str, service: str, leads: bool = True) -> None:
        self.settings = settings
        self.database = database
        self.service = service
        self.leads = leads  # False: another process relays this database (it never takes the lock)
        self.db_url = settings.database_url(database)
        self._connection: SelectConnection | None = None
        self._channel: Any = None
        self._notice_channel: Any = None
        self._db: psycopg.Connection | None = None
        # The LISTEN session's fd as registered with the I/O loop: a broken connection
        # no longer knows its fd, and a stale fd left in the loop stops it from restarting.
        self._watched: tuple[Any, int] | None = None
        self.leader = False
        self._flight = _InFlight()
        self._confirmed: list[int] = []
        self._taken: list[int] = []  # handed to a transaction that has not committed yet
        self._delete_scheduled = False
        # Unsent rows may exist that are not in flight (at start, after a nack):
        # new rows then go through a read of the outbox, in id order, not from memory.
        self.behind = True
        self.published = 0
        self.confirm_ms: list[float] = []

    # -- lifecycle (on the host's I/O loop) ---------------------------------------

    def attach(self, connection: SelectConnection) -> None:
        """Open this relay's channels on a freshly opened connection."""
        self._connection = connection
        self._flight = _InFlight()
        self._confirmed, self._taken = [], []
        self._delete_scheduled = False
        self.behind = True
        connection.channel(on_open_callback=self._on_channel)
        connection.channel(on_open_callback=self._on_notice_channel)

    def _on_channel(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.confirm_delivery(self._on_confirm)
        self.maintain()
        self.kick()

    def _on_notice_channel(self, channel: Any) -> None:
        self._notice_channel = channel
        channel.add_on_close_callback(self._on_channel_closed)

    def _on_channel_closed(self, channel: Any, reason: Exception) -> None:
        log.warning("%s relay: channel closed: %s", self.service, reason)
        conn = self._connection
        if conn is not None and conn.is_open:
            conn.close()

    def detach(self) -> None:
        """The connection is gone: confirms will never come for what is in flight."""
        self._unwatch()
        self._connection = self._channel = self._notice_channel = None
        self._flight = _InFlight()

    def close(self) -> None:
        """Delete what was confirmed (not left to a timer that dies with the loop), then let go."""
        if self._confirmed:
            self._delete_confirmed()
        self.drop_db()

    @property
    def ready(self) -> bool:
        return self.leader and self._channel is not None and self._channel.is_open

    # -- leadership ---------------------------------------------------------------

    def maintain(self) -> None:
        """Take the lock if free (called about once a second by the host)."""
        if not self.leads:
            return
        if self.leader and self._db is not None and not self._db.closed:
            return
        try:
            if self._db is None or self._db.closed:
                self._db = connect(self.db_url, autocommit=True)
                # Reads the outbox and deletes confirmed rows. A delete lost in a database
                # crash means the row is published again and dropped by the consumers'
                # inboxes, so it need not wait for its WAL flush.
                self._db.execute("SET synchronous_commit = off")
            got = self._db.execute(
                "SELECT pg_try_advisory_lock(%s) AS ok", (advisory_key(f"relay:{self.database}"),)
            ).fetchone()["ok"]
            if not got:
                return
            self._db.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
        except psycopg.Error as exc:
            log.warning("%s relay: database unavailable: %s", self.service, exc)
            self.drop_db()
            return
        if self._connection is not None:
            self._watch(self._connection.ioloop, self._db.fileno())
        self.leader = True
        self.behind = True
        LEADER.set(1, service=self.service, database=self.database)
        log.info("%s relay: leader, publishing the outbox of %s", self.service, self.database)

    def drop_db(self) -> None:
        self._unwatch()
        if self._db is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                self._db.close()
        self._db = None
        if self.leader:
            LEADER.set(0, service=self.service, database=self.database)
        self.leader = False

    def _watch(self, ioloop: Any, fd: int) -> None:
        self._unwatch()
        ioloop.add_handler(fd, self._on_notify, PollEvents.READ)
        self._watched = (ioloop, fd)

    def _unwatch(self) -> None:
        watched, self._watched = self._watched, None
        if watched is not None:
            ioloop, fd = watched
            with contextlib.suppress(Exception):  # that loop may be gone with its connection
                ioloop.remove_handler(fd)

    def _on_notify(self, fd: int, events: int) -> None:
        if self._watched is None or self._watched[1] != fd:  # a session already dropped
            with contextlib.suppress(Exception):
                self._connection.ioloop.remove_handler(fd)  # type: ignore[union-attr]
            return
        try:
            for _ in self._db.notifies(timeout=0):  # type: ignore[union-attr]
                pass
        except psycopg.Error as exc:
            log.warning("%s relay: LISTEN connection lost: %s", self.service, exc)
            self.drop_db()
            return
        self.kick()

    # -- publishing -----------------------------------------------------------------

    def kick(self) -> None:
        """Publish unsent rows that are not already on their way."""
        if not self.ready:
            return
        pending = [oid for oid, _ in self._flight.by_tag.values()] + self._confirmed + self._taken
        if len(pending) >= MAX_IN_FLIGHT:
            self.behind = True
            return
        try:
            rows = outbox.fetch_unsent(self._db, FETCH_LIMIT, exclude=sorted(set(pending)))  # type: ignore[arg-type]
        except psycopg.Error as exc:
            log.warning("%s relay: database unavailable: %s", self.service, exc)
            self.drop_db()
            return
        self._publish(rows)
        self.behind = len(rows) >= FETCH_LIMIT  # else every unsent row is now on its way

    def publish_own(self, rows: list[OutboxRow]) -> None:
        """Rows the host just committed, published as they were written (no read back)."""
        if not rows:
            return
        if not self.ready:
            self.behind = True
            return
        if self.behind or len(self._flight.by_tag) + len(self._confirmed) >= MAX_IN_FLIGHT:
            self.kick()  # older unsent rows go first
            return
        self._publish(rows)

    def _publish(self, rows: list[OutboxRow]) -> None:
        flight = self._flight
        copies = 2 if faults.enabled("publish_twice") else 1
        now = time.perf_counter()
        for row in rows:
            exchange, key = self.settings.exchange, row.routing_key
            if key.startswith(DEAD_LETTER_PREFIX):  # an expired parked event (parked.py)
                exchange, key = self.settings.dead_letter_exchange, key[len(DEAD_LETTER_PREFIX):]
            for _ in range(copies):
                self._channel.basic_publish(exchange, key, row.body, DOMAIN_PROPS)
                flight.by_tag[flight.next_tag] = (row.id, now)
                flight.next_tag += 1

    def publish_notices(self, envelopes: list[Envelope]) -> None:
        """Notices of a committed transaction: transient, unconfirmed, lost if the broker is away."""
        channel = self._notice_channel
        if not envelopes or channel is None or not channel.is_open:
            return
        for envelope in envelopes:
            channel.basic_publish(self.settings.exchange, envelope.event.routing_key(), envelope.to_json(),
                                  NOTICE_PROPS)
        NOTICES.inc(len(envelopes), service=self.service)

    # -- confirms and deletes ---------------------------------------------------------

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        flight = self._flight
        tags = [t for t in flight.by_tag if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        if isinstance(method, Basic.Nack):
            # The broker refused: leave the rows unsent, they go again.
            log.warning("%s relay: %d publishes nacked; will resend", self.service, len(tags))
            for t in tags:
                flight.by_tag.pop(t, None)
            self.behind = True
            return
        now = time.perf_counter()
        for t in tags:
            entry = flight.by_tag.pop(t, None)
            if entry is not None:
                self._confirmed.append(entry[0])
                self.confirm_ms.append((now - entry[1]) * 1000)
        if self._confirmed:
            PUBLISHED.inc(len(tags), service=self.service, database=self.database)
            self.published += len(tags)
            if not self._delete_scheduled and self._connection is not None:
                self._delete_scheduled = True
                self._connection.ioloop.call_later(IDLE_DELETE_DELAY, self._delete_if_untaken)

    def take_confirmed(self) -> list[int]:
        """Confirmed ids for the host's transaction to delete; `untake` them if it fails."""
        ids, self._confirmed = self._confirmed, []
        self._taken.extend(ids)
        return ids

    def settled(self, ids: list[int], committed: bool) -> None:
        """The host's transaction that took `ids` ended."""
        taken = set(ids)
        self._taken = [i for i in self._taken if i not in taken]
        if not committed:
            self._confirmed.extend(ids)

    def _delete_if_untaken(self) -> None:
        self._delete_scheduled = False
        if self._confirmed:
            self._delete_confirmed()

    def _delete_confirmed(self) -> None:
        ids, self._confirmed = sorted(set(self._confirmed)), []
        faults.crash_point("after_publish_before_mark")
        if self._db is None or self._db.closed:
            # The database went away since these were published: they stay unsent and
            # go again from the next leader; the inboxes drop the copies.
            log.warning("%s relay: %d confirmed but the database is gone; they go again", self.service, len(ids))
            return
        try:
            outbox.delete_sent(self._db, ids)
        except psycopg.Error as exc:
            log.warning("%s relay: could not delete %d sent rows: %s", self.service, len(ids), exc)
            self.drop_db()
