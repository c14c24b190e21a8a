//! The `meetledger` binary: parses the command line, sets up logging, runs
//! the command and maps errors to exit codes (0 ok, 1 runtime failure,
//! 2 bad usage or bad config).

use clap::Parser;
use meetledger::cli::{Cli, LogFormat, UsageError};
use meetledger::config::ConfigErrors;

fn main() {
    // A panic message can quote data (a provider's answer): shown scrubbed
    // of secrets and escaped, like every log line.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        eprintln!(
            "meetledger: internal error{place}: {}",
            meetledger::logging::escape_controls(&meetledger::secrets::scrub(&message))
        );
    }));
    let cli = Cli::parse();
    if let Err(message) = init_logging(cli.log_format) {
        eprintln!("meetledger: bad log filter {message}");
        std::process::exit(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("meetledger: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(meetledger::cli::run(cli)) {
        Ok(code) => code,
        // `meetledger meetings | head`: the reader left; nothing to report.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let usage = e.downcast_ref::<ConfigErrors>().is_some()
                || e.downcast_ref::<UsageError>().is_some();
            let message = meetledger::secrets::scrub(&format!("{e:#}")).into_owned();
            eprintln!("meetledger: {message}");
            if usage {
                2
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(format: LogFormat) -> Result<(), String> {
    use meetledger::logging::{filter_from_env, under_journal, SafeLines};
    let filter = filter_from_env()?;
    let journal = under_journal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .event_format(SafeLines::new(
                tracing_subscriber::fmt::format().json(),
                journal,
            ))
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .init(),
        // The journal stamps each line itself.
        LogFormat::Text => builder
            .event_format(SafeLines::new(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_ansi(false),
                journal,
            ))
            .init(),
    }
    Ok(())
}
