"""A database that is down: the first caller waits the pool's timeout and gets an
OperationalError; the callers right after it fail at once (a 503 in milliseconds,
not a queue of 5-second waits), and the pool tries again after the window."""

from __future__ import annotations

import time

import psycopg
import pytest

from service_runtime import db as dbmod
from service_runtime.db import Database, DatabaseUnavailable


def test_callers_after_a_failure_fail_fast_then_try_again(monkeypatch):
    monkeypatch.setattr(dbmod, "FAIL_FAST_SECONDS", 0.5)
    database = Database("postgresql://postgres@127.0.0.1:1/nothing", name="down")
    try:
        with pytest.raises(psycopg.OperationalError), database.read():
            pass
        assert not database.available
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="down: database unavailable"), database.transaction():
            pass
        assert time.monotonic() - started < 0.05
        time.sleep(0.6)
        assert database.available  # the next caller tries the server again
    finally:
        database.close()


def test_a_statement_failing_is_not_an_outage():
    assert dbmod._connection_failure(psycopg.OperationalError("connection refused"))
    assert dbmod._connection_failure(psycopg.errors.AdminShutdown("terminating connection"))
    assert not dbmod._connection_failure(psycopg.errors.DeadlockDetected("deadlock"))
    assert not dbmod._connection_failure(psycopg.errors.SerializationFailure("could not serialize"))
