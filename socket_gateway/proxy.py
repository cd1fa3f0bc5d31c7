"""Forwarding /api/ requests to the owning service (WSGI, under gevent).

Connections to each service are pooled and kept alive; a service that is down
answers 503 with Retry-After rather than hanging the browser.
"""

from __future__ import annotations

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


class ApiProxy:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = urllib3.PoolManager(
            num_pools=8, maxsize=64, block=False, retries=False,
            timeout=urllib3.Timeout(connect=2.0, read=30.0),
        )

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
            resp = self.pool.request(
                environ["REQUEST_METHOD"], url, body=body or None, headers=headers, redirect=False,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            log.warning("gateway: %s unavailable for %s %s: %s", service, environ["REQUEST_METHOD"], path, exc)
            return _error(start_response, "503 Service Unavailable", "unavailable", f"{service} is unavailable", 2)
        out_headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP]
        data = resp.data
        out_headers.append(("Content-Length", str(len(data))))
        start_response(f"{resp.status} {resp.reason or ''}".strip(), out_headers)
        return [data]
