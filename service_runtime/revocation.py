"""Tokens revoked by a reset: the lowest epoch a trader's or bot's token may carry.

The instructor may choose, at a reset, to sign everyone out
(`POST /api/simulation/reset {"revoke_tokens": true}`). user_accounts then raises
its floor to the new epoch in the reset's own transaction, and the
`simulation.reset` event carries it (`tokens_valid_from_epoch`) to every other
service, which raises its own floor when it applies the reset. The floor is a row
of `service_state` (`tokens_valid_from`); it only ever goes up, so a repeated or
late reset cannot lower it.

Each API process reads its floor at most once per `FLOOR_TTL_SECONDS` (a value kept
in memory), so checking a token costs a comparison on the hot path. Instructors'
tokens are never refused by the floor (docs/decisions.md, "Tokens revocable on
reset"): the instructor who reset keeps the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from .auth import Principal

KEY = "tokens_valid_from"
# how long an API process trusts the floor it read: the revocation delay after a
# service has applied the reset
FLOOR_TTL_SECONDS = 1.0
REVOKED_MESSAGE = "token revoked by a reset; log in again"


def _first(row: Any) -> Any:
    return row["n"] if isinstance(row, dict) else row[0]


def read_floor(conn: psycopg.Connection) -> int:
    """The lowest epoch a non-instructor token may carry here (1: every token)."""
    row = conn.execute("SELECT (value #>> '{}')::int AS n FROM service_state WHERE key = %s", (KEY,)).fetchone()
    return int(_first(row)) if row else 1


def raise_floor(conn: psycopg.Connection, epoch: int) -> int:
    """Make tokens of epochs below `epoch` invalid here (never lowers it); return the floor."""
    row = conn.execute(
        "INSERT INTO service_state (key, value) VALUES (%s, to_jsonb(%s::int))"
        " ON CONFLICT (key) DO UPDATE SET value = to_jsonb(GREATEST((service_state.value #>> '{}')::int,"
        " (EXCLUDED.value #>> '{}')::int))"
        " RETURNING (value #>> '{}')::int AS n",
        (KEY, epoch),
    ).fetchone()
    return int(_first(row))


def is_revoked(who: Principal, floor: int) -> bool:
    return who.role != "instructor" and who.epoch < floor


class FloorCache:
    """One API process's copy of the floor, read again once it is `ttl` seconds old.
    Threads race harmlessly (no lock): two may both read the row when it expires."""

    def __init__(self, read: Callable[[], int], ttl: float = FLOOR_TTL_SECONDS) -> None:
        self._read = read
        self.ttl = ttl
        self._value = 1
        self._expires = 0.0

    def get(self) -> int:
        now = time.monotonic()
        if now < self._expires:
            return self._value
        value = self._read()
        self._value, self._expires = value, now + self.ttl
        return value

    def invalidate(self) -> None:
        """Read the row on the next check (tests; a route that just raised the floor)."""
        self._expires = 0.0
