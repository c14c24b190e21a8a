//! The systemd notification protocol (sd_notify): READY, STATUS, WATCHDOG
//! and STOPPING datagrams to `$NOTIFY_SOCKET`. Without the variable (run by
//! hand, in tests that do not listen) every call is a no-op. A failed send is
//! logged at debug level only: the daemon must never stop because the
//! service manager went away.

use std::time::Duration;

use sd_notify::NotifyState;

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

pub fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// Half the watchdog interval systemd asks for (`WatchdogSec=` →
/// `$WATCHDOG_USEC`), or `None` when no watchdog is configured.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

fn send(states: &[NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}
