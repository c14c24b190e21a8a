-- Synced source data, computed meetings and the append-only ledger.
-- Timestamps are RFC 3339 UTC strings; JSON columns hold serde forms of
-- the model types so new fields need no migration.

-- One row per configured source: sync health and incremental cursor.
CREATE TABLE sources (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    cursor        TEXT,
    cursor_at     TEXT,
    last_success  TEXT,
    last_error    TEXT,
    last_error_at TEXT,
    skipped       INTEGER NOT NULL DEFAULT 0,
    warnings      TEXT NOT NULL DEFAULT '[]'
);

-- Normalized occurrences, keyed by (calendar, uid, instance); instance is
-- the recurrence id or '' for a single event.
CREATE TABLE occurrences (
    calendar  TEXT NOT NULL,
    uid       TEXT NOT NULL,
    instance  TEXT NOT NULL,
    start     TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (calendar, uid, instance)
) WITHOUT ROWID;

CREATE TABLE clients (
    crm   TEXT NOT NULL,
    id    TEXT NOT NULL,
    data  TEXT NOT NULL,
    PRIMARY KEY (crm, id)
) WITHOUT ROWID;

CREATE TABLE orders (
    crm        TEXT NOT NULL,
    id         TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (crm, id)
) WITHOUT ROWID;

-- Current state of every credited meeting, keyed by manager and the copy
-- it is reported with.
CREATE TABLE meetings (
    key     TEXT PRIMARY KEY,
    period  TEXT NOT NULL,
    start   TEXT NOT NULL,
    data    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX meetings_period ON meetings (period);

-- The append-only ledger (SPEC §6). Never updated, never deleted.
CREATE TABLE entries (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    period        TEXT NOT NULL,
    change        TEXT NOT NULL CHECK (change IN ('added', 'rescored', 'removed')),
    meeting_key   TEXT NOT NULL,
    manager       TEXT NOT NULL,
    client        TEXT NOT NULL,
    start         TEXT NOT NULL,
    calendar      TEXT NOT NULL,
    uid           TEXT NOT NULL,
    recurrence_id TEXT,
    weight        REAL,
    score         REAL,
    weight_delta  REAL NOT NULL,
    score_delta   REAL NOT NULL,
    reason        TEXT NOT NULL,
    adjusts       TEXT,
    booked_at     TEXT NOT NULL
);
CREATE INDEX entries_period ON entries (period, seq);

CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

-- Closed months with the figures and meetings frozen at closing.
CREATE TABLE closed_periods (
    period    TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL,
    report    TEXT NOT NULL,
    meetings  TEXT NOT NULL
) WITHOUT ROWID;

-- Administrators' corrections of single events, with who and why.
CREATE TABLE overrides (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    calendar      TEXT NOT NULL,
    uid           TEXT NOT NULL,
    recurrence_id TEXT,
    exclude       INTEGER NOT NULL,
    client        TEXT,
    by            TEXT NOT NULL,
    why           TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
