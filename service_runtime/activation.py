"""Becoming a queue's single active consumer.

RabbitMQ gives a queue with `x-single-active-consumer` to one consumer at a time;
a second worker waits as a hot standby. When a consumer gets its first delivery it
has just become active, and the previous active consumer may have died in the
middle of a commit. So it first takes the queue's activation lock, a session
advisory lock the previous consumer held for as long as its database session
lived: once we hold it, the predecessor's last transaction has ended (committed or
rolled back), and only then do we rebuild in-memory state from the database.
Nothing it committed is missed, and nothing is applied twice (its unacked
messages come back as redeliveries and the inbox drops what committed).
"""

from __future__ import annotations

import psycopg

from .relay import advisory_key

# A consumer that becomes active waits this long for its predecessor's database
# session (and so its last transaction) to end.
LOCK_TIMEOUT = "30s"


def take_activation_lock(conn: psycopg.Connection, queue: str) -> None:
    """Block until this session holds `queue`'s activation lock (raises after LOCK_TIMEOUT)."""
    with conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(f"consume:{queue}"),))
