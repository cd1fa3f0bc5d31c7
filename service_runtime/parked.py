"""Parked events that waited too long: an event parked for something that never came
(a prerequisite lost or dead-lettered) moves to the service's dead-letter queue, where
`python -m stack dead-letters` shows it and can replay it once the cause is fixed.
The move goes through the outbox, so the row leaves the table only once the broker
has the message; the table never piles up."""

from __future__ import annotations

from datetime import datetime

import psycopg

from . import outbox

DEAD_LETTER_PREFIX = "dead-letter:"  # an outbox row with this key goes to the dead-letter exchange
EXPIRE_CHUNK = 1000


def dead_letter_key(service: str) -> str:
    return DEAD_LETTER_PREFIX + service


def expire(conn: psycopg.Connection, service: str, before: datetime) -> int:
    """Move up to EXPIRE_CHUNK events parked before `before` to the outbox, bound for
    the service's dead-letter queue, and forget their inbox claims; returns how many moved."""
    cur = conn.execute(
        "WITH gone AS (DELETE FROM parked_events WHERE id IN"
        "  (SELECT id FROM parked_events WHERE parked_at < %s ORDER BY id LIMIT %s)"
        "  RETURNING event_id, body),"
        # parking claimed the event in the inbox; it was never applied, so a replay must be
        " unclaimed AS (DELETE FROM inbox WHERE event_id IN (SELECT event_id FROM gone))"
        " INSERT INTO outbox (event_id, type, routing_key, body)"
        " SELECT event_id, body::jsonb ->> 'type', %s, body FROM gone",
        (before, EXPIRE_CHUNK, dead_letter_key(service)),
    )
    if cur.rowcount:
        outbox.notify(conn)  # whichever process relays this database's outbox
    return cur.rowcount
