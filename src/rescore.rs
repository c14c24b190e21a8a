//! Incremental scoring (issue 7): classify, score and book only what changed
//! since the last run, in bounded memory.
//!
//! Meetings of different counterparties ("parties") never merge unless copies
//! of one event instance read as both, so the work splits by party:
//! 1. re-read the copies that changed (or whose reading `now` changed) and
//!    store the party each reads as on its own;
//! 2. collect the dirty parties: those of re-read copies and of their
//!    instances, those the sync marked (changed orders, vanished copies), and
//!    those with a meeting whose outcome may have matured — then widen to
//!    whole groups of linked parties;
//! 3. load the occurrences and orders of a chunk of parties at a time,
//!    classify and score them with the pure modules, and book the
//!    differences against the stored meetings.
//!
//! A change of config, clients or overrides (the fingerprint) reads
//! everything again. The run is one transaction: killed half-way, it leaves
//! the ledger as it was, and the next run does the same work again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::classify::{Classifier, ClassifyContext};
use crate::config::{Config, OverrideConfig};
use crate::ledger::changes::{self, Change, MeetingRecord, Plan};
use crate::ledger::incremental::{ScoringRun, StoredMeeting};
use crate::ledger::Store;
use crate::model::{Client, ScoredMeeting};
use crate::score::{next_change, score, OrderBook};

/// Bump when classification or scoring rules change meaning: stored
/// readings and outcomes are then recomputed for every party.
const RULES_VERSION: &str = "1";

/// Occurrences read per batch in step 1.
const READ_BATCH: usize = 5_000;

/// Parties classified and scored together in step 3 (with their whole
/// linked groups, which are almost always single parties).
const CHUNK_PARTIES: usize = 512;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScoreSummary {
    /// Credited meetings after the run.
    pub meetings: usize,
    pub added: usize,
    pub rescored: usize,
    pub removed: usize,
    /// Occurrences read again and parties rescored (0 and 0: nothing changed).
    pub reread: usize,
    pub parties: usize,
    /// Whether everything was read again (first run, or config, clients or
    /// overrides changed).
    pub full: bool,
}

