//! Bounds on what a calendar may make us store (issue 12): events are
//! written by outsiders (an invitation is enough), so one event's texts and
//! people, and one calendar's occurrences, are capped before storage.
//! Whatever is cut is counted, for the source's warnings in `status`.
//!
//! - texts (title, location, links, people's names and addresses) are cut
//!   to a number of characters; tags in a cut-off part are still read;
//! - attendees beyond a number are dropped, never the organizer or a
//!   configured manager (classification needs to know who took part);
//! - a UID too long to be a real one is replaced by a digest of it;
//! - [`OccurrenceBudget`]: a calendar keeps at most a number of occurrence
//!   units, shared fairly between its series (see there).

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::{Attendee, Occurrence};

/// Longest kept link (URL, conference link): a Teams join link is ~300.
pub const MAX_LINK_CHARS: usize = 2000;

/// Longest kept UID; a longer one is replaced by a digest.
pub const MAX_UID_CHARS: usize = 255;

/// An occurrence weighs one unit, plus one per this many attendees: a
/// series of 200-person events fills a budget sooner than one of
/// 2-person meetings, as it fills the ledger sooner.
pub const ATTENDEES_PER_UNIT: usize = 10;

/// Caps on what one event and one calendar may store.
#[derive(Debug, Clone)]
pub struct EventLimits {
    /// Longest title, location, name or address, in characters.
    pub max_text_chars: usize,
    /// Most attendees kept per event (the organizer and managers always).
    pub max_attendees: usize,
    /// Units (see `ATTENDEES_PER_UNIT`) one calendar stores at most.
    pub max_occurrences: usize,
    /// Lower-case addresses of the configured managers: never cut.
    pub keep_addresses: Arc<HashSet<String>>,
}

impl Default for EventLimits {
    /// The config's defaults (`[sync]`).
    fn default() -> Self {
        EventLimits {
            max_text_chars: 500,
            max_attendees: 200,
            max_occurrences: 100_000,
            keep_addresses: Arc::default(),
        }
    }
}

/// What bounding one event cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cuts {
    /// Texts shortened (title, location, links, names, addresses, UID).
    pub texts: usize,
    /// Attendees dropped.
    pub attendees: usize,
    /// Organizer or attendee addresses no one can have
    /// (`ceo@<script>.evil.example`): kept as written, never credited.
    pub invalid_addresses: usize,
}

impl Cuts {
    pub fn any(&self) -> bool {
        self.texts > 0 || self.attendees > 0 || self.invalid_addresses > 0
    }

    /// "title or other texts cut: 2; attendees dropped: 19 800 (limit 200)".
    pub fn describe(&self, limits: &EventLimits) -> String {
        let mut parts = Vec::new();
        if self.texts > 0 {
            parts.push(format!(
                "{} text(s) cut to {} characters",
                self.texts, limits.max_text_chars
            ));
        }
        if self.attendees > 0 {
            parts.push(format!(
                "{} attendee(s) beyond {} not stored",
                self.attendees, limits.max_attendees
            ));
        }
        if self.invalid_addresses > 0 {
            parts.push(format!(
                "{} address(es) that are not valid mail addresses, never credited as a client or prospect",
                self.invalid_addresses
            ));
        }
        parts.join("; ")
    }
}

/// Cuts `text` to `max` characters; true when it was longer.
pub fn cut_text(text: &mut String, max: usize) -> bool {
    match text.char_indices().nth(max) {
        Some((at, _)) => {
            text.truncate(at);
            true
        }
        None => false,
    }
}

fn cut_optional(text: &mut Option<String>, max: usize) -> bool {
    text.as_mut().is_some_and(|t| cut_text(t, max))
}

