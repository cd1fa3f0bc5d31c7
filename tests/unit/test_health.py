"""What the health endpoints say when the broker is away: a worker's /healthz and the
gateway's answer 503 naming it (tests/integration/test_broker_outage.py shows them
recover; a service API's "degraded" is in tests/services/test_stock_ordering.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from service_runtime.config import Settings
from service_runtime.entrypoints import service_handlers
from service_runtime.metrics import serve_worker_endpoint
from service_runtime.worker import EventWorker, ServiceRunner
from socket_gateway.app import Gateway


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_worker_without_a_broker_connection_answers_503_naming_it():
    settings = Settings(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
    worker = EventWorker(settings, [ServiceRunner(settings, "stock_data", service_handlers("stock_data"))],
                         "stock_data-worker")
    server = serve_worker_endpoint("127.0.0.1", 0, worker.health)
    try:
        status, body = get(f"http://127.0.0.1:{server.server_address[1]}/healthz")
    finally:
        server.shutdown()
    assert status == 503
    assert body["status"] == "unavailable" and body["service"] == "stock_data"
    assert body["broker"] == "disconnected" and body["database"] == "idle" and body["consuming"] is False
    assert "not connected to RabbitMQ" in body["message"] and "reconnecting by itself" in body["message"]
    assert not worker.healthy()


def _healthz(gateway: Gateway) -> tuple[str, dict]:
    seen: dict = {}

    def start_response(line: str, headers: list) -> None:
        seen["line"] = line

    body = b"".join(gateway({"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}, start_response))
    return seen["line"], json.loads(body)


def test_the_gateway_answers_503_while_its_feed_is_not_connected(tmp_path):
    feed = {"feed_connected": False}
    gateway = Gateway(Settings(secret_key="x" * 40), static_root=tmp_path, health=lambda: dict(feed))
    line, body = _healthz(gateway)
    assert line.startswith("503") and body["status"] == "unavailable" and body["broker"] == "disconnected"
    assert "not connected to RabbitMQ" in body["message"]
    feed["feed_connected"] = True
    line, body = _healthz(gateway)
    assert line == "200 OK" and body == {"status": "ok", "service": "socket_gateway", "broker": "connected",
                                         "feed_connected": True}


def test_a_worker_keeps_retrying_a_broker_that_accepts_but_never_speaks(tmp_path):
    # pika raises a stack timeout outside its AMQPError family; the worker must still
    # log it and reconnect instead of exiting.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    env = dict(os.environ, PAPERTRADE_AMQP_URL=f"amqp://guest:guest@127.0.0.1:{port}/%2F?stack_timeout=0.3",
               PAPERTRADE_METRICS_PORT="0")
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service_runtime.worker", "stock_data"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and log.read_text().count("reconnecting") < 2:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        assert text.count("reconnecting") >= 2, text
        assert "stock_data-worker papertrade" in text and "AMQPConnectorStackTimeout" in text
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        silent.close()
