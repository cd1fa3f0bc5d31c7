"""`python -m service_runtime.worker SERVICE [SERVICE ...]`: the event side of services.

One process, one thread, one pika SelectConnection. For each service it hosts, a
`ServiceRunner` composes the parts:
- its batch consumer (service_runtime/consumer.py), when its handler table consumes;
- its outbox relay (service_runtime/relay.py);
- activation as its queue's single active consumer (service_runtime/activation.py);
- its timed actions (`@handlers.periodic`), the inbox's pruning, held-back announcements.
Several services in one process share the connection and the interpreter (fewer
processes to wake per order on a small machine); each keeps its own queue, database
connections, transactions, inbox and outbox, exactly as in a process of its own.

order_matching with `PAPERTRADE_MATCHING_SHARDS` > 1: the worker is shard
`PAPERTRADE_MATCHING_SHARD` (its own queue and database, service_runtime/shards.py).
Every worker serves `/metrics` and `/healthz` on `PAPERTRADE_METRICS_PORT`.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

import pika
import pika.exceptions
import psycopg
from pika.adapters.select_connection import SelectConnection
from pika.adapters.utils.connection_workflow import AMQPConnectorException

from . import gc_watch, metrics
from .config import Settings, get_settings, shard_database
from .service_runner import ServiceRunner
from .shards import MATCHING, check_shards

log = logging.getLogger("papertrade.worker")



class EventWorker:
    """A process hosting one or more services' runners on one pika connection."""

    def __init__(self, settings: Settings, runners: list[ServiceRunner], name: str) -> None:
        self.settings = settings
        self.runners = runners
        self.name = name
        self._stopping = False
        self._connection: SelectConnection | None = None

    def health(self) -> dict[str, Any]:
        """"ok" only while connected to RabbitMQ and each service to PostgreSQL (and
        consuming, where it consumes); otherwise "unavailable" (503), naming what is
        missing. It reconnects by itself."""
        conn = self._connection
        broker = conn is not None and conn.is_open
        services = {r.service: r.health() for r in self.runners}
        database = all(s["database"] for s in services.values())
        consuming = all(s["consuming"] for s in services.values())
        ok = broker and database and consuming
        body: dict[str, Any] = {
            "status": "ok" if ok else "unavailable",
            "service": ",".join(services),
            "broker": "connected" if broker else "disconnected",
            "database": "connected" if database else ("disconnected" if broker else "idle"),
            "consuming": consuming,
            "services": services,
        }
        if not broker:
            body["message"] = ("not connected to RabbitMQ, reconnecting by itself: events wait in the "
                               "outbox and in the queues meanwhile")
        elif not database:
            body["message"] = "not connected to PostgreSQL, reconnecting by itself"
        elif not consuming:
            body["message"] = "not consuming its queue yet"
        return body

    def healthy(self) -> bool:
        return self.health()["status"] == "ok"

    def run(self) -> None:
        """Run until SIGTERM/SIGINT; reconnect with backoff on any failure."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        backoff = 0.5
        while not self._stopping:
            started = time.monotonic()
            try:
                self._declare()
                for runner in self.runners:
                    runner.conn()  # fail fast here (backoff) when the database is away
                self._run_connection()
            # A broker that accepts TCP but never speaks AMQP ends in a stack timeout,
            # which pika raises outside its AMQPError family.
            except (pika.exceptions.AMQPError, AMQPConnectorException, OSError, psycopg.Error) as exc:
                log.warning("%s: %s: %s; reconnecting", self.name, type(exc).__name__, exc)
                for runner in self.runners:
                    runner.drop_db()
            if self._stopping:
                break
            if time.monotonic() - started > 10:
                backoff = 0.5
            time.sleep(backoff)  # between connections: no I/O loop is running
            backoff = min(backoff * 2, 5.0)
        for runner in self.runners:
            runner.close()
        log.info("%s stopped", self.name)

    def stop(self) -> None:
        self._stopping = True
        conn = self._connection
        if conn is not None:
            conn.ioloop.add_callback_threadsafe(self._close)

    def _on_signal(self, signum: int, frame: Any) -> None:
        log.info("%s: signal %d, finishing in-flight work", self.name, signum)
        self.stop()

    def _close(self) -> None:
        for runner in self.runners:
            runner.relay.close()
        conn = self._connection
        if conn is not None and conn.is_open:
            conn.close()
        elif conn is not None:
            conn.ioloop.stop()

    def _declare(self) -> None:
        params = pika.URLParameters(self.settings.amqp_url)
        params.client_properties = {"connection_name": f"{self.name}-declare"}
        params.connection_attempts = 1
        params.socket_timeout = 5
        with pika.BlockingConnection(params) as conn:
            channel = conn.channel()
            for runner in self.runners:
                runner.declare(channel)

    def _run_connection(self) -> None:
        params = pika.URLParameters(self.settings.amqp_url)
        params.client_properties = {"connection_name": self.name}
        self._connection = SelectConnection(
            params, on_open_callback=self._on_open, on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed)
        try:
            self._connection.ioloop.start()
        finally:
            for runner in self.runners:
                runner.detach()
            conn, self._connection = self._connection, None
            if conn is not None and conn.is_open:
                # We left the loop on an exception: close cleanly so the broker
                # requeues our unacked deliveries at once.
                try:
                    conn.close()
                    conn.ioloop.start()
                except Exception:
                    # A connection left open keeps this consumer active, and its deliveries
                    # from everyone, until its heartbeat times out: exit instead (the
                    # supervisor restarts the worker and the broker requeues at once).
                    log.exception("%s: cannot close the RabbitMQ connection; exiting", self.name)
                    raise SystemExit(70) from None

    def _on_open_error(self, conn: Any, err: Exception) -> None:
        log.warning("%s: cannot connect to RabbitMQ: %s", self.name, err)
        conn.ioloop.stop()

    def _on_closed(self, conn: Any, reason: Exception) -> None:
        if not self._stopping:
            log.warning("%s: RabbitMQ connection closed: %s", self.name, reason)
        conn.ioloop.stop()

    def _on_open(self, conn: SelectConnection) -> None:
        for runner in self.runners:
            runner.attach(conn)
        self._tick()

    def _tick(self) -> None:
        conn = self._connection
        if conn is None or not conn.is_open:
            return
        for runner in self.runners:
            try:
                runner.tick()
            except psycopg.Error as exc:
                log.warning("%s: %s", runner.service, exc)
                runner.drop_db()
        conn.ioloop.call_later(1.0, self._tick)


def runner_for(settings: Settings, service: str) -> ServiceRunner:
    from .entrypoints import service_handlers

    queue = database = None
    if service == MATCHING:
        shard, shards = settings.matching_shard, check_shards(settings.matching_shards)
        if not 0 <= shard < shards:
            raise SystemExit(f"PAPERTRADE_MATCHING_SHARD={shard} but there are {shards} shards")
        queue, database = settings.matching_queue(shard), shard_database(shard)
    return ServiceRunner(settings, service, service_handlers(service), queue=queue, database=database)


def process_name(settings: Settings, services: list[str]) -> str:
    if services == [MATCHING] and settings.matching_shards > 1:
        return f"{MATCHING}-s{settings.matching_shard}-worker"
    return f"{'+'.join(services)}-worker"


def main(argv: list[str] | None = None) -> None:
    from .web import configure_logging

    services = sys.argv[1:] if argv is None else argv
    if not services:
        raise SystemExit("usage: python -m service_runtime.worker SERVICE [SERVICE ...]")
    settings = get_settings()
    name = process_name(settings, services)
    configure_logging(name, settings.log_level)
    gc_watch.watch()
    worker = EventWorker(settings, [runner_for(settings, s) for s in services], name)
    try:
        metrics.serve_worker_endpoint(settings.host, settings.metrics_port, worker.health)
    except OSError as exc:  # metrics are not worth refusing to work for
        logging.getLogger("papertrade.metrics").error("no metrics endpoint on port %s: %s", settings.metrics_port, exc)
    worker.run()


if __name__ == "__main__":
    main()
