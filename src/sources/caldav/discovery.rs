//! Finding the calendar collection behind a configured CalDAV URL (RFC 4791
//! §6, RFC 6764): the URL itself when it is a calendar; else its
//! `calendar-home-set`, reached through `current-user-principal` of the URL
//! or of `/.well-known/caldav`; then the calendars in that home, one picked
//! by `calendar_name` when there are several. Owns nothing else.

use anyhow::{bail, Result};
use reqwest::Url;

use super::xml::{self, CALDAV, DAV};
use super::{explain, href_key, own_response, same_collection, Dav};
use crate::sources::http::{redact_url, HttpError};

/// A calendar collection in a home.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundCalendar {
    pub url: Url,
    /// Display name, or the last path segment when it has none.
    pub name: String,
    /// Decoded path.
    pub path: String,
}

/// What one PROPFIND told about a URL.
#[derive(Default)]
struct Probe {
    calendar: Option<Url>,
    home: Option<Url>,
    principal: Option<Url>,
    collection: Option<Url>,
}

async fn probe(dav: &Dav, url: &Url) -> Result<Probe, HttpError> {
    let (ms, at) = dav
        .multistatus("PROPFIND", url, "0", xml::propfind_discovery())
        .await?;
    let mut found = Probe::default();
    if let Some(r) = own_response(&ms, &at) {
        if r.is_type(CALDAV, "calendar") {
            found.calendar = Some(at.clone());
        }
        if r.is_type(DAV, "collection") {
            found.collection = Some(at.clone());
        }
        found.home = r
            .prop_href(CALDAV, "calendar-home-set")
            .and_then(|h| at.join(h).ok());
        found.principal = r
            .prop_href(DAV, "current-user-principal")
            .and_then(|h| at.join(h).ok());
    }
    Ok(found)
}

/// A failure that ends discovery: wrong credentials are not worth a
/// well-known retry.
fn fatal(e: &HttpError) -> bool {
    matches!(e.status().map(|s| s.as_u16()), Some(401)) || !matches!(e, HttpError::Status { .. })
}

async fn home_of(dav: &Dav, principal: &Url) -> Result<Option<Url>> {
    let (ms, at) = dav
        .multistatus("PROPFIND", principal, "0", xml::propfind_home())
        .await
        .map_err(|e| explain(e, "cannot read the CalDAV principal"))?;
    Ok(own_response(&ms, &at)
        .and_then(|r| r.prop_href(CALDAV, "calendar-home-set"))
        .and_then(|h| at.join(h).ok()))
}

pub(crate) async fn find_calendar(dav: &Dav, base: &Url, wanted: Option<&str>) -> Result<Url> {
    let shown = redact_url(base);
    let mut first = match probe(dav, base).await {
        Ok(p) => p,
        Err(e) if fatal(&e) => return Err(explain(e, &format!("cannot reach {shown}"))),
        Err(e) => {
            tracing::debug!(error = %e, "not a CalDAV URL itself; trying /.well-known/caldav");
            Probe::default()
        }
    };
    if let Some(calendar) = first.calendar.take() {
        return Ok(calendar);
    }
    let mut home = first.home.take();
    if home.is_none() {
        if let Some(principal) = &first.principal {
            home = home_of(dav, principal).await?;
        }
    }
    if home.is_none() {
        let well_known = base.join("/.well-known/caldav")?;
        match probe(dav, &well_known).await {
            Ok(p) => {
                if let Some(calendar) = p.calendar {
                    return Ok(calendar);
                }
                home = match (p.home, p.principal) {
                    (Some(h), _) => Some(h),
                    (None, Some(principal)) => home_of(dav, &principal).await?,
                    (None, None) => None,
                };
            }
            Err(e) if fatal(&e) => return Err(explain(e, "cannot read /.well-known/caldav")),
            Err(e) => tracing::debug!(error = %e, "no /.well-known/caldav"),
        }
    }
    // A plain collection that is neither: perhaps the home itself.
    let Some(home) = home.or(first.collection) else {
        bail!(
            "no CalDAV calendars found at {shown}: give the server's CalDAV address or a calendar's URL (see the README's \"Connecting calendars\")"
        );
    };
    let calendars = list_calendars(dav, &home).await?;
    choose(calendars, wanted, &redact_url(&home))
}

async fn list_calendars(dav: &Dav, home: &Url) -> Result<Vec<FoundCalendar>> {
    let (ms, at) = dav
        .multistatus("PROPFIND", home, "1", xml::propfind_calendars())
        .await
        .map_err(|e| explain(e, "cannot list the calendars"))?;
    let mut found = Vec::new();
    for r in &ms.responses {
        let path = href_key(&at, &r.href);
        if same_collection(&path, &at) || !r.is_type(CALDAV, "calendar") || !r.holds_events() {
            continue;
        }
        let Ok(url) = at.join(&r.href) else {
            continue;
        };
        let name = r
            .prop_text(DAV, "displayname")
            .map(str::to_string)
            .unwrap_or_else(|| {
                path.trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
        found.push(FoundCalendar { url, name, path });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// One calendar: the only one, or the one `wanted` names by display name
/// (case-insensitive) or path.
pub fn choose(calendars: Vec<FoundCalendar>, wanted: Option<&str>, home: &str) -> Result<Url> {
    let listing = || {
        calendars
            .iter()
            .map(|c| format!("\"{}\" ({})", c.name, c.path))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted.map(str::trim) {
        None | Some("") => match calendars.len() {
            0 => bail!("the account has no event calendars under {home}"),
            1 => Ok(calendars[0].url.clone()),
            _ => bail!(
                "the account has {} calendars: set calendar_name to one of {}",
                calendars.len(),
                listing()
            ),
        },
        Some(wanted) => {
            let trimmed = wanted.trim_end_matches('/');
            let hits: Vec<&FoundCalendar> = calendars
                .iter()
                .filter(|c| {
                    c.name.to_lowercase() == wanted.to_lowercase()
                        || c.path.trim_end_matches('/') == trimmed
                        || c.path.trim_end_matches('/').rsplit('/').next() == Some(trimmed)
                })
                .collect();
            match hits.as_slice() {
                [one] => Ok(one.url.clone()),
                [] => bail!(
                    "no calendar named \"{wanted}\"; the account has {}",
                    listing()
                ),
                _ => bail!(
                    "several calendars match \"{wanted}\": give the path instead, one of {}",
                    listing()
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(name: &str, path: &str) -> FoundCalendar {
        FoundCalendar {
            url: Url::parse("https://dav.example")
                .unwrap()
                .join(path)
                .unwrap(),
            name: name.into(),
            path: path.into(),
        }
    }

    #[test]
    fn one_calendar_needs_no_name() {
        let url = choose(vec![cal("Personal", "/c/p/")], None, "home").unwrap();
        assert_eq!(url.path(), "/c/p/");
    }

    #[test]
    fn several_calendars_need_a_name_and_the_error_lists_them() {
        let all = vec![cal("Personal", "/c/p/"), cal("Работа", "/c/work/")];
        let err = choose(all.clone(), None, "home").unwrap_err().to_string();
        assert!(err.contains("\"Работа\" (/c/work/)"), "{err}");
        assert_eq!(
            choose(all.clone(), Some("работа"), "home").unwrap().path(),
            "/c/work/"
        );
        assert_eq!(
            choose(all.clone(), Some("/c/work"), "home").unwrap().path(),
            "/c/work/"
        );
        assert_eq!(
            choose(all.clone(), Some("p"), "home").unwrap().path(),
            "/c/p/"
        );
        assert!(choose(all, Some("Other"), "home").is_err());
    }
}
