"""How a service's processes start: the same two entry points for all five.

- HTTP API (under gunicorn, see `service_runtime/gunicorn_conf.py`):
    gunicorn -c python:service_runtime.gunicorn_conf 'service_runtime.entrypoints:create_service_app("stock_data")'
- event worker:
    python -m service_runtime.worker stock_data

A service provides `<service>/routes.py` (a Blueprint named `bp`, optionally a
`health(db)` function) and `<service>/handlers.py` (an EventHandlers named
`handlers`). Nothing else is wired by hand.
"""

from __future__ import annotations

import importlib

from flask import Flask

from . import gc_watch
from .config import SERVICES, get_settings
from .handlers import EventHandlers
from .web import configure_logging, create_app


def _check(service: str) -> None:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")


def create_service_app(service: str) -> Flask:
    _check(service)
    settings = get_settings()
    configure_logging(f"{service}-api", settings.log_level)
    gc_watch.watch()
    routes = importlib.import_module(f"{service}.routes")
    app = create_app(service, [routes.bp], settings, health=getattr(routes, "health", None))
    gc_watch.settle()
    return app


def service_handlers(service: str) -> EventHandlers:
    _check(service)
    return importlib.import_module(f"{service}.handlers").handlers
