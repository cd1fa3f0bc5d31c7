"""Shared fixtures. Everything here talks to the real PostgreSQL and RabbitMQ.

Test runs use their own namespace (databases `pttest<random>_<service>`, exchange
`pttest<random>.events`), so they never touch a running dev stack and leave
nothing behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from db.migrate import create_database, drop_database, migrate
from service_runtime.apply import ParkedKeys, apply_batch
from service_runtime.auth import issue_token
from service_runtime.config import Settings, settings_from_env
from service_runtime.contracts import Envelope, EpochFilter, Event, wrap
from service_runtime.db import connect
from service_runtime.handlers import EventHandlers
from service_runtime.outbox import read_epoch


def test_settings(namespace: str) -> Settings:
    base = settings_from_env()
    return Settings(
        namespace=namespace,
        pg_url=base.pg_url,
        amqp_url=base.amqp_url,
        secret_key="test-secret-key-for-" + namespace + "-0123456789abcdef",
        port=base.port,
        relay_in_api=False,  # a service test reads the outbox rows its requests wrote
    )


class ServiceDb:
    """One service's freshly migrated database, with the means to drive it:
    `conn` (an open connection), `runner` (deliver events through the service's
    handlers), `client()` (a Flask test client of the service's API on this
    database) and `token()` (a signed bearer token)."""

    def __init__(self, service: str, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        # autocommit: a bare read in a test must not leave a transaction open that
        # would turn the next `with conn.transaction()` into an invisible savepoint.
        self.conn = connect(settings.database_url(service), autocommit=True)
        self._app = None
        self._runner: EventRunner | None = None

    @property
    def runner(self) -> EventRunner:
        if self._runner is None:
            from service_runtime.entrypoints import service_handlers

            self._runner = EventRunner(self.conn, service_handlers(self.service))
        return self._runner

    def client(self):  # noqa: ANN201 - flask.testing.FlaskClient
        if self._app is None:
            import importlib

            from service_runtime.web import create_app

            routes = importlib.import_module(f"{self.service}.routes")
            self._app = create_app(self.service, [routes.bp], self.settings, getattr(routes, "health", None))
        return self._app.test_client()

    def token(self, user_id: int, role: str = "trader", name: str = "test") -> str:
        return issue_token(self.settings.secret_key, user_id, role, name, 1, 3600)[0]

    def auth(self, user_id: int, role: str = "trader") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, role)}"}

    def close(self) -> None:
        if self._app is not None:
            self._app.extensions["papertrade.db"].close()
        self.conn.close()


@pytest.fixture
def service_db(request: pytest.FixtureRequest) -> Iterator[ServiceDb]:
    """A freshly migrated database for the test module's `SERVICE`, dropped afterwards."""
    service = getattr(request, "param", None) or request.module.SERVICE
    settings = test_settings(f"pttest{uuid.uuid4().hex[:8]}")
    create_database(settings, service)
    migrate(settings, service)
    sdb = ServiceDb(service, settings)
    try:
        yield sdb
    finally:
        sdb.close()
        if not os.environ.get("PAPERTRADE_KEEP_TEST_DBS"):
            drop_database(settings, service)


class EventRunner:
    """Feed envelopes through a service's handlers in one transaction each, as the worker
    does (its in-memory state included: `reload` after changing the tables by hand)."""

    def __init__(self, conn: psycopg.Connection, handlers: EventHandlers) -> None:
        self.conn = conn
        self.handlers = handlers
        self.reload()

    def reload(self) -> None:
        self.epochs = EpochFilter(read_epoch(self.conn))
        self.parked = ParkedKeys.load(self.conn)
        self.handlers.rebuild(self.conn)

    def envelope(self, event: Event, producer: str | None = None, epoch: int = 1) -> Envelope:
        return wrap(event, producer or event.PRODUCERS[0], epoch)

    def deliver(self, *items: Event | Envelope) -> list[Envelope]:
        """The domain events and then the notices the batch produced."""
        envelopes = [i if isinstance(i, Envelope) else self.envelope(i) for i in items]
        try:
            uow = apply_batch(self.conn, self.handlers, envelopes, self.epochs, self.parked)
        except Exception:  # noqa: BLE001 - as the worker: a duplicate may fail a handler before the claim
            self.reload()
            uow = apply_batch(self.conn, self.handlers, envelopes, self.epochs, self.parked, strict=False)
        return uow.emitted + uow.notices

    def emitted_types(self, emitted: list[Envelope]) -> list[str]:
        return [e.type for e in emitted]


@pytest.fixture(scope="session")
def stack() -> Iterator:
    """One exchange shared by the tests that do not break it (they must leave the
    market open and every process running)."""
    from tests.harness import running_stack

    with running_stack("shared") as running:
        yield running


@pytest.fixture
def sandbox(stack):  # noqa: ANN001, ANN201
    from tests.harness import Sandbox

    return Sandbox(stack)


class StatementCounter:
    """Counts the SQL statements sent through psycopg cursors (an executemany counts
    once: it is pipelined into one round trip)."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def reset(self) -> None:
        self.count = 0
        self.statements.clear()


@pytest.fixture
def statement_counter(monkeypatch: pytest.MonkeyPatch) -> StatementCounter:
    counter = StatementCounter()
    original_execute = psycopg.Cursor.execute
    original_executemany = psycopg.Cursor.executemany

    def execute(self, query, params=None, **kwargs):  # noqa: ANN001, ANN202
        counter.count += 1
        counter.statements.append(str(query)[:200])
        return original_execute(self, query, params, **kwargs)

    def executemany(self, query, params_seq, **kwargs):  # noqa: ANN001, ANN202
        counter.count += 1
        counter.statements.append("many: " + str(query)[:200])
        return original_executemany(self, query, params_seq, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    monkeypatch.setattr(psycopg.Cursor, "executemany", executemany)
    return counter
