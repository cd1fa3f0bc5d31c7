"""`python -m service_runtime.worker SERVICE`: run one service's event worker."""

from __future__ import annotations

import sys

from .bus import EventWorker
from .config import get_settings
from .entrypoints import service_handlers
from .web import configure_logging


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m service_runtime.worker SERVICE")
    service = args[0]
    settings = get_settings()
    configure_logging(f"{service}-worker", settings.log_level)
    EventWorker(service, service_handlers(service), settings).run()


if __name__ == "__main__":
    main()
