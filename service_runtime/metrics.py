"""Prometheus metrics without a dependency: counters, gauges and histograms kept in
the process, rendered in the text exposition format (version 0.0.4) at `/metrics`.

Every HTTP process (the service APIs, house_bots, the gateway) serves `/metrics`;
a worker serves it on `PAPERTRADE_METRICS_PORT` (`serve_worker_endpoint`). Values
are per process: with several gunicorn processes per API each scrape sees one of
them (the default is one process). Label sets are small and fixed (routes, event
types, services), never ids.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("papertrade.metrics")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


def _labels(labels: dict[str, Any]) -> Labels:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _fmt_labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    body = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in items)
    return "{" + body + "}"


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


class _Metric:
    kind = ""

    def __init__(self, name: str, help_: str) -> None:
        self.name = name
        self.help = help_
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_: str) -> None:
        super().__init__(name, help_)
        self.values: dict[Labels, float] = {}

    def inc(self, amount: float = 1, **labels: Any) -> None:
        key = _labels(labels)
        with self._lock:
            self.values[key] = self.values.get(key, 0) + amount

    def value(self, **labels: Any) -> float:
        return self.values.get(_labels(labels), 0)

    def render(self) -> list[str]:
        return self.header() + [f"{self.name}{_fmt_labels(k)} {_num(v)}" for k, v in sorted(self.values.items())]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: Any) -> None:
        with self._lock:
            self.values[_labels(labels)] = value


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        super().__init__(name, help_)
        self.buckets = buckets
        self.series: dict[Labels, list[float]] = {}  # bucket counts..., then count, sum

    def observe(self, value: float, **labels: Any) -> None:
        key = _labels(labels)
        with self._lock:
            row = self.series.get(key)
            if row is None:
                row = self.series[key] = [0.0] * (len(self.buckets) + 2)
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    row[i] += 1
            row[-2] += 1
            row[-1] += value

    def count(self, **labels: Any) -> float:
        row = self.series.get(_labels(labels))
        return row[-2] if row else 0

    def render(self) -> list[str]:
        lines = self.header()
        for key, row in sorted(self.series.items()):
            for bound, n in zip(self.buckets, row, strict=False):
                lines.append(f"{self.name}_bucket{_fmt_labels(key, (('le', _num(bound)),))} {_num(n)}")
            lines.append(f"{self.name}_bucket{_fmt_labels(key, (('le', '+Inf'),))} {_num(row[-2])}")
            lines.append(f"{self.name}_count{_fmt_labels(key)} {_num(row[-2])}")
            lines.append(f"{self.name}_sum{_fmt_labels(key)} {_num(row[-1])}")
        return lines


class Registry:
    def __init__(self) -> None:
        self.metrics: dict[str, _Metric] = {}
        # called at each scrape: gauges read from elsewhere (a database) are set here
        self.collectors: list[Callable[[], None]] = []

    def _get(self, cls: type, name: str, help_: str, **kw: Any) -> Any:
        metric = self.metrics.get(name)
        if metric is None:
            metric = self.metrics[name] = cls(name, help_, **kw)
        return metric

    def counter(self, name: str, help_: str) -> Counter:
        return self._get(Counter, name, help_)

    def gauge(self, name: str, help_: str) -> Gauge:
        return self._get(Gauge, name, help_)

    def histogram(self, name: str, help_: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> Histogram:
        return self._get(Histogram, name, help_, buckets=buckets)

    def render(self) -> str:
        for collect in self.collectors:
            try:
                collect()
            except Exception:  # noqa: BLE001 - a failed collector must not break the scrape
                log.exception("metrics collector failed")
        lines: list[str] = []
        for metric in self.metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


REGISTRY = Registry()


def parse(text: str) -> dict[str, float]:
    """`name{labels}` -> value, from an exposition (tests and operators' scripts)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def serve_worker_endpoint(host: str, port: int, health: Callable[[], dict[str, Any]],
                          registry: Registry = REGISTRY) -> ThreadingHTTPServer:
    """`/metrics` and `/healthz` for a process without an HTTP server (a worker), on a
    daemon thread. Port 0 takes a free port; the address is logged. `health()` gives
    the /healthz body: 200 when its "status" is "ok", else 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/metrics":
                status, ctype, body = 200, CONTENT_TYPE, registry.render().encode()
            elif self.path == "/healthz":
                detail = health()
                status, ctype = (200 if detail.get("status") == "ok" else 503), "application/json"
                body = json.dumps(detail).encode()
            else:
                status, ctype, body = 404, "text/plain", b"not found"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Iterable[Any]) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    log.info("metrics at http://%s:%d/metrics", host, server.server_address[1])
    return server
