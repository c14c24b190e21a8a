//! Expansion benchmark driver for scripts/bench-ics: owns the generated
//! benchmark calendar and the timed run of `meetledger::calendar::normalize`
//! over .ics files. Measures only; asserts nothing.
//!
//! ```sh
//! # a seeded calendar of 100 000 VEVENTs (single events, recurring series,
//! # overrides and cancellations):
//! cargo run --release --example expand_ics -- generate --events 100000 --seed 1 --out /tmp/big.ics
//! # expand files (each file is its own calendar), print one JSON line:
//! cargo run --release --example expand_ics -- expand --from 2025-10-23T00:00:00Z --to 2026-12-27T00:00:00Z FILE...
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use clap::{Parser, Subcommand};
use meetledger::calendar::{normalize, ExpandOptions, IcsInput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
#[command(about = "Generate and expand .ics files for the expansion benchmark")]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write one calendar of `--events` VEVENTs (masters, overrides and single events together).
    Generate {
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// PRNG seed: the same seed gives the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Expand each file over [from, to) and print
    /// `{"files", "occurrences", "warnings", "read_seconds", "expand_seconds"}`.
    Expand {
        #[arg(long)]
        from: DateTime<Utc>,
        #[arg(long)]
        to: DateTime<Utc>,
        /// Zone of floating times.
        #[arg(long, default_value = "Europe/Moscow")]
        tz: Tz,
        /// Expand the whole list this many times (small corpora).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        files: Vec<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Cmd::Generate { events, seed, out } => generate(events, seed, &out),
        Cmd::Expand {
            from,
            to,
            tz,
            repeat,
            files,
        } => {
            let opts = ExpandOptions {
                window_start: from,
                window_end: to,
                default_tz: tz,
                max_instances: 10_000,
                // Measures expansion: every occurrence of the window.
                limits: meetledger::calendar::limits::EventLimits {
                    max_occurrences: usize::MAX,
                    ..Default::default()
                },
            };
            let (mut occurrences, mut warnings) = (0, 0);
            let (mut read_s, mut expand_s) = (0.0, 0.0);
            for path in files.iter().cycle().take(files.len() * repeat) {
                let t = Instant::now();
                let bytes = std::fs::read(path)?;
                let input = IcsInput::new(path.display().to_string(), bytes);
                read_s += t.elapsed().as_secs_f64();
                let t = Instant::now();
                let parsed = normalize(&[input], "bench", &opts);
                occurrences += parsed.occurrences.len();
                warnings += parsed.warnings.len();
                drop(parsed);
                expand_s += t.elapsed().as_secs_f64();
            }
            println!(
                "{{\"files\": {}, \"occurrences\": {occurrences}, \"warnings\": {warnings}, \
                 \"read_seconds\": {read_s:.4}, \"expand_seconds\": {expand_s:.4}}}",
                files.len() * repeat
            );
            Ok(())
        }
    }
}

/// Zones the generated events are written in (TZID parameters; no
/// VTIMEZONE, as Google and many servers publish).
const ZONES: &[&str] = &[
    "Europe/Moscow",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Yekaterinburg",
];

/// Writes the calendar: about 70 % single events, 30 % recurring series
/// (daily, weekly with BYDAY, monthly by day or by position, yearly; COUNT,
/// UNTIL or unbounded; EXDATEs), a third of the series with one to three
/// overrides (moved or cancelled instances), a few all-day and UTC events.
/// Events start from 2024-01 to 2026-12 so that windows around 2026 cut
/// through every kind of series.
fn generate(events: usize, seed: u64, out: &PathBuf) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = BufWriter::new(File::create(out)?);
    write!(
        w,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//meetledger//bench-ics//EN\r\n"
    )?;
    let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let fmt = |t: NaiveDateTime| t.format("%Y%m%dT%H%M%S").to_string();
    let mut written = 0;
    let mut n = 0;
    while written < events {
        n += 1;
        let uid = format!("bench-{seed}-{n}@meetledger");
        let day = base + Duration::days(rng.random_range(0..1095));
        let start = day
            .and_hms_opt(
                rng.random_range(7..20),
                [0, 15, 30, 45][rng.random_range(0..4)],
                0,
            )
            .unwrap();
        let minutes = [30, 45, 60, 90, 120][rng.random_range(0..5)];
        let roll: u32 = rng.random_range(0..100);
        let (when, end) = if roll < 3 {
            // all-day
            (
                format!(";VALUE=DATE:{}", day.format("%Y%m%d")),
                format!(";VALUE=DATE:{}", (day + Duration::days(1)).format("%Y%m%d")),
            )
        } else if roll < 10 {
            (
                format!(":{}Z", fmt(start)),
                format!(":{}Z", fmt(start + Duration::minutes(minutes))),
            )
        } else {
            let zone = ZONES[rng.random_range(0..ZONES.len())];
            (
                format!(";TZID={zone}:{}", fmt(start)),
                format!(";TZID={zone}:{}", fmt(start + Duration::minutes(minutes))),
            )
        };
        let status = if rng.random_range(0..50) == 0 {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        write!(
            w,
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART{when}\r\nDTEND{end}\r\n\
             SUMMARY:Meeting {n}\r\nSTATUS:{status}\r\n"
        )?;
        written += 1;
        let recurring = rng.random_range(0..100) < 30 && roll >= 3;
        if !recurring {
            write!(w, "END:VEVENT\r\n")?;
            continue;
        }
        let until = start + Duration::days(rng.random_range(30..700));
        let bound = match rng.random_range(0..3) {
            0 => format!(";COUNT={}", rng.random_range(2..120)),
            1 => format!(";UNTIL={}Z", fmt(until)),
            _ => String::new(),
        };
        let weekday = ["MO", "TU", "WE", "TH", "FR"][rng.random_range(0..5)];
        let rule = match rng.random_range(0..10) {
            0 => "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR".to_string(),
            1..=5 => format!(
                "FREQ=WEEKLY;INTERVAL={};BYDAY={weekday}",
                rng.random_range(1..3)
            ),
            6 | 7 => format!("FREQ=MONTHLY;BYDAY=1{weekday}"),
            8 => "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1".to_string(),
            _ => "FREQ=YEARLY".to_string(),
        };
        write!(w, "RRULE:{rule}{bound}\r\n")?;
        if rng.random_range(0..4) == 0 {
            // An EXDATE that may or may not hit an instance, as in life.
            let ex = start + Duration::weeks(rng.random_range(1..20));
            write!(w, "EXDATE{}\r\n", when.replace(&fmt(start), &fmt(ex)))?;
        }
        write!(w, "END:VEVENT\r\n")?;
        if rng.random_range(0..3) == 0 {
            for _ in 0..rng.random_range(1..4) {
                if written >= events {
                    break;
                }
                // Overrides keyed by a week multiple of DTSTART: an instance
                // for weekly series, a "moved into the series" for others.
                let rid = start + Duration::weeks(rng.random_range(1..30));
                let moved = rid + Duration::hours(rng.random_range(-3..4));
                let cancelled = rng.random_range(0..3) == 0;
                write!(
                    w,
                    "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nRECURRENCE-ID{}\r\n\
                     DTSTART{}\r\nDTEND{}\r\nSUMMARY:Meeting {n} (changed)\r\nSTATUS:{}\r\nEND:VEVENT\r\n",
                    when.replace(&fmt(start), &fmt(rid)),
                    when.replace(&fmt(start), &fmt(moved)),
                    when.replace(&fmt(start), &fmt(moved + Duration::minutes(minutes))),
                    if cancelled { "CANCELLED" } else { "CONFIRMED" },
                )?;
                written += 1;
            }
        }
    }
    write!(w, "END:VCALENDAR\r\n")?;
    w.flush()?;
    Ok(())
}
