"""The messaging tables every service database has: outbox, inbox, parked events, state.

Each service's first migration calls `create_messaging_tables(op)`, so the five
databases hold the same messaging schema, migrated the one way.
"""

from __future__ import annotations

from typing import Any

MESSAGING_DDL = """
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    type        text NOT NULL,
    routing_key text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

CREATE TABLE inbox (
    event_id     uuid PRIMARY KEY,
    type         text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Events that arrived before what they depend on (a user, a symbol, an order,
-- a newer epoch); released in the transaction that applies the missing event.
CREATE TABLE parked_events (
    id        bigserial PRIMARY KEY,
    wait_key  text NOT NULL,
    event_id  uuid NOT NULL,
    body      text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parked_events_wait_key ON parked_events (wait_key);

CREATE TABLE service_state (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);
INSERT INTO service_state (key, value) VALUES ('epoch', '1');
"""


# The outbox as every service's second messaging migration leaves it: only
# unsent rows, the relay deleting what the broker confirmed. Marking rows sent
# (the first design) rewrote each row, body included, and indexed it again: a
# second full write per event, about as costly as the insert. The broker, the
# inboxes and the dead-letter queue are the record of what was sent.
LEAN_OUTBOX_DDL = """
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_unsent;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox DROP COLUMN sent_at;
"""

UNDO_LEAN_OUTBOX_DDL = """
ALTER TABLE outbox ADD COLUMN sent_at timestamptz;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
"""


def create_messaging_tables(op: Any) -> None:
    op.execute(MESSAGING_DDL)


def lean_outbox(op: Any) -> None:
    op.execute(LEAN_OUTBOX_DDL)


def undo_lean_outbox(op: Any) -> None:
    op.execute(UNDO_LEAN_OUTBOX_DDL)


def drop_messaging_tables(op: Any) -> None:
    op.execute("DROP TABLE IF EXISTS outbox, inbox, parked_events, service_state")
