"""Remove a namespace: its databases (five services and house_bots), its queues and its exchanges.
Used by the tests after each run, and by `python -m stack destroy`."""

from __future__ import annotations

import contextlib

import pika.exceptions

from db.migrate import drop_database
from service_runtime.bus import blocking_connection
from service_runtime.config import API_SERVICES, SERVICES, Settings


def delete_broker_objects(settings: Settings) -> None:
    with blocking_connection(settings, "teardown") as conn:
        for service in SERVICES:
            for queue in (settings.queue(service), settings.dead_letter_queue(service)):
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
    delete_broker_objects(settings)
