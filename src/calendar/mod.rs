//! iCalendar normalization (SPEC §3): turns the text of .ics files into
//! occurrences inside a window — recurrence expansion, overrides, time zones.
//! Pure: no file or network I/O; callers hand in the text.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::model::Occurrence;

/// Where and how far to expand.
#[derive(Debug, Clone)]
pub struct ExpandOptions {
    /// Occurrences that end at or before this instant are dropped.
    pub window_start: DateTime<Utc>,
    /// Occurrences that start at or after this instant are dropped.
    pub window_end: DateTime<Utc>,
    /// Zone for floating times and unknown TZIDs (the company's zone).
    pub default_tz: Tz,
    /// Per-series cap on expanded instances; hitting it yields a warning.
    pub max_instances: usize,
}

/// One input file: a name for messages (usually its path) and its text.
#[derive(Debug, Clone)]
pub struct IcsInput {
    pub name: String,
    pub text: String,
}

/// Something that could not be read, or was read with a guess.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseWarning {
    pub file: String,
    pub line: Option<usize>,
    pub uid: Option<String>,
    pub message: String,
    /// True when an event was dropped (counts as a skipped item).
    pub skipped: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ParsedCalendar {
    /// Sorted by (uid, recurrence_id).
    pub occurrences: Vec<Occurrence>,
    pub warnings: Vec<ParseWarning>,
}

/// Parses every file of one calendar and expands its events. Overrides
/// (RECURRENCE-ID) are merged with their master even across files.
pub fn normalize(_files: &[IcsInput], _calendar_id: &str, _opts: &ExpandOptions) -> ParsedCalendar {
    todo!("calendar normalization")
}
