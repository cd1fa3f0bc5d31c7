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
-- The relay reads unsent rows in id order; the partial index keeps that read
-- proportional to the backlog, not to the table.
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


def create_messaging_tables(op: Any) -> None:
    op.execute(MESSAGING_DDL)


def drop_messaging_tables(op: Any) -> None:
    op.execute("DROP TABLE IF EXISTS outbox, inbox, parked_events, service_state")
