"""RabbitMQ unreachable, for one stack only: its processes reach the broker through a
TCP proxy this test cuts and restores, so the shared RabbitMQ (and every other test
run on the machine) never notices. While cut: workers and the gateway answer 503 on
/healthz naming the broker, the order API keeps accepting orders and says
"degraded"; once restored, everything is "ok" again by itself and the orders taken
meanwhile fill. The real restart of RabbitMQ is in tests/faults/."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from service_runtime.config import SERVICES, Settings
from tests.harness import RunningStack, Sandbox, running_stack, wait_for

pytestmark = pytest.mark.stack


class TcpProxy:
    """127.0.0.1:<port> forwarded to `target`. `cut()` drops every connection and refuses
    new ones (to the processes behind it the broker is gone); `restore()` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            # close() alone leaves a thread blocked in accept() (and the port listening)
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            victims, self._open = self._open, set()
        for sock in victims:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut while we connected: this one dies too
                    client.close()
                    upstream.close()
                    return
                self._open |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open -= {src, dst}


@pytest.fixture(scope="module")
def outage() -> Iterator[tuple[RunningStack, TcpProxy]]:
    real = urlsplit(os.environ.get("PAPERTRADE_AMQP_URL") or Settings().amqp_url)
    proxy = TcpProxy((real.hostname or "127.0.0.1", real.port or 5672))
    proxy.restore()
    via_proxy = urlunsplit(real._replace(netloc=f"{real.username}:{real.password}@127.0.0.1:{proxy.port}"))
    try:
        with running_stack("broker-outage", {"PAPERTRADE_AMQP_URL": via_proxy,
                                             "PAPERTRADE_OUTBOX_STALL_SECONDS": "1"}) as stack:
            yield stack, proxy
    finally:
        proxy.cut()


def health(url: str) -> tuple[int, dict]:
    resp = requests.get(url, timeout=10)
    return resp.status_code, resp.json()


def test_a_broker_outage_shows_on_every_health_endpoint_and_everything_recovers_by_itself(outage):
    stack, proxy = outage
    box = Sandbox(stack)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("1000.00"), box.trader("0.00", {sym: 10})
    workers = {}
    for service in SERVICES:
        port = re.findall(r"metrics at http://[\d.]+:(\d+)/metrics", stack.logs(f"{service}-worker"))[-1]
        workers[service] = f"http://127.0.0.1:{port}/healthz"
    gateway = f"{stack.url}/healthz"
    orders_api = f"{stack.settings.service_url('stock_ordering')}/healthz"
    before = {url: health(url) for url in [*workers.values(), gateway, orders_api]}
    assert all(status == 200 for status, _ in before.values()), before

    proxy.cut()
    for service, url in workers.items():
        wait_for(f"{service}-worker to report the broker", lambda url=url: health(url)[0] == 503, 20)
        status, body = health(url)
        assert body["status"] == "unavailable" and body["broker"] == "disconnected", (service, body)
        assert "not connected to RabbitMQ" in body["message"]
    wait_for("the gateway to report the broker", lambda: health(gateway)[0] == 503, 20)
    assert health(gateway)[1]["broker"] == "disconnected"
    # the order API still takes orders (the outbox), and says it is degraded, and why
    buy = buyer.order(sym, "buy", 5, "10.00")
    sell = seller.order(sym, "sell", 5, "10.00")
    wait_for("the order API to say degraded", lambda: health(orders_api)[1]["status"] == "degraded", 20)
    status, body = health(orders_api)
    assert status == 200 and body["events"]["status"] == "stalled" and body["events"]["unsent"] >= 2
    assert "RabbitMQ or this service's worker" in body["message"]

    proxy.restore()
    for url in [*workers.values(), gateway]:
        wait_for(f"{url} to be ok again", lambda url=url: health(url)[0] == 200, 30)
    assert buyer.wait_order(buy["id"], "filled", timeout=30)["filled_qty"] == 5
    assert seller.wait_order(sell["id"], "filled", timeout=30)
    wait_for("the order API to be ok again", lambda: health(orders_api)[1]["status"] == "ok", 20)
    assert stack.audit() == []
