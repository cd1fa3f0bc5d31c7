"""Fault points, for the crash and redelivery tests.

PAPERTRADE_FAULTS (Settings.faults) is a comma-separated list of `point` or `point:N`:
- `after_commit_before_ack:N`: the worker dies (os._exit) right after committing its
  Nth batch, before acking it: the broker redelivers, the inbox must drop it.
- `after_publish_before_mark:N`: the relay dies after its Nth batch of publishes was
  confirmed, before marking the rows sent: they go again, the inboxes drop them.
- `publish_twice`: the relay publishes every event twice (every consumer sees
  every event delivered twice).
Unset (production), each check is one dictionary lookup.
"""

from __future__ import annotations

import logging
import os

from .config import get_settings

log = logging.getLogger("papertrade.faults")
EXIT_CODE = 70


def _parse(spec: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, n = item.partition(":")
        points[name] = int(n) if n else 1
    return points


_points: dict[str, int] | None = None
_counts: dict[str, int] = {}


def _configured() -> dict[str, int]:
    global _points
    if _points is None:
        _points = _parse(get_settings().faults)
    return _points


def enabled(point: str) -> bool:
    return point in _configured()


def crash_point(point: str) -> None:
    """Die here the Nth time this point is reached, when the fault is configured."""
    points = _configured()
    if point not in points:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == points[point]:
        log.error("fault injected: dying at %s (#%d)", point, _counts[point])
        logging.shutdown()
        os._exit(EXIT_CODE)
