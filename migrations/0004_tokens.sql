-- OAuth2 tokens of `google` / `microsoft` calendars authorized per user
-- (`meetledger auth`), keyed by calendar id. The ledger file lives in the
-- service's private StateDirectory; tokens never reach logs.
-- `needs_reauth` holds why the provider refused the refresh token
-- (invalid_grant): the calendar waits for `meetledger auth` and the other
-- sources keep syncing.
CREATE TABLE oauth_tokens (
    source         TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    access_token   TEXT,
    expires_at     TEXT,
    refresh_token  TEXT,
    scope          TEXT,
    updated_at     TEXT NOT NULL,
    needs_reauth   TEXT,
    needs_reauth_at TEXT
) WITHOUT ROWID;
