"""At most one of something per interval, never losing the last one.

The gateway pushes the leaderboard with it. Time is passed in (monotonic
seconds), so it is pure.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Throttle(Generic[T]):
    """At most one item per `interval` seconds, and never losing the last one: an
    item that comes too soon is held (the newest replaces what is held) and sent
    when the interval is up. `offer` answers what to send now and how long until a
    held item is due (the caller schedules `due` for then)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last_sent = float("-inf")
        self.held: T | None = None
        self.scheduled = False

    def offer(self, item: T, now: float) -> tuple[T | None, float | None]:
        if now - self.last_sent >= self.interval and not self.scheduled:
            self.last_sent = now
            return item, None
        self.held = item
        if self.scheduled:
            return None, None
        self.scheduled = True
        return None, max(0.0, self.last_sent + self.interval - now)

    def due(self, now: float) -> T | None:
        """The held item, when its time has come (called by the scheduled timer)."""
        self.scheduled = False
        item, self.held = self.held, None
        if item is not None:
            self.last_sent = now
        return item
