"""Garbage-collection pauses, measured and kept short. A full collection walks every
object the process holds: the modules, the web framework and, in a worker, a class's
accounts and books, 25-200 ms on a grown database, a latency tail that CPU figures do
not show. Each collection's length goes to a histogram on /metrics and a long one is
logged; `settle` moves what a process holds once it has started (or loaded its state)
out of the collector's way (`gc.freeze`), so later collections walk only what came
after. Objects are still freed by their reference counts."""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from . import metrics as metrics_mod

log = logging.getLogger("papertrade.gc")
PAUSES = metrics_mod.REGISTRY.histogram(
    "papertrade_gc_pause_seconds", "Python garbage collections, by how long they stopped the process",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5))
LONG_MS = 20.0  # a collection at least this long is logged

_started: list[float] = [0.0]
_settling = [False]  # settle's own collection is a start-up cost, not a pause in service


def _callback(phase: str, info: dict[str, Any]) -> None:
    if _settling[0]:
        return
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = time.perf_counter() - _started[0]
    PAUSES.observe(took)
    if took * 1000 >= LONG_MS:
        log.warning("gc: generation %d took %.1f ms (%d collected)", info.get("generation", -1), took * 1000,
                    info.get("collected", 0))


def watch() -> None:
    """Time every collection of this process (once per process)."""
    if _callback not in gc.callbacks:
        gc.callbacks.append(_callback)


def settle() -> None:
    """Collect once, then freeze what survives: call when a process has started and
    whenever it has (re)loaded its in-memory state."""
    _settling[0] = True
    try:
        gc.collect()
    finally:
        _settling[0] = False
    gc.freeze()
