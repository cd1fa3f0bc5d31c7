"""The inbox: ids of processed events, recorded in the same transaction as their effects,
so a redelivered event is recognised and changes nothing the second time."""

from __future__ import annotations

import uuid

import psycopg


def claim(conn: psycopg.Connection, events: list[tuple[uuid.UUID, str]]) -> set[uuid.UUID]:
    """Record (id, type) pairs; return the ids that were not seen before."""
    return claimed(send_claim(conn, events))


def send_claim(conn: psycopg.Connection, events: list[tuple[uuid.UUID, str]]) -> psycopg.Cursor | None:
    """Send the claim without reading its answer (`claimed` reads it): in pipeline mode
    the statements sent after it share its round trip."""
    if not events:
        return None
    return conn.execute(
        """
        INSERT INTO inbox (event_id, type)
        SELECT * FROM unnest(%s::uuid[], %s::text[])
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        ([e[0] for e in events], [e[1] for e in events]),
    )


def claimed(cur: psycopg.Cursor | None) -> set[uuid.UUID]:
    """The ids of a sent claim that were not seen before."""
    return set() if cur is None else {row["event_id"] for row in cur.fetchall()}
