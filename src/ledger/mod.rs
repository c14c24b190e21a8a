//! The SQLite store (SPEC §6): synced occurrences, clients and orders with
//! their source cursors, the current state of every meeting, the append-only
//! ledger entries, closed months and administrators' overrides. All database
//! I/O lives here; deciding what to write is done by pure code elsewhere
//! (`changes::plan`).

pub mod changes;
pub mod incremental;
pub mod period;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rusqlite_migration::{Migrations, M};
use serde::{Deserialize, Serialize};

use crate::config::OverrideConfig;
use crate::model::{Client, Occurrence, Order};
use crate::sources::{CalendarItem, SourceWarning};
use changes::{format_utc, Entry, MeetingRecord};
use period::Period;

/// Numbered migrations, applied in order at open.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_occurrence_items.sql"),
    include_str!("../../migrations/0003_emails.sql"),
    include_str!("../../migrations/0004_tokens.sql"),
    include_str!("../../migrations/0005_incremental.sql"),
    include_str!("../../migrations/0006_forget_descriptions.sql"),
];

/// Sync health of one source, as `status` shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceState {
    pub id: String,
    pub kind: String,
    pub cursor: Option<String>,
    pub cursor_at: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Items skipped as unreadable in the last successful sync.
    pub skipped: i64,
    /// The warnings of the last successful sync (file, line, message).
    pub warnings: Vec<String>,
    /// Why the provider refused this source's OAuth token: the source waits
    /// for `meetledger auth` (not stored in `sources`; joined from tokens).
    pub needs_reauth: Option<String>,
}

/// What a sync of one source changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub upserted: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

/// A closed month and what was frozen with it.
#[derive(Debug, Clone)]
pub struct ClosedPeriod {
    pub period: String,
    pub closed_at: String,
    pub report: serde_json::Value,
    pub meetings: Vec<MeetingRecord>,
}

pub struct Store {
    conn: Connection,
}

/// Rows of a streamed import between two looks at the stop request: about
/// a tenth of a second of work, so a SIGTERM is honoured well within the
/// daemon's few seconds.
const STOP_CHECK_ROWS: usize = 10_000;

/// Creates `path` (if missing) readable and writable by its owner only,
/// whatever the umask; an existing file keeps its mode.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(path)
}

