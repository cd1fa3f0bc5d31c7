"""The inbox: ids of processed events, recorded in the same transaction as their effects,
so a redelivered event is recognised and changes nothing the second time."""

from __future__ import annotations

import uuid

import psycopg


def claim(conn: psycopg.Connection, events: list[tuple[uuid.UUID, str]]) -> set[uuid.UUID]:
    """Record (id, type) pairs; return the ids that were not seen before."""
    if not events:
        return set()
    cur = conn.execute(
        """
        INSERT INTO inbox (event_id, type)
        SELECT * FROM unnest(%s::uuid[], %s::text[])
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        ([e[0] for e in events], [e[1] for e in events]),
    )
    return {row["event_id"] for row in cur.fetchall()}
