-- The daemon's memory (issue 6): when each scheduled job last ran, and the
-- outbox that makes every nightly email go out at most once per day and
-- recipient, across restarts, retries and a second daemon instance.

-- One row per scheduled job (`sync`, `email`). `last_slot` is the schedule
-- time the last finished run was for: a slot later than it that has already
-- passed at start-up is a missed run.
CREATE TABLE job_runs (
    job          TEXT PRIMARY KEY,
    last_slot    TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    ok           INTEGER,
    error        TEXT
);

-- One row per (local day, address). The row is written with state
-- 'sending' in its own committed transaction BEFORE the message is handed
-- to the transport, and turned into 'sent' after; senders hold an exclusive
-- file lock beside the ledger meanwhile. A row found 'sending' under the
-- lock belongs to a sender that died mid-send: it is sent again with the
-- same Message-ID. So a recipient gets the day's email even when the daemon
-- is killed, and twice only if it dies in the instant between the server's
-- acceptance and the 'sent' commit (the shared Message-ID lets mail clients
-- fold that copy). A send the transport refused is 'failed' and retried.
CREATE TABLE sent_emails (
    day          TEXT NOT NULL,
    address      TEXT NOT NULL,
    recipient    TEXT NOT NULL,    -- manager id, or 'head'
    subject      TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    claimed_at   TEXT NOT NULL,
    sent_at      TEXT,
    error        TEXT,
    PRIMARY KEY (day, address)
) WITHOUT ROWID;
