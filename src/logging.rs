//! Log output: which events are written (the filter from `MEETLEDGER_LOG`,
//! else `RUST_LOG`, else `warn`) and how each line looks. No line carries a
//! secret value read by this process (`secrets::scrub`), at any level. Every
//! line is one line: control characters that reach a message from calendar titles,
//! provider error bodies or file names (ESC, CR, LF…) are escaped, so data
//! can neither forge a log line nor drive the terminal. Under systemd
//! (`JOURNAL_STREAM` set) each line starts with its syslog priority (`<3>`
//! for errors…, sd-daemon(3)), so `journalctl -p err` finds failed jobs.

use std::fmt::{self, Write as _};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The filter the process logs with. A filter that cannot be parsed is an
/// error naming the variable: a typo must not silently hide the debug
/// output the administrator asked for.
pub fn filter_from_env() -> Result<EnvFilter, String> {
    for var in ["MEETLEDGER_LOG", "RUST_LOG"] {
        let Ok(value) = std::env::var(var) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        return EnvFilter::builder()
            .parse(&value)
            .map_err(|e| format!("{var}={}: {e}", escape_controls(&value)));
    }
    Ok(EnvFilter::new("warn"))
}

/// `true` when stderr goes to the journal (systemd sets `JOURNAL_STREAM`).
pub fn under_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some()
}

/// Wraps an event formatter: escapes control characters and, for the
/// journal, prefixes the syslog priority.
pub struct SafeLines<F> {
    inner: F,
    journal: bool,
}

impl<F> SafeLines<F> {
    pub fn new(inner: F, journal: bool) -> SafeLines<F> {
        SafeLines { inner, journal }
    }
}

impl<S, N, F> FormatEvent<S, N> for SafeLines<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        if self.journal {
            write!(writer, "<{}>", syslog_priority(*event.metadata().level()))?;
        }
        writer.write_str(&escape_controls(&crate::secrets::scrub(line)))?;
        writer.write_char('\n')
    }
}

/// sd-daemon(3) priorities: err, warning, info, debug.
pub fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Control characters written as escapes (`\n`, `\r`, `\u{1b}`…); tabs
/// and printable text are kept.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_escaped(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn is_escaped(c: char) -> bool {
    // C0 and C1 controls (C1 includes the 8-bit CSI, U+009B) and DEL, plus
    // the Unicode line and paragraph separators some terminals break on.
    (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_lines_or_drive_the_terminal() {
        let hostile = "Встреча\r\n2026-11-29 ERROR forged\u{1b}[2J\u{9b}31m";
        let escaped = escape_controls(hostile);
        assert!(!escaped.chars().any(|c| c.is_control()));
        assert_eq!(
            escaped,
            "Встреча\\r\\n2026-11-29 ERROR forged\\u{1b}[2J\\u{9b}31m"
        );
        assert_eq!(escape_controls("tab\tstays"), "tab\tstays");
    }

    #[test]
    fn journal_priorities_follow_sd_daemon() {
        assert_eq!(syslog_priority(Level::ERROR), 3);
        assert_eq!(syslog_priority(Level::WARN), 4);
        assert_eq!(syslog_priority(Level::INFO), 6);
        assert_eq!(syslog_priority(Level::TRACE), 7);
    }
}
