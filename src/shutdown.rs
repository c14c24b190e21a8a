//! A process-wide stop request. The daemon sets it on SIGTERM/SIGINT; long
//! work (a streamed CRM import, the scorer's batches) checks it between
//! batches and gives up with [`Stopped`], so its transaction rolls back and
//! the process can exit within seconds at any load instead of after the
//! batch of minutes it was in. Nothing else reads it.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every running piece of long work to stop at its next check.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The error long work returns when a stop was requested: the step under
/// way is rolled back (what earlier steps committed, e.g. other sources of
/// a sync, stays); the next run does the rest.
#[derive(Debug, thiserror::Error)]
#[error("stopped on request; the unfinished step was rolled back")]
pub struct Stopped;

/// `Err(Stopped)` once a stop was requested.
pub fn check() -> Result<(), Stopped> {
    if requested() {
        Err(Stopped)
    } else {
        Ok(())
    }
}
