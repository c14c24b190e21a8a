//! Dedupe and credit (SPEC §4 "Credit"): copies of one meeting — the same
//! UID and instance in several calendars, or the same counterparty starting
//! within `dedupe_minutes` — become one meeting, credited to managers by the
//! configured policy. Works on readings only; never re-reads event text.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::read::{Presence, Reading};
use super::ClassifyContext;
use crate::config::CreditPolicy;
use crate::model::{Client, ClientStatus, Counterparty, Exclusion, Meeting, Occurrence};

/// Disjoint sets over occurrence positions, for transitive dedupe.
struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind((0..n).collect())
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        // The smaller position becomes the root: roots do not depend on the
        // order unions happen in.
        let (root, child) = if a < b { (a, b) } else { (b, a) };
        self.0[child] = root;
    }
}

/// What one manager showed about themselves across the copies of a meeting.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    organized: bool,
    /// A copy in their own calendar that they did not decline.
    own_copy: bool,
    listed: bool,
    declined: bool,
}

impl Seen {
    /// SPEC §4 "took part": organized, or a copy sits in their own calendar
    /// and they did not decline it, or they are listed and declined no copy.
    fn took_part(self) -> bool {
        self.organized || self.own_copy || (self.listed && !self.declined)
    }
}

type Instance<'o> = (&'o str, Option<DateTime<Utc>>);

/// Merges the meeting copies among `readings` (those not excluded), credits
/// them, and returns the credited meetings (unsorted) and, per occurrence,
/// the meeting it belongs to. Copies that carry no credit are marked
/// `Duplicate`; groups where no manager took part, `NoManager`.
pub fn merge(
    occurrences: &[Occurrence],
    readings: &mut [Reading],
    ctx: &ClassifyContext,
) -> (Vec<Meeting>, Vec<Option<Meeting>>) {
    let n = occurrences.len();
    // Copies in a fixed order: by key, then (for the malformed case of two
    // different occurrences under one key) by content, never by position.
    let by_copy = |a: &usize, b: &usize| copy_order(&occurrences[*a], &occurrences[*b]);
    let by_rule_then_copy = |a: &usize, b: &usize| {
        readings[*a]
            .rule
            .cmp(&readings[*b].rule)
            .then_with(|| by_copy(a, b))
    };
    let instance =
        |i: usize| -> Instance { (occurrences[i].uid.as_str(), occurrences[i].recurrence_id) };
    let members: Vec<usize> = (0..n)
        .filter(|&i| readings[i].exclusion.is_none())
        .collect();

    let mut sets = UnionFind::new(n);
    let mut first_copy: HashMap<Instance, usize> = HashMap::new();
    for &i in &members {
        match first_copy.get(&instance(i)) {
            Some(&first) => sets.union(first, i),
            None => {
                first_copy.insert(instance(i), i);
            }
        }
    }
    // Copies of one instance may read differently (one has the guest list,
    // another only a title): the instance's surest reading decides which
    // client it is for the time-window dedupe, so one odd copy cannot chain
    // another client's meeting into this one.
    let mut surest: HashMap<usize, usize> = HashMap::new();
    for &i in &members {
        let best = surest.entry(sets.find(i)).or_insert(i);
        if by_rule_then_copy(&i, best) == Ordering::Less {
            *best = i;
        }
    }
    let mut by_party: BTreeMap<&Counterparty, Vec<usize>> = BTreeMap::new();
    for &i in &members {
        if let Some(party) = &readings[surest[&sets.find(i)]].counterparty {
            by_party.entry(party).or_default().push(i);
        }
    }
    // Sorted by start, each copy within the window of its predecessor joins
    // it; that chains exactly the transitive closure of "within the window".
    let window = Duration::minutes(ctx.settings.dedupe_minutes);
    for copies in by_party.values_mut() {
        copies.sort_by(by_copy);
        for pair in copies.windows(2) {
            if occurrences[pair[1]].start - occurrences[pair[0]].start <= window {
                sets.union(pair[0], pair[1]);
            }
        }
    }

    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &members {
        groups.entry(sets.find(i)).or_default().push(i);
    }
    // Every copy of an instance, excluded or not (a declined copy says who
    // did not take part), except those that are not events any more.
    let mut witnesses_of: HashMap<Instance, Vec<usize>> = HashMap::new();
    for (i, reading) in readings.iter().enumerate() {
        if !matches!(
            reading.exclusion,
            Some(Exclusion::Cancelled | Exclusion::Override)
        ) {
            witnesses_of.entry(instance(i)).or_default().push(i);
        }
    }
    let clients: HashMap<&str, &Client> = ctx
        .clients
        .iter()
        .rev()
        .map(|c| (c.id.as_str(), c))
        .collect();

    let mut meetings = Vec::new();
    let mut copy_meeting: Vec<Option<Meeting>> = vec![None; n];
    // Exclusions learned here, applied once every group has been read.
    let mut marks: Vec<(usize, Exclusion)> = Vec::new();
    for mut copies in groups.into_values() {
        copies.sort_by(by_copy);

        let mut seen: BTreeMap<&str, Seen> = BTreeMap::new();
        let witnesses: BTreeSet<usize> = copies
            .iter()
            .flat_map(|&i| {
                witnesses_of
                    .get(&instance(i))
                    .into_iter()
                    .flatten()
                    .copied()
                    .chain([i])
            })
            .collect();
        for &w in &witnesses {
            let reading = &readings[w];
            for (manager, presence) in &reading.presence {
                let entry = seen.entry(manager).or_default();
                match presence {
                    Presence::Organized => entry.organized = true,
                    Presence::Listed { declined: true } => entry.declined = true,
                    Presence::Listed { declined: false } => entry.listed = true,
                }
            }
            if let Some(owner) = &reading.owner {
                if !reading.presence.get(owner).is_some_and(|p| p.declined()) {
                    seen.entry(owner).or_default().own_copy = true;
                }
            }
        }
        let took_part: BTreeSet<&str> = seen
            .iter()
            .filter(|(_, s)| s.took_part())
            .map(|(m, _)| *m)
            .collect();
        if took_part.is_empty() {
            for &i in &copies {
                marks.push((i, Exclusion::NoManager));
            }
            continue;
        }

        // The copy read most surely (earliest rule) speaks for the meeting.
        let primary = *copies
            .iter()
            .min_by(|a, b| by_rule_then_copy(a, b))
            .expect("groups are non-empty");
        let counterparty = readings[primary]
            .counterparty
            .clone()
            .expect("meetings have a counterparty");
        let start = occurrences[copies[0]].start;
        let client_status = match &counterparty {
            Counterparty::Client(id) if ctx.orders.has_order_before(id, start) => {
                ClientStatus::Existing
            }
            _ => ClientStatus::New,
        };
        let kind = readings[primary].kind.expect("meetings have a kind");

        let organizer = copies.iter().find_map(|&i| {
            readings[i]
                .organizer
                .as_deref()
                .filter(|m| took_part.contains(m))
        });
        let assigned = counterparty
            .client_id()
            .and_then(|id| clients.get(id))
            .and_then(|c| c.manager.as_deref())
            .filter(|m| took_part.contains(m));
        let by_owner_rule = assigned
            .or(organizer)
            .or_else(|| took_part.first().copied());
        let credited: Vec<&str> = match ctx.settings.credit {
            CreditPolicy::Each => took_part.iter().copied().collect(),
            CreditPolicy::Organizer => organizer.or(by_owner_rule).into_iter().collect(),
            CreditPolicy::Owner => by_owner_rule.into_iter().collect(),
        };

        let group_meetings: Vec<(usize, Meeting)> = credited
            .iter()
            .map(|&manager| {
                let reported = copies
                    .iter()
                    .copied()
                    .find(|&i| readings[i].owner.as_deref() == Some(manager))
                    .unwrap_or(primary);
                let copy = &occurrences[reported];
                let meeting = Meeting {
                    manager: manager.to_string(),
                    counterparty: counterparty.clone(),
                    client_status,
                    rule: readings[primary].rule.expect("meetings have a rule"),
                    kind,
                    weight: ctx.settings.weights.of(kind),
                    start,
                    calendar: copy.calendar.clone(),
                    uid: copy.uid.clone(),
                    recurrence_id: copy.recurrence_id,
                    // The meeting is stored and shown: a private copy's
                    // title (read above like any other) is not.
                    title: copy.shown_title().to_string(),
                };
                (reported, meeting)
            })
            .collect();

        for &i in &copies {
            let owner = readings[i].owner.clone();
            let own = |m: &&(usize, Meeting)| Some(m.1.manager.as_str()) == owner.as_deref();
            // By key, not position: a copy repeated in the input reads the
            // same whichever of its twins came first.
            let key = |o: &Occurrence| (o.calendar.clone(), o.uid.clone(), o.recurrence_id);
            let reported_here: Vec<&(usize, Meeting)> = group_meetings
                .iter()
                .filter(|(r, _)| key(&occurrences[*r]) == key(&occurrences[i]))
                .collect();
            let meeting = if reported_here.is_empty() {
                marks.push((i, Exclusion::Duplicate));
                group_meetings.iter().find(own).or(group_meetings.first())
            } else {
                reported_here
                    .iter()
                    .copied()
                    .find(own)
                    .or(reported_here.first().copied())
            };
            copy_meeting[i] = meeting.map(|(_, m)| m.clone());
        }
        meetings.extend(group_meetings.into_iter().map(|(_, m)| m));
    }
    for (i, exclusion) in marks {
        readings[i].exclusion = Some(exclusion);
    }
    (meetings, copy_meeting)
}

