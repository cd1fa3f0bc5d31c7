"""`python -m service_runtime.worker SERVICE`: run one service's event worker.

order_matching with `PAPERTRADE_MATCHING_SHARDS` > 1: the worker is shard
`PAPERTRADE_MATCHING_SHARD` (its own queue and database, service_runtime/shards.py).
Every worker serves `/metrics` and `/healthz` on `PAPERTRADE_METRICS_PORT`.
"""

from __future__ import annotations

import logging
import sys

from . import metrics
from .bus import EventWorker
from .config import get_settings, shard_database
from .entrypoints import service_handlers
from .shards import MATCHING, check_shards
from .web import configure_logging


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m service_runtime.worker SERVICE")
    service = args[0]
    settings = get_settings()
    queue = database = None
    name = f"{service}-worker"
    if service == MATCHING:
        shard, shards = settings.matching_shard, check_shards(settings.matching_shards)
        if not 0 <= shard < shards:
            raise SystemExit(f"PAPERTRADE_MATCHING_SHARD={shard} but there are {shards} shards")
        queue, database = settings.matching_queue(shard), shard_database(shard)
        if shards > 1:
            name = f"{service}-s{shard}-worker"
    configure_logging(name, settings.log_level)
    worker = EventWorker(service, service_handlers(service), settings, queue=queue, database=database)
    try:
        metrics.serve_worker_endpoint(settings.host, settings.metrics_port, worker.health)
    except OSError as exc:  # metrics are not worth refusing to work for
        logging.getLogger("papertrade.metrics").error("no metrics endpoint on port %s: %s", settings.metrics_port, exc)
    worker.run()


if __name__ == "__main__":
    main()
