"""Fault points, for the crash and redelivery tests.

PAPERTRADE_FAULTS is a comma-separated list of `point` or `point:N`:
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

log = logging.getLogger("papertrade.faults")
EXIT_CODE = 70


def _parse(spec: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, n = item.partition(":")
        points[name] = int(n) if n else 1
    return points


_points = _parse(os.environ.get("PAPERTRADE_FAULTS", ""))
_counts: dict[str, int] = {}


def enabled(point: str) -> bool:
    return point in _points


def crash_point(point: str) -> None:
    """Die here the Nth time this point is reached, when the fault is configured."""
    if point not in _points:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == _points[point]:
        log.error("fault injected: dying at %s (#%d)", point, _counts[point])
        logging.shutdown()
        os._exit(EXIT_CODE)
