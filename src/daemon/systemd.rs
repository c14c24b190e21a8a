//! The systemd notification protocol (sd_notify(3)): READY=1, STATUS=,
//! WATCHDOG=1 and STOPPING=1 datagrams to `$NOTIFY_SOCKET`. Without the
//! variable (run by hand) every call is a no-op.
//!
//! Sends never block: a datagram socket whose reader is slow (its queue
//! holds only a few messages) would otherwise stall the daemon's main loop
//! on a STATUS line. A message that cannot be sent at once is dropped and
//! logged at debug level; the daemon never stops because the service
//! manager is not listening.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

pub fn ready(status: &str) {
    send(&format!("READY=1\nSTATUS={status}"));
}

pub fn status(status: &str) {
    send(&format!("STATUS={status}"));
}

pub fn watchdog() {
    send("WATCHDOG=1");
}

pub fn stopping(status: &str) {
    send(&format!("STOPPING=1\nSTATUS={status}"));
}

/// Half the watchdog interval systemd asks for (`WatchdogSec=` →
/// `$WATCHDOG_USEC`, for this process when `$WATCHDOG_PID` is set), or
/// `None` when no watchdog is configured.
pub fn watchdog_period() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim() != std::process::id().to_string() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec) / 2)
}

fn send(message: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let result = (|| -> std::io::Result<usize> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        let bytes = path.as_encoded_bytes();
        match bytes.strip_prefix(b"@") {
            // An abstract socket name (systemd uses these in containers).
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(message.as_bytes(), &addr)
            }
            None => socket.send_to(message.as_bytes(), &path),
        }
    })();
    if let Err(e) = result {
        tracing::debug!(error = %e, "sd_notify message not sent");
    }
}
