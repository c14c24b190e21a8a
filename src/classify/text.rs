//! Reading free text the way SPEC §4 "Precise readings" asks: folding, word
//! splitting, the client-name index for the `title` rule, keyword stems for
//! meeting kinds and excluded titles, video links, and correction tags.
//! Pure string work; knows nothing about occurrences or credit.

use std::collections::{HashMap, HashSet};

use crate::model::Client;

/// Case-folds and maps ё→е, so "Ёлка", "ЕЛКА" and "елка" compare equal.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

/// Folded words: runs of letters and digits. Quotes («»"'„“), punctuation and
/// spaces are all separators, so «Ромашка» and "Ромашка," are the word ромашка.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Client names (and aliases) indexed by their rarest word, so a title is
/// checked only against the few clients whose name could contain each of its
/// words — never against every client, and not against every "Торговый дом
/// …" when a title says "торговый".
#[derive(Debug, Default)]
pub struct TitleIndex {
    /// Anchor word → the names holding it.
    by_anchor: HashMap<String, Vec<IndexedName>>,
}

#[derive(Debug)]
struct IndexedName {
    /// The client's position in the CRM list.
    client: usize,
    words: Vec<String>,
    /// Where the anchor word sits in `words`.
    anchor: usize,
}

impl TitleIndex {
    pub fn new(clients: &[Client], legal_forms: &[String]) -> TitleIndex {
        let legal: HashSet<String> = legal_forms.iter().map(|f| fold(f.trim())).collect();
        let mut names: Vec<(usize, Vec<String>)> = Vec::new();
        for (position, client) in clients.iter().enumerate() {
            for name in std::iter::once(&client.name).chain(client.aliases.iter()) {
                let name_words: Vec<String> = words(name)
                    .into_iter()
                    .filter(|w| !legal.contains(w))
                    .collect();
                // A one-letter name ("А") would match every title using the
                // letter as a word; such a name cannot identify anyone.
                if name_words.iter().map(|w| w.chars().count()).sum::<usize>() < 2 {
                    continue;
                }
                if !names
                    .iter()
                    .rev()
                    .take_while(|(p, _)| *p == position)
                    .any(|(_, w)| *w == name_words)
                {
                    names.push((position, name_words));
                }
            }
        }
        let mut frequency: HashMap<&str, usize> = HashMap::new();
        for (_, name_words) in &names {
            for word in name_words {
                *frequency.entry(word.as_str()).or_default() += 1;
            }
        }
        let anchors: Vec<usize> = names
            .iter()
            .map(|(_, name_words)| {
                (0..name_words.len())
                    .min_by_key(|&k| (frequency[name_words[k].as_str()], k))
                    .expect("indexed names are non-empty")
            })
            .collect();
        let mut by_anchor: HashMap<String, Vec<IndexedName>> = HashMap::new();
        for ((client, words), anchor) in names.into_iter().zip(anchors) {
            by_anchor
                .entry(words[anchor].clone())
                .or_default()
                .push(IndexedName {
                    client,
                    words,
                    anchor,
                });
        }
        TitleIndex { by_anchor }
    }

    /// Positions of the clients named in `text`, ascending. A name found only
    /// inside a longer name found at the same place does not count: "Ромашка
    /// Плюс" names that client, not also a client called "Ромашка".
    pub fn find(&self, text: &str) -> Vec<usize> {
        let title = words(text);
        let mut found: Vec<(usize, usize, usize)> = Vec::new(); // (from, to, client)
        for (i, word) in title.iter().enumerate() {
            for name in self.by_anchor.get(word).into_iter().flatten() {
                let Some(from) = i.checked_sub(name.anchor) else {
                    continue;
                };
                if title[from..].starts_with(&name.words) {
                    found.push((from, from + name.words.len(), name.client));
                }
            }
        }
        let mut clients: Vec<usize> = found
            .iter()
            .filter(|(from, to, _)| {
                !found
                    .iter()
                    .any(|(f, t, _)| f <= from && t >= to && (t - f) > (to - from))
            })
            .map(|(_, _, client)| *client)
            .collect();
        clients.sort_unstable();
        clients.dedup();
        clients
    }
}

/// Keyword stems matched at word beginnings, so Russian endings do not
/// matter: `выставк` matches "выставка", "выставке". A multi-word keyword
/// ("day off") matches whole words followed by a word beginning with its last.
#[derive(Debug, Default)]
pub struct Stems(Vec<Vec<String>>);

