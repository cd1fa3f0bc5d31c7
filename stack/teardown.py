"""Remove a namespace: its databases (five services, house_bots, matching shards), its queues
and its exchanges. Used by the tests after each run, and by `python -m stack destroy`."""

from __future__ import annotations

import contextlib
import dataclasses

import pika.exceptions

from db.migrate import drop_database
from service_runtime.config import API_SERVICES, SERVICES, Settings
from service_runtime.contracts import PARTITIONS
from service_runtime.topology import blocking_connection


def _every_shard(settings: Settings) -> Settings:
    """The settings with the most matching shards there can be: destroy removes shard
    queues and databases whatever shard count the namespace ran with."""
    return dataclasses.replace(settings, matching_shards=PARTITIONS)


def delete_broker_objects(settings: Settings) -> None:
    every = _every_shard(settings)
    with blocking_connection(settings, "teardown") as conn:
        for service in SERVICES:
            queues = {settings.queue(service), settings.dead_letter_queue(service), *every.queues(service)}
            for queue in sorted(queues):
                ch = conn.channel()
                with contextlib.suppress(pika.exceptions.ChannelClosedByBroker):
                    ch.queue_delete(queue)
        for exchange in (settings.exchange, settings.dead_letter_exchange):
            ch = conn.channel()
            with contextlib.suppress(pika.exceptions.ChannelClosedByBroker):
                ch.exchange_delete(exchange)


def destroy(settings: Settings) -> None:
    for service in API_SERVICES:
        drop_database(settings, service)
    for database in settings.databases("order_matching")[1:]:
        drop_database(settings, database)  # shards on servers of their own
    drop_shard_databases(settings)
    delete_broker_objects(settings)


def drop_shard_databases(settings: Settings) -> None:
    """Every `<ns>_order_matching_s<k>` on the main server, however many there were."""
    import psycopg
    from psycopg import sql

    from db.migrate import server_url

    admin_url, _ = server_url(settings, "order_matching")
    names = {settings.database_name(f"order_matching_s{k}") for k in range(1, PARTITIONS)}
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
        for name in sorted(names & existing):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