/// The order copies are considered in: start, calendar, uid, instance; the
/// full content only breaks ties between different occurrences that share a
/// key, which normalization should never produce but must not make the
/// result depend on input order.
fn copy_order(a: &Occurrence, b: &Occurrence) -> Ordering {
    (a.start, &a.calendar, &a.uid, a.recurrence_id)
        .cmp(&(b.start, &b.calendar, &b.uid, b.recurrence_id))
        .then_with(|| {
            if a == b {
                Ordering::Equal
            } else {
                let content = |o: &Occurrence| serde_json::to_string(o).unwrap_or_default();
                content(a).cmp(&content(b))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_joins_transitively() {
        let mut sets = UnionFind::new(4);
        sets.union(3, 1);
        sets.union(1, 2);
        assert_eq!(sets.find(3), sets.find(2));
        assert_eq!(sets.find(2), 1, "the smallest position is the root");
        assert_ne!(sets.find(0), sets.find(1));
    }

    #[test]
    fn took_part_follows_the_precise_reading() {
        let seen = |organized, own_copy, listed, declined| Seen {
            organized,
            own_copy,
            listed,
            declined,
        };
        assert!(
            seen(true, false, false, true).took_part(),
            "organizing is taking part"
        );
        assert!(
            seen(false, true, false, true).took_part(),
            "an undeclined own copy is enough"
        );
        assert!(
            seen(false, false, true, false).took_part(),
            "listed and never declined"
        );
        assert!(
            !seen(false, false, true, true).took_part(),
            "declined one copy of it"
        );
        assert!(!seen(false, false, false, false).took_part());
    }
}
