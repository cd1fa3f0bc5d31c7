"""The client's retry rules against a small scripted HTTP server on localhost:
what is retried, with which body, and what is raised."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from papertrade_client import Client, PapertradeError

ORDER = {"id": 1, "client_order_id": None, "user_id": 2, "symbol": "AAPL", "side": "buy", "type": "limit",
         "qty": 1, "limit_price": "10.00", "time_in_force": "day", "status": "pending_new", "filled_qty": 0,
         "filled_avg_price": None, "reject_reason": None, "created_at": "2026-11-22T08:00:00+00:00",
         "updated_at": "2026-11-22T08:00:00+00:00"}


class Script:
    """Answers requests from a list of (status, headers, body | "drop")."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], Any]] = []
        self.seen: list[tuple[str, str, Any]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            script.seen.append((self.command, self.path, body))
            status, headers, payload = script.answers.pop(0)
            if payload == "drop":  # the request arrived; the answer is lost
                self.close_connection = True
                self.connection.close()
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer  # noqa: N815

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()


def test_a_503_is_retried_after_retry_after_with_the_same_client_order_id(server):
    url, script = server
    script.answers = [(503, {"Retry-After": "0"}, {"error": {"code": "unavailable", "message": "busy"}}),
                      (429, {"Retry-After": "0"}, {"error": {"code": "rate_limited", "message": "slow down"}}),
                      (201, {}, ORDER)]
    c = Client(url, "t")
    order = c.place_order("AAPL", "buy", 1, "10.00")
    assert order.id == 1 and order.created is True and c.retried == 2
    ids = {body["client_order_id"] for _, _, body in script.seen}
    assert len(script.seen) == 3 and len(ids) == 1 and len(ids.pop()) == 32


def test_a_lost_answer_to_an_order_is_retried_but_not_to_a_user_creation(server):
    url, script = server
    script.answers = [(0, {}, "drop"), (200, {}, ORDER)]
    c = Client(url, "t", backoff=0.01)
    assert c.place_order("AAPL", "buy", 1, "10.00", client_order_id="mine").created is False
    assert [body["client_order_id"] for _, _, body in script.seen] == ["mine", "mine"]

    script.answers = [(0, {}, "drop")]
    with pytest.raises(PapertradeError) as err:
        c.create_user("Zed")
    assert err.value.code == "connection_error" and len(script.seen) == 3  # sent once, not retried


def test_past_the_retries_the_error_carries_status_code_field_and_retry_after(server):
    url, script = server
    refusal = (429, {"Retry-After": "0"}, {"error": {"code": "rate_limited", "message": "slow down"}})
    script.answers = [refusal, refusal]
    c = Client(url, "t", retries=1)
    with pytest.raises(PapertradeError) as err:
        c.cancel_order(5)
    assert (err.value.status, err.value.code, err.value.message, err.value.retry_after) == (
        429, "rate_limited", "slow down", 0.0)
    script.answers = [(422, {}, {"error": {"code": "invalid", "message": "bad qty", "field": "qty"}})]
    with pytest.raises(PapertradeError) as err:
        c.place_order("AAPL", "buy", 1, "10.00")
    assert (err.value.status, err.value.field) == (422, "qty") and len(script.seen) == 3  # a 422 is final
    script.answers = [(500, {}, "not json at all")]
    with pytest.raises(PapertradeError) as err:
        c.stocks()
    assert err.value.status == 500
