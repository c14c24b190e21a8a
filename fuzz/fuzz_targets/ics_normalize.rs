//! Fuzz target for the ICS reader: arbitrary bytes, read as UTF-8 (lossy),
//! through `meetledger::calendar::normalize` over a window wide enough to
//! reach the recurrence engine. Must never panic, hang or exhaust memory.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use meetledger::calendar::{normalize, ExpandOptions, IcsInput};

fuzz_target!(|data: &[u8]| {
    let opts = ExpandOptions {
        window_start: Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap(),
        window_end: Utc.with_ymd_and_hms(2035, 1, 1, 0, 0, 0).unwrap(),
        default_tz: chrono_tz::Tz::Europe__Moscow,
        max_instances: 10_000,
        limits: Default::default(),
    };
    let input = IcsInput::new("fuzz.ics", data);
    let parsed = normalize(&[input], "fuzz", &opts);
    for o in &parsed.occurrences {
        assert!(o.end >= o.start, "occurrence ends before it starts: {o:?}");
    }
});
