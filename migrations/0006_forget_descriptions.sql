-- Issue 12 (privacy): descriptions are no longer stored, only the tags read
-- from them. Rows written before still hold them; they are read for their
-- tags on load. Forgetting a calendar's cursor makes its next sync a full
-- read, which rewrites every row without the description.
UPDATE sources SET cursor = NULL, cursor_at = NULL
WHERE id IN (
    SELECT DISTINCT calendar FROM occurrences
    WHERE data LIKE '%"description":"%'
);
