"""user_portfolio: the outbox keeps only unsent rows; no row lock per settlement row"""

from db.migrations import messaging

revision, down_revision = "up0003", "up0002"

upgrade, downgrade = messaging.steps(
    up=[
        messaging.V2_LEAN_OUTBOX,
        """
        -- Each insert into these tables locked its account row for the foreign key
        -- (a WAL record per reservation, position and ledger row). Accounts are
        -- never deleted (a reset keeps them), and the handlers park an event whose
        -- account is not known yet, so the keys guarded nothing the code does not.
        ALTER TABLE positions DROP CONSTRAINT positions_user_id_fkey;
        ALTER TABLE reservations DROP CONSTRAINT reservations_user_id_fkey;
        ALTER TABLE ledger DROP CONSTRAINT ledger_user_id_fkey;
        -- Room on each page for updates to stay on the page (HOT).
        ALTER TABLE accounts SET (fillfactor = 80);
        ALTER TABLE positions SET (fillfactor = 80);
        ALTER TABLE reservations SET (fillfactor = 80);
        """,
    ],
    down=[
        """
        ALTER TABLE accounts RESET (fillfactor);
        ALTER TABLE positions RESET (fillfactor);
        ALTER TABLE reservations RESET (fillfactor);
        ALTER TABLE positions ADD FOREIGN KEY (user_id) REFERENCES accounts (user_id);
        ALTER TABLE reservations ADD FOREIGN KEY (user_id) REFERENCES accounts (user_id);
        ALTER TABLE ledger ADD FOREIGN KEY (user_id) REFERENCES accounts (user_id);
        """,
        messaging.V2_UNDO,
    ],
)
