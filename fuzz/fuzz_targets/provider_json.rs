//! Fuzz target for the provider JSON mappings: the first byte picks one of
//! Google event, Microsoft Graph event, RetailCRM / amoCRM / Bitrix24 /
//! HubSpot / REST record (see `meetledger::fuzzing::provider_name`), the
//! rest is parsed as JSON (skipped when it is not) and mapped to an
//! occurrence, client or order. Must never panic; the checks live in
//! `meetledger::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    meetledger::fuzzing::provider_json(data);
});
