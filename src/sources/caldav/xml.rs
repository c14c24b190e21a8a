//! WebDAV XML for the CalDAV source: the request bodies we send and a
//! namespace-aware reading of the answers (`quick_xml::NsReader`), so a
//! server may use any prefixes (`d:`, `D:`, a default namespace). Owns no
//! network and no sync logic; a body that does not parse is an error the
//! caller retries as a truncated response.

use chrono::{DateTime, Utc};
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// Apple's CalendarServer namespace: `getctag`.
pub const CALSERVER: &str = "http://calendarserver.org/ns/";

/// One XML element with its namespace URI resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The element's own text (CDATA included), entities resolved.
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Any element at any depth below this one.
    pub fn descendants(&self) -> Box<dyn Iterator<Item = &Element> + '_> {
        Box::new(
            self.children
                .iter()
                .flat_map(|c| std::iter::once(c).chain(c.descendants())),
        )
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed text of a `DAV:href` child.
    pub fn href(&self) -> Option<&str> {
        self.child(DAV, "href")
            .map(|h| h.text.trim())
            .filter(|h| !h.is_empty())
    }
}

/// Parses a whole XML document into its root element. A document that ends
/// before its root closes (a truncated body) is an error.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let mut reader = NsReader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (ns, event) = match reader.read_resolved_event_into(&mut buf) {
            Ok(read) => read,
            Err(e) => return Err(format!("XML error: {e}")),
        };
        let ns = match ns {
            ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                return Err(format!("content after the root element: <{name}>"));
            }
            Event::Start(e) => stack.push(element(ns, &e)?),
            Event::Empty(e) => {
                let el = element(ns, &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("an end tag without a start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(current) = stack.last_mut() {
                    let text = t
                        .xml10_content()
                        .map_err(|e| format!("XML text is not UTF-8: {e}"))?;
                    current.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(current) = stack.last_mut() {
                    let text = t
                        .xml10_content()
                        .map_err(|e| format!("XML CDATA is not UTF-8: {e}"))?;
                    current.text.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(current) = stack.last_mut() {
                    if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                        current.text.push(c);
                    } else {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        let value = resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown XML entity &{name};"))?;
                        current.text.push_str(value);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(format!(
            "the XML ends inside <{}>: the response was cut off",
            stack.last().map(|e| e.name.as_str()).unwrap_or("?")
        ));
    }
    root.ok_or_else(|| "an empty XML document".to_string())
}

fn element(ns: String, e: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|e| format!("bad XML attribute: {e}"))?;
        if attr.key.as_namespace_binding().is_some() {
            continue; // xmlns declarations are resolved, not kept
        }
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| format!("bad XML attribute value: {e}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        ns,
        name,
        attrs,
        ..Element::default()
    })
}

/// One `DAV:response` of a multistatus.
#[derive(Debug, Clone, PartialEq)]
pub struct DavResponse {
    pub href: String,
    /// The response-level status (sync-collection reports a deleted member
    /// as `404` here).
    pub status: Option<u16>,
    /// The props of every `propstat` with a 2xx status.
    pub props: Vec<Element>,
}

impl DavResponse {
    pub fn prop(&self, ns: &str, name: &str) -> Option<&Element> {
        self.props.iter().find(|p| p.is(ns, name))
    }

    pub fn prop_text(&self, ns: &str, name: &str) -> Option<&str> {
        self.prop(ns, name)
            .map(|p| p.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The href inside a property such as `current-user-principal`.
    pub fn prop_href(&self, ns: &str, name: &str) -> Option<&str> {
        self.prop(ns, name).and_then(Element::href)
    }

    /// `resourcetype` holds `ns:name`.
    pub fn is_type(&self, ns: &str, name: &str) -> bool {
        self.prop(DAV, "resourcetype")
            .is_some_and(|t| t.child(ns, name).is_some())
    }

    /// The reports named in `supported-report-set`, when the server told.
    pub fn supported_reports(&self) -> Option<Vec<(String, String)>> {
        let set = self.prop(DAV, "supported-report-set")?;
        Some(
            set.descendants()
                .filter(|e| e.is(DAV, "report"))
                .flat_map(|r| r.children.iter().map(|c| (c.ns.clone(), c.name.clone())))
                .collect(),
        )
    }

    /// Whether the collection holds events, by
    /// `supported-calendar-component-set` (absent means any component).
    pub fn holds_events(&self) -> bool {
        match self.prop(CALDAV, "supported-calendar-component-set") {
            None => true,
            Some(set) => {
                let comps: Vec<&Element> = set.children_named(CALDAV, "comp").collect();
                comps.is_empty()
                    || comps.iter().any(|c| {
                        c.attr("name")
                            .is_some_and(|n| n.eq_ignore_ascii_case("VEVENT"))
                    })
            }
        }
    }
}

/// A parsed `DAV:multistatus`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Multistatus {
    pub responses: Vec<DavResponse>,
    /// RFC 6578: the new token of a sync-collection report.
    pub sync_token: Option<String>,
}

/// `HTTP/1.1 404 Not Found` → 404.
fn status_code(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn parse_multistatus(bytes: &[u8]) -> Result<Multistatus, String> {
    let root = parse(bytes)?;
    if !root.is(DAV, "multistatus") {
        return Err(format!(
            "expected a DAV:multistatus, got <{}> in namespace {:?}",
            root.name, root.ns
        ));
    }
    let mut out = Multistatus {
        sync_token: root
            .child(DAV, "sync-token")
            .map(|t| t.text.trim().to_string())
            .filter(|t| !t.is_empty()),
        ..Multistatus::default()
    };
    for response in root.children_named(DAV, "response") {
        let Some(href) = response.href() else {
            continue;
        };
        let status = response
            .child(DAV, "status")
            .and_then(|s| status_code(&s.text));
        let mut props = Vec::new();
        for propstat in response.children_named(DAV, "propstat") {
            let ok = propstat
                .child(DAV, "status")
                .and_then(|s| status_code(&s.text))
                .is_some_and(|s| (200..300).contains(&s));
            if let (true, Some(prop)) = (ok, propstat.child(DAV, "prop")) {
                props.extend(prop.children.iter().cloned());
            }
        }
        out.responses.push(DavResponse {
            href: href.to_string(),
            status,
            props,
        });
    }
    Ok(out)
}

/// Whether an error body names a precondition, e.g. RFC 6578's
/// `DAV:valid-sync-token` in `<D:error>`.
pub fn names_precondition(body: &str, ns: &str, name: &str) -> bool {
    parse(body.as_bytes())
        .map(|root| root.is(DAV, "error") && root.child(ns, name).is_some())
        .unwrap_or(false)
}

// ----- request bodies --------------------------------------------------

const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

/// PROPFIND for discovery and collection state: enough to tell a calendar
/// from a principal or a home, and to read its sync state, in one request.
pub fn propfind_discovery() -> String {
    format!(
        r#"{HEAD}<D:propfind xmlns:D="DAV:" xmlns:C="{CALDAV}" xmlns:CS="{CALSERVER}"><D:prop><D:resourcetype/><D:displayname/><D:current-user-principal/><C:calendar-home-set/><C:supported-calendar-component-set/><D:sync-token/><CS:getctag/><D:supported-report-set/></D:prop></D:propfind>"#
    )
}

/// PROPFIND for a collection's change markers only.
pub fn propfind_state() -> String {
    format!(
        r#"{HEAD}<D:propfind xmlns:D="DAV:" xmlns:CS="{CALSERVER}"><D:prop><D:sync-token/><CS:getctag/><D:supported-report-set/></D:prop></D:propfind>"#
    )
}

/// PROPFIND for a principal's calendar home.
pub fn propfind_home() -> String {
    format!(
        r#"{HEAD}<D:propfind xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:prop><C:calendar-home-set/></D:prop></D:propfind>"#
    )
}

/// PROPFIND Depth 1 on a calendar home: its calendars.
pub fn propfind_calendars() -> String {
    format!(
        r#"{HEAD}<D:propfind xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:prop><D:resourcetype/><D:displayname/><C:supported-calendar-component-set/></D:prop></D:propfind>"#
    )
}

fn caldav_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 4791 calendar-query: the VEVENTs overlapping [start, end), with
/// their data or only their ETags.
pub fn calendar_query(start: DateTime<Utc>, end: DateTime<Utc>, with_data: bool) -> String {
    let data = if with_data { "<C:calendar-data/>" } else { "" };
    format!(
        r#"{HEAD}<C:calendar-query xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:prop><D:getetag/>{data}</D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{}" end="{}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
        caldav_time(start),
        caldav_time(end)
    )
}

/// RFC 4791 calendar-multiget of the given hrefs.
pub fn calendar_multiget<'a>(hrefs: impl IntoIterator<Item = &'a str>) -> String {
    let mut body = format!(
        r#"{HEAD}<C:calendar-multiget xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:prop><D:getetag/><C:calendar-data/></D:prop>"#
    );
    for href in hrefs {
        body.push_str("<D:href>");
        body.push_str(&escape(href));
        body.push_str("</D:href>");
    }
    body.push_str("</C:calendar-multiget>");
    body
}

/// RFC 6578 sync-collection from a token (empty: the initial state).
pub fn sync_collection(token: &str) -> String {
    format!(
        r#"{HEAD}<D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
        escape(token)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_do_not_matter_only_namespaces() {
        let a = br#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
  <d:response><d:href>/cal/a%20b.ics</d:href>
    <d:propstat><d:prop><d:getetag>"1"</d:getetag>
      <cal:calendar-data><![CDATA[BEGIN:VCALENDAR
END:VCALENDAR]]></cal:calendar-data></d:prop>
      <d:status>HTTP/1.1 200 OK</d:status></d:propstat>
    <d:propstat><d:prop><x:other xmlns:x="urn:x"/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
  </d:response>
  <d:sync-token>tok&amp;1</d:sync-token>
</d:multistatus>"#;
        let b = br#"<multistatus xmlns="DAV:"><response><href>/cal/a%20b.ics</href><propstat><prop><getetag>"1"</getetag><calendar-data xmlns="urn:ietf:params:xml:ns:caldav">BEGIN:VCALENDAR
END:VCALENDAR</calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response><sync-token>tok&amp;1</sync-token></multistatus>"#;
        let a = parse_multistatus(a).unwrap();
        let b = parse_multistatus(b).unwrap();
        assert_eq!(a.sync_token.as_deref(), Some("tok&1"));
        assert_eq!(a.responses.len(), 1);
        let r = &a.responses[0];
        assert_eq!(r.href, "/cal/a%20b.ics");
        assert_eq!(r.prop_text(DAV, "getetag"), Some("\"1\""));
        assert_eq!(
            r.prop_text(CALDAV, "calendar-data"),
            Some("BEGIN:VCALENDAR\nEND:VCALENDAR")
        );
        assert!(r.prop(DAV, "other").is_none());
        assert_eq!(a, b);
    }

    #[test]
    fn a_foreign_namespace_is_not_dav() {
        let body = br#"<m:multistatus xmlns:m="urn:not-dav"><m:response/></m:multistatus>"#;
        assert!(parse_multistatus(body).is_err());
    }

    #[test]
    fn a_cut_off_body_is_an_error() {
        let body = br#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a</d:href>"#;
        let err = parse_multistatus(body).unwrap_err();
        assert!(err.contains("cut off"), "{err}");
    }

    #[test]
    fn deleted_members_carry_a_response_status() {
        let body = br#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/c/gone.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response><D:sync-token>t2</D:sync-token></D:multistatus>"#;
        let ms = parse_multistatus(body).unwrap();
        assert_eq!(ms.responses[0].status, Some(404));
    }

    #[test]
    fn resource_types_and_reports() {
        let body = br#"<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/alice/cal/</href><propstat><prop><resourcetype><C:calendar /><collection /></resourcetype><supported-report-set><supported-report><report><sync-collection /></report></supported-report></supported-report-set><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        let ms = parse_multistatus(body).unwrap();
        let r = &ms.responses[0];
        assert!(r.is_type(CALDAV, "calendar"));
        assert!(r.is_type(DAV, "collection"));
        assert_eq!(
            r.supported_reports().unwrap(),
            vec![(DAV.to_string(), "sync-collection".to_string())]
        );
        assert!(!r.holds_events());
    }

    #[test]
    fn sync_token_precondition() {
        let body = r#"<?xml version='1.0' encoding='utf-8'?>
<error xmlns="DAV:"><valid-sync-token /></error>"#;
        assert!(names_precondition(body, DAV, "valid-sync-token"));
        assert!(!names_precondition("Forbidden", DAV, "valid-sync-token"));
    }

    #[test]
    fn hrefs_in_requests_are_escaped() {
        let body = calendar_multiget(["/c/a&b.ics"]);
        assert!(body.contains("<D:href>/c/a&amp;b.ics</D:href>"));
        assert!(parse(body.as_bytes()).is_ok());
    }
}
