//! Errors the binary maps to exit codes. Configuration errors live with the
//! config (`config::ConfigErrors`); everything else is `anyhow` with context.

/// A request that cannot be carried out as asked (exit code 2): a bad
/// argument, a month that cannot be closed yet, an ambiguous event.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
