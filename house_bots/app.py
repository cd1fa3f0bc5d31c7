"""The house bots process: its Flask API plus the bot loop, in one gunicorn worker.

    gunicorn -c python:house_bots.gunicorn_conf 'house_bots.app:create_bots_app()'
"""

from __future__ import annotations

import atexit

from flask import Flask

from service_runtime import gc_watch
from service_runtime.config import HOUSE_BOTS, get_settings
from service_runtime.web import configure_logging, create_app

from . import routes


def create_bots_app() -> Flask:
    settings = get_settings()
    configure_logging(f"{HOUSE_BOTS}-api", settings.log_level)
    gc_watch.watch()
    app = create_app(HOUSE_BOTS, [routes.bp], settings, health=routes.health)
    with app.app_context():
        bots = routes.engine()
    # The stored flag says whether an instructor left the bots running: a restart
    # of this process carries on, it never starts them by itself.
    bots.resume()
    atexit.register(bots.shutdown)
    gc_watch.settle()
    return app
