"""The API pools' connection check on a real PostgreSQL: a connection that answered
moments ago is handed out without the check's round trip; one idle for longer is
checked, so a session the server ended meanwhile (a restart) is replaced, not
handed to a request."""

from __future__ import annotations

import time

from psycopg_pool import ConnectionPool

from service_runtime import db as dbmod
from service_runtime.config import settings_from_env
from service_runtime.db import Database

URL = f"{settings_from_env().pg_url.rstrip('/')}/postgres"


def test_only_an_idle_connection_is_checked_and_a_dead_one_replaced(monkeypatch):
    monkeypatch.setattr(dbmod, "IDLE_CHECK_SECONDS", 0.3)
    checks = []
    real_check = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection",
                        staticmethod(lambda conn: (checks.append(conn), real_check(conn))))
    database = Database(URL, name="pool-check", max_size=1)
    killer = Database(URL, name="pool-killer", max_size=1)
    try:
        with database.read() as conn:
            first = conn.info.backend_pid
        assert len(checks) == 1  # never used yet: checked
        with database.read() as conn:
            assert conn.info.backend_pid == first
        assert len(checks) == 1  # answered moments ago: no round trip for the check

        with killer.read() as other:
            other.execute("SELECT pg_terminate_backend(%s)", (first,))
        time.sleep(0.4)
        with database.read() as conn:  # checked, found dead, replaced
            assert conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"] != first
        assert len(checks) >= 2
    finally:
        database.close()
        killer.close()