/// Takes an exclusive lock on `<ledger>.<suffix>` (created 0600), waiting
/// for its holder. The OS drops the lock when the file is closed or its
/// process dies, however abruptly.
pub fn lock_beside(ledger: &Path, suffix: &str) -> Result<std::fs::File> {
    let mut name = ledger.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    let path = ledger.with_file_name(name);
    let file = create_private(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

impl Store {
    /// Opens (creating if needed) and migrates the ledger database.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create the folder {}", parent.display()))?;
            }
        }
        // Only the owner may read the ledger (it holds clients, orders and
        // OAuth tokens): create it 0600 whatever the umask. SQLite gives its
        // `-wal` and `-shm` files the database file's mode.
        create_private(path)
            .with_context(|| format!("cannot create the ledger {}", path.display()))?;
        // Two processes opening a new ledger at once (`sync & status`) would
        // both see version 0 and both create the tables: migrations run
        // under an exclusive lock on a file beside the ledger. (Not a lock
        // on the database file itself: closing any descriptor of it would
        // drop SQLite's own POSIX locks.)
        let lock = lock_beside(path, "open-lock")?;
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open the ledger {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Score runs and full syncs touch most of a large ledger in one
        // transaction: a page cache of 16 MiB (SQLite's default is 2 MiB)
        // keeps them from re-reading and spilling pages (issue 7 profile).
        conn.pragma_update(None, "cache_size", -16_384)?;
        // Statement journals (every upsert that fires a trigger writes one)
        // and small temporary tables stay in memory: on disk they were 37 %
        // of a 5-million-order sync. Statements that would build large
        // temporary tables are batched instead (`clear_to_read`).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        migrations
            .to_latest(&mut conn)
            .with_context(|| format!("cannot migrate the ledger {}", path.display()))?;
        drop(lock);
        Ok(Store { conn })
    }

    /// A transaction that takes the write lock when it begins. A deferred
    /// one that read first could not take it later once another process
    /// had written (SQLite answers "database is locked" at once, without
    /// waiting), so a `score` beside a running sync would fail.
    pub(crate) fn write_transaction(&mut self) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }

    pub fn integrity_ok(&self) -> Result<bool> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(result == "ok")
    }

    // ----- sources -------------------------------------------------------

    pub fn source(&self, id: &str) -> Result<Option<SourceState>> {
        self.conn
            .query_row(SOURCE_SELECT_ONE, [id], source_from_row)
            .optional()
            .map_err(Into::into)
    }

    pub fn sources(&self) -> Result<Vec<SourceState>> {
        let mut stmt = self.conn.prepare(SOURCE_SELECT_ALL)?;
        let rows = stmt.query_map([], source_from_row)?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Records a failed sync; the data and cursor of the last success stay.
    pub fn record_failure(
        &mut self,
        id: &str,
        kind: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sources (id, kind, last_error, last_error_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET kind = ?2, last_error = ?3, last_error_at = ?4",
            params![id, kind, error, format_utc(now)],
        )?;
        Ok(())
    }

    /// Replaces one calendar's occurrences and stores its cursor in the same
    /// transaction, so data and cursor never disagree.
    pub fn replace_calendar(
        &mut self,
        state: &SourceState,
        items: &[CalendarItem],
        now: DateTime<Utc>,
    ) -> Result<SyncCounts> {
        let tx = self.write_transaction()?;
        // Stored rows by key with a digest of their data, not the data: a
        // calendar of a million events must not be held twice.
        let mut existing: BTreeMap<(String, String), (String, DataDigest)> = BTreeMap::new();
        {
            let mut stmt = tx
                .prepare("SELECT uid, instance, item, data FROM occurrences WHERE calendar = ?1")?;
            let mut rows = stmt.query([&state.id])?;
            while let Some(r) = rows.next()? {
                let digest = digest(r.get_ref(3)?.as_str()?);
                existing.insert((r.get(0)?, r.get(1)?), (r.get(2)?, digest));
            }
        }
        let mut counts = SyncCounts::default();
        {
            let mut upsert = tx.prepare(UPSERT_OCCURRENCE)?;
            for item in items {
                for occ in &item.occurrences {
                    let key = (occ.uid.clone(), instance_key(occ.recurrence_id));
                    let data = serde_json::to_string(occ)?;
                    match existing.remove(&key) {
                        Some((old_item, old)) if old == digest(&data) && old_item == item.key => {
                            counts.unchanged += 1
                        }
                        _ => {
                            upsert.execute(params![
                                state.id,
                                key.0,
                                key.1,
                                format_utc(occ.start),
                                data,
                                item.key
                            ])?;
                            counts.upserted += 1;
                        }
                    }
                }
            }
            let mut delete = tx.prepare(
                "DELETE FROM occurrences WHERE calendar = ?1 AND uid = ?2 AND instance = ?3",
            )?;
            for (uid, instance) in existing.keys() {
                delete.execute(params![state.id, uid, instance])?;
                counts.deleted += 1;
            }
        }
        write_success(&tx, state, now)?;
        tx.commit()?;
        Ok(counts)
    }

    /// Applies an incremental calendar sync: each changed item's occurrences
    /// replace that item's stored ones, deleted items disappear, and the new
    /// cursor is stored in the same transaction.
    pub fn apply_calendar_delta(
        &mut self,
        state: &SourceState,
        changed: &[CalendarItem],
        deleted: &[String],
        now: DateTime<Utc>,
    ) -> Result<SyncCounts> {
        let tx = self.write_transaction()?;
        let mut counts = SyncCounts::default();
        {
            let mut drop_item =
                tx.prepare("DELETE FROM occurrences WHERE calendar = ?1 AND item = ?2")?;
            for key in deleted {
                counts.deleted += drop_item.execute(params![state.id, key])?;
            }
            let mut upsert = tx.prepare(UPSERT_OCCURRENCE)?;
            for item in changed {
                let before = drop_item.execute(params![state.id, item.key])?;
                for occ in &item.occurrences {
                    let data = serde_json::to_string(occ)?;
                    upsert.execute(params![
                        state.id,
                        occ.uid,
                        instance_key(occ.recurrence_id),
                        format_utc(occ.start),
                        data,
                        item.key
                    ])?;
                }
                // A replaced item counts as changed; only instances it lost
                // count as deleted.
                counts.upserted += item.occurrences.len();
                counts.deleted += before.saturating_sub(item.occurrences.len());
            }
        }
        write_success(&tx, state, now)?;
        tx.commit()?;
        Ok(counts)
    }

    /// Replaces one CRM's clients and orders and stores its cursor, in one
    /// transaction.
    pub fn replace_crm(
        &mut self,
        state: &SourceState,
        clients: &[Client],
        orders: &[Order],
        now: DateTime<Utc>,
    ) -> Result<SyncCounts> {
        let tx = self.write_transaction()?;
        let mut counts = SyncCounts::default();
        let c = replace_rows(&tx, "clients", &state.id, clients, |c| {
            Ok((c.id.as_str(), None, serde_json::to_string(c)?))
        })?;
        let o = replace_rows(&tx, "orders", &state.id, orders, |o| {
            Ok((o.id.as_str(), Some(o), serde_json::to_string(o)?))
        })?;
        for part in [c, o] {
            counts.upserted += part.upserted;
            counts.deleted += part.deleted;
            counts.unchanged += part.unchanged;
        }
        write_success(&tx, state, now)?;
        tx.commit()?;
        Ok(counts)
    }

    /// `replace_crm` for streamed orders: each order is compared with the
    /// stored one as it arrives and its id noted in a temporary table; ids
    /// not seen are deleted at the end. Memory holds one order at a time.
    /// Returns the counts and the stream's warnings (also stored with the
    /// source's state).
    pub fn replace_crm_streamed(
        &mut self,
        state: &SourceState,
        clients: &[Client],
        orders: impl Iterator<Item = Result<Order, SourceWarning>>,
        now: DateTime<Utc>,
    ) -> Result<(SyncCounts, Vec<SourceWarning>)> {
        let tx = self.write_transaction()?;
        let mut counts = replace_rows(&tx, "clients", &state.id, clients, |c| {
            Ok((c.id.as_str(), None, serde_json::to_string(c)?))
        })?;
        let mut warnings = Vec::new();
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS seen_orders (id TEXT PRIMARY KEY) WITHOUT ROWID;
             DELETE FROM temp.seen_orders;",
        )?;
        // A first import has nothing to compare with nor to delete.
        let first_import = !tx
            .prepare("SELECT 1 FROM orders WHERE crm = ?1 LIMIT 1")?
            .exists([&state.id])?;
        {
            let mut stored = tx.prepare("SELECT data FROM orders WHERE crm = ?1 AND id = ?2")?;
            let mut upsert = tx.prepare(UPSERT_ORDER)?;
            let mut seen = tx.prepare("INSERT OR IGNORE INTO temp.seen_orders (id) VALUES (?1)")?;
            for (row, item) in orders.enumerate() {
                if row % STOP_CHECK_ROWS == 0 {
                    crate::shutdown::check()?;
                }
                let order = match item {
                    Ok(order) => order,
                    Err(warning) => {
                        warnings.push(warning);
                        continue;
                    }
                };
                let data = serde_json::to_string(&order)?;
                if first_import {
                    upsert_order(&mut upsert, &state.id, &order, data)?;
                    counts.upserted += 1;
                    continue;
                }
                let old: Option<String> = stored
                    .query_row(params![state.id, order.id], |r| r.get(0))
                    .optional()?;
                let fresh = seen.execute([&order.id])? == 1;
                if old.as_deref() == Some(data.as_str()) {
                    if fresh {
                        counts.unchanged += 1;
                    }
                    continue;
                }
                upsert_order(&mut upsert, &state.id, &order, data)?;
                counts.upserted += 1;
            }
        }
        if !first_import {
            counts.deleted += tx.execute(
                "DELETE FROM orders WHERE crm = ?1 AND id NOT IN (SELECT id FROM temp.seen_orders)",
                [&state.id],
            )?;
        }
        tx.execute("DELETE FROM temp.seen_orders", [])?;
        let mut state = state.clone();
        state.skipped += warnings.iter().filter(|w| w.skipped).count() as i64;
        state
            .warnings
            .extend(warnings.iter().map(ToString::to_string));
        write_success(&tx, &state, now)?;
        tx.commit()?;
        Ok((counts, warnings))
    }

    /// Notes a successful sync that found nothing new (same cursor).
    pub fn record_unchanged(&mut self, id: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE sources SET last_success = ?2 WHERE id = ?1",
            params![id, format_utc(now)],
        )?;
        Ok(())
    }

    /// Removes the data of sources no longer configured.
    pub fn drop_sources_except(&mut self, calendars: &[String], crms: &[String]) -> Result<usize> {
        let tx = self.write_transaction()?;
        let mut dropped = 0;
        let keep = |ids: &[String], id: &str| ids.iter().any(|k| k == id);
        let known: Vec<String> = {
            let mut stmt = tx.prepare("SELECT DISTINCT calendar FROM occurrences")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for id in known.iter().filter(|id| !keep(calendars, id)) {
            dropped += tx.execute("DELETE FROM occurrences WHERE calendar = ?1", [id])?;
            tx.execute("DELETE FROM sources WHERE id = ?1", [id])?;
        }
        let known: Vec<String> = {
            let mut stmt = tx.prepare("SELECT crm FROM clients UNION SELECT crm FROM orders")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for id in known.iter().filter(|id| !keep(crms, id)) {
            dropped += tx.execute("DELETE FROM clients WHERE crm = ?1", [id])?;
            dropped += tx.execute("DELETE FROM orders WHERE crm = ?1", [id])?;
            tx.execute("DELETE FROM sources WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(dropped)
    }

    // ----- synced data ---------------------------------------------------

    /// How many occurrences of `calendar` are stored outside the given
    /// items (what an incremental sync of those items leaves in place).
    pub fn occurrences_outside(&self, calendar: &str, items: &[&str]) -> Result<usize> {
        let total: i64 = self.conn.query_row(
            "SELECT count(*) FROM occurrences WHERE calendar = ?1",
            [calendar],
            |r| r.get(0),
        )?;
        let mut inside: i64 = 0;
        let mut count = self
            .conn
            .prepare_cached("SELECT count(*) FROM occurrences WHERE calendar = ?1 AND item = ?2")?;
        let unique: std::collections::BTreeSet<&str> = items.iter().copied().collect();
        for item in unique {
            inside += count.query_row(params![calendar, item], |r| r.get::<_, i64>(0))?;
        }
        Ok((total - inside).max(0) as usize)
    }

    /// Every stored occurrence, in key order (calendar, uid, instance).
    pub fn occurrences(&self) -> Result<Vec<Occurrence>> {
        self.json_rows(
            "SELECT data FROM occurrences ORDER BY calendar, uid, instance",
            [],
        )
    }

    /// One calendar's occurrences starting in [from, to), by start.
    pub fn occurrences_between(
        &self,
        calendar: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>> {
        self.json_rows(
            "SELECT data FROM occurrences WHERE calendar = ?1 AND start >= ?2 AND start < ?3
             ORDER BY start, uid, instance",
            params![calendar, format_utc(from), format_utc(to)],
        )
    }

    /// Clients of every CRM; a client id known to several CRMs is taken from
    /// the first CRM by id.
    pub fn clients(&self) -> Result<Vec<Client>> {
        let mut clients: Vec<Client> =
            self.json_rows("SELECT data FROM clients ORDER BY id, crm", [])?;
        clients.dedup_by(|a, b| a.id == b.id);
        Ok(clients)
    }

    pub fn orders(&self) -> Result<Vec<Order>> {
        let mut orders: Vec<Order> =
            self.json_rows("SELECT data FROM orders ORDER BY id, crm", [])?;
        orders.dedup_by(|a, b| a.id == b.id);
        Ok(orders)
    }

    /// Orders created in [from, to) (for the trailing-revenue rule).
    pub fn orders_created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>> {
        let mut orders: Vec<Order> = self.json_rows(
            "SELECT data FROM orders WHERE created_at >= ?1 AND created_at < ?2 ORDER BY id, crm",
            params![format_utc(from), format_utc(to)],
        )?;
        orders.dedup_by(|a, b| a.id == b.id);
        Ok(orders)
    }

    pub fn counts(&self) -> Result<BTreeMap<&'static str, i64>> {
        let mut out = BTreeMap::new();
        for table in [
            "occurrences",
            "clients",
            "orders",
            "meetings",
            "entries",
            "closed_periods",
            "overrides",
        ] {
            let n: i64 =
                self.conn
                    .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            out.insert(table, n);
        }
        Ok(out)
    }

    // ----- meetings and entries -------------------------------------------

    pub fn meetings(&self) -> Result<BTreeMap<String, MeetingRecord>> {
        let records: Vec<MeetingRecord> =
            self.json_rows("SELECT data FROM meetings ORDER BY key", [])?;
        Ok(records.into_iter().map(|r| (r.key(), r)).collect())
    }

    /// Current meetings starting in [from, to) (`tz` maps them to months,
    /// which the index covers).
    pub fn meetings_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: chrono_tz::Tz,
    ) -> Result<Vec<MeetingRecord>> {
        self.json_rows(
            "SELECT data FROM meetings WHERE period >= ?1 AND period <= ?2
               AND start >= ?3 AND start < ?4",
            params![
                Period::of(from, tz).to_string(),
                Period::of(to, tz).to_string(),
                format_utc(from),
                format_utc(to)
            ],
        )
    }

    /// Current meetings of one month, by start.
    pub fn meetings_in(&self, period: Period) -> Result<Vec<MeetingRecord>> {
        let mut records: Vec<MeetingRecord> = self.json_rows(
            "SELECT data FROM meetings WHERE period = ?1",
            [period.to_string()],
        )?;
        sort_records(&mut records);
        Ok(records)
    }

    /// Entries booked in one month, oldest first.
    pub fn entries_in(&self, period: Period) -> Result<Vec<Entry>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, period, change, manager, client, start, calendar, uid, recurrence_id, weight, score,
                    weight_delta, score_delta, reason, adjusts, meeting_key
             FROM entries WHERE period = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([period.to_string()], |r| {
            Ok(Entry {
                seq: r.get(0)?,
                period: r.get(1)?,
                change: match r.get::<_, String>(2)?.as_str() {
                    "added" => changes::Change::Added,
                    "removed" => changes::Change::Removed,
                    _ => changes::Change::Rescored,
                },
                manager: r.get(3)?,
                client: r.get(4)?,
                start: parse_utc(&r.get::<_, String>(5)?),
                calendar: r.get(6)?,
                uid: r.get(7)?,
                recurrence_id: r.get::<_, Option<String>>(8)?.map(|s| parse_utc(&s)),
                weight: r.get(9)?,
                score: r.get(10)?,
                weight_delta: r.get(11)?,
                score_delta: r.get(12)?,
                reason: r.get(13)?,
                adjusts: r.get(14)?,
                meeting_key: r.get(15)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    // ----- closed months ---------------------------------------------------

    pub fn last_closed(&self) -> Result<Option<Period>> {
        let p: Option<String> =
            self.conn
                .query_row("SELECT max(period) FROM closed_periods", [], |r| r.get(0))?;
        Ok(p.and_then(|p| p.parse().ok()))
    }

    pub fn closed(&self, period: Period) -> Result<Option<ClosedPeriod>> {
        self.conn
            .query_row(
                "SELECT period, closed_at, report, meetings FROM closed_periods WHERE period = ?1",
                [period.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?
            .map(|(period, closed_at, report, meetings)| {
                Ok(ClosedPeriod {
                    period,
                    closed_at,
                    report: serde_json::from_str(&report)?,
                    meetings: serde_json::from_str(&meetings)?,
                })
            })
            .transpose()
    }

    /// Freezes months: each with its report and meetings as they are now.
    pub fn close(&mut self, frozen: &[ClosedPeriod]) -> Result<()> {
        let tx = self.write_transaction()?;
        for c in frozen {
            tx.execute(
                "INSERT OR IGNORE INTO closed_periods (period, closed_at, report, meetings) VALUES (?1, ?2, ?3, ?4)",
                params![c.period, c.closed_at, serde_json::to_string(&c.report)?, serde_json::to_string(&c.meetings)?],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The earliest month holding a meeting or an entry, to know what a
    /// close must freeze.
    pub fn earliest_period(&self) -> Result<Option<Period>> {
        let p: Option<String> = self.conn.query_row(
            "SELECT min(p) FROM (SELECT min(period) AS p FROM meetings UNION ALL SELECT min(period) FROM entries)",
            [],
            |r| r.get(0),
        )?;
        Ok(p.and_then(|p| p.parse().ok()))
    }

    // ----- overrides -------------------------------------------------------

    pub fn add_override(&mut self, o: &OverrideConfig, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO overrides (calendar, uid, recurrence_id, exclude, client, by, why, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![o.calendar, o.uid, o.recurrence_id, o.exclude, o.client, o.by, o.why, format_utc(now)],
        )?;
        Ok(())
    }

    /// Overrides recorded from the CLI, oldest first (later ones win).
    pub fn overrides(&self) -> Result<Vec<OverrideConfig>> {
        let mut stmt = self
            .conn
            .prepare("SELECT calendar, uid, recurrence_id, exclude, client, by, why FROM overrides ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(OverrideConfig {
                calendar: r.get(0)?,
                uid: r.get(1)?,
                recurrence_id: r.get(2)?,
                exclude: r.get(3)?,
                client: r.get(4)?,
                by: r.get(5)?,
                why: r.get(6)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    fn json_rows<T: serde::de::DeserializeOwned, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> Result<Vec<T>> {
        json_rows(&self.conn, sql, params)
    }
}

/// The first column of each row, parsed from its JSON text.
fn json_rows<T: serde::de::DeserializeOwned, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        out.push(
            serde_json::from_str(&text)
                .with_context(|| format!("unreadable row in the ledger: {text}"))?,
        );
    }
    Ok(out)
}

/// SHA-256 of an occurrence's stored JSON, truncated to 128 bits.
type DataDigest = [u8; 16];

fn digest(data: &str) -> DataDigest {
    use sha2::{Digest, Sha256};
    let full = Sha256::digest(data.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Appends ledger entries (inside the caller's transaction).
fn insert_entries(tx: &Transaction, entries: &[Entry], now: DateTime<Utc>) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO entries (period, change, meeting_key, manager, client, start, calendar, uid,
            recurrence_id, weight, score, weight_delta, score_delta, reason, adjusts, booked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for e in entries {
        insert.execute(params![
            e.period,
            e.change.as_str(),
            e.meeting_key,
            e.manager,
            e.client,
            format_utc(e.start),
            e.calendar,
            e.uid,
            e.recurrence_id.map(format_utc),
            e.weight,
            e.score,
            e.weight_delta,
            e.score_delta,
            e.reason,
            e.adjusts,
            format_utc(now),
        ])?;
    }
    Ok(())
}

const UPSERT_OCCURRENCE: &str = "INSERT INTO occurrences (calendar, uid, instance, start, data, item) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (calendar, uid, instance) DO UPDATE SET start = ?4, data = ?5, item = ?6, to_read = 1";

/// Meetings in report order: start, then manager, then the copy.
pub fn sort_records(records: &mut [MeetingRecord]) {
    records.sort_by(|a, b| {
        (a.start, &a.manager, &a.calendar, &a.uid, a.recurrence_id).cmp(&(
            b.start,
            &b.manager,
            &b.calendar,
            &b.uid,
            b.recurrence_id,
        ))
    });
}

/// The instance part of an occurrence key: '' for a single event.
pub fn instance_key(recurrence_id: Option<DateTime<Utc>>) -> String {
    recurrence_id.map(format_utc).unwrap_or_default()
}

fn parse_utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Source health joined with the re-authorization flag of its token, if any.
const SOURCE_SELECT_ONE: &str =
    "SELECT s.id, s.kind, s.cursor, s.cursor_at, s.last_success, s.last_error,
        s.last_error_at, s.skipped, s.warnings, t.needs_reauth
     FROM sources s LEFT JOIN oauth_tokens t ON t.source = s.id WHERE s.id = ?1";
const SOURCE_SELECT_ALL: &str =
    "SELECT s.id, s.kind, s.cursor, s.cursor_at, s.last_success, s.last_error,
        s.last_error_at, s.skipped, s.warnings, t.needs_reauth
     FROM sources s LEFT JOIN oauth_tokens t ON t.source = s.id ORDER BY s.id";

fn source_from_row(r: &rusqlite::Row) -> rusqlite::Result<SourceState> {
    let warnings: String = r.get(8)?;
    Ok(SourceState {
        id: r.get(0)?,
        kind: r.get(1)?,
        cursor: r.get(2)?,
        cursor_at: r.get(3)?,
        last_success: r.get(4)?,
        last_error: r.get(5)?,
        last_error_at: r.get(6)?,
        skipped: r.get(7)?,
        warnings: serde_json::from_str(&warnings).unwrap_or_default(),
        needs_reauth: r.get(9)?,
    })
}

fn write_success(tx: &Transaction, state: &SourceState, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "INSERT INTO sources (id, kind, cursor, cursor_at, last_success, last_error, last_error_at, skipped, warnings)
         VALUES (?1, ?2, ?3, ?4, ?4, NULL, NULL, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET kind = ?2, cursor = ?3, cursor_at = ?4, last_success = ?4,
             last_error = NULL, last_error_at = NULL, skipped = ?5, warnings = ?6",
        params![
            state.id,
            state.kind,
            state.cursor,
            format_utc(now),
            state.skipped,
            serde_json::to_string(&state.warnings)?
        ],
    )?;
    Ok(())
}

/// A CRM row as stored: id, the order itself for orders, JSON data.
type RowFields<'r> = (&'r str, Option<&'r Order>, String);

const UPSERT_ORDER: &str =
    "INSERT INTO orders (crm, id, client_id, created_at, amount, cancelled, data)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (crm, id) DO UPDATE SET client_id = ?3, created_at = ?4, amount = ?5,
         cancelled = ?6, data = ?7";

fn upsert_order(
    stmt: &mut rusqlite::Statement,
    crm: &str,
    order: &Order,
    data: String,
) -> Result<()> {
    stmt.execute(params![
        crm,
        order.id,
        order.client_id,
        format_utc(order.created_at),
        order.amount,
        order.cancelled,
        data
    ])?;
    Ok(())
}

/// Diff-replaces the rows of one CRM in `clients` or `orders`: a merge of the
/// incoming rows sorted by id with the stored ones read in id order, so
/// memory holds ids and positions, never a second copy of every row.
fn replace_rows<'r, T>(
    tx: &Transaction,
    table: &str,
    crm: &str,
    rows: &'r [T],
    fields: impl Fn(&'r T) -> Result<RowFields<'r>>,
) -> Result<SyncCounts> {
    let mut sorted: Vec<(&str, usize)> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        sorted.push((fields(row)?.0, i));
    }
    // Stable: of two rows with one id the later one wins, as before.
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            earlier.1 = later.1;
            true
        } else {
            false
        }
    });

    let mut counts = SyncCounts::default();
    let mut writes: Vec<usize> = Vec::new();
    let mut deletes: Vec<String> = Vec::new();
    {
        // Writes wait until the scan is over: SQLite leaves a scan of a
        // table changed under it undefined.
        let mut stmt = tx.prepare(&format!(
            "SELECT id, data FROM {table} WHERE crm = ?1 ORDER BY id"
        ))?;
        let mut stored = stmt.query([crm])?;
        let mut next = 0;
        while let Some(row) = stored.next()? {
            let id: String = row.get(0)?;
            while next < sorted.len() && sorted[next].0 < id.as_str() {
                writes.push(sorted[next].1);
                next += 1;
            }
            if next < sorted.len() && sorted[next].0 == id.as_str() {
                let (_, _, data) = fields(&rows[sorted[next].1])?;
                let old = row.get_ref(1)?.as_str()?;
                if old == data {
                    counts.unchanged += 1;
                } else {
                    writes.push(sorted[next].1);
                }
                next += 1;
            } else {
                deletes.push(id);
            }
        }
        writes.extend(sorted[next..].iter().map(|(_, i)| *i));
    }
    drop(sorted);

    let upsert_sql = if table == "orders" {
        UPSERT_ORDER
    } else {
        "INSERT INTO clients (crm, id, data) VALUES (?1, ?2, ?3)
         ON CONFLICT (crm, id) DO UPDATE SET data = ?3"
    };
    let mut upsert = tx.prepare(upsert_sql)?;
    for i in writes {
        let (id, extra, data) = fields(&rows[i])?;
        match extra {
            Some(order) => upsert_order(&mut upsert, crm, order, data)?,
            None => {
                upsert.execute(params![crm, id, data])?;
            }
        }
        counts.upserted += 1;
    }
    let mut delete = tx.prepare(&format!("DELETE FROM {table} WHERE crm = ?1 AND id = ?2"))?;
    for id in &deletes {
        delete.execute(params![crm, id])?;
        counts.deleted += 1;
    }
    Ok(counts)
}

/// Incremental CRM syncs (issue 5): upserts and deletions by id, with the
/// cursor, in one transaction.
impl Store {
    /// Applies a CRM delta: changed clients and orders replace the stored
    /// ones with the same id, `deleted` (clients, orders) ids disappear,
    /// everything else stays. The cursor is written in the same transaction.
    pub fn apply_crm_delta(
        &mut self,
        state: &SourceState,
        clients: &[Client],
        orders: &[Order],
        deleted: (&[String], &[String]),
        now: DateTime<Utc>,
    ) -> Result<SyncCounts> {
        let tx = self.write_transaction()?;
        let mut counts = SyncCounts::default();
        {
            let mut current_client =
                tx.prepare("SELECT data FROM clients WHERE crm = ?1 AND id = ?2")?;
            let mut upsert_client = tx.prepare(
                "INSERT INTO clients (crm, id, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (crm, id) DO UPDATE SET data = ?3",
            )?;
            for client in clients {
                let data = serde_json::to_string(client)?;
                let old: Option<String> = current_client
                    .query_row(params![state.id, client.id], |r| r.get(0))
                    .optional()?;
                if old.as_deref() == Some(data.as_str()) {
                    counts.unchanged += 1;
                } else {
                    upsert_client.execute(params![state.id, client.id, data])?;
                    counts.upserted += 1;
                }
            }
            let mut current_order =
                tx.prepare("SELECT data FROM orders WHERE crm = ?1 AND id = ?2")?;
            let mut upsert = tx.prepare(UPSERT_ORDER)?;
            for order in orders {
                let data = serde_json::to_string(order)?;
                let old: Option<String> = current_order
                    .query_row(params![state.id, order.id], |r| r.get(0))
                    .optional()?;
                if old.as_deref() == Some(data.as_str()) {
                    counts.unchanged += 1;
                } else {
                    upsert_order(&mut upsert, &state.id, order, data)?;
                    counts.upserted += 1;
                }
            }
            let (deleted_clients, deleted_orders) = deleted;
            for (table, ids) in [("clients", deleted_clients), ("orders", deleted_orders)] {
                let mut delete =
                    tx.prepare(&format!("DELETE FROM {table} WHERE crm = ?1 AND id = ?2"))?;
                for id in ids {
                    counts.deleted += delete.execute(params![state.id, id])?;
                }
            }
        }
        write_success(&tx, state, now)?;
        tx.commit()?;
        Ok(counts)
    }
}

// ----- the daemon's jobs and the email outbox (issue 6) -------------------

/// When a scheduled job last ran, as `status` shows it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct JobRun {
    pub job: String,
    /// The schedule time the last finished run was for.
    pub last_slot: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub ok: Option<bool>,
    pub error: Option<String>,
}

/// One outbox row: an email for one address on one local day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutboxRow {
    pub day: String,
    pub address: String,
    pub recipient: String,
    pub subject: String,
    pub message_id: String,
    pub state: String,
    pub attempts: i64,
    pub claimed_at: String,
    pub sent_at: Option<String>,
    pub error: Option<String>,
}

/// The answer of [`Store::claim_email`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailClaim {
    /// Ours to send now: the row says `sending`.
    Claimed,
    /// Sent already today.
    AlreadySent,
    /// A send was started and never confirmed: its sender died (the caller
    /// holds the sender lock, so no live process is sending it). Ours to send
    /// again, with the same Message-ID.
    Resumed,
}

impl Store {
    pub fn job_runs(&self) -> Result<Vec<JobRun>> {
        let mut stmt = self.conn.prepare(
            "SELECT job, last_slot, started_at, finished_at, ok, error FROM job_runs ORDER BY job",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(JobRun {
                job: r.get(0)?,
                last_slot: r.get(1)?,
                started_at: r.get(2)?,
                finished_at: r.get(3)?,
                ok: r.get(4)?,
                error: r.get(5)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// The schedule time of the last finished run of `job`.
    pub fn job_last_slot(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        let slot: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT last_slot FROM job_runs WHERE job = ?1",
                [job],
                |r| r.get(0),
            )
            .optional()?;
        Ok(slot.flatten().map(|s| parse_utc(&s)))
    }

    /// The latest "now" the ledger has been worked at: the last scoring
    /// run's and the last job start's. A wall clock behind it has stepped
    /// back; scoring then would read past meetings as future ones.
    pub fn last_worked_at(&self) -> Result<Option<DateTime<Utc>>> {
        let mut stmt = self.conn.prepare(
            "SELECT value FROM score_state WHERE name = 'now'
             UNION ALL SELECT started_at FROM job_runs WHERE started_at IS NOT NULL",
        )?;
        let mut latest: Option<DateTime<Utc>> = None;
        for text in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let text = text?;
            let at = DateTime::parse_from_rfc3339(&text)
                .with_context(|| format!("the ledger's last run time `{text}` cannot be read"))?
                .with_timezone(&Utc);
            latest = latest.max(Some(at));
        }
        Ok(latest)
    }

    pub fn record_job_start(&mut self, job: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO job_runs (job, started_at) VALUES (?1, ?2)
             ON CONFLICT (job) DO UPDATE SET started_at = ?2",
            params![job, format_utc(now)],
        )?;
        Ok(())
    }

    /// Records a finished run (a failed one too: it is retried at the next
    /// slot, not immediately, so a broken source cannot spin).
    pub fn record_job_finish(
        &mut self,
        job: &str,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO job_runs (job, last_slot, finished_at, ok, error) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (job) DO UPDATE SET last_slot = ?2, finished_at = ?3, ok = ?4, error = ?5",
            params![job, format_utc(slot), format_utc(now), error.is_none(), error],
        )?;
        Ok(())
    }

    /// Claims the email of `day` for `address` in its own committed
    /// transaction, before anything is sent (see migrations/0003_emails.sql).
    pub fn claim_email(&mut self, row: &OutboxRow, now: DateTime<Utc>) -> Result<EmailClaim> {
        let tx = self.write_transaction()?;
        let state: Option<String> = tx
            .query_row(
                "SELECT state FROM sent_emails WHERE day = ?1 AND address = ?2",
                params![row.day, row.address],
                |r| r.get(0),
            )
            .optional()?;
        let claim = match state.as_deref() {
            Some("sent") => EmailClaim::AlreadySent,
            Some("sending") => {
                tx.execute(
                    "UPDATE sent_emails SET attempts = attempts + 1, claimed_at = ?3
                     WHERE day = ?1 AND address = ?2",
                    params![row.day, row.address, format_utc(now)],
                )?;
                EmailClaim::Resumed
            }
            Some(_) => {
                tx.execute(
                    "UPDATE sent_emails SET state = 'sending', attempts = attempts + 1, claimed_at = ?3,
                        subject = ?4, message_id = ?5, error = NULL
                     WHERE day = ?1 AND address = ?2",
                    params![row.day, row.address, format_utc(now), row.subject, row.message_id],
                )?;
                EmailClaim::Claimed
            }
            None => {
                tx.execute(
                    "INSERT INTO sent_emails (day, address, recipient, subject, message_id, state, attempts, claimed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'sending', 1, ?6)",
                    params![row.day, row.address, row.recipient, row.subject, row.message_id, format_utc(now)],
                )?;
                EmailClaim::Claimed
            }
        };
        tx.commit()?;
        Ok(claim)
    }

    /// The transport accepted the message.
    pub fn email_sent(&mut self, day: &str, address: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE sent_emails SET state = 'sent', sent_at = ?3, error = NULL WHERE day = ?1 AND address = ?2",
            params![day, address, format_utc(now)],
        )?;
        Ok(())
    }

    /// The transport refused the message: it was not delivered, so a later
    /// run may try again.
    pub fn email_failed(&mut self, day: &str, address: &str, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sent_emails SET state = 'failed', error = ?3 WHERE day = ?1 AND address = ?2",
            params![day, address, error],
        )?;
        Ok(())
    }

    /// Outbox rows, newest day first, at most `limit`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT day, address, recipient, subject, message_id, state, attempts, claimed_at, sent_at, error
             FROM sent_emails ORDER BY day DESC, address LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(OutboxRow {
                day: r.get(0)?,
                address: r.get(1)?,
                recipient: r.get(2)?,
                subject: r.get(3)?,
                message_id: r.get(4)?,
                state: r.get(5)?,
                attempts: r.get(6)?,
                claimed_at: r.get(7)?,
                sent_at: r.get(8)?,
                error: r.get(9)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }
}

/// OAuth2 tokens of per-user cloud calendars (see `crate::auth`). `Debug`
/// shows whether each token is present, never its value.
#[derive(Clone, Default, PartialEq)]
pub struct StoredToken {
    /// `google` or `microsoft`.
    pub provider: String,
    pub access_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// Why the provider refused the refresh token, when it did.
    pub needs_reauth: Option<String>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |token: &Option<String>| token.as_ref().map(|_| "[redacted]");
        f.debug_struct("StoredToken")
            .field("provider", &self.provider)
            .field("access_token", &shown(&self.access_token))
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &shown(&self.refresh_token))
            .field("scope", &self.scope)
            .field("needs_reauth", &self.needs_reauth)
            .finish()
    }
}

impl Store {
    /// The stored token of one calendar.
    pub fn oauth_token(&self, source: &str) -> Result<Option<StoredToken>> {
        self.conn
            .query_row(
                "SELECT provider, access_token, expires_at, refresh_token, scope, needs_reauth
                 FROM oauth_tokens WHERE source = ?1",
                [source],
                |r| {
                    Ok(StoredToken {
                        provider: r.get(0)?,
                        access_token: r.get(1)?,
                        expires_at: r.get::<_, Option<String>>(2)?.map(|t| parse_utc(&t)),
                        refresh_token: r.get(3)?,
                        scope: r.get(4)?,
                        needs_reauth: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(Into::into)
    }

    /// Stores a calendar's tokens (after `auth` or a refresh) and clears any
    /// re-authorization flag. A refresh that returned no new refresh token
    /// keeps the stored one.
    pub fn save_oauth_token(
        &mut self,
        source: &str,
        token: &StoredToken,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO oauth_tokens (source, provider, access_token, expires_at, refresh_token, scope, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (source) DO UPDATE SET provider = ?2, access_token = ?3, expires_at = ?4,
                 refresh_token = coalesce(?5, refresh_token), scope = coalesce(?6, scope),
                 updated_at = ?7, needs_reauth = NULL, needs_reauth_at = NULL",
            params![
                source,
                token.provider,
                token.access_token,
                token.expires_at.map(format_utc),
                token.refresh_token,
                token.scope,
                format_utc(now)
            ],
        )?;
        Ok(())
    }

    /// Flags a calendar whose refresh token the provider refused.
    pub fn mark_needs_reauth(
        &mut self,
        source: &str,
        provider: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO oauth_tokens (source, provider, updated_at, needs_reauth, needs_reauth_at)
             VALUES (?1, ?2, ?3, ?4, ?3)
             ON CONFLICT (source) DO UPDATE SET access_token = NULL, expires_at = NULL,
                 needs_reauth = ?4, needs_reauth_at = ?3",
            params![source, provider, format_utc(now), reason],
        )?;
        Ok(())
    }

    /// Calendars waiting for `meetledger auth`, with the provider and reason.
    pub fn needing_reauth(&self) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT source, provider, needs_reauth FROM oauth_tokens
             WHERE needs_reauth IS NOT NULL ORDER BY source",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventStatus;

    /// A ledger of the version before issue 12 holds descriptions: the
    /// upgrade makes the next sync of those calendars a full read (which
    /// rewrites the rows without them) and leaves the others incremental.
    #[test]
    fn upgrade_forgets_the_cursor_of_calendars_that_stored_descriptions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            Migrations::new(MIGRATIONS[..5].iter().map(|sql| M::up(sql)).collect())
                .to_latest(&mut conn)
                .unwrap();
            conn.execute_batch(
                r#"INSERT INTO sources (id, kind, cursor) VALUES ('noted', 'google', 'c1'), ('plain', 'google', 'c2');
                INSERT INTO occurrences (calendar, uid, instance, start, data) VALUES
                  ('noted', 'u', '', '2026-11-10T07:00:00Z', '{"title":"x","description":"secret notes"}'),
                  ('plain', 'u', '', '2026-11-10T07:00:00Z', '{"title":"x","description":null}');"#,
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.source("noted").unwrap().unwrap().cursor, None);
        assert_eq!(
            store.source("plain").unwrap().unwrap().cursor.as_deref(),
            Some("c2")
        );
    }

    fn order(id: &str, amount: f64) -> Order {
        Order {
            id: id.into(),
            client_id: "c1".into(),
            created_at: "2026-11-10T10:00:00Z".parse().unwrap(),
            amount,
            currency: "RUB".into(),
            status: "paid".into(),
            cancelled: false,
            manager: None,
        }
    }

    #[test]
    fn a_stored_tokens_debug_shows_no_token() {
        let token = StoredToken {
            provider: "google".into(),
            access_token: Some("ya29.access-secret".into()),
            refresh_token: Some("1//refresh-secret".into()),
            ..StoredToken::default()
        };
        let shown = format!("{token:?} {token:#?}");
        assert!(!shown.contains("access-secret") && !shown.contains("refresh-secret"));
        assert!(shown.contains("google") && shown.contains("[redacted]"));
    }

    #[test]
    fn the_ledger_and_its_lock_files_are_private_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let store = Store::open(&path).unwrap();
        // A write makes SQLite create the -wal and -shm files.
        store
            .conn
            .execute_batch("CREATE TABLE probe (x); INSERT INTO probe VALUES (1);")
            .unwrap();
        let _sender = lock_beside(&path, "send-lock").unwrap();
        for name in [
            "ledger.db",
            "ledger.db-wal",
            "ledger.db-shm",
            "ledger.db.open-lock",
            "ledger.db.send-lock",
        ] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name} has mode {:o}", mode & 0o777);
        }
    }

    #[test]
    fn streamed_orders_replace_the_stored_ones_and_keep_the_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("l.db")).unwrap();
        let state = SourceState {
            id: "crm".into(),
            kind: "csv".into(),
            cursor: Some("1".into()),
            ..SourceState::default()
        };
        let now: DateTime<Utc> = "2026-11-27T00:00:00Z".parse().unwrap();
        let first = [order("o1", 10.0), order("o2", 20.0), order("o3", 30.0)];
        let (counts, _) = store
            .replace_crm_streamed(&state, &[], first.into_iter().map(Ok), now)
            .unwrap();
        assert_eq!(
            (counts.upserted, counts.unchanged, counts.deleted),
            (3, 0, 0)
        );

        let bad = SourceWarning {
            place: "orders.csv:3".into(),
            message: "amount `x` is not a number; order skipped".into(),
            skipped: true,
        };
        // o1 changed, o2 gone, o3 twice (the later copy is the same).
        let second = vec![
            Ok(order("o3", 30.0)),
            Ok(order("o1", 11.0)),
            Err(bad.clone()),
            Ok(order("o3", 30.0)),
        ];
        let (counts, warnings) = store
            .replace_crm_streamed(&state, &[], second.into_iter(), now)
            .unwrap();
        assert_eq!(
            (counts.upserted, counts.unchanged, counts.deleted),
            (1, 1, 1)
        );
        assert_eq!(warnings, vec![bad]);
        let stored: Vec<(String, f64)> = store
            .orders()
            .unwrap()
            .into_iter()
            .map(|o| (o.id, o.amount))
            .collect();
        assert_eq!(stored, vec![("o1".into(), 11.0), ("o3".into(), 30.0)]);
        let source = store.source("crm").unwrap().unwrap();
        assert_eq!(source.skipped, 1);
        assert!(
            source.warnings[0].contains("orders.csv:3"),
            "{:?}",
            source.warnings
        );
    }

    fn occurrence(uid: &str, hour: u32) -> Occurrence {
        let start: DateTime<Utc> = format!("2026-11-10T{hour:02}:00:00Z").parse().unwrap();
        Occurrence {
            calendar: "cal".into(),
            uid: uid.into(),
            recurrence_id: Some(start),
            start,
            end: start + chrono::Duration::hours(1),
            all_day: false,
            tz: None,
            title: "Визит".into(),
            location: None,
            tags: vec![],
            description_video_link: false,
            url: None,
            organizer: None,
            attendees: vec![],
            status: EventStatus::Confirmed,
            transparent: false,
            conference: None,
            private: false,
        }
    }

    fn item(key: &str, occurrences: Vec<Occurrence>) -> CalendarItem {
        CalendarItem {
            key: key.into(),
            occurrences,
        }
    }

    #[test]
    fn a_calendar_delta_replaces_changed_items_and_drops_deleted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("ledger.db")).unwrap();
        let state = SourceState {
            id: "cal".into(),
            kind: "caldav".into(),
            cursor: Some("t1".into()),
            ..Default::default()
        };
        let now = "2026-11-27T12:00:00Z".parse().unwrap();
        let first = vec![
            item("/a.ics", vec![occurrence("a", 9), occurrence("a", 10)]),
            item("/b.ics", vec![occurrence("b", 11)]),
        ];
        store.replace_calendar(&state, &first, now).unwrap();

        // a lost an instance, c is new, b was deleted on the server.
        let changed = vec![
            item("/a.ics", vec![occurrence("a", 9)]),
            item("/c.ics", vec![occurrence("c", 12)]),
        ];
        let state = SourceState {
            cursor: Some("t2".into()),
            ..state
        };
        let counts = store
            .apply_calendar_delta(&state, &changed, &["/b.ics".into()], now)
            .unwrap();
        assert_eq!((counts.upserted, counts.deleted), (2, 2));
        let uids: Vec<(String, DateTime<Utc>)> = store
            .occurrences()
            .unwrap()
            .into_iter()
            .map(|o| (o.uid, o.start))
            .collect();
        assert_eq!(
            uids,
            vec![
                ("a".into(), "2026-11-10T09:00:00Z".parse().unwrap()),
                ("c".into(), "2026-11-10T12:00:00Z".parse().unwrap())
            ]
        );
        assert_eq!(
            store.source("cal").unwrap().unwrap().cursor.as_deref(),
            Some("t2")
        );
    }
}
