//! Lenient iCalendar reader: text → content lines → a tree of components.
//! Owns unfolding (CRLF or LF, space or TAB continuation), the BOM, blank and
//! garbage lines, parameter quoting and TEXT unescaping. It does not know
//! what any property means; `event` and `timezone` interpret the tree.
//!
//! Why not `icalendar::parser`: it rejects whole files for one bad line,
//! and we must keep everything readable and say which line was not.

/// One unfolded content line: `NAME;PARAM=V1,V2:value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentLine {
    /// Upper-cased property name.
    pub name: String,
    /// Parameters in order, names upper-cased, values unquoted.
    pub params: Vec<(String, Vec<String>)>,
    /// The raw value, still escaped (`\,` `\;` `\n`).
    pub value: String,
    /// 1-based number of the physical line the content line starts on.
    pub line: usize,
}

impl ContentLine {
    /// First value of a parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, values)| values.first())
            .map(String::as_str)
    }

    /// The value as TEXT: escapes resolved.
    pub fn text(&self) -> String {
        unescape_text(&self.value)
    }
}

/// A `BEGIN:X` … `END:X` block with its properties and nested blocks.
#[derive(Debug, Clone, Default)]
pub struct Component {
    /// Upper-cased component name (VCALENDAR, VEVENT, VTIMEZONE, …).
    pub name: String,
    pub props: Vec<ContentLine>,
    pub children: Vec<Component>,
    /// Line of the BEGIN.
    pub line: usize,
    /// Line of the END (the last line of the file when it is missing).
    pub end_line: usize,
    /// False when the file ended before this component's END line.
    pub closed: bool,
}

impl Component {
    /// The first property with this name.
    pub fn prop(&self, name: &str) -> Option<&ContentLine> {
        self.props.iter().find(|p| p.name == name)
    }

    /// Every property with this name, in order.
    pub fn props_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ContentLine> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }
}

/// A line that could not be read, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct LexIssue {
    pub line: usize,
    pub message: String,
    /// True when the line was still read (with a repair the message names);
    /// false when it was skipped.
    pub kept: bool,
}

/// Reads a whole file (tests; the reader streams). Returns the top-level components (usually one or
/// more VCALENDARs; a bare VEVENT is accepted too) and the lines skipped.
#[cfg(test)]
pub fn parse_components(text: &str) -> (Vec<Component>, Vec<LexIssue>) {
    stream_components(text.as_bytes(), |component, _| Some(component))
}

