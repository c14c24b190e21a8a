-- Incremental scoring (issue 7): the score run re-reads only occurrences
-- that changed and rescores only the counterparties ("parties": a client id
-- or `prospect:<key>`) whose meetings may have changed.

-- What the last score run read from each copy on its own: `party` is the
-- counterparty when the copy alone reads as a meeting (NULL: excluded);
-- `to_read` is set whenever the data changes; `recheck_at` is when `now`
-- passing changes the reading (a future meeting becoming a past one).
ALTER TABLE occurrences ADD COLUMN party TEXT;
ALTER TABLE occurrences ADD COLUMN to_read INTEGER NOT NULL DEFAULT 1;
ALTER TABLE occurrences ADD COLUMN recheck_at TEXT;
CREATE INDEX occurrences_party ON occurrences (party) WHERE party IS NOT NULL;
CREATE INDEX occurrences_instance ON occurrences (uid, instance, party);
CREATE INDEX occurrences_to_read ON occurrences (to_read) WHERE to_read = 1;
CREATE INDEX occurrences_recheck ON occurrences (recheck_at) WHERE recheck_at IS NOT NULL;

-- Parties to rescore at the next run, written by the triggers below as the
-- synced data changes (the sync code does not need to know about scoring).
-- The triggers test for an existing row instead of using INSERT OR IGNORE:
-- an outer upsert's conflict handling would override theirs.
CREATE TABLE dirty_parties (party TEXT PRIMARY KEY) WITHOUT ROWID;

-- A copy that changes or disappears changes every meeting of its instance.
CREATE TRIGGER occurrences_dirty_on_delete AFTER DELETE ON occurrences
BEGIN
    INSERT INTO dirty_parties (party)
        SELECT DISTINCT party FROM occurrences
        WHERE uid = old.uid AND instance = old.instance AND party IS NOT NULL
          AND party NOT IN (SELECT party FROM dirty_parties);
    INSERT INTO dirty_parties (party) SELECT old.party
        WHERE old.party IS NOT NULL AND old.party NOT IN (SELECT party FROM dirty_parties);
END;
CREATE TRIGGER occurrences_dirty_on_update AFTER UPDATE OF data ON occurrences
BEGIN
    INSERT INTO dirty_parties (party)
        SELECT DISTINCT party FROM occurrences
        WHERE uid = old.uid AND instance = old.instance AND party IS NOT NULL
          AND party NOT IN (SELECT party FROM dirty_parties);
    INSERT INTO dirty_parties (party) SELECT old.party
        WHERE old.party IS NOT NULL AND old.party NOT IN (SELECT party FROM dirty_parties);
END;

-- Orders' figures as columns, so scoring reads a client's orders from one
-- covering index instead of parsing every order's JSON.
ALTER TABLE orders ADD COLUMN amount REAL NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET amount = coalesce(json_extract(data, '$.amount'), 0),
                  cancelled = coalesce(json_extract(data, '$.cancelled'), 0);
CREATE INDEX orders_by_client ON orders (client_id, cancelled, created_at, id, amount);

-- An order changes the scores (and the new/existing status) of its client.
CREATE TRIGGER orders_dirty_on_insert AFTER INSERT ON orders
BEGIN
    INSERT INTO dirty_parties (party) SELECT new.client_id
        WHERE new.client_id NOT IN (SELECT party FROM dirty_parties);
END;
CREATE TRIGGER orders_dirty_on_update AFTER UPDATE ON orders
BEGIN
    INSERT INTO dirty_parties (party) SELECT old.client_id
        WHERE old.client_id NOT IN (SELECT party FROM dirty_parties);
    INSERT INTO dirty_parties (party) SELECT new.client_id
        WHERE new.client_id NOT IN (SELECT party FROM dirty_parties);
END;
CREATE TRIGGER orders_dirty_on_delete AFTER DELETE ON orders
BEGIN
    INSERT INTO dirty_parties (party) SELECT old.client_id
        WHERE old.client_id NOT IN (SELECT party FROM dirty_parties);
END;

-- Meetings by counterparty, and when `now` passing may change each one's
-- outcome (a window closing, an order dated in the future): NULL once final.
ALTER TABLE meetings ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN recheck_at TEXT;
UPDATE meetings SET client = json_extract(data, '$.client');
CREATE INDEX meetings_client ON meetings (client);
CREATE INDEX meetings_recheck ON meetings (recheck_at) WHERE recheck_at IS NOT NULL;

-- The run's memory: `fingerprint` of everything besides occurrences and
-- orders that readings depend on (config, clients, overrides; a change means
-- a full run) and `now` of the last run that changed anything.
CREATE TABLE score_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
