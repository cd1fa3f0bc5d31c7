"""The transactional outbox: events are rows written in the same transaction as the
state change they announce; the relay (in `bus`) publishes them afterwards.

A crash can delay an event, never lose it, and a rolled-back change never
publishes one, because the row and the change commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg

from .contracts import Envelope, Event, wrap

NOTIFY_CHANNEL = "outbox"


def read_epoch(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT value FROM service_state WHERE key = 'epoch'").fetchone()
    return int(row["value"] if isinstance(row, dict) else row[0]) if row else 1


OutboxRow = tuple[int, str, bytes]  # (outbox id, routing key, body): what the relay publishes


def write(conn: psycopg.Connection, envelopes: Iterable[Envelope], notify: bool = True) -> list[OutboxRow]:
    """Insert the envelopes into the outbox and (unless the writer is the relay's own
    worker, which publishes them itself after committing) wake the relay at commit.
    Returns the rows as the relay would read them back."""
    rows = [(e.id, e.type, e.event.routing_key(), e.to_json()) for e in envelopes]
    if not rows:
        return []
    ids = []
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO outbox (event_id, type, routing_key, body) VALUES (%s, %s, %s, %s) RETURNING id",
            rows, returning=True,
        )
        while True:  # one result per row
            row = cur.fetchone()
            ids.append(row["id"] if isinstance(row, dict) else row[0])
            if not cur.nextset():
                break
    if notify:
        # NOTIFY is delivered at commit and folded with identical ones in the same
        # transaction, so one per transaction is all the relay needs.
        conn.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))
    return [(oid, key, body.encode()) for oid, (_, _, key, body) in zip(ids, rows, strict=True)]


def emit(conn: psycopg.Connection, producer: str, events: Iterable[Event], epoch: int | None = None) -> list[Envelope]:
    """Wrap events in envelopes of the current epoch and write them to the outbox."""
    epoch = read_epoch(conn) if epoch is None else epoch
    now = datetime.now(UTC)
    envelopes = [wrap(evt, producer, epoch, now) for evt in events]
    write(conn, envelopes)
    return envelopes


def fetch_unsent(conn: psycopg.Connection, limit: int, exclude: list[int] | None = None
                 ) -> list[tuple[int, str, bytes]]:
    """Unsent rows in id order, leaving out `exclude` (rows already on their way).
    Every row still in the table is unsent (not "id > last sent"), so a row whose
    transaction committed late is still sent, never skipped."""
    cur = conn.execute(
        "SELECT id, routing_key, body FROM outbox WHERE NOT (id = ANY(%s))"
        " ORDER BY id LIMIT %s",
        (exclude or [], limit),
    )
    return [(r["id"], r["routing_key"], r["body"].encode()) for r in cur.fetchall()]


def mark_sent(conn: psycopg.Connection, ids: list[int]) -> None:
    """The broker confirmed these: delete them (a delete writes a few bytes of WAL
    per row; an update rewrote the whole row and its index entries)."""
    conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (ids,))


STALLED_MESSAGE = (
    "events are not leaving the outbox (the oldest unsent is {age:.0f} s old): RabbitMQ or this service's "
    "worker (which relays them) is down or far behind; the API still accepts requests, and the events "
    "flow once it is back"
)


def lag(conn: psycopg.Connection) -> tuple[int, float]:
    """(unsent rows, age in seconds of the oldest of them, 0 when none): the table holds only unsent rows."""
    row = conn.execute(
        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS lag"
        " FROM outbox"
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


def backlog(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) AS n FROM outbox").fetchone()
    return int(row["n"])
