-- The provider item an occurrence came from (a CalDAV resource href, a
-- Google or Graph event id, an .ics file): incremental syncs replace or
-- delete whole items.
ALTER TABLE occurrences ADD COLUMN item TEXT NOT NULL DEFAULT '';
CREATE INDEX occurrences_item ON occurrences (calendar, item);