/// Classifies, scores and appends the differences to the ledger.
pub fn score_and_book(
    config: &Config,
    store: &mut Store,
    now: DateTime<Utc>,
) -> Result<ScoreSummary> {
    let clients = store.clients()?;
    let overrides = all_overrides(config, store)?;
    let last_closed = store.last_closed()?;
    let fingerprint = fingerprint(config, &clients, &overrides);

    let (calendar_owner, company_domains) = reading_setup(config);
    let no_orders = OrderBook::default();
    let base = ClassifyContext {
        settings: &config.scoring,
        company_domains: &company_domains,
        tz: config.tz(),
        now,
        managers: &config.managers,
        calendar_owner: &calendar_owner,
        clients: &clients,
        orders: &no_orders,
        overrides: &overrides,
    };
    let classifier = Classifier::new(&base);

    let run = store.scoring_run()?;
    let went_back = run
        .state("now")?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .is_some_and(|last| now < last);
    let full = run.state("fingerprint")?.as_deref() != Some(fingerprint.as_str()) || went_back;

    let mut summary = ScoreSummary {
        full,
        ..ScoreSummary::default()
    };
    let started = std::time::Instant::now();
    let mut dirty = run.take_dirty_parties()?;
    summary.reread = reread(&run, &classifier, full, now, &mut dirty)?;
    let read_secs = started.elapsed().as_secs_f64();
    if full {
        dirty.extend(run.all_parties()?);
    }
    dirty.extend(run.maturing_parties(now)?);
    let dirty = run.with_meetings(dirty)?;
    if dirty.is_empty() && summary.reread == 0 && !full {
        // Nothing changed: touch nothing (the transaction rolls back empty).
        summary.meetings = run.meeting_count()?;
        return Ok(summary);
    }

    // A first run has no stored meetings to look up one by one.
    let any_stored = run.meeting_count()? > 0;
    let chunks = chunks(&run, dirty)?;
    let mut orphans: BTreeMap<String, StoredMeeting> = BTreeMap::new();
    for parties in &chunks {
        crate::shutdown::check()?;
        summary.parties += parties.len();
        run.set_chunk(parties)?;
        let occurrences = run.chunk_occurrences()?;
        let orders = OrderBook::new(&run.chunk_orders()?);
        let ctx = ClassifyContext {
            orders: &orders,
            ..base
        };
        let classification = classifier.classify(&occurrences, &ctx);
        drop(occurrences);

        let mut current = BTreeMap::new();
        let mut recheck = HashMap::new();
        for meeting in classification.meetings {
            let outcome = score(&meeting, &orders, &config.scoring, now);
            let next = next_change(&meeting, &orders, &config.scoring, now);
            let record = MeetingRecord::from_scored(&ScoredMeeting { meeting, outcome });
            recheck.insert(record.key(), next);
            current.insert(record.key(), record);
        }

        let mut stored = run.chunk_meetings()?;
        // Meetings of these parties that are not theirs any more: gone, or
        // moved to a party of a later chunk (booked there as a rescore).
        let gone: Vec<String> = stored
            .keys()
            .filter(|k| !current.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(m) = stored.remove(&key) {
                orphans.insert(key, m);
            }
        }
        for key in current.keys() {
            if any_stored && !stored.contains_key(key) {
                orphans.remove(key);
                if let Some(m) = run.meeting(key)? {
                    stored.insert(key.clone(), m);
                }
            }
        }
        let stored_recheck: HashMap<String, Option<DateTime<Utc>>> = stored
            .iter()
            .map(|(k, m)| (k.clone(), m.recheck_at))
            .collect();
        let records: BTreeMap<String, MeetingRecord> =
            stored.into_iter().map(|(k, m)| (k, m.record)).collect();
        let plan = changes::plan(&records, &current, config.tz(), last_closed);
        count(&mut summary, &plan);
        run.book(&plan, &recheck, &stored_recheck, config.tz(), now)?;
    }
    let records: BTreeMap<String, MeetingRecord> =
        orphans.into_iter().map(|(k, m)| (k, m.record)).collect();
    let plan = changes::plan(&records, &BTreeMap::new(), config.tz(), last_closed);
    count(&mut summary, &plan);
    run.book(&plan, &HashMap::new(), &HashMap::new(), config.tz(), now)?;

    summary.meetings = run.meeting_count()?;
    run.set_state("fingerprint", &fingerprint)?;
    run.set_state("now", &changes::format_utc(now))?;
    run.commit()?;
    tracing::info!(
        meetings = summary.meetings,
        added = summary.added,
        rescored = summary.rescored,
        removed = summary.removed,
        reread = summary.reread,
        parties = summary.parties,
        full = summary.full,
        read_secs,
        total_secs = started.elapsed().as_secs_f64(),
        "scored"
    );
    Ok(summary)
}

fn count(summary: &mut ScoreSummary, plan: &Plan) {
    for entry in &plan.entries {
        match entry.change {
            Change::Added => summary.added += 1,
            Change::Rescored => summary.rescored += 1,
            Change::Removed => summary.removed += 1,
        }
    }
}

/// Step 1: reads the copies that need it (all of them in a full run) and
/// stores the party each reads as; adds the parties whose meetings that may
/// change to `dirty`. Returns how many copies were read.
fn reread(
    run: &ScoringRun,
    classifier: &Classifier,
    full: bool,
    now: DateTime<Utc>,
    dirty: &mut BTreeSet<String>,
) -> Result<usize> {
    let mut read = 0;
    if full {
        let mut after = None;
        loop {
            crate::shutdown::check()?;
            let batch = run.occurrences_after(after.as_ref(), READ_BATCH)?;
            let Some(last) = batch.last() else { break };
            after = Some((
                last.calendar.clone(),
                last.uid.clone(),
                last.instance.clone(),
            ));
            for stored in &batch {
                let reading = classifier.read_copy(&stored.occurrence);
                if stored.party != reading.party || stored.recheck_at != reading.recheck_at {
                    run.set_reading(
                        (&stored.calendar, &stored.uid, &stored.instance),
                        reading.party.as_deref(),
                        reading.recheck_at,
                    )?;
                }
                read += 1;
            }
        }
        // One statement for the flags, not one per row.
        run.clear_to_read()?;
        return Ok(read);
    }

    run.mark_rechecks(now)?;
    let mut instances: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        crate::shutdown::check()?;
        let batch = run.occurrences_to_read(READ_BATCH)?;
        if batch.is_empty() {
            break;
        }
        for stored in batch {
            let reading = classifier.read_copy(&stored.occurrence);
            run.set_reading(
                (&stored.calendar, &stored.uid, &stored.instance),
                reading.party.as_deref(),
                reading.recheck_at,
            )?;
            dirty.extend(stored.party);
            dirty.extend(reading.party);
            instances.insert((stored.uid, stored.instance));
            read += 1;
        }
    }
    // A copy that changed changes every meeting of its instance.
    for (uid, instance) in &instances {
        dirty.extend(run.instance_parties(uid, instance)?);
    }
    Ok(read)
}

