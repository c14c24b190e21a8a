//! `meetledger man`: the man page, meetledger(1). The name, synopsis and
//! options come from the command-line definition (clap_mangen); the
//! commands, exit status, environment, files and signals are written here.
//! Commands are listed in this one page: clap_mangen's own list refers to a
//! page per subcommand (`meetledger-sync(1)`…), which the package does not
//! ship.

use std::io::Write;

/// Writes the page as roff.
pub fn render(command: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;

    writeln!(out, ".SH COMMANDS")?;
    let mut subcommands: Vec<&clap::Command> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .collect();
    subcommands.sort_by_key(|c| c.get_display_order());
    for sub in subcommands {
        writeln!(out, ".TP\n\\fB{}\\fR", escape(sub.get_name()))?;
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            writeln!(out, "{}", escape(&about.to_string()))?;
        }
    }
    writeln!(
        out,
        ".PP\nEach command accepts \\fB--help\\fR for its own options."
    )?;
    out.write_all(FIXED_SECTIONS.as_bytes())?;
    man.render_version_section(out)?;
    Ok(())
}

/// roff: a leading dot or quote would start a request; backslashes escape.
fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const FIXED_SECTIONS: &str = r#".SH EXIT STATUS
.TP
\fB0\fR
Success.
.TP
\fB1\fR
A runtime failure: a source failed (the other sources were still synced), a job failed, an email could not be sent.
.TP
\fB2\fR
Bad usage or a bad configuration (errors name file, line and key). The systemd unit does not restart on this status.
.SH ENVIRONMENT
.TP
\fBMEETLEDGER_CONFIG\fR
The configuration file when \fB--config\fR is not given (default \fI/etc/meetledger/meetledger.toml\fR).
.TP
\fBMEETLEDGER_LOG\fR
The log filter: \fBerror\fR, \fBwarn\fR (default), \fBinfo\fR, \fBdebug\fR, \fBtrace\fR, or directives such as \fBmeetledger::sources=debug\fR. A filter that cannot be parsed is an error (exit status 2).
.TP
\fBRUST_LOG\fR
The log filter when \fBMEETLEDGER_LOG\fR is not set.
.TP
\fBJOURNAL_STREAM\fR
Set by systemd when stderr goes to the journal: each log line then starts with its syslog priority, so \fBjournalctl -p err\fR shows failed jobs.
.TP
\fBCREDENTIALS_DIRECTORY\fR
Set by systemd for \fBLoadCredential=\fR: secrets given as \fB{ credential = "NAME" }\fR are read from it.
.TP
\fBNOTIFY_SOCKET\fR, \fBWATCHDOG_USEC\fR
Set by systemd for \fBType=notify\fR and \fBWatchdogSec=\fR: readiness, status lines and watchdog pings.
.SH FILES
.TP
\fI/etc/meetledger/meetledger.toml\fR
The configuration (see \fI/usr/share/doc/meetledger/example.toml\fR).
.TP
\fI/var/lib/meetledger/ledger.db\fR
The ledger: an SQLite database (with \fI-wal\fR and \fI-shm\fR files beside it), created mode 0600. Safe to read with other SQLite tools while the daemon runs.
.TP
\fI/var/lib/meetledger/ledger.db.send-lock\fR, \fI/var/lib/meetledger/ledger.db.open-lock\fR
Locks taken while emails are sent and while the ledger is created or migrated.
.TP
\fI/lib/systemd/system/meetledger.service\fR
The systemd unit.
.TP
\fI/usr/share/doc/meetledger/README.md\fR
The full manual: configuration, sources, rules, the daemon and emails.
.SH SIGNALS
.TP
\fBSIGHUP\fR
Re-reads the configuration (\fBsystemctl reload meetledger\fR). A bad one is logged with file, line and key and the old one keeps running.
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
No new job starts; the running one stops at its next batch (at most 4 seconds), then the process exits with status 0; what it had not committed is done again by the next run. The ledger is written only in transactions, so a stop never leaves half a change.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_the_sections_an_administrator_looks_for_and_no_missing_references() {
        let mut out = Vec::new();
        render(
            <crate::cli::Cli as clap::CommandFactory>::command(),
            &mut out,
        )
        .unwrap();
        let page = String::from_utf8(out).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH COMMANDS",
            ".SH EXIT STATUS",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH SIGNALS",
        ] {
            assert!(page.contains(section), "no {section}");
        }
        assert!(page.contains("\\fBsync\\fR") && page.contains("\\fBclose\\fR"));
        // Only meetledger(1) is shipped: no meetledger-<command>(1) pages.
        assert!(!page.contains("meetledger-"), "refers to unshipped pages");
    }
}
