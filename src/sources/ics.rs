//! `ics_file` calendars: one .ics file, or a folder of them read as one
//! calendar (overrides may sit in another file than their master). The
//! cursor is a hash of the files and the window, so an unchanged file is not
//! parsed again on the same day. A file that is empty or cut off fails the
//! read (the stored calendar is kept), as does a path that does not exist.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;

use super::{
    content_cursor, CalendarFetch, CalendarItem, CalendarSource, SourceWarning, SyncContext,
};
use crate::calendar::{normalize, IcsInput};

pub struct IcsFileSource {
    id: String,
    path: PathBuf,
}

impl IcsFileSource {
    pub fn new(id: &str, path: PathBuf) -> IcsFileSource {
        IcsFileSource {
            id: id.to_string(),
            path,
        }
    }
}

/// The .ics files of a path: the file itself, or the folder's `*.ics` files
/// by name (not recursive).
pub fn ics_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ics")))
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

#[async_trait]
impl CalendarSource for IcsFileSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "ics_file"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CalendarFetch> {
        let files = ics_files(&self.path)?;
        let mut contents = Vec::with_capacity(files.len());
        for file in &files {
            let bytes = tokio::fs::read(file)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?;
            contents.push((file, bytes));
        }
        let window = format!(
            "{}..{}",
            ctx.window_start.date_naive(),
            ctx.window_end.date_naive()
        );
        let parts: Vec<&[u8]> = contents.iter().map(|(_, b)| b.as_slice()).collect();
        let new_cursor = content_cursor(&parts, &window);
        if cursor == Some(new_cursor.as_str()) {
            return Ok(CalendarFetch::Unchanged);
        }
        let inputs: Vec<IcsInput> = contents
            .into_iter()
            .map(|(file, bytes)| IcsInput::new(file.display().to_string(), bytes))
            .collect();
        let id = self.id.clone();
        let options = ctx.expand_options();
        // Expansion is CPU work: keep it off the async workers.
        let parsed = tokio::task::spawn_blocking(move || normalize(inputs, &id, &options)).await?;
        // An empty or cut-off file is most often one being rewritten (a
        // `curl -o` or an export in progress): reading it as a calendar
        // without events would book every meeting removed, and added back
        // on the next sync. Fail the read; the stored calendar stays.
        if let Some(first) = parsed.incomplete.first() {
            let what = if first.line.is_none() {
                "is empty or holds no calendar data".to_string()
            } else {
                format!(
                    "is cut off ({})",
                    first.message.trim_start_matches("cut off: ")
                )
            };
            bail!(
                "{} {what}; the calendar is not read until the file is whole again",
                first.file
            );
        }
        let warnings = Vec::from_iter(parsed.warnings.into_iter().map(|w| SourceWarning {
            place: match (w.line, &w.uid) {
                (Some(line), Some(uid)) => format!("{}:{line} (UID {uid})", w.file),
                (Some(line), None) => format!("{}:{line}", w.file),
                (None, Some(uid)) => format!("{} (UID {uid})", w.file),
                (None, None) => w.file.clone(),
            },
            message: w.message,
            skipped: w.skipped,
        }));
        // One item: a file calendar is always read whole.
        let items = vec![CalendarItem {
            key: String::new(),
            occurrences: parsed.occurrences,
        }];
        Ok(CalendarFetch::Full {
            items,
            warnings,
            cursor: new_cursor,
        })
    }
}
