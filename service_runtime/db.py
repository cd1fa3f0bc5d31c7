"""Database sessions: one connection pool per process and service database.

Services talk to PostgreSQL through psycopg 3 with plain SQL (each service's SQL
lives in its `store.py`); SQLAlchemy is used only by Alembic for migrations.
Connections are in autocommit mode: a write goes through a unit of work
(`Database.unit_of_work`), which sends BEGIN and COMMIT itself
(service_runtime/unit_of_work.py); a bare read is its own statement.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

if TYPE_CHECKING:
    from .relay_thread import RelayThread
    from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# After a connection failure, callers fail at once for this long instead of each
# waiting the pool's timeout: while the database is down a request answers 503 in
# milliseconds (one caller per window still waits, to find out it is back).
FAIL_FAST_SECONDS = 2.0


# When each pooled connection last answered: one used within IDLE_CHECK_SECONDS is
# taken without the pool's check (an empty query, a round trip on every request).
_LAST_USED: weakref.WeakKeyDictionary[psycopg.Connection, float] = weakref.WeakKeyDictionary()
IDLE_CHECK_SECONDS = 1.0


def _check_if_idle(conn: psycopg.Connection) -> None:
    """The pool's check on checkout, only for a connection idle long enough to have
    died unseen (a database restart); a busy one that died fails its request instead."""
    if time.monotonic() - _LAST_USED.get(conn, 0.0) > IDLE_CHECK_SECONDS:
        ConnectionPool.check_connection(conn)


class DatabaseUnavailable(psycopg.OperationalError):
    """The database failed moments ago; not tried again yet."""


def _connection_failure(exc: psycopg.OperationalError) -> bool:
    """The server is unreachable or going away, not a statement's own failure (a
    deadlock or serialization failure is an OperationalError too, and must not
    turn the next two seconds into 503s)."""
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


class Database:
    """A lazily opened pool; `transaction()` is the only way handlers and routes write."""

    def __init__(self, url: str, max_size: int = 8, name: str = "db") -> None:
        self.url = url
        self.max_size = max_size
        self.name = name
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._down_until = 0.0
        # an API process that writes most of its service's events relays them itself
        self.relay: RelayThread | None = None

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ConnectionPool(
                        self.url,
                        min_size=1,
                        max_size=self.max_size,
                        kwargs={"row_factory": dict_row, "autocommit": True},
                        open=True,
                        timeout=5.0,
                        name=self.name,
                        check=_check_if_idle,
                    )
        return self._pool

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        now = time.monotonic()
        if now < self._down_until:
            raise DatabaseUnavailable(f"{self.name}: database unavailable (failed {FAIL_FAST_SECONDS:.0f}s ago)")
        try:
            with self.pool.connection() as conn:
                try:
                    yield conn
                finally:
                    _LAST_USED[conn] = time.monotonic()
        except PoolTimeout:
            # Every connection busy is overload, not an outage: do not refuse the others.
            stats = self.pool.get_stats()
            if stats.get("pool_size", 0) - stats.get("pool_available", 0) < self.max_size:
                self._down_until = time.monotonic() + FAIL_FAST_SECONDS
            raise
        except psycopg.OperationalError as exc:
            if _connection_failure(exc):
                self._down_until = time.monotonic() + FAIL_FAST_SECONDS
            raise

    @property
    def available(self) -> bool:
        """False while failing fast after a connection failure."""
        return time.monotonic() >= self._down_until

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction: committed on exit, rolled back on error."""
        with self._connection() as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def unit_of_work(self, service: str, epoch: int | None = None) -> Iterator[UnitOfWork]:
        """A unit of work on a pooled connection: committed on exit, rolled back on error.
        Its outbox rows wake the service's relay at commit, or go straight to this
        process's own relay when it has one."""
        from .unit_of_work import UnitOfWork

        relay = self.relay
        own = relay is not None and relay.ready
        with self._connection() as conn:
            uow = UnitOfWork(conn, service, epoch=epoch, notify=not own)
            deleting = relay.take_confirmed() if own and relay is not None else []
            uow.delete_sent(deleting)
            try:
                with uow:
                    yield uow
            except BaseException:
                if relay is not None:
                    relay.settled(deleting, committed=False)
                raise
        if relay is not None:
            relay.settled(deleting, committed=True)
            if own and not relay.publish_own(uow.outbox_rows, uow.notices):
                log.warning("%s: relay went away after commit; its rows wait for the next read", service)
        elif uow.notices:
            log.debug("%s: %d notices not published (no relay in this process)", service, len(uow.notices))

    @contextlib.contextmanager
    def read(self) -> Iterator[psycopg.Connection]:
        with self._connection() as conn:
            yield conn

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def connect(url: str, autocommit: bool = False, custom_plans: bool = False) -> psycopg.Connection:
    """A single dedicated connection (workers and the relay keep one each).

    `custom_plans`: plan every execution with its parameters. A worker loads a
    batch's rows with `id = ANY(%s)`; psycopg prepares a statement after five runs,
    and PostgreSQL then keeps a generic plan made when the table was nearly empty:
    a sequential scan, read again for every batch as the table grows (measured: 5 ms
    a batch after 6,000 orders, and growing). Planning per batch costs far less."""
    options = "-c plan_cache_mode=force_custom_plan" if custom_plans else None  # None: left out
    return psycopg.connect(url, row_factory=dict_row, autocommit=autocommit, connect_timeout=5, options=options)


def forget_prepared(conn: psycopg.Connection) -> None:
    """After a failed transaction: psycopg may believe statements prepared that an aborted
    pipeline never prepared. Forget them on both sides, as psycopg's own transaction
    blocks do when they roll back (its prepared-statement cache is private)."""
    conn._prepared.clear()  # noqa: SLF001
    conn.execute("DEALLOCATE ALL")


def insert_many_returning(conn: psycopg.Connection, sql: str, params: list[tuple]) -> list[dict | None]:
    """Run one INSERT ... RETURNING per parameter row in one pipelined executemany; an
    entry is None where the row returned nothing (ON CONFLICT DO NOTHING)."""
    if not params:
        return []
    results: list[dict | None] = []
    with conn.cursor() as cur:
        cur.executemany(sql, params, returning=True)
        while True:
            results.append(cur.fetchone())
            if not cur.nextset():
                break
    return results
