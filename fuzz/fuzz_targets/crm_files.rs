//! Fuzz target for the CSV and JSONL CRM readers (src/sources/crm/files.rs):
//! the first byte picks the reader's options (format, renamed columns,
//! date format, decimal comma, windows-1251, currency conversion), the rest
//! is a clients file, a NUL byte and an orders file. Must never panic:
//! malformed rows are warnings. The checks live in `meetledger::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    meetledger::fuzzing::crm_files(data);
});
