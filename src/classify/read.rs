//! Reading one occurrence on its own (SPEC §4): who of our managers is in it,
//! the first exclusion that applies, the client it is with and by which rule,
//! and its kind. Knows nothing of other copies: dedupe and credit live in
//! `credit`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::text::{has_video_link, is_video_place, words, Stems, Tags, TitleIndex};
use super::ClassifyContext;
use crate::model::{
    Attendee, Counterparty, EventStatus, Exclusion, MatchRule, MeetingKind, Occurrence, PartStat,
};

/// How a configured manager appears in one copy of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// They organized it: organizing is taking part, whatever else is listed.
    Organized,
    /// They are on the attendee list; `declined` when every listing of them
    /// (one per address) says DECLINED.
    Listed { declined: bool },
}

impl Presence {
    pub fn declined(self) -> bool {
        self == Presence::Listed { declined: true }
    }
}

/// Everything learned from one occurrence alone.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The first exclusion that applies, SPEC order; `None`: a client meeting
    /// (before dedupe).
    pub exclusion: Option<Exclusion>,
    /// The manager owning the calendar (None: org-wide or unknown calendar).
    pub owner: Option<String>,
    /// Configured managers appearing in the event, by manager id.
    pub presence: BTreeMap<String, Presence>,
    /// The organizer, when the organizer is a configured manager.
    pub organizer: Option<String>,
    pub counterparty: Option<Counterparty>,
    pub rule: Option<MatchRule>,
    pub kind: Option<MeetingKind>,
}

/// An administrator's override, with its instance parsed once.
struct Override<'a> {
    /// `None`: every instance of the event.
    instance: Option<DateTime<Utc>>,
    exclude: bool,
    client: Option<&'a str>,
}

/// A participant that may identify the client: external, not declined.
struct External {
    email: String,
    domain: String,
    organizer: bool,
}

/// The indexes built once per classification run, so reading an occurrence
/// costs in proportion to its own size, not to the CRM's.
pub struct Reader<'a> {
    ctx: &'a ClassifyContext<'a>,
    manager_by_address: HashMap<String, &'a str>,
    company_domains: Vec<String>,
    public_domains: HashSet<String>,
    client_ids: HashSet<&'a str>,
    client_by_folded_id: HashMap<String, &'a str>,
    clients_by_email: HashMap<String, Vec<usize>>,
    clients_by_domain: HashMap<String, Vec<usize>>,
    titles: Option<TitleIndex>,
    excluded_titles: Stems,
    exhibition: Stems,
    call: Stems,
    /// Overrides by (calendar, uid), in configuration order.
    overrides: HashMap<&'a str, HashMap<&'a str, Vec<Override<'a>>>>,
}

fn normalize_domain(domain: &str) -> String {
    domain
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_lowercase()
}

fn domain_of(email: &str) -> Option<&str> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

impl<'a> Reader<'a> {
    pub fn new(ctx: &'a ClassifyContext<'a>) -> Reader<'a> {
        let settings = ctx.settings;
        let mut manager_by_address = HashMap::new();
        for manager in ctx.managers {
            for address in manager.addresses() {
                manager_by_address
                    .entry(address)
                    .or_insert(manager.id.as_str());
            }
        }
        let company_domains: Vec<String> = ctx
            .company_domains
            .iter()
            .map(|d| normalize_domain(d))
            .collect();
        let public_domains: HashSet<String> = settings
            .public_domains
            .iter()
            .map(|d| normalize_domain(d))
            .collect();
        let is_company = |d: &str| is_company_domain(&company_domains, d);

        let mut clients_by_email: HashMap<String, Vec<usize>> = HashMap::new();
        let mut clients_by_domain: HashMap<String, Vec<usize>> = HashMap::new();
        for (position, client) in ctx.clients.iter().enumerate() {
            for email in &client.emails {
                let email = email.trim().to_lowercase();
                if !email.is_empty() {
                    push_unique(clients_by_email.entry(email).or_default(), position);
                }
            }
            for domain in &client.domains {
                let domain = normalize_domain(domain);
                // A CRM row listing gmail.com or our own domain as a client's
                // domain would claim every such attendee: never index those.
                if !domain.is_empty() && !public_domains.contains(&domain) && !is_company(&domain) {
                    push_unique(clients_by_domain.entry(domain).or_default(), position);
                }
            }
        }

