"""Database sessions: one connection pool per process and service database.

Services talk to PostgreSQL through psycopg 3 with plain SQL (each service's SQL
lives in its `store.py`); SQLAlchemy is used only by Alembic for migrations.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)


class Database:
    """A lazily opened pool; `transaction()` is the only way handlers and routes write."""

    def __init__(self, url: str, max_size: int = 8, name: str = "db") -> None:
        self.url = url
        self.max_size = max_size
        self.name = name
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ConnectionPool(
                        self.url,
                        min_size=1,
                        max_size=self.max_size,
                        kwargs={"row_factory": dict_row, "autocommit": False},
                        open=True,
                        timeout=5.0,
                        name=self.name,
                        check=ConnectionPool.check_connection,
                    )
        return self._pool

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction: committed on exit, rolled back on error."""
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[psycopg.Connection]:
        with self.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    """A single dedicated connection (workers and the relay keep one each)."""
    return psycopg.connect(url, row_factory=dict_row, autocommit=autocommit, connect_timeout=5)
