"""The API's documentation at the single origin: /api/openapi.json and /api/docs.

The document is built in this process from the services' blueprints
(service_runtime.openapi.merged_spec): the same pydantic models that validate
their requests, no service has to be up, and a new route appears as soon as it
is declared. Swagger UI's files come from the `offapi` package (shipped on
PyPI for exactly this), so the page works without internet access.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

SPEC_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
ASSETS = {
    "swagger-ui-bundle.js": ("swagger_bundle.js", "application/javascript; charset=utf-8"),
    "swagger-ui-standalone-preset.js": ("swagger_preset.js", "application/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger_style.css", "text/css; charset=utf-8"),
}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>papertrade API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/api/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
    });
  </script>
</body>
</html>
"""


class ApiDocs:
    """WSGI for the three documentation paths; everything else is not ours (None)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spec: bytes | None = None
        self._assets: dict[str, bytes] = {}

    @staticmethod
    def handles(path: str) -> bool:
        return path in (SPEC_PATH, DOCS_PATH) or path.startswith(DOCS_PATH + "/")

    def spec(self) -> bytes:
        with self._lock:
            if self._spec is None:
                from service_runtime.openapi import merged_spec

                self._spec = json.dumps(merged_spec()).encode()
            return self._spec

    def _asset(self, name: str) -> bytes:
        if name not in self._assets:
            filename, _ = ASSETS[name]
            self._assets[name] = (resources.files("offapi") / filename).read_bytes()
        return self._assets[name]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _send(start_response, "405 Method Not Allowed", "application/json", json.dumps(
                {"error": {"code": "method_not_allowed", "message": "GET only"}}).encode(), [("Allow", "GET, HEAD")])
        if path == SPEC_PATH:
            return _send(start_response, "200 OK", "application/json", self.spec(), [("Cache-Control", "no-cache")])
        if path in (DOCS_PATH, DOCS_PATH + "/"):
            return _send(start_response, "200 OK", "text/html; charset=utf-8", PAGE.encode(),
                         [("Cache-Control", "no-cache")])
        name = path[len(DOCS_PATH) + 1:]
        if name in ASSETS:
            return _send(start_response, "200 OK", ASSETS[name][1], self._asset(name),
                         [("Cache-Control", "public, max-age=86400")])
        return _send(start_response, "404 Not Found", "application/json", json.dumps(
            {"error": {"code": "not_found", "message": f"no {path}"}}).encode())


def _send(start_response: Callable, status: str, ctype: str, body: bytes,
          extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                            ("X-Content-Type-Options", "nosniff"), *(extra or [])])
    return [body]
