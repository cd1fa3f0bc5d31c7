"""Forwarding /api/ requests to the owning service (WSGI, under gevent).

Kept-alive connections to each service are pooled (plain http.client: urllib3
cost twice the CPU per request here); a service that is down answers 503 with
Retry-After rather than hanging the browser.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from service_runtime.config import API_SERVICES, Settings

from .routing import owner_of

log = logging.getLogger("papertrade.gateway")

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length", "host",
}
MAX_BODY = 2 * 1024 * 1024
# gunicorn refuses request lines over 4094 bytes with an HTML page: refuse them
# here first, in JSON.
MAX_TARGET = 4000
MAX_IDLE_PER_SERVICE = 64
# The services' gunicorn closes a kept-alive connection after 120 s idle
# (service_runtime/gunicorn_conf.py); never reuse one anywhere near that old.
MAX_IDLE_SECONDS = 60.0
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 30.0


def _error(start_response: Callable, status: str, code: str, message: str, retry_after: int | None = None
           ) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    start_response(status, headers)
    return [body]


@dataclass
class Upstream:
    host: str
    port: int
    idle: list[tuple[http.client.HTTPConnection, float]]

    def connection(self, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        """(a connection, whether it was reused from the pool)."""
        now = time.monotonic()
        while self.idle and not fresh:
            conn, last_used = self.idle.pop()
            if now - last_used < MAX_IDLE_SECONDS:
                return conn, True
            conn.close()
        return http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT), False

    def give_back(self, conn: http.client.HTTPConnection) -> None:
        if len(self.idle) < MAX_IDLE_PER_SERVICE:
            self.idle.append((conn, time.monotonic()))
        else:
            conn.close()

    def drop_idle(self) -> None:
        for conn, _ in self.idle:
            conn.close()
        self.idle.clear()


class UpstreamUnavailable(Exception):
    pass


class ApiProxy:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.upstreams: dict[str, Upstream] = {}
        for service in API_SERVICES:
            url = urlsplit(settings.service_url(service))
            self.upstreams[service] = Upstream(url.hostname or "127.0.0.1", url.port or 80, [])

    def _forward(self, service: str, method: str, target: str, body: bytes, headers: dict[str, str]
                 ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        upstream = self.upstreams[service]
        for attempt in (1, 2):
            conn, reused = upstream.connection(fresh=attempt > 1)
            try:
                conn.request(method, target, body=body or None, headers=headers)
                if conn.sock is not None:
                    conn.sock.settimeout(READ_TIMEOUT)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if reused and attempt == 1:
                    # The service closed a kept-alive connection just as we reused it:
                    # it never read the request, so sending it again (on a new
                    # connection: its idle siblings are likely closed too) is safe.
                    upstream.drop_idle()
                    log.info("gateway: %s %s: pooled connection closed by %s; resending", method, target, service)
                    continue
                raise UpstreamUnavailable(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise UpstreamUnavailable(str(exc)) from exc
            if resp.will_close:
                conn.close()
            else:
                upstream.give_back(conn)
            return resp.status, resp.reason, resp.getheaders(), data
        raise UpstreamUnavailable("no connection")  # pragma: no cover - the loop returns or raises

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        service = owner_of(path)
        if service is None:
            return _error(start_response, "404 Not Found", "not_found", f"no API at {path}")
        query = environ.get("QUERY_STRING")
        if len(path) + len(query or "") > MAX_TARGET:
            return _error(start_response, "414 URI Too Long", "uri_too_long", "request URL too long")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return _error(start_response, "413 Payload Too Large", "payload_too_large", "request body too large")
        if length:
            body = environ["wsgi.input"].read(length)
        elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            body = environ["wsgi.input"].read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                return _error(start_response, "413 Payload Too Large", "payload_too_large", "request body too large")
        else:
            body = b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers["X-Forwarded-For"] = environ.get("REMOTE_ADDR", "")
        # The WSGI server unquoted the path (as latin-1); quote it again for the service.
        target = quote(path.encode("latin-1"), safe="/:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")
        try:
            status, reason, resp_headers, data = self._forward(
                service, environ["REQUEST_METHOD"], target, body, headers)
        except UpstreamUnavailable as exc:
            log.warning("gateway: %s unavailable for %s %s: %s", service, environ["REQUEST_METHOD"], path, exc)
            return _error(start_response, "503 Service Unavailable", "unavailable", f"{service} is unavailable", 2)
        out_headers = [(k, v) for k, v in resp_headers if k.lower() not in HOP_BY_HOP]
        out_headers.append(("Content-Length", str(len(data))))
        start_response(f"{status} {reason or ''}".strip(), out_headers)
        return [data]

    def get_json(self, service: str, path: str, headers: dict[str, str] | None = None) -> Any:
        """The gateway's own read of a service (not a client's): the decoded JSON of a 200,
        else UpstreamUnavailable."""
        status, _, _, data = self._forward(service, "GET", path, b"", {"Accept": "application/json", **(headers or {})})
        if status != 200:
            raise UpstreamUnavailable(f"GET {path} answered {status}")
        return json.loads(data)
