"""Forwarding /api/ requests to the owning service (WSGI, under gevent).

Connections to each service are pooled and kept alive; a service that is down
answers 503 with Retry-After rather than hanging the browser.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import urllib3

from service_runtime.config import Settings

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


def _error(start_response: Callable, status: str, code: str, message: str, retry_after: int | None = None) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    start_response(status, headers)
    return [body]


_CLOSED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _server_closed_idle_connection(exc: Exception) -> bool:
    """The service closed a kept-alive connection just as we reused it: it never
    read the request, so sending it again on a fresh connection is safe."""
    candidates = [exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())]
    return any(isinstance(c, _CLOSED) for c in candidates)


class ApiProxy:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = urllib3.PoolManager(
            num_pools=8, maxsize=64, block=False, retries=False,
            timeout=urllib3.Timeout(connect=2.0, read=30.0),
        )

    def _forward(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        try:
            return self.pool.request(method, url, body=body or None, headers=headers, redirect=False,
                                     preload_content=True)
        except urllib3.exceptions.ProtocolError as exc:
            if not _server_closed_idle_connection(exc):
                raise
            log.info("gateway: %s %s: pooled connection was closed by the service; resending", method, url)
            return self.pool.request(method, url, body=body or None, headers=headers, redirect=False,
                                     preload_content=True)

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
        url = self.settings.service_url(service) + path + (f"?{query}" if query else "")
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers["X-Forwarded-For"] = environ.get("REMOTE_ADDR", "")
        try:
            resp = self._forward(environ["REQUEST_METHOD"], url, body, headers)
        except urllib3.exceptions.HTTPError as exc:
            log.warning("gateway: %s unavailable for %s %s: %s", service, environ["REQUEST_METHOD"], path, exc)
            return _error(start_response, "503 Service Unavailable", "unavailable", f"{service} is unavailable", 2)
        out_headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP]
        data = resp.data
        out_headers.append(("Content-Length", str(len(data))))
        start_response(f"{resp.status} {resp.reason or ''}".strip(), out_headers)
        return [data]
