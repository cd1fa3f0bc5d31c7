"""The messaging tables every service database has (outbox, inbox, parked events,
state), as each messaging migration applied them.

Append-only: each constant is the DDL of one step, exactly as it shipped, so an old
revision never changes when a newer one does. A new step is a new constant, used
by a new migration in every service's history.
"""

from __future__ import annotations

from collections.abc import Callable

# step 1: every service's first migration
V1_CREATE = """
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
V1_DROP = "DROP TABLE IF EXISTS outbox, inbox, parked_events, service_state"

# step 2: the outbox holds only unsent rows; the relay deletes what the broker
# confirmed (marking rows sent rewrote each row, body included, and indexed it again)
V2_LEAN_OUTBOX = """
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_unsent;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox DROP COLUMN sent_at;
"""
V2_UNDO = """
ALTER TABLE outbox ADD COLUMN sent_at timestamptz;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
"""

# step 3: the inbox is pruned by age; a BRIN index finds old rows without a scan and
# costs next to nothing per insert (processed_at grows with the table)
V3_INBOX_PRUNING = "CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at)"
V3_UNDO = "DROP INDEX inbox_processed_at"


def steps(up: list[str], down: list[str]) -> tuple[Callable[[], None], Callable[[], None]]:
    """A migration's `upgrade` and `downgrade`: its statements, executed in order."""
    from alembic import op

    def upgrade() -> None:
        for statement in up:
            op.execute(statement)

    def downgrade() -> None:
        for statement in down:
            op.execute(statement)

    return upgrade, downgrade