/// Keeps what classification reads in a text that is not stored (a
/// description, the cut-off end of a title): the first `#nomeeting` and the
/// first `#client:<id>` (later ones change nothing), each at most `max`
/// characters. `tags` may already hold tags; they keep precedence.
pub fn keep_tags(tags: &mut Vec<String>, text: &str, max: usize) {
    use crate::classify::text::{tags_in, Tag};
    let has_client = |tags: &Vec<String>| tags.iter().any(|t| t.starts_with("#client:"));
    for tag in tags_in(text) {
        let kept = match tag {
            Tag::NoMeeting if !tags.iter().any(|t| t == "#nomeeting") => tag.to_string(),
            Tag::Client(_) if !has_client(tags) => tag.to_string(),
            _ => continue,
        };
        let mut kept = kept;
        cut_text(&mut kept, max);
        tags.push(kept);
    }
}

/// A UID longer than any real one becomes a digest of it: still unique,
/// still the same on every run.
pub fn bound_uid(uid: &mut String) -> bool {
    if uid.chars().count() <= MAX_UID_CHARS {
        return false;
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(uid.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    *uid = format!("long-uid-{hex}");
    true
}

fn bound_person(person: &mut Attendee, max: usize) -> usize {
    usize::from(cut_text(&mut person.email, max))
        + usize::from(cut_optional(&mut person.name, max))
        + usize::from(cut_optional(&mut person.role, max))
}

/// Drops attendees beyond `limits.max_attendees`. The organizer and the
/// configured managers are kept first (once each: a list naming one
/// manager 20 000 times keeps one), then the others in the order written.
pub fn cap_attendees(
    organizer: Option<&Attendee>,
    attendees: &mut Vec<Attendee>,
    limits: &EventLimits,
) -> usize {
    if attendees.len() <= limits.max_attendees {
        return 0;
    }
    let before = attendees.len();
    let organizer = organizer
        .map(|o| o.email.as_str())
        .filter(|e| !e.is_empty());
    let vital = |a: &Attendee| {
        Some(a.email.as_str()) == organizer || limits.keep_addresses.contains(&a.email)
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut keep = vec![false; before];
    let mut kept = 0;
    for pass_vital in [true, false] {
        for (i, a) in attendees.iter().enumerate() {
            if kept >= limits.max_attendees {
                break;
            }
            if keep[i] || vital(a) != pass_vital {
                continue;
            }
            if !a.email.is_empty() && !seen.insert(a.email.clone()) {
                continue;
            }
            keep[i] = true;
            kept += 1;
        }
    }
    let mut flags = keep.into_iter();
    attendees.retain(|_| flags.next().unwrap_or(false));
    before - attendees.len()
}

/// The parts of an event that limits apply to, however a source holds them.
pub struct EventParts<'a> {
    pub uid: Option<&'a mut String>,
    pub title: &'a mut String,
    pub location: &'a mut Option<String>,
    pub url: &'a mut Option<String>,
    pub conference: &'a mut Option<String>,
    pub organizer: &'a mut Option<Attendee>,
    pub attendees: &'a mut Vec<Attendee>,
    pub tags: &'a mut Vec<String>,
}

/// Applies every per-event limit; tags in a cut-off end of the title are
/// kept in `tags` so classification still sees them.
pub fn bound_event(parts: EventParts<'_>, limits: &EventLimits) -> Cuts {
    let max = limits.max_text_chars;
    let mut cuts = Cuts::default();
    if let Some(uid) = parts.uid {
        cuts.texts += usize::from(bound_uid(uid));
    }
    if let Some((at, _)) = parts.title.char_indices().nth(max) {
        let rest = parts.title.split_off(at);
        keep_tags(parts.tags, &rest, max);
        cuts.texts += 1;
    }
    cuts.texts += usize::from(cut_optional(parts.location, max));
    cuts.texts += usize::from(cut_optional(parts.url, MAX_LINK_CHARS));
    cuts.texts += usize::from(cut_optional(parts.conference, MAX_LINK_CHARS));
    if let Some(organizer) = parts.organizer.as_mut() {
        cuts.texts += bound_person(organizer, max);
    }
    cuts.attendees = cap_attendees(parts.organizer.as_ref(), parts.attendees, limits);
    for a in parts.attendees.iter_mut() {
        cuts.texts += bound_person(a, max);
    }
    cuts.invalid_addresses = parts
        .organizer
        .iter()
        .chain(parts.attendees.iter())
        .filter(|p| {
            let email = p.email.trim();
            !email.is_empty() && !crate::model::is_valid_address(&email.to_lowercase())
        })
        .count();
    cuts
}

/// `bound_event` over a whole occurrence (sources that build occurrences
/// directly: Google, Graph).
pub fn bound_occurrence(o: &mut Occurrence, limits: &EventLimits) -> Cuts {
    bound_event(
        EventParts {
            uid: Some(&mut o.uid),
            title: &mut o.title,
            location: &mut o.location,
            url: &mut o.url,
            conference: &mut o.conference,
            organizer: &mut o.organizer,
            attendees: &mut o.attendees,
            tags: &mut o.tags,
        },
        limits,
    )
}

/// The weight of one occurrence in a calendar's budget.
pub fn units(o: &Occurrence) -> usize {
    1 + o.attendees.len() / ATTENDEES_PER_UNIT
}

/// Something that holds an occurrence (with whatever the caller keeps
/// beside it, such as the provider item it came from).
pub trait HoldsOccurrence {
    fn occurrence(&self) -> &Occurrence;
}

impl HoldsOccurrence for Occurrence {
    fn occurrence(&self) -> &Occurrence {
        self
    }
}

impl<T> HoldsOccurrence for (T, Occurrence) {
    fn occurrence(&self) -> &Occurrence {
        &self.1
    }
}

/// A calendar's occurrence budget, filled a series at a time.
///
/// When the series together weigh more than the budget, each keeps its
/// earliest instances up to one common per-series number, the largest
/// that fits: a series of a few meetings is never cut to make room for a
/// runaway one (300 `FREQ=SECONDLY` series share the cut; a weekly client
/// meeting keeps every instance). Should even one instance per series not
/// fit, the series added last are dropped whole (callers add them in UID
/// order, so the same ones on every run). Holding the kept series only,
/// memory stays within the budget plus one series.
#[derive(Debug)]
pub struct OccurrenceBudget<T = Occurrence> {
    budget: usize,
    /// Each kept series' occurrences, earliest first.
    series: Vec<Vec<T>>,
    /// For each kept series, the units of its first k occurrences at [k].
    prefix_units: Vec<Vec<usize>>,
    /// For each kept series, whether it lost instances.
    was_cut: Vec<bool>,
    total_units: usize,
    /// Instances per series (None: no cut yet).
    cap: Option<usize>,
    /// Occurrences (and series dropped whole) not kept.
    pub cut_occurrences: usize,
    pub cut_series: usize,
    pub dropped_series: usize,
    /// Some series were expanded only up to their share, so how many
    /// instances they lost is not known: `cut_occurrences` is a minimum.
    at_least: bool,
}

impl<T: HoldsOccurrence> OccurrenceBudget<T> {
    pub fn new(budget: usize) -> OccurrenceBudget<T> {
        OccurrenceBudget {
            budget: budget.max(1),
            series: Vec::new(),
            prefix_units: Vec::new(),
            was_cut: Vec::new(),
            total_units: 0,
            cap: None,
            cut_occurrences: 0,
            cut_series: 0,
            dropped_series: 0,
            at_least: false,
        }
    }

    /// The instances per series that can still be kept, once the budget
    /// has been reached: a series need not be expanded past it.
    pub fn share(&self) -> Option<usize> {
        self.cap
    }

    /// Adds a series that was expanded only up to `share()` and had more.
    pub fn add_stopped(&mut self, occurrences: Vec<T>) {
        if occurrences.is_empty() {
            return;
        }
        let before = self.series.len();
        let dropped_before = self.dropped_series;
        self.add(occurrences);
        self.cut_occurrences += 1;
        self.at_least = true;
        if self.dropped_series == dropped_before && self.series.len() > before {
            if let Some(was_cut) = self.was_cut.last_mut() {
                if !*was_cut {
                    *was_cut = true;
                    self.cut_series += 1;
                }
            }
        }
    }

    /// Adds one series (sorted earliest first by the caller).
    pub fn add(&mut self, mut occurrences: Vec<T>) {
        if occurrences.is_empty() {
            return;
        }
        if self.cap == Some(1) && self.total_units >= self.budget {
            self.cut_occurrences += occurrences.len();
            self.dropped_series += 1;
            return;
        }
        let mut was_cut = false;
        if let Some(cap) = self.cap {
            if occurrences.len() > cap {
                self.cut_occurrences += occurrences.len() - cap;
                self.cut_series += 1;
                was_cut = true;
                occurrences.truncate(cap);
                occurrences.shrink_to_fit();
            }
        }
        let mut prefix = Vec::with_capacity(occurrences.len() + 1);
        prefix.push(0);
        for o in &occurrences {
            prefix.push(prefix.last().copied().unwrap_or(0) + units(o.occurrence()));
        }
        self.total_units += prefix.last().copied().unwrap_or(0);
        self.series.push(occurrences);
        self.prefix_units.push(prefix);
        self.was_cut.push(was_cut);
        if self.total_units > self.budget {
            self.rebalance();
        }
    }

    /// The units kept if every series kept at most `cap` instances.
    fn weight_at(&self, cap: usize) -> usize {
        self.prefix_units
            .iter()
            .map(|p| p[cap.min(p.len() - 1)])
            .sum()
    }

    /// Lowers the per-series cap until the kept series fit. Each call
    /// lowers the cap, so there are at most as many calls as instances
    /// in the longest series, each costing one pass over the series per
    /// step of a binary search.
    fn rebalance(&mut self) {
        let longest = self.series.iter().map(Vec::len).max().unwrap_or(0);
        // The largest cap in [1, longest] whose weight fits (weight grows
        // with the cap); 1 when even that does not fit.
        let (mut low, mut high) = (1usize, longest);
        while low < high {
            let mid = low + (high - low).div_ceil(2);
            if self.weight_at(mid) <= self.budget {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        let cap = low;
        self.cap = Some(cap);
        for ((s, p), was_cut) in self
            .series
            .iter_mut()
            .zip(&mut self.prefix_units)
            .zip(&mut self.was_cut)
        {
            if s.len() > cap {
                self.cut_occurrences += s.len() - cap;
                self.cut_series += usize::from(!*was_cut);
                *was_cut = true;
                s.truncate(cap);
                s.shrink_to_fit();
                p.truncate(cap + 1);
                p.shrink_to_fit();
            }
        }
        self.total_units = self.weight_at(cap);
        // At one instance per series and still too heavy: the last series
        // go whole.
        while self.total_units > self.budget && self.series.len() > 1 {
            let last = self.series.pop().expect("more than one series");
            let prefix = self.prefix_units.pop().expect("one per series");
            if self.was_cut.pop() == Some(true) {
                self.cut_series -= 1;
            }
            self.total_units -= prefix.last().copied().unwrap_or(0);
            self.cut_occurrences += last.len();
            self.dropped_series += 1;
        }
    }

    /// Whether anything was cut.
    pub fn cut_anything(&self) -> bool {
        self.cut_occurrences > 0
    }

    /// A warning text for what was cut, or `None`.
    pub fn describe(&self) -> Option<String> {
        if !self.cut_anything() {
            return None;
        }
        let mut text = format!(
            "occurrence budget of {} reached: {}{} occurrence(s) not stored",
            self.budget,
            if self.at_least { "at least " } else { "" },
            self.cut_occurrences
        );
        if self.cut_series > 0 {
            if let Some(cap) = self.cap {
                text.push_str(&format!(
                    "; {} series cut to their first {} instance(s) in the window",
                    self.cut_series, cap
                ));
            }
        }
        if self.dropped_series > 0 {
            text.push_str(&format!(
                "; {} series dropped whole (the calendar has more series than the budget)",
                self.dropped_series
            ));
        }
        text.push_str(" ([sync] max_occurrences_per_calendar)");
        Some(text)
    }

    /// The kept occurrences, series by series in the order added.
    pub fn into_occurrences(self) -> Vec<T> {
        self.series.into_iter().flatten().collect()
    }

    /// The kept series.
    pub fn into_series(self) -> Vec<Vec<T>> {
        self.series
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: &str) -> Attendee {
        Attendee {
            email: email.into(),
            name: None,
            partstat: crate::model::PartStat::Accepted,
            role: None,
        }
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let mut text = "ёжик".repeat(3);
        assert!(cut_text(&mut text, 5));
        assert_eq!(text, "ёжикё");
        assert!(!cut_text(&mut text, 5));
    }

    #[test]
    fn tags_after_the_cut_are_kept_once() {
        let mut tags = vec![];
        keep_tags(
            &mut tags,
            "a #client:42 b #client:43 #nomeeting #nomeeting",
            500,
        );
        assert_eq!(tags, ["#client:42", "#nomeeting"]);
        keep_tags(&mut tags, "#client:44", 500);
        assert_eq!(tags, ["#client:42", "#nomeeting"]);
    }

    #[test]
    fn attendee_cap_keeps_organizer_and_managers() {
        let limits = EventLimits {
            max_attendees: 3,
            keep_addresses: Arc::new(["boss@acme.example".to_string()].into()),
            ..EventLimits::default()
        };
        let organizer = person("org@client.example");
        let mut attendees: Vec<Attendee> = (0..10)
            .map(|i| person(&format!("p{i}@x.example")))
            .chain([person("boss@acme.example"), person("boss@acme.example")])
            .chain([person("org@client.example")])
            .collect();
        let cut = cap_attendees(Some(&organizer), &mut attendees, &limits);
        let kept: Vec<&str> = attendees.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(
            kept,
            ["p0@x.example", "boss@acme.example", "org@client.example"]
        );
        assert_eq!(cut, 10);
    }

    fn series(uid: &str, n: usize) -> Vec<Occurrence> {
        (0..n)
            .map(|i| {
                let start = chrono::DateTime::<chrono::Utc>::from_timestamp(i as i64, 0).unwrap();
                Occurrence {
                    calendar: "c".into(),
                    uid: uid.into(),
                    recurrence_id: Some(start),
                    start,
                    end: start,
                    all_day: false,
                    tz: None,
                    title: String::new(),
                    location: None,
                    tags: vec![],
                    description_video_link: false,
                    url: None,
                    organizer: None,
                    attendees: vec![],
                    status: crate::model::EventStatus::Confirmed,
                    transparent: false,
                    conference: None,
                    private: false,
                }
            })
            .collect()
    }

    #[test]
    fn budget_cuts_runaway_series_and_spares_small_ones() {
        let mut budget: OccurrenceBudget = OccurrenceBudget::new(100);
        budget.add(series("a", 1000));
        budget.add(series("b", 3));
        budget.add(series("c", 1000));
        budget.add(series("d", 1));
        let kept: Vec<usize> = budget.series.iter().map(Vec::len).collect();
        // 3 + 1 kept whole; the two runaway series share the other 96.
        assert_eq!(kept, [48, 3, 48, 1]);
        assert_eq!(budget.cut_occurrences, 2004 - 100);
    }

    #[test]
    fn budget_smaller_than_the_number_of_series_drops_the_last_ones() {
        let mut budget: OccurrenceBudget = OccurrenceBudget::new(3);
        for uid in ["a", "b", "c", "d", "e"] {
            budget.add(series(uid, 2));
        }
        let kept: Vec<&str> = budget.series.iter().map(|s| s[0].uid.as_str()).collect();
        assert_eq!(kept, ["a", "b", "c"]);
        assert_eq!(budget.cut_occurrences, 7);
        assert_eq!(budget.dropped_series, 2);
    }
}
