"""A worker's database sessions dying under it (a PostgreSQL restart ends every
session), on a real PostgreSQL and RabbitMQ:
- the outbox relay lets go of its lock, takes it again and publishes what was
  committed meanwhile, and the I/O loop it shares with its worker can be started
  again (a stale fd in the loop once kept a worker's old broker connection, and so
  its consumer, alive after a restart: nothing reached the new one);
- the active consumer's new session takes the activation lock again, so a successor
  still waits for its last commit."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pika
import pytest
from pika.adapters.select_connection import SelectConnection

from service_runtime import outbox, topology
from service_runtime.contracts import StockListed, wrap
from service_runtime.entrypoints import service_handlers
from service_runtime.relay import OutboxRelay, advisory_key
from service_runtime.service_runner import ServiceRunner

SERVICE = "user_accounts"
KEY = "relaytest.published"


def select_connection(settings, on_open) -> SelectConnection:  # noqa: ANN001
    return SelectConnection(pika.URLParameters(settings.amqp_url), on_open_callback=on_open,
                            on_close_callback=lambda conn, reason: conn.ioloop.stop())


def close(connection: SelectConnection) -> None:
    if connection.is_open:
        connection.close()
        connection.ioloop.start()


def run_loop(connection: SelectConnection, seconds: float) -> None:
    connection.ioloop.call_later(seconds, connection.ioloop.stop)
    connection.ioloop.start()


def commit_row(conn, body: str) -> None:  # noqa: ANN001 - psycopg.Connection
    with conn.transaction():
        conn.execute("INSERT INTO outbox (event_id, type, routing_key, body) VALUES (%s, 'relaytest', %s, %s)",
                     (uuid.uuid4(), KEY, body))
        outbox.notify(conn)


def received(settings, queue: str) -> list[bytes]:  # noqa: ANN001 - Settings
    with topology.blocking_connection(settings) as conn:
        channel = conn.channel()
        out = []
        while True:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append(body)


def test_relay_survives_the_death_of_its_listen_session(service_db):
    settings = service_db.settings
    queue = f"{settings.namespace}.relaytest"
    with topology.blocking_connection(settings) as conn:
        channel = conn.channel()
        topology.declare_exchanges(channel, settings)
        channel.queue_declare(queue, auto_delete=False)
        channel.queue_bind(queue, settings.exchange, routing_key=KEY)
    relay = OutboxRelay(settings, SERVICE, SERVICE)
    connection = select_connection(settings, relay.attach)
    try:
        run_loop(connection, 1.0)
        assert relay.leader and relay.ready

        backend = relay._db.info.backend_pid  # noqa: SLF001 - the session to kill
        service_db.conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
        run_loop(connection, 0.5)  # the loop sees the session end
        assert not relay.leader
        commit_row(service_db.conn, "while-away")

        run_loop(connection, 0.1)  # the loop starts again: no fd of the dead session left in it
        relay.maintain()
        assert relay.leader
        assert relay._db.info.backend_pid != backend  # noqa: SLF001
        relay.kick()
        commit_row(service_db.conn, "after")  # its NOTIFY wakes the relay on the new session
        run_loop(connection, 1.0)
        assert received(settings, queue) == [b"while-away", b"after"]
        assert outbox.lag(service_db.conn)[0] == 0  # confirmed rows deleted
    finally:
        relay.close()
        close(connection)
        with topology.blocking_connection(settings) as conn:
            conn.channel().queue_delete(queue)


def test_a_relay_that_does_not_lead_never_takes_the_lock(service_db):
    relay = OutboxRelay(service_db.settings, SERVICE, SERVICE, leads=False)
    relay.maintain()
    assert not relay.leader
    key = advisory_key(f"relay:{SERVICE}")
    free = service_db.conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,)).fetchone()["ok"]
    assert free
    service_db.conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def activation_holder(conn, queue: str) -> int | None:  # noqa: ANN001 - psycopg.Connection
    row = conn.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = %s",
                       (advisory_key(f"consume:{queue}"),)).fetchone()
    return row["pid"] if row else None


@pytest.mark.parametrize("service_db", ["stock_data"], indirect=True)
def test_the_active_consumer_takes_the_activation_lock_again_on_a_new_session(service_db):
    settings = service_db.settings
    runner = ServiceRunner(settings, "stock_data", service_handlers("stock_data"))
    with topology.blocking_connection(settings) as conn:
        channel = conn.channel()
        runner.declare(channel)
        envelope = wrap(StockListed("RELAYT", "Relay test", Decimal("10.00")), "stock_data", 1)
        channel.basic_publish(settings.exchange, envelope.event.routing_key(), envelope.to_json())
    connection = select_connection(settings, runner.attach)
    try:
        runner.conn()
        run_loop(connection, 1.0)
        assert runner.active  # its first delivery made it the active consumer
        first = runner._db.info.backend_pid  # noqa: SLF001
        assert activation_holder(service_db.conn, runner.queue) == first

        service_db.conn.execute("SELECT pg_terminate_backend(%s)", (first,))
        runner.drop_db()  # as after a batch or a follow-up that failed on the dead session
        runner.conn()  # the next batch's session
        assert runner.active
        second = runner._db.info.backend_pid  # noqa: SLF001
        assert second != first and activation_holder(service_db.conn, runner.queue) == second
    finally:
        runner.close()
        close(connection)
        with topology.blocking_connection(settings) as conn:
            conn.channel().queue_delete(runner.queue)
