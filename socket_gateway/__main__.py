"""`python -m socket_gateway`: the single origin, under gevent's WSGI server."""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402

from gevent.pywsgi import WSGIServer  # noqa: E402

from service_runtime.config import get_settings  # noqa: E402
from service_runtime.web import configure_logging  # noqa: E402

from .app import Gateway  # noqa: E402


def main() -> None:
    settings = get_settings()
    configure_logging("gateway", settings.log_level)
    server = WSGIServer((settings.host, settings.port), Gateway(settings), log=None, error_log=logging.getLogger("gevent"))
    logging.getLogger("papertrade.gateway").info("gateway listening on http://%s:%d", settings.host, settings.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