impl Stems {
    pub fn new(keywords: &[String]) -> Stems {
        Stems(
            keywords
                .iter()
                .map(|k| words(k))
                .filter(|w| !w.is_empty())
                .collect(),
        )
    }

    /// True when any stem begins a word of `text_words` (already folded).
    pub fn any_in(&self, text_words: &[String]) -> bool {
        self.0.iter().any(|stem| {
            let (last, whole) = stem.split_last().expect("stems are non-empty");
            text_words.windows(stem.len()).any(|window| {
                let (window_last, window_whole) = window.split_last().expect("window is non-empty");
                window_whole == whole && window_last.starts_with(last.as_str())
            })
        })
    }
}

/// Hosts of video-meeting services: a link to one in the location,
/// description or URL makes a meeting `online`. The Russian services come
/// first because our users' clients use them most.
pub const VIDEO_HOSTS: &[&str] = &[
    "telemost.yandex.ru",
    "telemost.360.yandex.ru",
    "ktalk.ru",
    "talk.kontur.ru",
    "jazz.sber.ru",
    "sberjazz.ru",
    "salutejazz.ru",
    "mts-link.ru",
    "webinar.ru",
    "dion.vc",
    "vk.com/call",
    "calls.vk.com",
    "meet.google.com",
    "zoom.us",
    "zoom.com",
    "zoomgov.com",
    "teams.microsoft.com",
    "teams.live.com",
    "webex.com",
    "join.skype.com",
    "meet.jit.si",
    "whereby.com",
    "gotomeeting.com",
    "bluejeans.com",
    "chime.aws",
];

/// Platform names that, as the whole location, mean a video meeting even
/// without a link ("Zoom", "Телемост").
const VIDEO_PLACES: &[&str] = &[
    "zoom",
    "teams",
    "microsoft teams",
    "ms teams",
    "google meet",
    "meet",
    "skype",
    "webex",
    "телемост",
    "яндекс телемост",
    "контур толк",
    "kontur talk",
    "толк",
    "sberjazz",
    "salutejazz",
    "jazz",
    "видеосвязь",
    "видеозвонок",
    "online",
    "онлайн",
];

/// True when `text` holds a link to a known video service, as a host (or a
/// subdomain of it, `us02web.zoom.us`), not as part of a longer name.
pub fn has_video_link(text: &str) -> bool {
    let text = text.to_lowercase();
    VIDEO_HOSTS.iter().any(|host| {
        text.match_indices(host).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + host.len()..].chars().next();
            let bounded_before =
                before.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
            let bounded_after =
                after.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
            bounded_before && bounded_after
        })
    })
}

/// True when the whole location is just a video platform's name.
pub fn is_video_place(location: &str) -> bool {
    let place = words(location).join(" ");
    VIDEO_PLACES.contains(&place.as_str())
}

/// Corrections a manager writes into the event itself (SPEC §4).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tags {
    /// `#nomeeting`: not a client meeting.
    pub no_meeting: bool,
    /// `#client:<id>`: the meeting is with this client (first tag wins).
    pub client: Option<String>,
}

impl Tags {
    /// Reads the tags of one text (title, description, or a tag that
    /// `tags_in` kept) into `self`.
    pub fn read(&mut self, text: &str) {
        for tag in tags_in(text) {
            match tag {
                Tag::NoMeeting => self.no_meeting = true,
                Tag::Client(id) => {
                    if self.client.is_none() {
                        self.client = Some(id.to_string());
                    }
                }
            }
        }
    }
}

/// One tag as written in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag<'t> {
    NoMeeting,
    Client(&'t str),
}

impl std::fmt::Display for Tag<'_> {
    /// The canonical form, which `Tags::read` reads back as the same tag.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tag::NoMeeting => f.write_str("#nomeeting"),
            Tag::Client(id) => write!(f, "#client:{id}"),
        }
    }
}