/// `parse_components` that hands every component to `take` as it closes,
/// with its open ancestors (outermost first). `take` gives it back to be
/// attached to its parent as usual (`Some`) or keeps it (`None`), so a
/// reader can handle a file of a million events one event at a time
/// instead of holding the whole tree.
///
/// Takes the file's bytes, not text: lines are unfolded first and decoded
/// as UTF-8 after, because producers fold at 75 octets and may split a
/// multi-byte character across the fold (RFC 5545 §3.1).
pub fn stream_components(
    data: &[u8],
    mut take: impl FnMut(Component, &[Component]) -> Option<Component>,
) -> (Vec<Component>, Vec<LexIssue>) {
    let mut issues = Vec::new();
    let mut roots: Vec<Component> = Vec::new();
    let mut stack: Vec<Component> = Vec::new();
    let mut last_line = 0;
    let mut attach = |stack: &mut Vec<Component>, roots: &mut Vec<Component>, done: Component| {
        if let Some(kept) = take(done, stack) {
            match stack.last_mut() {
                Some(parent) => parent.children.push(kept),
                None => roots.push(kept),
            }
        }
    };

    for (line_no, raw) in Unfold::new(data) {
        last_line = line_no;
        let logical = match String::from_utf8(raw) {
            Ok(text) => text,
            Err(e) => {
                issues.push(LexIssue {
                    line: line_no,
                    message: "not valid UTF-8; unreadable bytes replaced".into(),
                    kept: true,
                });
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        let content = match parse_content_line(&logical, line_no) {
            Ok(content) => content,
            Err(message) => {
                issues.push(LexIssue {
                    line: line_no,
                    message,
                    kept: false,
                });
                continue;
            }
        };
        match content.name.as_str() {
            "BEGIN" => {
                let name = content.value.trim().to_ascii_uppercase();
                // Components never nest in themselves: a BEGIN:VEVENT while a
                // VEVENT is open means its END line is missing. Close it (and
                // whatever it holds) so the two events stay apart.
                if let Some(pos) = stack.iter().rposition(|c| c.name == name) {
                    close_from(
                        &mut stack,
                        &mut roots,
                        &mut issues,
                        pos,
                        line_no,
                        false,
                        &mut attach,
                    );
                }
                stack.push(Component {
                    name,
                    line: line_no,
                    ..Component::default()
                });
            }
            "END" => {
                let name = content.value.trim().to_ascii_uppercase();
                // Close up to the matching BEGIN; a stray END is ignored.
                if let Some(pos) = stack.iter().rposition(|c| c.name == name) {
                    close_from(
                        &mut stack,
                        &mut roots,
                        &mut issues,
                        pos,
                        line_no,
                        true,
                        &mut attach,
                    );
                } else {
                    issues.push(LexIssue {
                        line: line_no,
                        message: format!("END:{name} without BEGIN"),
                        kept: false,
                    });
                }
            }
            _ => match stack.last_mut() {
                Some(current) => current.props.push(content),
                None => issues.push(LexIssue {
                    line: line_no,
                    message: format!("property {} outside any component", content.name),
                    kept: false,
                }),
            },
        }
    }
    // A truncated file: close what is open (a missing END:VCALENDAR is common
    // and harmless; a missing END:VEVENT is reported by the event reader).
    while let Some(mut open) = stack.pop() {
        open.closed = false;
        open.end_line = last_line;
        attach(&mut stack, &mut roots, open);
    }
    (roots, issues)
}

type Attach<'a> = dyn FnMut(&mut Vec<Component>, &mut Vec<Component>, Component) + 'a;

/// Closes the open components from the top of the stack down to `pos`.
/// With `ended`, the one at `pos` met its END line; everything above it
/// (and, without `ended`, it too) was left open and is reported.
fn close_from(
    stack: &mut Vec<Component>,
    roots: &mut Vec<Component>,
    issues: &mut Vec<LexIssue>,
    pos: usize,
    line_no: usize,
    ended: bool,
    attach: &mut Attach,
) {
    while stack.len() > pos {
        let mut done = stack.pop().expect("stack is longer than pos");
        done.closed = ended && stack.len() == pos;
        done.end_line = if done.closed {
            line_no
        } else {
            line_no.saturating_sub(1)
        };
        if !done.closed {
            issues.push(LexIssue {
                line: line_no,
                message: format!(
                    "{} opened on line {} was never closed",
                    done.name, done.line
                ),
                kept: false,
            });
        }
        attach(stack, roots, done);
    }
}

/// Physical lines → logical lines with the number of their first physical
/// line. Accepts CRLF, LF or bare CR; a line starting with a space or TAB
/// continues the previous one (RFC 5545 §3.1); blank lines are dropped.
#[cfg(test)]
pub fn unfold(text: &str) -> Vec<(usize, String)> {
    Unfold::new(text.as_bytes())
        .map(|(line, raw)| (line, String::from_utf8_lossy(&raw).into_owned()))
        .collect()
}

/// Physical lines of a file, split at its line separator.
type PhysicalLines<'a> = std::iter::Enumerate<std::slice::Split<'a, u8, fn(&u8) -> bool>>;

/// `unfold` one logical line at a time, on bytes: a fold may fall inside a
/// multi-byte character, so decoding waits until the line is whole.
struct Unfold<'a> {
    physical: PhysicalLines<'a>,
    /// The logical line being built, waiting for its continuations.
    pending: Option<(usize, Vec<u8>)>,
}

impl<'a> Unfold<'a> {
    fn new(data: &'a [u8]) -> Unfold<'a> {
        let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
        let split: fn(&u8) -> bool = if data.contains(&b'\n') {
            |b| *b == b'\n'
        } else {
            |b| *b == b'\r'
        };
        Unfold {
            physical: data.split(split).enumerate(),
            pending: None,
        }
    }
}

impl Iterator for Unfold<'_> {
    type Item = (usize, Vec<u8>);

    fn next(&mut self) -> Option<(usize, Vec<u8>)> {
        for (index, raw) in self.physical.by_ref() {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if let Some((b' ' | b'\t', rest)) = line.split_first() {
                if let Some(pending) = &mut self.pending {
                    pending.1.extend_from_slice(rest);
                    continue;
                }
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let started = (index + 1, line.to_vec());
            if let Some(done) = self.pending.replace(started) {
                return Some(done);
            }
        }
        self.pending.take()
    }
}

/// Splits one logical line into name, parameters and value.
pub fn parse_content_line(line: &str, line_no: usize) -> Result<ContentLine, String> {
    let bytes = line.as_bytes();
    let name_end = line.find([';', ':']).ok_or_else(not_a_content_line)?;
    let name = line[..name_end].trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(not_a_content_line());
    }
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    let mut pos = name_end;
    while bytes.get(pos) == Some(&b';') {
        pos += 1;
        // An empty parameter (`DTSTART;;VALUE=…`) is skipped.
        if matches!(bytes.get(pos), Some(b';') | Some(b':')) {
            continue;
        }
        let eq = match line[pos..].find(['=', ':', ';']) {
            Some(off) if bytes[pos + off] == b'=' => pos + off,
            // A parameter without "=": keep its name with no value.
            Some(off) => {
                params.push((line[pos..pos + off].trim().to_ascii_uppercase(), Vec::new()));
                pos += off;
                continue;
            }
            None => return Err(no_value(name)),
        };
        let pname = line[pos..eq].trim().to_ascii_uppercase();
        pos = eq + 1;
        let mut values = Vec::new();
        loop {
            let (value, next) = read_param_value(line, pos);
            values.push(value);
            pos = next;
            if bytes.get(pos) == Some(&b',') {
                pos += 1;
                continue;
            }
            break;
        }
        params.push((pname, values));
    }
    if bytes.get(pos) == Some(&b':') {
        return Ok(ContentLine {
            name: name.to_ascii_uppercase(),
            params,
            value: line[pos + 1..].to_string(),
            line: line_no,
        });
    }
    // Exchange sometimes writes `DTSTART;TZID="Zone:20200609T090000"`: the
    // value ended up inside the quotes. Split the last quoted value at its
    // last colon.
    if let Some((_, values)) = params.last_mut() {
        if let Some(last) = values.last_mut() {
            if let Some(colon) = last.rfind(':') {
                let value = last[colon + 1..].trim_matches('"').to_string();
                last.truncate(colon);
                return Ok(ContentLine {
                    name: name.to_ascii_uppercase(),
                    params,
                    value,
                    line: line_no,
                });
            }
        }
    }
    Err(no_value(name))
}

// The messages name the line (by number, in the warning) and never quote
// it: a broken line is often the middle of a description, whose text must
// not reach logs or `status` (private events, issue 12).
fn not_a_content_line() -> String {
    "not a content line (no property name before ':' or ';')".to_string()
}

fn no_value(name: &str) -> String {
    format!("no value in {} (no ':')", name.to_ascii_uppercase())
}

/// Reads one parameter value starting at `pos`; returns it and the position
/// after it. Quoted values may hold `;`, `:` and `,`; RFC 6868 `^n`, `^^`,
/// `^'` are decoded. In unquoted values, a backslash before `,;:\` is taken
/// as an escape: not standard, but real files write `CN=Doe\, John`.
fn read_param_value(line: &str, mut pos: usize) -> (String, usize) {
    let bytes = line.as_bytes();
    let mut out = String::new();
    // Folding may leave a space before the value (`DELEGATED-FROM=\n  "…"`).
    while bytes.get(pos) == Some(&b' ') && bytes.get(pos + 1) == Some(&b'"') {
        pos += 1;
    }
    if bytes.get(pos) == Some(&b'"') {
        let start = pos + 1;
        match line[start..].find('"') {
            Some(off) => {
                out.push_str(&decode_caret(&line[start..start + off]));
                pos = start + off + 1;
                // Text after the closing quote up to the next delimiter is kept.
                while let Some(&b) = bytes.get(pos) {
                    if b == b';' || b == b':' || b == b',' {
                        break;
                    }
                    let ch = line[pos..]
                        .chars()
                        .next()
                        .expect("pos is on a char boundary");
                    out.push(ch);
                    pos += ch.len_utf8();
                }
                return (out, pos);
            }
            // An unterminated quote: take the rest of the line as the value
            // of this parameter; the caller then looks for the colon in it.
            None => return (line[start..].to_string(), line.len()),
        }
    }
    let mut chars = line[pos..].char_indices().peekable();
    while let Some((off, ch)) = chars.next() {
        match ch {
            ';' | ':' | ',' => return (out, pos + off),
            '\\' => match chars.peek() {
                Some(&(_, next)) if matches!(next, ',' | ';' | ':' | '\\') => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            _ => out.push(ch),
        }
    }
    (out, line.len())
}

fn decode_caret(value: &str) -> String {
    if !value.contains('^') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '^' {
            match chars.peek() {
                Some('n') | Some('N') => {
                    out.push('\n');
                    chars.next();
                }
                Some('^') => {
                    out.push('^');
                    chars.next();
                }
                Some('\'') => {
                    out.push('"');
                    chars.next();
                }
                _ => out.push('^'),
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// TEXT unescaping (RFC 5545 §3.3.11): `\n` `\N` → newline, `\,` `\;` `\\`
/// → the character; an unknown escape keeps the character after the
/// backslash.
pub fn unescape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('n') | Some('N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_space_and_tab_continuations_and_keeps_first_line_number() {
        let text = "\u{feff}BEGIN:VEVENT\r\nSUMMARY:Long\r\n  title\r\n\t end\r\n\r\nEND:VEVENT";
        let lines = unfold(text);
        assert_eq!(
            lines,
            vec![
                (1, "BEGIN:VEVENT".into()),
                (2, "SUMMARY:Long title end".into()),
                (6, "END:VEVENT".into())
            ]
        );
    }

    #[test]
    fn quoted_params_may_hold_delimiters() {
        let cl = parse_content_line(
            r#"DTSTAMP;TZID="Greenwich Mean Time:Dublin; London":20110121T195741Z"#,
            7,
        )
        .unwrap();
        assert_eq!(cl.name, "DTSTAMP");
        assert_eq!(cl.param("tzid"), Some("Greenwich Mean Time:Dublin; London"));
        assert_eq!(cl.value, "20110121T195741Z");
        assert_eq!(cl.line, 7);
    }

    #[test]
    fn empty_parameter_and_value_inside_quotes_are_recovered() {
        let cl = parse_content_line("DTSTART;;VALUE=DATE-TIME:20140409T093000", 1).unwrap();
        assert_eq!(cl.param("VALUE"), Some("DATE-TIME"));
        assert_eq!(cl.value, "20140409T093000");
        let cl = parse_content_line(
            r#"DTSTART;TZID="W. Europe Standard Time:20200609T090000""#,
            1,
        )
        .unwrap();
        assert_eq!(cl.param("TZID"), Some("W. Europe Standard Time"));
        assert_eq!(cl.value, "20200609T090000");
    }

    #[test]
    fn backslash_escapes_in_unquoted_params() {
        let cl = parse_content_line(r"ORGANIZER;CN=Doe\, John\; Jr:mailto:j@x.org", 1).unwrap();
        assert_eq!(cl.param("CN"), Some("Doe, John; Jr"));
        assert_eq!(cl.value, "mailto:j@x.org");
    }

    #[test]
    fn garbage_lines_are_errors_not_panics() {
        assert!(parse_content_line("X", 1).is_err());
        assert!(parse_content_line("&nbsp; And a non-breaking space.", 1).is_err());
        assert!(parse_content_line(":value", 1).is_err());
        assert!(parse_content_line("A;B=\"unterminated", 1).is_err());
    }

    #[test]
    fn a_missing_end_does_not_swallow_the_next_event() {
        let (roots, issues) = parse_components(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nBEGIN:VEVENT\nUID:2\nEND:VEVENT\nEND:VCALENDAR\n",
        );
        let events: Vec<&Component> = roots[0].children.iter().collect();
        assert_eq!(events.len(), 2);
        assert!(!events[0].closed && events[1].closed);
        assert_eq!(events[1].prop("UID").unwrap().value, "2");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].line, 4);
    }

    #[test]
    fn text_unescaping() {
        assert_eq!(unescape_text(r"a\, b\; c\\d\ne\N"), "a, b; c\\d\ne\n");
    }

    #[test]
    fn components_nest_and_missing_end_is_tolerated() {
        let (roots, issues) = parse_components("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nBEGIN:VALARM\nACTION:DISPLAY\nEND:VALARM\nEND:VEVENT\nX\n");
        assert_eq!(roots.len(), 1);
        assert!(!roots[0].closed);
        let event = &roots[0].children[0];
        assert!(event.closed);
        assert_eq!(event.prop("UID").unwrap().value, "1");
        assert_eq!(event.children[0].name, "VALARM");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].line, 8);
    }
}
