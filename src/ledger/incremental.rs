//! The store's side of an incremental score run (issue 7): one transaction
//! that finds what changed since the last run (dirty parties left by the
//! triggers of `0005_incremental.sql`, occurrences to re-read, meetings whose
//! outcome matures), hands the affected occurrences and orders out a chunk of
//! parties at a time, and books each chunk's plan. Committing it is the only
//! way a run's effects become visible: a run killed half-way leaves the
//! ledger exactly as before it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};

use super::changes::{format_utc, MeetingRecord, Plan};
use super::{parse_utc, Store};
use crate::model::{Occurrence, Order};

/// One occurrence as the re-read step sees it.
pub struct StoredOccurrence {
    pub calendar: String,
    pub uid: String,
    pub instance: String,
    /// What the last run read (None: excluded or never read).
    pub party: Option<String>,
    pub recheck_at: Option<DateTime<Utc>>,
    pub occurrence: Occurrence,
}

/// A stored meeting with when it needs another look.
pub struct StoredMeeting {
    pub record: MeetingRecord,
    pub recheck_at: Option<DateTime<Utc>>,
}

/// An open score run; dropping it without `commit` rolls everything back.
pub struct ScoringRun<'a> {
    tx: Transaction<'a>,
    /// Orders come from more than one CRM (ids may repeat across them).
    several_crms: bool,
}

impl Store {
    pub fn scoring_run(&mut self) -> Result<ScoringRun<'_>> {
        let tx = self.write_transaction()?;
        tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS chunk_parties (party TEXT PRIMARY KEY)")?;
        let (first, last): (Option<String>, Option<String>) =
            tx.query_row("SELECT min(crm), max(crm) FROM orders", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok(ScoringRun {
            tx,
            several_crms: first != last,
        })
    }
}

