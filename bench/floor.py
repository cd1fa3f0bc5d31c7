"""The floor under an order's cost: what the parts underneath cost per unit on this
machine at a steady rate of single, unbatched operations (a quiet-hour order is
never batched), and so the least an order can cost with the commits, publishes and
deliveries it causes (`bench.steady` counts those per order).

    python -m bench.floor                      # 20 and 100 per second, 10 s each
    python -m bench.floor --rates 100 --seconds 5

Each unit is measured alone, its CPU read from /proc for PostgreSQL, RabbitMQ and
this process (the client side: psycopg or pika in Python, as in the services):
- commit: one transaction writing an inbox row and an outbox row, sent in one round
  trip (pipeline mode), as a worker's batch of one event commits;
- publish: one persistent message into a quorum queue declared like the services',
  its publisher confirm received in the background (as the relay does);
- delivery: that message also consumed by a second connection and acked one by one
  (the figure is the extra over publish alone).
It starts nothing and writes only to scratch tables and a scratch queue.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

import pika
from pika.adapters.select_connection import SelectConnection
from pika.spec import BasicProperties

from bench.ceilings import bench_queue
from service_runtime.config import Settings, settings_from_env
from service_runtime.db import connect
from service_runtime.relay import PERSISTENT
from service_runtime.topology import blocking_connection

from .ceilings import BODY
from .common import _pids_by_name, _sample, save_result


class Cpu:
    """CPU seconds of PostgreSQL, RabbitMQ and this process between start() and stop()."""

    def start(self) -> None:
        self.groups = self._groups()  # after the connections opened: their backends exist
        self.before = {n: _sample(p).cpu_s for n, p in self.groups.items()}
        self.t0 = time.perf_counter()

    def stop(self, units: int) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t0
        spent = {n: _sample(p).cpu_s - self.before[n] for n, p in self.groups.items()}
        per_unit = {f"{n}_ms": round(1000 * v / max(units, 1), 3) for n, v in spent.items()}
        return {"units": units, "rate": round(units / elapsed, 1), **per_unit,
                "total_ms": round(1000 * sum(spent.values()) / max(units, 1), 3)}

    @staticmethod
    def _groups() -> dict[str, list[int]]:
        by_name = _pids_by_name()
        return {"postgresql": by_name.get("postgres", []), "rabbitmq": by_name.get("beam.smp", []),
                "client": [os.getpid()]}


def paced(rate: float, seconds: float):  # noqa: ANN201 - a generator of tick indexes
    """Yield at `rate` per second for `seconds`, sleeping in between (never busy)."""
    start = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = n / rate
        if due > elapsed:
            time.sleep(due - elapsed)
        yield n
        n += 1


def commits(url: str, rate: float, seconds: float, wait_for_flush: bool = True) -> dict[str, float]:
    """`wait_for_flush` False: synchronous_commit off (the commit does not wait for its WAL flush)."""
    suffix = uuid.uuid4().hex[:6]
    inbox, outbox = f"floor_inbox_{suffix}", f"floor_outbox_{suffix}"
    with connect(url, autocommit=True) as conn:
        if not wait_for_flush:
            conn.execute("SET synchronous_commit = off")
        conn.execute(f"CREATE TABLE {inbox} (event_id uuid PRIMARY KEY, processed_at timestamptz DEFAULT now())")
        conn.execute(f"CREATE TABLE {outbox} (id bigserial PRIMARY KEY, event_id uuid, body text)")
        try:
            cpu = Cpu()
            cpu.start()
            n = 0
            for _ in paced(rate, seconds):
                with conn.pipeline() as pipeline:
                    conn.execute("BEGIN")
                    conn.execute(f"INSERT INTO {inbox} (event_id) VALUES (%s)", (uuid.uuid4(),))
                    conn.execute(f"INSERT INTO {outbox} (event_id, body) VALUES (%s, %s)", (uuid.uuid4(), BODY.decode()))
                    conn.execute("COMMIT")
                    pipeline.sync()
                n += 1
            return cpu.stop(n)
        finally:
            conn.execute(f"DROP TABLE {inbox}")
            conn.execute(f"DROP TABLE {outbox}")


def messages(settings: Settings, rate: float, seconds: float, consume: bool) -> dict[str, float]:
    """Publish one message per tick (confirms in the background); with `consume`, a
    second connection on the same loop takes each and acks it on its own."""
    queue = bench_queue(settings, "bench-floor")
    props = BasicProperties(delivery_mode=PERSISTENT, content_type="application/json")
    state: dict[str, Any] = {"sent": 0, "confirmed": 0, "consumed": 0, "ready": 0}
    params = pika.URLParameters(settings.amqp_url)
    cpu = Cpu()
    interval = 1.0 / rate

    def on_confirm(frame: Any) -> None:
        state["confirmed"] = frame.method.delivery_tag

    def on_message(channel: Any, method: Any, _props: Any, _body: bytes) -> None:
        channel.basic_ack(method.delivery_tag)
        state["consumed"] += 1

    def tick() -> None:
        if time.perf_counter() >= state["deadline"]:
            finish()
            return
        state["channel"].basic_publish(settings.exchange, queue, BODY, props)
        state["sent"] += 1
        state["next"] += interval
        publisher.ioloop.call_later(max(0.0, state["next"] - time.perf_counter()), tick)

    def finish() -> None:
        done = state["confirmed"] >= state["sent"] and (not consume or state["consumed"] >= state["sent"])
        if not done and time.perf_counter() < state["deadline"] + 10:
            publisher.ioloop.call_later(0.01, finish)
            return
        state["result"] = cpu.stop(state["sent"])
        for c in (publisher, consumer):
            if c is not None and c.is_open:
                c.close()

    def started() -> None:
        state["ready"] += 1
        if state["ready"] == (2 if consume else 1):
            cpu.start()
            state["deadline"] = time.perf_counter() + seconds
            state["next"] = time.perf_counter()
            tick()

    def on_publish_channel(channel: Any) -> None:
        state["channel"] = channel
        channel.confirm_delivery(on_confirm, callback=lambda _frame: started())

    def on_consume_channel(channel: Any) -> None:
        channel.basic_qos(prefetch_count=100, callback=lambda _f: channel.basic_consume(
            queue, on_message, callback=lambda _frame: started()))

    closed = {"n": 0}

    def on_closed(connection: SelectConnection, _reason: Exception) -> None:
        closed["n"] += 1
        if closed["n"] == (2 if consume else 1):
            connection.ioloop.stop()

    publisher = SelectConnection(params, on_open_callback=lambda c: c.channel(on_open_callback=on_publish_channel),
                                 on_close_callback=on_closed)
    consumer = None
    if consume:
        consumer = SelectConnection(params, on_open_callback=lambda c: c.channel(on_open_callback=on_consume_channel),
                                    on_close_callback=on_closed, custom_ioloop=publisher.ioloop)
    try:
        publisher.ioloop.start()
    finally:
        with blocking_connection(settings, "bench-floor-cleanup") as conn:
            conn.channel().queue_delete(queue)
    return state["result"]


def measure(settings: Settings, rates: list[float], seconds: float, async_commit: bool = False) -> dict[str, Any]:
    url = f"{settings.pg_url.rstrip('/')}/postgres"
    out: dict[str, Any] = {}
    for rate in rates:
        commit = commits(url, rate, seconds)
        publish = messages(settings, rate, seconds, consume=False)
        both = messages(settings, rate, seconds, consume=True)
        delivery = {k: round(both[k] - publish[k], 3) for k in both if k.endswith("_ms")}
        out[f"{rate:g}"] = {"commit": commit, "publish": publish, "publish_and_delivery": both,
                            "delivery": delivery}
        if async_commit:
            out[f"{rate:g}"]["commit_without_flush_wait"] = commits(url, rate, seconds, wait_for_flush=False)
    return out


def floor_per_order(units: dict[str, Any], commits: float, publishes: float, deliveries: float) -> float:
    """ms of CPU an order costs at least: its counts times the unit costs at that rate."""
    return round(commits * units["commit"]["total_ms"] + publishes * units["publish"]["total_ms"]
                 + deliveries * units["delivery"]["total_ms"], 2)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="20,100", help="operations per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per unit and rate")
    parser.add_argument("--async-commit", action="store_true",
                        help="also a commit with synchronous_commit off (not waiting for its WAL flush)")
    parser.add_argument("--json", default="bench/results/floor.json")
    args = parser.parse_args(argv)
    result = measure(settings_from_env(), [float(r) for r in args.rates.split(",")], args.seconds,
                     args.async_commit)
    for rate, units in result.items():
        print(f"\nat {rate}/s, ms of CPU per unit (PostgreSQL / RabbitMQ / client = total):")
        for name in ("commit", "commit_without_flush_wait", "publish", "delivery"):
            if name not in units:
                continue
            u = units[name]
            print(f"  {name:25} {u['postgresql_ms']:>7} / {u['rabbitmq_ms']:>7} / {u['client_ms']:>7} = {u['total_ms']}")
    save_result(result, args.json)
    return result


if __name__ == "__main__":
    main()
