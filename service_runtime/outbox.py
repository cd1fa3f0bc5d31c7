"""The transactional outbox: domain events are rows written in the same transaction as
the state change they announce; the relay (service_runtime/relay.py) publishes them
afterwards and deletes what the broker confirmed.

A crash can delay an event, never lose it, and a rolled-back change never
publishes one, because the row and the change commit or vanish together. The
table holds only unsent rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from .contracts import Envelope

NOTIFY_CHANNEL = "outbox"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """What the relay publishes: the row's id (its place in commit order), key and body."""

    id: int
    routing_key: str
    body: bytes


def read_epoch(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT value FROM service_state WHERE key = 'epoch'").fetchone()
    return int(row["value"] if isinstance(row, dict) else row[0]) if row else 1


class PendingRows:
    """Outbox rows sent to the database, whose ids are known once the statement answered."""

    def __init__(self, cursor: psycopg.Cursor | None, keys: list[str], bodies: list[str],
                 event_ids: list[str]) -> None:
        self._cursor = cursor
        self._keys = keys
        self._bodies = bodies
        self._event_ids = event_ids

    def rows(self) -> list[OutboxRow]:
        if self._cursor is None:
            return []
        ids = {str(r["event_id"]): r["id"] for r in self._cursor.fetchall()}
        return sorted((OutboxRow(ids[e], k, b.encode()) for e, k, b in
                       zip(self._event_ids, self._keys, self._bodies, strict=True)), key=lambda r: r.id)


def send(conn: psycopg.Connection, envelopes: Sequence[Envelope]) -> PendingRows:
    """Insert the envelopes in one statement (ids follow their order); the answer is read
    later, so in pipeline mode this shares the commit's round trip."""
    if not envelopes:
        return PendingRows(None, [], [], [])
    event_ids = [str(e.id) for e in envelopes]
    keys = [e.event.routing_key() for e in envelopes]
    bodies = [e.to_json() for e in envelopes]
    cursor = conn.execute(
        "INSERT INTO outbox (event_id, type, routing_key, body)"
        " SELECT e, t, k, b FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS r(e, t, k, b, n)"
        " ORDER BY n RETURNING id, event_id",
        (event_ids, [e.type for e in envelopes], keys, bodies),
    )
    return PendingRows(cursor, keys, bodies, event_ids)


def notify(conn: psycopg.Connection) -> None:
    """Wake the relay at commit (NOTIFY is delivered then, folded with identical ones)."""
    conn.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))


def fetch_unsent(conn: psycopg.Connection, limit: int, exclude: Sequence[int] = ()) -> list[OutboxRow]:
    """Unsent rows in id order, leaving out `exclude` (rows already on their way).
    Every row still in the table is unsent (not "id > last sent"), so a row whose
    transaction committed late is still sent, never skipped."""
    cur = conn.execute(
        "SELECT id, routing_key, body FROM outbox WHERE NOT (id = ANY(%s)) ORDER BY id LIMIT %s",
        (list(exclude), limit),
    )
    return [OutboxRow(r["id"], r["routing_key"], r["body"].encode()) for r in cur.fetchall()]


def delete_sent(conn: psycopg.Connection, ids: Sequence[int]) -> None:
    """The broker confirmed these: delete them (a delete writes a few bytes of WAL per row)."""
    if ids:
        conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(ids),))


STALLED_MESSAGE = (
    "events are not leaving the outbox (the oldest unsent is {age:.0f} s old): RabbitMQ or this service's "
    "worker (which relays them) is down or far behind; the API still accepts requests, and the events "
    "flow once it is back"
)


def lag(conn: psycopg.Connection) -> tuple[int, float]:
    """(unsent rows, age in seconds of the oldest of them, 0 when none)."""
    row = conn.execute(
        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS lag FROM outbox"
    ).fetchone()
    return int(row["n"]), float(row["lag"])


def health(conn: psycopg.Connection, stall_seconds: float) -> dict:
    """The outbox as a service API's /healthz shows it: `stalled` when its oldest unsent
    event is older than `stall_seconds` (nothing relays it)."""
    unsent, age = lag(conn)
    stalled = age > stall_seconds
    out: dict = {"unsent": unsent, "oldest_unsent_age_s": round(age, 1), "status": "stalled" if stalled else "ok"}
    if stalled:
        out["message"] = STALLED_MESSAGE.format(age=age)
    return out
