"""Per-token rate limiting for order entry: a token bucket in process memory.

Each bearer token (its `jti`) gets a bucket of `burst` requests that refills at
`rate` per second; a request takes one. The buckets live in the API process,
shared by its gunicorn threads under one lock: with N API processes the limit
is per process (docs/decisions.md). Settings: PAPERTRADE_RATE_LIMIT (requests
per second per token, 0 = off), PAPERTRADE_RATE_LIMIT_BURST, and
PAPERTRADE_RATE_LIMIT_BOTS (whether house bots are limited too).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from .auth import Principal

# Buckets idle this long are full again and can be forgotten; the sweep keeps
# memory bounded when many tokens come and go.
SWEEP_EVERY = 4096


class TokenBucket:
    """Thread-safe buckets keyed by token; `take(key)` returns 0.0 when the request may
    go, else the seconds until one more request would be allowed."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (0 means off: use no bucket)")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._takes = 0

    def take(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            self._takes += 1
            if self._takes % SWEEP_EVERY == 0:
                self._sweep(now)
            if tokens >= 1.0 - 1e-9:  # float refill steps must not lose a token
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        idle = [k for k, (_, at) in self._buckets.items() if now - at > full_after]
        for key in idle:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_seconds(wait: float) -> int:
    """Retry-After is whole seconds; never 0, or a client would spin."""
    return max(1, math.ceil(wait))


def _limiter() -> TokenBucket | None:
    from flask import current_app

    from .web import settings

    ext = current_app.extensions
    if "papertrade.rate_limit" not in ext:
        cfg = settings()
        ext["papertrade.rate_limit"] = (
            TokenBucket(cfg.rate_limit, cfg.rate_limit_burst or max(1, math.ceil(cfg.rate_limit * 2)))
            if cfg.rate_limit > 0 else None
        )
    return ext["papertrade.rate_limit"]


def rate_limited(fn: Callable) -> Callable:
    """Place under @require_auth: counts one request per call against the caller's token
    and answers 429 with Retry-After past the limit (before any validation or write)."""

    @wraps(fn)
    def wrapper(who: Principal, *args: Any, **kwargs: Any) -> Any:
        from .web import ApiError, settings

        limiter = _limiter()
        if limiter is not None and (who.role != "bot" or settings().rate_limit_bots):
            wait = limiter.take(who.token_id)
            if wait > 0:
                raise ApiError(
                    429, "rate_limited",
                    f"more than {limiter.rate:g} order requests per second with this token; "
                    f"retry after {wait:.3f} s",
                    retry_after=retry_after_seconds(wait),
                )
        return fn(who, *args, **kwargs)

    return wrapper