/// Step 2: the dirty parties widened to whole linked groups (parties whose
/// copies share an instance), cut into chunks of about `CHUNK_PARTIES`.
fn chunks(run: &ScoringRun, dirty: BTreeSet<String>) -> Result<Vec<Vec<String>>> {
    let mut groups = PartyGroups::default();
    for linked in run.linked_parties()? {
        for pair in linked.windows(2) {
            groups.union(&pair[0], &pair[1]);
        }
    }
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut chunk: Vec<String> = Vec::new();
    for party in dirty {
        match groups.root(&party) {
            Some(root) => {
                if seen.insert(root) {
                    chunk.extend(groups.members(root).iter().cloned());
                }
            }
            None => chunk.push(party),
        }
        if chunk.len() >= CHUNK_PARTIES {
            chunks.push(std::mem::take(&mut chunk));
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// Union-find over the (few) parties that share an instance with another.
#[derive(Default)]
struct PartyGroups {
    index: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<usize>,
    members: HashMap<usize, Vec<String>>,
}

impl PartyGroups {
    fn id(&mut self, party: &str) -> usize {
        if let Some(&i) = self.index.get(party) {
            return i;
        }
        let i = self.names.len();
        self.index.insert(party.to_string(), i);
        self.names.push(party.to_string());
        self.parent.push(i);
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: &str, b: &str) {
        let (a, b) = (self.id(a), self.id(b));
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
        self.members.clear();
    }

    fn root(&mut self, party: &str) -> Option<usize> {
        let i = *self.index.get(party)?;
        Some(self.find(i))
    }

    fn members(&mut self, root: usize) -> &[String] {
        if self.members.is_empty() {
            for i in 0..self.names.len() {
                let r = self.find(i);
                self.members
                    .entry(r)
                    .or_default()
                    .push(self.names[i].clone());
            }
        }
        &self.members[&root]
    }
}

/// Who owns each calendar, and the company's mail domains (lower case):
/// the parts of a `ClassifyContext` taken from the config.
pub fn reading_setup(config: &Config) -> (HashMap<String, Option<String>>, Vec<String>) {
    let calendar_owner = config
        .calendars
        .iter()
        .map(|c| (c.id.clone(), c.manager.clone()))
        .collect();
    let company_domains = config
        .company
        .domains
        .iter()
        .map(|d| d.to_lowercase())
        .collect();
    (calendar_owner, company_domains)
}

/// Config overrides first, then CLI ones (later entries win).
pub fn all_overrides(config: &Config, store: &Store) -> Result<Vec<OverrideConfig>> {
    let mut all = config.overrides.clone();
    all.extend(store.overrides()?);
    Ok(all)
}

/// Everything besides occurrences and orders that readings and outcomes
/// depend on; when it changes, every party is rescored.
fn fingerprint(config: &Config, clients: &[Client], overrides: &[OverrideConfig]) -> String {
    let mut hash = Sha256::new();
    let mut feed = |part: String| {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    };
    feed(format!("{RULES_VERSION} {}", env!("CARGO_PKG_VERSION")));
    feed(format!("{:?}", config.scoring));
    feed(format!("{:?}", config.managers));
    feed(format!("{:?} {}", config.company.domains, config.tz()));
    let owners: Vec<(&str, Option<&str>)> = config
        .calendars
        .iter()
        .map(|c| (c.id.as_str(), c.manager.as_deref()))
        .collect();
    feed(format!("{owners:?}"));
    feed(format!("{overrides:?}"));
    for client in clients {
        feed(serde_json::to_string(client).unwrap_or_default());
    }
    format!("{:x}", hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_parties_form_one_group_with_all_members() {
        let mut groups = PartyGroups::default();
        groups.union("a", "b");
        groups.union("c", "b");
        groups.union("x", "y");
        let root = groups.root("c").unwrap();
        let mut members = groups.members(root).to_vec();
        members.sort();
        assert_eq!(members, ["a", "b", "c"]);
        assert_eq!(groups.root("lonely"), None);
        assert_ne!(groups.root("x"), groups.root("a"));
    }
}