        let mut overrides: HashMap<&str, HashMap<&str, Vec<Override>>> = HashMap::new();
        for o in ctx.overrides {
            // Validation rejects a malformed instance; should one slip
            // through, it must not widen into an override of the series.
            let instance = match &o.recurrence_id {
                Some(r) => match DateTime::parse_from_rfc3339(r) {
                    Ok(t) => Some(t.with_timezone(&Utc)),
                    Err(_) => continue,
                },
                None => None,
            };
            overrides
                .entry(o.calendar.as_str())
                .or_default()
                .entry(o.uid.as_str())
                .or_default()
                .push(Override {
                    instance,
                    exclude: o.exclude,
                    client: o.client.as_deref(),
                });
        }

        Reader {
            ctx,
            manager_by_address,
            company_domains,
            public_domains,
            client_ids: ctx.clients.iter().map(|c| c.id.as_str()).collect(),
            client_by_folded_id: ctx
                .clients
                .iter()
                .map(|c| (c.id.to_lowercase(), c.id.as_str()))
                .collect(),
            clients_by_email,
            clients_by_domain,
            titles: settings
                .match_titles
                .then(|| TitleIndex::new(ctx.clients, &settings.legal_forms)),
            excluded_titles: Stems::new(&settings.excluded_titles),
            exhibition: Stems::new(&settings.exhibition_keywords),
            call: Stems::new(&settings.call_keywords),
            overrides,
        }
    }

    pub fn read(&self, occurrence: &Occurrence) -> Reading {
        let settings = self.ctx.settings;
        let owner = self
            .ctx
            .calendar_owner
            .get(&occurrence.calendar)
            .cloned()
            .flatten();
        let (presence, organizer) = self.presence(occurrence);

        let mut tags = Tags::default();
        tags.read(&occurrence.title);
        for tag in &occurrence.tags {
            tags.read(tag);
        }
        let admin = self.override_for(occurrence);

        let (counterparty, rule) = self.counterparty(occurrence, admin, &tags);
        let title_words = words(&occurrence.title);
        let kind = self.kind(occurrence, &title_words);

        let minutes = (occurrence.end - occurrence.start).num_seconds() as f64 / 60.0;
        // An administrator's override is deliberate and recorded with who
        // and why: it beats the tags written into the event.
        let no_meeting = match admin {
            Some(admin) => admin.exclude,
            None => tags.no_meeting,
        };
        let exclusion = if no_meeting {
            // A human said so: that trumps every automatic reading.
            Some(Exclusion::Override)
        } else if occurrence.status == EventStatus::Cancelled {
            Some(Exclusion::Cancelled)
        } else if let Some(missing) = self.manager_missing(owner.as_deref(), &presence) {
            Some(missing)
        } else if occurrence.all_day {
            Some(Exclusion::AllDay)
        } else if occurrence.transparent {
            Some(Exclusion::Free)
        } else if minutes < settings.min_minutes as f64 {
            Some(Exclusion::TooShort)
        } else if minutes > settings.max_hours * 60.0 {
            Some(Exclusion::TooLong)
        } else if self.excluded_titles.any_in(&title_words) {
            Some(Exclusion::ExcludedTitle)
        } else if counterparty.is_none() {
            // No client matched and no external participant (else a prospect).
            Some(Exclusion::Internal)
        } else if occurrence.start > self.ctx.now {
            Some(Exclusion::Future)
        } else {
            None
        };

        Reading {
            exclusion,
            owner,
            presence,
            organizer,
            counterparty,
            rule,
            kind: Some(kind),
        }
    }

    /// `declined` when the calendar's owner declined; for an org-wide
    /// calendar, `declined` when every configured manager in it declined and
    /// `no_manager` when none is in it.
    fn manager_missing(
        &self,
        owner: Option<&str>,
        presence: &BTreeMap<String, Presence>,
    ) -> Option<Exclusion> {
        match owner {
            // An owner not on the list (or no list at all) takes part.
            Some(owner) => presence
                .get(owner)
                .is_some_and(|p| p.declined())
                .then_some(Exclusion::Declined),
            None if presence.is_empty() => Some(Exclusion::NoManager),
            None => presence
                .values()
                .all(|p| p.declined())
                .then_some(Exclusion::Declined),
        }
    }

    /// Configured managers in the event and the organizer if one of them.
    fn presence(&self, occurrence: &Occurrence) -> (BTreeMap<String, Presence>, Option<String>) {
        let mut presence: BTreeMap<String, Presence> = BTreeMap::new();
        let organizer = occurrence
            .organizer
            .as_ref()
            .and_then(|o| self.manager_of(&o.email))
            .map(str::to_string);
        for attendee in &occurrence.attendees {
            if let Some(manager) = self.manager_of(&attendee.email) {
                let declined = attendee.partstat == PartStat::Declined;
                let entry = presence
                    .entry(manager.to_string())
                    .or_insert(Presence::Listed { declined });
                if let Presence::Listed { declined: all } = entry {
                    *all &= declined;
                }
            }
        }
        if let Some(organizer) = &organizer {
            presence.insert(organizer.clone(), Presence::Organized);
        }
        (presence, organizer)
    }

    fn manager_of(&self, email: &str) -> Option<&'a str> {
        self.manager_by_address
            .get(&email.trim().to_lowercase())
            .copied()
    }

    fn is_internal(&self, email: &str) -> bool {
        self.manager_of(email).is_some()
            || domain_of(email).is_some_and(|d| is_company_domain(&self.company_domains, d))
    }

    /// Participants that can identify a client (SPEC §4 "Precise readings"):
    /// the organizer and the attendees, minus colleagues, minus externals who
    /// declined; NEEDS-ACTION counts. One entry per address, sorted by email.
    fn externals(&self, occurrence: &Occurrence) -> Vec<External> {
        let mut by_email: BTreeMap<String, (bool, bool)> = BTreeMap::new(); // email → (organizer, counts)
        let mut note = |who: &Attendee, organizer: bool| {
            let email = who.email.trim().to_lowercase();
            // An address no one can have (hostile or garbled invitation
            // data) is no counterparty; the sync warns about it.
            if !crate::model::is_valid_address(&email) || self.is_internal(&email) {
                return;
            }
            let counts = organizer || who.partstat != PartStat::Declined;
            let entry = by_email.entry(email).or_insert((false, false));
            entry.0 |= organizer;
            entry.1 |= counts;
        };
        if let Some(organizer) = &occurrence.organizer {
            note(organizer, true);
        }
        for attendee in &occurrence.attendees {
            note(attendee, false);
        }
        by_email
            .into_iter()
            .filter(|(_, (_, counts))| *counts)
            .map(|(email, (organizer, _))| External {
                domain: normalize_domain(domain_of(&email).unwrap_or_default()),
                email,
                organizer,
            })
            .collect()
    }

    fn override_for(&self, occurrence: &Occurrence) -> Option<&Override<'a>> {
        let candidates = self
            .overrides
            .get(occurrence.calendar.as_str())?
            .get(occurrence.uid.as_str())?;
        // One instance's override beats the series'; among equals the later
        // entry is the later correction.
        candidates
            .iter()
            .rfind(|o| o.instance.is_some() && o.instance == occurrence.recurrence_id)
            .or_else(|| candidates.iter().rfind(|o| o.instance.is_none()))
    }

    /// A tag or override names the client by id; ids are matched exactly,
    /// else case-insensitively against the CRM ("#client:ABC-1" for "abc-1").
    fn resolve_client(&self, id: &str) -> String {
        if self.client_ids.contains(id) {
            return id.to_string();
        }
        match self.client_by_folded_id.get(&id.to_lowercase()) {
            Some(known) => known.to_string(),
            // Unknown to the CRM yet: kept as written, like a prospect the
            // CRM will learn about.
            None => id.to_string(),
        }
    }

    /// Client matching, first rule that yields a client wins (SPEC §4).
    fn counterparty(
        &self,
        occurrence: &Occurrence,
        admin: Option<&Override>,
        tags: &Tags,
    ) -> (Option<Counterparty>, Option<MatchRule>) {
        let named = match admin {
            Some(admin) => admin.client,
            None => tags.client.as_deref(),
        };
        if let Some(client) = named {
            return (
                Some(Counterparty::Client(self.resolve_client(client))),
                Some(MatchRule::Override),
            );
        }
        let externals = self.externals(occurrence);
        // Every client each external participant belongs to, by email or
        // domain: the "most attendees" tie-break counts these.
        let belongs: Vec<(Vec<usize>, Vec<usize>)> = externals
            .iter()
            .map(|e| {
                let by_email = self
                    .clients_by_email
                    .get(&e.email)
                    .cloned()
                    .unwrap_or_default();
                let by_domain = if self.public_domains.contains(&e.domain) {
                    Vec::new()
                } else {
                    self.clients_by_domain
                        .get(&e.domain)
                        .cloned()
                        .unwrap_or_default()
                };
                (by_email, by_domain)
            })
            .collect();
        let best = |candidates: Vec<usize>| -> Option<String> {
            let clients = self.ctx.clients;
            candidates
                .into_iter()
                .map(|c| {
                    let attendees = belongs
                        .iter()
                        .filter(|(e, d)| e.contains(&c) || d.contains(&c))
                        .count();
                    (attendees, &clients[c].id)
                })
                .min_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)))
                .map(|(_, id)| id.clone())
        };

        let by_email: Vec<usize> = belongs
            .iter()
            .flat_map(|(e, _)| e.iter().copied())
            .collect();
        if let Some(id) = best(by_email) {
            return (Some(Counterparty::Client(id)), Some(MatchRule::Email));
        }
        let by_domain: Vec<usize> = belongs
            .iter()
            .flat_map(|(_, d)| d.iter().copied())
            .collect();
        if let Some(id) = best(by_domain) {
            return (Some(Counterparty::Client(id)), Some(MatchRule::Domain));
        }
        if let Some(titles) = &self.titles {
            let mut named = titles.find(&occurrence.title);
            if let Some(location) = &occurrence.location {
                named.extend(titles.find(location));
            }
            if let Some(id) = best(named) {
                return (Some(Counterparty::Client(id)), Some(MatchRule::Title));
            }
        }
        // A prospect: a company domain says more than a personal mailbox, an
        // external organizer more than an invitee; then the smallest email,
        // so attendee order in the feed never changes the key.
        let first = externals.iter().min_by_key(|e| {
            (
                self.public_domains.contains(&e.domain),
                !e.organizer,
                e.email.as_str(),
            )
        });
        match first {
            Some(e) if self.public_domains.contains(&e.domain) => (
                Some(Counterparty::Prospect(e.email.clone())),
                Some(MatchRule::Prospect),
            ),
            Some(e) => (
                Some(Counterparty::Prospect(e.domain.clone())),
                Some(MatchRule::Prospect),
            ),
            None => (None, None),
        }
    }

    /// Meeting kind, first hit wins: exhibition, call (title keywords), online
    /// (conference data or a video link), in person.
    fn kind(&self, occurrence: &Occurrence, title_words: &[String]) -> MeetingKind {
        let nonempty = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        if self.exhibition.any_in(title_words) {
            MeetingKind::Exhibition
        } else if self.call.any_in(title_words) {
            MeetingKind::Call
        } else if nonempty(&occurrence.conference)
            || occurrence.description_video_link
            || [&occurrence.location, &occurrence.url]
                .into_iter()
                .flatten()
                .any(|text| has_video_link(text))
            || occurrence.location.as_deref().is_some_and(is_video_place)
        {
            MeetingKind::Online
        } else {
            MeetingKind::InPerson
        }
    }
}

/// Our own domains and their subdomains (msk.acme.example) are internal.
fn is_company_domain(company: &[String], domain: &str) -> bool {
    let domain = normalize_domain(domain);
    company.iter().any(|c| {
        domain == *c
            || domain
                .strip_suffix(c.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

fn push_unique(list: &mut Vec<usize>, value: usize) {
    if !list.contains(&value) {
        list.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_subdomains_are_internal_lookalikes_are_not() {
        let company = vec!["acme.example".to_string()];
        assert!(is_company_domain(&company, "acme.example"));
        assert!(is_company_domain(&company, "MSK.Acme.Example."));
        assert!(!is_company_domain(&company, "notacme.example"));
        assert!(!is_company_domain(&company, "acme.example.org"));
    }

    #[test]
    fn domains_are_normalized() {
        assert_eq!(normalize_domain(" @Romashka.RU. "), "romashka.ru");
        assert_eq!(domain_of("a@b.ru"), Some("b.ru"));
        assert_eq!(domain_of("no-at-sign"), None);
        assert_eq!(domain_of("trailing@"), None);
    }
}