/// The tags of a text in the order written.
pub fn tags_in(text: &str) -> impl Iterator<Item = Tag<'_>> {
    text.match_indices('#').filter_map(|(at, _)| {
        let rest = &text[at + 1..];
        if starts_with_word(rest, "nomeeting") {
            return Some(Tag::NoMeeting);
        }
        let id = strip_prefix_ignore_case(rest, "client:")?;
        let end = id
            .find(|c: char| c.is_whitespace() || ",;()[]{}<>\"'«»#".contains(c))
            .unwrap_or(id.len());
        // A sentence may end right after the tag: "… #client:42."
        let id = id[..end].trim_end_matches(['.', ':', '!', '?']);
        (!id.is_empty()).then_some(Tag::Client(id))
    })
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn starts_with_word(text: &str, word: &str) -> bool {
    strip_prefix_ignore_case(text, word).is_some_and(|rest| {
        rest.chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, name: &str, aliases: &[&str]) -> Client {
        Client {
            id: id.into(),
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            domains: vec![],
            emails: vec![],
            manager: None,
            key: false,
        }
    }

    fn legal() -> Vec<String> {
        crate::config::DEFAULT_LEGAL_FORMS
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn fold_lowercases_and_maps_yo() {
        assert_eq!(fold("ЁЛКА Ёж"), "елка еж");
    }

    #[test]
    fn words_split_on_quotes_and_punctuation() {
        assert_eq!(
            words("Встреча ООО «Ромашка»,  \"Альфа-Банк\""),
            ["встреча", "ооо", "ромашка", "альфа", "банк"]
        );
        assert_eq!(words("„Лютик“ 'Ё'"), ["лютик", "е"]);
    }

    #[test]
    fn title_index_drops_legal_forms_and_matches_whole_words() {
        let index = TitleIndex::new(
            &[
                client("c1", "ООО Ромашка", &[]),
                client("c2", "Rose Inc", &["Роза"]),
            ],
            &legal(),
        );
        assert_eq!(index.find("Встреча ООО «Ромашка»"), [0]);
        assert_eq!(index.find("встреча ромашка"), [0]);
        assert!(index.find("Ромашковое поле").is_empty(), "whole words only");
        assert_eq!(index.find("Call with ROSE"), [1]);
        assert_eq!(
            index.find("Обед с Розой").len(),
            0,
            "aliases match as whole words too"
        );
        assert_eq!(index.find("Роза и Ромашка"), [0, 1]);
    }

    #[test]
    fn longer_name_wins_over_a_name_inside_it() {
        let index = TitleIndex::new(
            &[
                client("a", "Ромашка", &[]),
                client("b", "Ромашка Плюс", &[]),
            ],
            &legal(),
        );
        assert_eq!(index.find("Встреча Ромашка Плюс"), [1]);
        assert_eq!(index.find("Встреча Ромашка"), [0]);
    }

    #[test]
    fn names_sharing_common_words_are_told_apart() {
        let index = TitleIndex::new(
            &[
                client("a", "Торговый дом «Альфа»", &[]),
                client("b", "ТОРГОВЫЙ ДОМ БЕТА", &[]),
                client("c", "Бета", &[]),
            ],
            &legal(),
        );
        assert_eq!(index.find("Визит в Торговый дом Бета"), [1]);
        assert_eq!(
            index.find("Альфа"),
            Vec::<usize>::new(),
            "the whole name is needed"
        );
        assert!(index.find("торговый дом").is_empty());
        assert_eq!(index.find("Бета и торговый дом Альфа"), [0, 2]);
    }

    #[test]
    fn names_that_are_only_a_legal_form_are_not_indexed() {
        let index = TitleIndex::new(&[client("a", "ООО", &[]), client("b", "Я", &[])], &legal());
        assert!(index.find("ООО Я").is_empty());
    }

    #[test]
    fn stems_match_word_beginnings() {
        let stems = Stems::new(&["выставк".to_string(), "day off".to_string()]);
        assert!(stems.any_in(&words("На выставке Иннопром")));
        assert!(!stems.any_in(&words("Невыставка")));
        assert!(stems.any_in(&words("Day Off!")));
        assert!(!stems.any_in(&words("day")));
    }

    #[test]
    fn video_links_need_a_known_host() {
        assert!(has_video_link("https://us02web.zoom.us/j/123"));
        assert!(has_video_link("Join: https://telemost.yandex.ru/j/42"));
        assert!(has_video_link("https://MEET.google.com/abc-defg-hij"));
        assert!(!has_video_link("https://notzoom.us/"));
        assert!(!has_video_link("zoom.user.example"));
        assert!(is_video_place(" Zoom "));
        assert!(!is_video_place("Zoom room 3, офис"));
    }

    #[test]
    fn tags_read_nomeeting_and_client() {
        let mut tags = Tags::default();
        tags.read("Обед #NoMeeting");
        assert!(tags.no_meeting);
        let mut tags = Tags::default();
        tags.read("Встреча #client:c-42. Потом #client:c-7");
        assert_eq!(tags.client.as_deref(), Some("c-42"));
        assert!(!tags.no_meeting);
        let mut tags = Tags::default();
        tags.read("#nomeetings is not a tag");
        assert!(!tags.no_meeting);
    }
}
