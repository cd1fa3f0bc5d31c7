"""The gateway's WSGI application: the single origin at PAPERTRADE_PORT.

/api/...  -> the owning service (see routing.py)
/healthz  -> the gateway's own health
/         -> the built front end (frontend/dist), once built
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from service_runtime.config import Settings

from .proxy import ApiProxy

FRONTEND_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"


class Gateway:
    def __init__(self, settings: Settings, static_root: Path = FRONTEND_DIST) -> None:
        self.settings = settings
        self.api = ApiProxy(settings)
        self.static_root = static_root

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/api/"):
            return self.api(environ, start_response)
        if path == "/healthz":
            body = json.dumps({"status": "ok", "service": "socket_gateway"}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.static(path, start_response)

    def static(self, path: str, start_response: Callable) -> Iterable[bytes]:
        root = self.static_root.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not str(target).startswith(str(root)) or not target.is_file():
            # Client-side routes fall back to the app shell.
            target = root / "index.html"
        if not target.is_file():
            body = b"papertrade: the front end is not built (npm run build in frontend/). The API is at /api/."
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
            return [body]
        data = target.read_bytes()
        ctype = mimetypes.guess_type(str(target))[0] or "application/octet-stream"
        cache = "no-cache" if target.name == "index.html" else "public, max-age=31536000, immutable"
        start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(data))), ("Cache-Control", cache)])
        return [data]