impl ScoringRun<'_> {
    pub fn state(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "SELECT value FROM score_state WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_state(&self, name: &str, value: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO score_state (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = ?2",
            [name, value],
        )?;
        Ok(())
    }

    /// Marks for re-reading every occurrence whose reading `now` has changed.
    pub fn mark_rechecks(&self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.tx.execute(
            "UPDATE occurrences SET to_read = 1 WHERE recheck_at IS NOT NULL AND recheck_at <= ?1",
            [format_utc(now)],
        )?)
    }

    /// Up to `limit` occurrences waiting to be read.
    pub fn occurrences_to_read(&self, limit: usize) -> Result<Vec<StoredOccurrence>> {
        self.stored_occurrences(
            "SELECT calendar, uid, instance, party, recheck_at, data FROM occurrences
             WHERE to_read = 1 LIMIT ?1",
            params![limit as i64],
        )
    }

    /// The next `limit` occurrences after `after` in key order (a full run
    /// reads them all, a batch at a time).
    pub fn occurrences_after(
        &self,
        after: Option<&(String, String, String)>,
        limit: usize,
    ) -> Result<Vec<StoredOccurrence>> {
        const COLUMNS: &str = "SELECT calendar, uid, instance, party, recheck_at, data
                               FROM occurrences";
        match after {
            // Two statements, not `?1 OR (…) > (…)`: SQLite seeks the key
            // range only when the condition is the comparison alone.
            None => self.stored_occurrences(
                &format!("{COLUMNS} ORDER BY calendar, uid, instance LIMIT ?1"),
                params![limit as i64],
            ),
            Some((c, u, i)) => self.stored_occurrences(
                &format!(
                    "{COLUMNS} WHERE (calendar, uid, instance) > (?1, ?2, ?3)
                     ORDER BY calendar, uid, instance LIMIT ?4"
                ),
                params![c, u, i, limit as i64],
            ),
        }
    }

    fn stored_occurrences(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredOccurrence>> {
        let mut stmt = self.tx.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let data: String = row.get(5)?;
            let recheck: Option<String> = row.get(4)?;
            out.push(StoredOccurrence {
                calendar: row.get(0)?,
                uid: row.get(1)?,
                instance: row.get(2)?,
                party: row.get(3)?,
                recheck_at: recheck.map(|t| parse_utc(&t)),
                occurrence: serde_json::from_str(&data)
                    .with_context(|| format!("unreadable occurrence in the ledger: {data}"))?,
            });
        }
        Ok(out)
    }

    /// Stores what reading an occurrence found.
    pub fn set_reading(
        &self,
        key: (&str, &str, &str),
        party: Option<&str>,
        recheck_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE occurrences SET party = ?4, recheck_at = ?5, to_read = 0
             WHERE calendar = ?1 AND uid = ?2 AND instance = ?3",
        )?;
        stmt.execute(params![
            key.0,
            key.1,
            key.2,
            party,
            recheck_at.map(format_utc)
        ])?;
        Ok(())
    }

    /// Marks every occurrence read (after a full run has read them all).
    pub fn clear_to_read(&self) -> Result<()> {
        // In batches: one UPDATE of every flagged row would first collect
        // all their keys in a temporary table (in memory).
        while self.tx.execute(
            "UPDATE occurrences SET to_read = 0 WHERE (calendar, uid, instance) IN
               (SELECT calendar, uid, instance FROM occurrences WHERE to_read = 1 LIMIT 20000)",
            [],
        )? > 0
        {}
        Ok(())
    }

    /// The parties the copies of one instance read as.
    pub fn instance_parties(&self, uid: &str, instance: &str) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT DISTINCT party FROM occurrences
             WHERE uid = ?1 AND instance = ?2 AND party IS NOT NULL",
        )?;
        let rows = stmt.query_map([uid, instance], |r| r.get(0))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Parties the sync marked (orders and occurrences changed), taken.
    pub fn take_dirty_parties(&self) -> Result<BTreeSet<String>> {
        let parties = self.strings("SELECT party FROM dirty_parties", [])?;
        self.tx.execute("DELETE FROM dirty_parties", [])?;
        Ok(parties.into_iter().collect())
    }

    /// Parties with a meeting whose outcome `now` may have changed.
    pub fn maturing_parties(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        self.strings(
            "SELECT DISTINCT client FROM meetings WHERE recheck_at IS NOT NULL AND recheck_at <= ?1",
            [format_utc(now)],
        )
    }

    /// The parties among `parties` that can have meetings: read from an
    /// occurrence, or holding a stored meeting. (A client whose orders
    /// changed but who was never met needs no scoring.)
    pub fn with_meetings(&self, parties: BTreeSet<String>) -> Result<BTreeSet<String>> {
        let mut read = self
            .tx
            .prepare_cached("SELECT 1 FROM occurrences WHERE party = ?1 LIMIT 1")?;
        let mut booked = self
            .tx
            .prepare_cached("SELECT 1 FROM meetings WHERE client = ?1 LIMIT 1")?;
        let mut out = BTreeSet::new();
        for party in parties {
            if read.exists([&party])? || booked.exists([&party])? {
                out.insert(party);
            }
        }
        Ok(out)
    }

    /// Every party read from an occurrence or holding a stored meeting.
    pub fn all_parties(&self) -> Result<Vec<String>> {
        self.strings(
            "SELECT party FROM occurrences WHERE party IS NOT NULL
             UNION SELECT client FROM meetings",
            [],
        )
    }

    /// Parties whose meetings may merge: the copies of one instance read
    /// as different parties. Each row lists such a set of parties.
    pub fn linked_parties(&self) -> Result<Vec<Vec<String>>> {
        let mut stmt = self.tx.prepare(
            "SELECT group_concat(party, char(31)) FROM
               (SELECT DISTINCT uid, instance, party FROM occurrences WHERE party IS NOT NULL)
             GROUP BY uid, instance HAVING count(*) > 1",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.split('\u{1f}').map(str::to_string).collect());
        }
        Ok(out)
    }

    /// Sets the parties of the next chunk.
    pub fn set_chunk(&self, parties: &[String]) -> Result<()> {
        self.tx.execute("DELETE FROM temp.chunk_parties", [])?;
        let mut insert = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO temp.chunk_parties (party) VALUES (?1)")?;
        for party in parties {
            insert.execute([party])?;
        }
        Ok(())
    }

    /// Every copy of every instance that one of the chunk's parties was read
    /// from (excluded copies too: a declined copy says who took part).
    pub fn chunk_occurrences(&self) -> Result<Vec<Occurrence>> {
        self.json(
            "SELECT o.data FROM
               (SELECT DISTINCT uid, instance FROM occurrences
                WHERE party IN (SELECT party FROM temp.chunk_parties)) i
             JOIN occurrences o ON o.uid = i.uid AND o.instance = i.instance
             ORDER BY o.calendar, o.uid, o.instance",
        )
    }

    /// The orders of the chunk's clients that count (not cancelled), from
    /// the covering index: what scoring reads of them, no JSON. An order
    /// id known to several CRMs is taken from the first CRM by id, as
    /// `Store::orders` does.
    pub fn chunk_orders(&self) -> Result<Vec<Order>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, client_id, created_at, amount, crm FROM orders
             WHERE client_id IN (SELECT party FROM temp.chunk_parties) AND cancelled = 0",
        )?;
        let mut rows = stmt.query([])?;
        let mut orders = Vec::new();
        let mut crm_of = Vec::new();
        while let Some(row) = rows.next()? {
            orders.push(Order {
                id: row.get(0)?,
                client_id: row.get(1)?,
                created_at: parse_utc(row.get_ref(2)?.as_str()?),
                amount: row.get(3)?,
                currency: String::new(),
                status: String::new(),
                cancelled: false,
                manager: None,
            });
            // Only needed to pick among several CRMs' copies of an id.
            if self.several_crms {
                crm_of.push(row.get::<_, String>(4)?);
            }
        }
        if self.several_crms {
            let mut first_crm = self.tx.prepare_cached(
                "SELECT crm, cancelled FROM orders WHERE id = ?1 ORDER BY crm LIMIT 1",
            )?;
            let mut keep = Vec::with_capacity(orders.len());
            for (order, crm) in orders.into_iter().zip(crm_of) {
                let (first, cancelled): (String, bool) =
                    first_crm.query_row([&order.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if first == crm && !cancelled {
                    keep.push(order);
                }
            }
            orders = keep;
        }
        Ok(orders)
    }

    /// Stored meetings of the chunk's parties.
    pub fn chunk_meetings(&self) -> Result<BTreeMap<String, StoredMeeting>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT data, recheck_at FROM meetings
             WHERE client IN (SELECT party FROM temp.chunk_parties)",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = BTreeMap::new();
        while let Some(row) = rows.next()? {
            let meeting = stored_meeting(row)?;
            out.insert(meeting.record.key(), meeting);
        }
        Ok(out)
    }

    /// One stored meeting by key.
    pub fn meeting(&self, key: &str) -> Result<Option<StoredMeeting>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT data, recheck_at FROM meetings WHERE key = ?1")?;
        let mut rows = stmt.query([key])?;
        match rows.next()? {
            Some(row) => Ok(Some(stored_meeting(row)?)),
            None => Ok(None),
        }
    }

    /// Appends the plan's entries and writes the meeting state; `recheck`
    /// gives each current meeting's next look (written where it changed).
    pub fn book(
        &self,
        plan: &Plan,
        recheck: &HashMap<String, Option<DateTime<Utc>>>,
        stored_recheck: &HashMap<String, Option<DateTime<Utc>>>,
        tz: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<()> {
        super::insert_entries(&self.tx, &plan.entries, now)?;
        let mut upsert = self.tx.prepare_cached(
            "INSERT INTO meetings (key, period, start, data, client, recheck_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (key) DO UPDATE SET period = ?2, start = ?3, data = ?4, client = ?5,
                 recheck_at = ?6",
        )?;
        let mut written = std::collections::HashSet::new();
        for r in &plan.upserts {
            let key = r.key();
            upsert.execute(params![
                key,
                r.period(tz).to_string(),
                format_utc(r.start),
                serde_json::to_string(r)?,
                r.client,
                recheck.get(&key).copied().flatten().map(format_utc),
            ])?;
            written.insert(key);
        }
        let mut set_recheck = self
            .tx
            .prepare_cached("UPDATE meetings SET recheck_at = ?2 WHERE key = ?1")?;
        for (key, at) in recheck {
            if !written.contains(key) && stored_recheck.get(key) != Some(at) {
                set_recheck.execute(params![key, at.map(format_utc)])?;
            }
        }
        let mut delete = self
            .tx
            .prepare_cached("DELETE FROM meetings WHERE key = ?1")?;
        for key in &plan.deletes {
            delete.execute([key])?;
        }
        Ok(())
    }

    pub fn meeting_count(&self) -> Result<usize> {
        let n: i64 = self
            .tx
            .query_row("SELECT count(*) FROM meetings", [], |r| r.get(0))?;
        Ok(n as usize)
    }

    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }

    fn strings<P: rusqlite::Params>(&self, sql: &str, params: P) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare(sql)?;
        let rows = stmt.query_map(params, |r| r.get(0))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    fn json<T: serde::de::DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>> {
        super::json_rows(&self.tx, sql, [])
    }
}

fn stored_meeting(row: &rusqlite::Row) -> Result<StoredMeeting> {
    let data: String = row.get(0)?;
    let recheck: Option<String> = row.get(1)?;
    Ok(StoredMeeting {
        record: serde_json::from_str(&data)
            .with_context(|| format!("unreadable meeting in the ledger: {data}"))?,
        recheck_at: recheck.map(|t| parse_utc(&t)),
    })
}
