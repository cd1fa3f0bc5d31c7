"""The limits of the parts underneath, measured on the same machine in the same run as the
exchange, so the exchange's figures can be read as a share of what is possible.

- RabbitMQ: persistent publishes with pipelined confirms through the exchange's own
  topic exchange into a queue declared like the services' (quorum, same arguments),
  then consuming them with manual acks (acked with multiple=True, as the workers do).
- PostgreSQL: commits per second with one row per commit, and rows per second with
  100 rows per commit, on a scratch table in one of the stack's databases.

    python -m bench.ceilings    # prints the figures; starts nothing (the PAPERTRADE_* URLs, scratch names)
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

import pika
from pika.adapters.select_connection import SelectConnection
from pika.spec import BasicProperties

from service_runtime.config import Settings, settings_from_env
from service_runtime.db import connect
from service_runtime.relay import PERSISTENT
from service_runtime.topology import blocking_connection, queue_arguments

# About the size of a trade.executed envelope.
BODY = json.dumps({"id": str(uuid.uuid4()), "type": "bench.ceiling", "payload": {"x": "y" * 380}}).encode()


def bench_queue(settings: Settings, prefix: str) -> str:
    """A durable queue of its own, bound by its name on the exchange, as the services' are."""
    queue = f"{settings.namespace}.{prefix}-{uuid.uuid4().hex[:6]}"
    with blocking_connection(settings, f"{prefix}-setup") as conn:
        ch = conn.channel()
        ch.exchange_declare(settings.exchange, exchange_type="topic", durable=True)
        ch.queue_declare(queue, durable=True, arguments=queue_arguments(settings, "bench"))
        ch.queue_bind(queue, settings.exchange, routing_key=queue)
    return queue


def rabbitmq(settings: Settings, seconds: float = 3.0, window: int = 2000) -> dict[str, float]:
    """Publish for `seconds` with up to `window` unconfirmed messages, then consume them all."""
    queue = bench_queue(settings, "bench-ceiling")

    state: dict[str, Any] = {"sent": 0, "confirmed": 0, "deadline": 0.0, "done_at": 0.0}
    params = pika.URLParameters(settings.amqp_url)

    def on_open(connection: SelectConnection) -> None:
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel: Any) -> None:
        state["channel"] = channel
        channel.confirm_delivery(on_confirm)
        state["deadline"] = time.perf_counter() + seconds
        state["started"] = time.perf_counter()
        fill(channel)

    def fill(channel: Any) -> None:
        props = BasicProperties(delivery_mode=PERSISTENT, content_type="application/json")
        while state["sent"] - state["confirmed"] < window and time.perf_counter() < state["deadline"]:
            channel.basic_publish(settings.exchange, queue, BODY, props)
            state["sent"] += 1

    def on_confirm(frame: Any) -> None:
        tag = frame.method.delivery_tag
        state["confirmed"] = tag if frame.method.multiple else max(state["confirmed"], tag)
        if time.perf_counter() < state["deadline"]:
            fill(state["channel"])
        elif state["confirmed"] >= state["sent"]:
            state["done_at"] = time.perf_counter()
            connection.close()

    connection = SelectConnection(params, on_open_callback=on_open,
                                  on_close_callback=lambda c, r: c.ioloop.stop())
    connection.ioloop.start()
    published = state["confirmed"]
    publish_rate = published / (state["done_at"] - state["started"])

    with blocking_connection(settings, "bench-ceiling-consume") as conn:
        ch = conn.channel()
        ch.basic_qos(prefetch_count=500)
        got = 0
        started = time.perf_counter()
        for method, _props, _body in ch.consume(queue, inactivity_timeout=2):
            if method is None:
                break
            got += 1
            if got % 100 == 0 or got == published:
                ch.basic_ack(method.delivery_tag, multiple=True)
            if got == published:
                break
        took = time.perf_counter() - started
        ch.cancel()
        ch.queue_delete(queue)
    return {"publish_confirmed_per_s": round(publish_rate), "consume_acked_per_s": round(got / took),
            "messages": published}


def postgresql(url: str, seconds: float = 2.0) -> dict[str, float]:
    table = f"bench_ceiling_{uuid.uuid4().hex[:6]}"
    with connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, body text NOT NULL)")
        try:
            n, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                with conn.transaction():
                    conn.execute(f"INSERT INTO {table} (body) VALUES (%s)", ("x" * 200,))
                n += 1
            one_row = n / (time.perf_counter() - started)
            rows, started = 0, time.perf_counter()
            batch = [("x" * 200,)] * 100
            while time.perf_counter() - started < seconds:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO {table} (body) VALUES (%s)", batch)
                rows += 100
            hundred = rows / (time.perf_counter() - started)
        finally:
            conn.execute(f"DROP TABLE {table}")
    return {"commits_per_s_one_row": round(one_row), "rows_per_s_100_per_commit": round(hundred)}


def measure(settings: Settings, seconds: float = 3.0) -> dict[str, Any]:
    return {"rabbitmq": rabbitmq(settings, seconds),
            "postgresql": postgresql(settings.database_url("stock_ordering"), min(seconds, 2.0))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    settings = settings_from_env()
    result = {"rabbitmq": rabbitmq(settings, args.seconds),
              "postgresql": postgresql(f"{settings.pg_url.rstrip('/')}/postgres", min(args.seconds, 2.0))}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
