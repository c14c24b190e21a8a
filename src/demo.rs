//! `meetledger demo`: the whole pipeline on the sample company bundled in
//! the binary (`examples/demo/`), in a temporary folder, at a fixed "now",
//! printing the month's report. Needs no setup beyond building.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use include_dir::{include_dir, Dir, DirEntry};

use crate::config::Config;
use crate::ledger::period::Period;
use crate::pipeline;
use crate::report::render_table;

fn is_empty_or_missing(folder: &Path) -> Result<bool> {
    match std::fs::read_dir(folder) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", folder.display())),
    }
}

static DEMO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/examples/demo");

/// The demo's fixed "now": a Friday evening in Moscow near the month's end.
pub const DEMO_NOW: &str = "2026-11-27T18:00:00+03:00";

/// `force`: write into a folder that is not empty. Without it such a folder
/// is refused: it may hold a live configuration and ledger, and the demo
/// would overwrite the one and book irreversible entries into the other.
pub async fn run(folder: Option<&Path>, force: bool, out: &mut impl Write) -> Result<i32> {
    let temp;
    let folder = match folder {
        Some(folder) => {
            if !force && !is_empty_or_missing(folder)? {
                return Err(crate::error::UsageError(format!(
                    "{} is not empty: choose a new or empty folder for the demo company \
                     (or add --force to write into it)",
                    folder.display()
                ))
                .into());
            }
            folder.to_path_buf()
        }
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    write_tree(&DEMO, &folder)?;
    let config = Config::load(&folder.join("meetledger.toml"))?;
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(DEMO_NOW)?.with_timezone(&Utc);
    let mut store = crate::cli::open_store(&config)?;

    writeln!(
        out,
        "meetledger demo: {} at {DEMO_NOW}",
        config.company.name
    )?;
    let summary = pipeline::sync(&config, &mut store, now).await?;
    for s in &summary.sources {
        match &s.result {
            Ok(_) => {
                let skipped = s.warnings.iter().filter(|w| w.skipped).count();
                writeln!(
                    out,
                    "  synced {:<18} {} warnings, {} skipped",
                    s.id,
                    s.warnings.len(),
                    skipped
                )?
            }
            Err(e) => writeln!(out, "  FAILED {}: {e}", s.id)?,
        }
    }
    let scored = pipeline::score_and_book(&config, &mut store, now)?;
    writeln!(
        out,
        "  scored {} meetings, {} ledger entries",
        scored.meetings,
        scored.added + scored.rescored + scored.removed
    )?;
    writeln!(out)?;
    let period = Period::of(now, config.tz());
    let report = pipeline::report(&config, &store, period, now)?;
    write!(out, "{}", render_table(&report))?;
    writeln!(out)?;
    write_emails(&config, &store, now, &folder, out)?;
    writeln!(out)?;
    writeln!(out, "Try: meetledger --config <folder>/meetledger.toml --now {DEMO_NOW} meetings --period {period}")?;
    writeln!(
        out,
        "     (run `meetledger demo --out <folder>` to keep the demo company)"
    )?;
    Ok(0)
}

/// The nightly emails of the demo's "now", as .eml files in `outbox/`
/// (paths printed relative to the demo folder, so the output is the same
/// wherever it runs). The bundled config has no `[email]` table; the demo
/// uses one with the company's domain.
fn write_emails(
    config: &Config,
    store: &crate::ledger::Store,
    now: DateTime<Utc>,
    folder: &Path,
    out: &mut impl Write,
) -> Result<()> {
    let mut config = config.clone();
    let domain = config
        .company
        .domains
        .first()
        .cloned()
        .unwrap_or_else(|| "example.com".into());
    let email = config
        .email
        .get_or_insert_with(|| crate::config::EmailConfig {
            from: format!("meetledger@{domain}"),
            head: vec![format!("head@{domain}")],
            schedule: "0 0 7 * * Mon-Fri".into(),
            transport: crate::config::EmailTransport::File,
            folder: "outbox".into(),
            smtp: None,
        });
    let from = email.from.clone();
    let outbox_folder = email.folder.clone();
    let outbox = config.resolve(&outbox_folder);
    let day = now.with_timezone(&config.tz()).date_naive();
    let envelopes = crate::notify::prepare(&config, store, now, day, None)?;
    writeln!(out, "  emails ({}):", envelopes.len())?;
    for e in &envelopes {
        let message = e.message(&from, now)?;
        let path =
            crate::notify::deliver::write_eml(&outbox, &e.file_name(), &message.formatted())?;
        let shown = path.strip_prefix(folder).unwrap_or(&path);
        writeln!(out, "    {}", shown.display())?;
    }
    Ok(())
}

fn write_tree(dir: &Dir, target: &Path) -> Result<()> {
    std::fs::create_dir_all(target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    for entry in dir.entries() {
        let name = entry.path().file_name().unwrap_or_default();
        let path = target.join(name);
        match entry {
            DirEntry::Dir(sub) => write_tree(sub, &path)?,
            DirEntry::File(file) => {
                // A ledger left by running the demo in place is not sample data.
                if name.to_string_lossy().contains(".db") {
                    continue;
                }
                std::fs::write(&path, file.contents())
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    Ok(())
}
