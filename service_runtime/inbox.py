"""The inbox: ids of processed events, recorded in the same transaction as their effects,
so a redelivered event is recognised and changes nothing the second time.

Two ways to claim a batch's ids:
- `claim_all`: a plain insert. A duplicate id breaks the primary key and so aborts
  the whole transaction (nothing of the batch is applied); the caller then claims
  again with `claim_new`. It needs no answer, so it travels with the batch's writes
  in one round trip: the common case, since duplicates follow only crashes.
- `claim_new`: skip ids seen before and answer which were new.

Rows older than the retention are pruned (`prune`); an event older than what was
pruned cannot be checked any more: the worker dead-letters it (`read_horizon`,
service_runtime/service_runner.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import psycopg

PRIMARY_KEY = "inbox_pkey"


class InboxConflict(Exception):
    """A plain claim met an id already in the inbox: the batch holds a duplicate."""


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.errors.UniqueViolation) and exc.diag.constraint_name == PRIMARY_KEY


def claim_all(conn: psycopg.Connection, ids: Sequence[uuid.UUID], types: Sequence[str]) -> None:
    if ids:
        conn.execute(
            "INSERT INTO inbox (event_id, type) SELECT * FROM unnest(%s::uuid[], %s::text[])",
            (list(ids), list(types)),
        )


def claim_new(conn: psycopg.Connection, ids: Sequence[uuid.UUID], types: Sequence[str]) -> psycopg.Cursor | None:
    """Send the claim; `claimed(cursor)` reads which ids were new (in pipeline mode the
    statements sent after it share its round trip)."""
    if not ids:
        return None
    return conn.execute(
        "INSERT INTO inbox (event_id, type) SELECT * FROM unnest(%s::uuid[], %s::text[])"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        (list(ids), list(types)),
    )


def claimed(cur: psycopg.Cursor | None) -> set[uuid.UUID]:
    return set() if cur is None else {row["event_id"] for row in cur.fetchall()}


PRUNE_CHUNK = 5000


def prune(conn: psycopg.Connection, before: datetime) -> int:
    """Delete up to PRUNE_CHUNK rows processed before `before` (a BRIN index on
    processed_at finds them without a scan); returns how many went."""
    cur = conn.execute(
        "DELETE FROM inbox WHERE event_id IN"
        " (SELECT event_id FROM inbox WHERE processed_at < %s LIMIT %s)",
        (before, PRUNE_CHUNK),
    )
    return cur.rowcount


HORIZON_KEY = "inbox_pruned_before"


def read_horizon(conn: psycopg.Connection) -> datetime | None:
    """The time before which ids may have been pruned (None: nothing pruned yet)."""
    row = conn.execute("SELECT value #>> '{}' AS t FROM service_state WHERE key = %s", (HORIZON_KEY,)).fetchone()
    return datetime.fromisoformat(row["t"]) if row and row["t"] else None


def write_horizon(conn: psycopg.Connection, before: datetime) -> None:
    conn.execute(
        "INSERT INTO service_state (key, value) VALUES (%s, to_jsonb(%s::text))"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (HORIZON_KEY, before.isoformat()),
    )
