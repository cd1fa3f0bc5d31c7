"""RabbitMQ topology, derived from the consumers' handler tables.

- one durable topic exchange `<ns>.events` for every event;
- per consuming service a durable queue `<ns>.<service>` (quorum by default, single
  active consumer, so one producer's events are applied in commit order and a
  second worker is a hot standby), bound to `<type>.#` for each domain event its
  handler table lists; order_matching has one queue per shard when sharded;
- a dead-letter exchange `<ns>.dead` and per service `<ns>.<service>.dead`, where
  poison messages are kept, visible and replayable;
- each gateway process: an exclusive, auto-deleted queue bound to what its push
  table lists, notices included (socket_gateway/consumer.py).

A worker declares its own queues when it starts; `stack setup` declares every
service's before any process starts, so no event is published to a queue that does
not exist yet (the exchange drops what no queue is bound for).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import contracts
from . import shards as shards_mod
from .config import Settings
from .contracts import Event

DELIVERY_LIMIT = 20  # quorum queues dead-letter a message redelivered this often (a crash loop)


def queue_arguments(settings: Settings, service: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "x-dead-letter-exchange": settings.dead_letter_exchange,
        "x-dead-letter-routing-key": service,
        "x-single-active-consumer": True,
    }
    if settings.quorum_queues:
        args["x-queue-type"] = "quorum"
        args["x-delivery-limit"] = DELIVERY_LIMIT
    return args


def bindings(consumed: Iterable[type[Event]]) -> list[str]:
    """Routing keys for these events: `order.approved.#` matches `order.approved` and
    `order.approved.p07` alike."""
    return [f"{cls.TYPE}.#" for cls in consumed]


def shard_bindings(consumed: Iterable[type[Event]], shard: int, shards: int) -> list[str]:
    """Matching shard `shard` of `shards`: symbol-scoped events only for the partitions
    it owns (`order.approved.p03`), events about every symbol whatever their key."""
    keys = []
    for cls in consumed:
        if contracts.is_symbol_scoped(cls):
            keys.extend(f"{cls.TYPE}.p{p:02d}" for p in shards_mod.partitions_of(shard, shards))
        else:
            keys.append(f"{cls.TYPE}.#")
    return keys


def durable_only(consumed: Iterable[type[Event]]) -> list[type[Event]]:
    return [cls for cls in consumed if not cls.NOTICE]


def queue_bindings(settings: Settings, service: str, consumed: Iterable[type[Event]]) -> dict[str, list[str]]:
    """queue name -> its routing keys, for one consuming service (one queue per matching shard)."""
    events = durable_only(consumed)
    if not events:
        return {}
    if service == shards_mod.MATCHING and settings.matching_shards > 1:
        return {settings.matching_queue(k): shard_bindings(events, k, settings.matching_shards)
                for k in range(settings.matching_shards)}
    return {settings.queue(service): bindings(events)}


def declare_exchanges(channel: Any, settings: Settings) -> None:
    channel.exchange_declare(settings.exchange, exchange_type="topic", durable=True)
    channel.exchange_declare(settings.dead_letter_exchange, exchange_type="direct", durable=True)


def declare_service(channel: Any, settings: Settings, service: str, consumed: Iterable[type[Event]]) -> None:
    """A consuming service's queues, their bindings and its dead-letter queue (idempotent)."""
    queues = queue_bindings(settings, service, consumed)
    if not queues:
        return
    declare_exchanges(channel, settings)
    dead = settings.dead_letter_queue(service)
    channel.queue_declare(dead, durable=True,
                          arguments={"x-queue-type": "quorum"} if settings.quorum_queues else None)
    channel.queue_bind(dead, settings.dead_letter_exchange, routing_key=service)
    for queue, keys in queues.items():
        channel.queue_declare(queue, durable=True, arguments=queue_arguments(settings, service))
        for key in keys:
            channel.queue_bind(queue, settings.exchange, routing_key=key)


def declare_all(channel: Any, settings: Settings, tables: dict[str, Iterable[type[Event]]]) -> None:
    """Every service's queues (`stack setup`): `tables` maps a service to what it consumes."""
    declare_exchanges(channel, settings)
    for service, consumed in tables.items():
        declare_service(channel, settings, service, consumed)


def blocking_connection(settings: Settings, name: str = "papertrade") -> Any:
    """A short-lived blocking connection (declaring, tools, the audit)."""
    import pika

    params = pika.URLParameters(settings.amqp_url)
    params.client_properties = {"connection_name": name}
    params.connection_attempts = 1
    params.socket_timeout = 5
    return pika.BlockingConnection(params)
