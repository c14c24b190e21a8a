//! `meetledger run`: the long-running service (issue 6). Owns the job
//! schedule, the signals and the conversation with systemd; the work itself
//! is `pipeline` (sync, score) and `notify` (emails).
//!
//! - Jobs run on cron schedules in the company's zone ([`schedule`]): `sync`
//!   (then score) and `email`. One job runs at a time, so a job never
//!   overlaps itself; a slot that comes while its job is running or queued
//!   is merged into the queued run.
//! - A slot that passed while the daemon was down runs once at start-up
//!   (the last finished slot of each job is kept in the store); `sync` also
//!   runs at start-up when it never ran.
//! - A failing job is logged and recorded; it runs again at its next slot
//!   (emails that failed to send are retried sooner, with backoff).
//! - SIGTERM/SIGINT: no new job starts; the running one gets
//!   [`STOP_GRACE`] to finish, then is dropped at its next await point. The
//!   store never holds a transaction across an await, so dropping can only
//!   happen between transactions; a scoring transaction still running on
//!   its blocking thread at exit is rolled back by SQLite. Exit code 0.
//! - SIGHUP: the config is read and validated again; a bad one is logged
//!   and the old one keeps running.
//! - sd_notify: READY=1 once the config and the database are open, STATUS=
//!   for the current job, WATCHDOG=1 from the main loop (so a hung loop is
//!   noticed), STOPPING=1.

pub mod schedule;
mod systemd;

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::Config;
use crate::ledger::Store;
use crate::pipeline;
use schedule::JobSchedule;

/// How long a running job may go on after SIGTERM before it is dropped.
/// Long work stops at its next batch when asked (`crate::shutdown`), and
/// what it wrote is rolled back either way, so a short grace loses nothing
/// and keeps a stop within 5 s, far inside the unit's TimeoutStopSec.
pub const STOP_GRACE: StdDuration = StdDuration::from_secs(4);

/// The loop wakes at least this often to re-read the wall clock, so a clock
/// step or a suspend delays a job by at most this much.
const MAX_SLEEP: StdDuration = StdDuration::from_secs(30);

/// First delay before re-sending emails that failed; doubled each time up
/// to [`EMAIL_RETRY_MAX`], and given up [`EMAIL_RETRY_FOR`] after the slot
/// (the next day's email takes over).
const EMAIL_RETRY_FIRST: i64 = 5 * 60;
const EMAIL_RETRY_MAX: i64 = 60 * 60;
const EMAIL_RETRY_FOR_HOURS: i64 = 12;

/// A scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Pull every source, then classify, score and book.
    Sync,
    /// The nightly emails.
    Email,
}

impl Job {
    pub fn as_str(self) -> &'static str {
        match self {
            Job::Sync => "sync",
            Job::Email => "email",
        }
    }
}

/// Where "now" comes from: the wall clock, or (with `--now`) a fixed start
/// that advances with tokio's clock, which tests can pause and advance.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    Wall,
    Offset {
        base: DateTime<Utc>,
        started: tokio::time::Instant,
    },
}

impl Clock {
    pub fn starting_at(fixed: Option<DateTime<Utc>>) -> Clock {
        match fixed {
            None => Clock::Wall,
            Some(base) => Clock::Offset {
                base,
                started: tokio::time::Instant::now(),
            },
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::Wall => Utc::now(),
            Clock::Offset { base, started } => {
                *base + Duration::from_std(started.elapsed()).unwrap_or_default()
            }
        }
    }
}

/// One job's place in the schedule.
#[derive(Debug, Clone)]
struct Planned {
    job: Job,
    schedule: JobSchedule,
    next: Option<DateTime<Utc>>,
    /// Local date of the last slot run, for once-per-day jobs.
    done_day: Option<NaiveDate>,
}

/// Which job runs when: the pure part of the loop, driven by the caller's
/// clock.
#[derive(Debug, Clone)]
pub struct Scheduler {
    jobs: Vec<Planned>,
}

impl Scheduler {
    /// The jobs of a config: `sync` always, `email` when `[email]` is set.
    pub fn new(config: &Config) -> Result<Scheduler> {
        let tz = config.tz();
        let mut jobs = vec![Planned {
            job: Job::Sync,
            schedule: JobSchedule::new(&config.schedule.sync, tz, false)?,
            next: None,
            done_day: None,
        }];
        if let Some(email) = &config.email {
            jobs.push(Planned {
                job: Job::Email,
                schedule: JobSchedule::new(&email.schedule, tz, true)?,
                next: None,
                done_day: None,
            });
        }
        Ok(Scheduler { jobs })
    }

    /// Start-up: given each job's last finished slot, the runs to make now
    /// (missed slots; `sync` when it never ran), and the next slot of each.
    pub fn start(
        &mut self,
        now: DateTime<Utc>,
        last_slot: impl Fn(Job) -> Option<DateTime<Utc>>,
    ) -> Vec<(Job, DateTime<Utc>)> {
        let mut runs = Vec::new();
        for p in &mut self.jobs {
            let last = last_slot(p.job);
            if p.schedule.once_per_day {
                p.done_day = last.map(|t| p.schedule.day_of(t));
            }
            let missed = match last {
                Some(last) => p.schedule.missed(last, now),
                None if p.job == Job::Sync => Some(now),
                None => None,
            };
            if let Some(slot) = missed {
                runs.push((p.job, slot));
                if p.schedule.once_per_day {
                    p.done_day = Some(p.schedule.day_of(slot));
                }
            }
            p.next = p.schedule.next_after(now, p.done_day);
        }
        runs
    }

    /// Jobs whose slot has come, each once with its latest passed slot;
    /// their next slots move on.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<(Job, DateTime<Utc>)> {
        let mut runs = Vec::new();
        for p in &mut self.jobs {
            let Some(next) = p.next else { continue };
            if next > now {
                continue;
            }
            let slot = p
                .schedule
                .fires_between(next - Duration::seconds(1), now, p.done_day)
                .last()
                .copied()
                .unwrap_or(next);
            if p.schedule.once_per_day {
                p.done_day = Some(p.schedule.day_of(slot));
            }
            p.next = p.schedule.next_after(now, p.done_day);
            runs.push((p.job, slot));
        }
        runs
    }

    /// The earliest next slot.
    pub fn next_wakeup(&self) -> Option<DateTime<Utc>> {
        self.jobs.iter().filter_map(|p| p.next).min()
    }

    pub fn next_of(&self, job: Job) -> Option<DateTime<Utc>> {
        self.jobs.iter().find(|p| p.job == job).and_then(|p| p.next)
    }

    /// A new config's schedules, keeping what was already run today.
    fn replaced_by(&self, mut new: Scheduler, now: DateTime<Utc>) -> Scheduler {
        for p in &mut new.jobs {
            if let Some(old) = self.jobs.iter().find(|o| o.job == p.job) {
                p.done_day = old.done_day;
            }
            p.next = p.schedule.next_after(now, p.done_day);
        }
        new
    }
}

/// What a finished job hands back: the store, and a line for the log.
type JobOutput = (Option<Store>, Result<String>);
type Running = Pin<Box<dyn Future<Output = JobOutput> + Send>>;

struct Current {
    job: Job,
    slot: DateTime<Utc>,
    future: Running,
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(config_path: PathBuf, fixed_now: Option<DateTime<Utc>>) -> Result<()> {
    let clock = Clock::starting_at(fixed_now);
    let mut config = Arc::new(Config::load(&config_path)?);
    crate::secrets::learn(&config);
    let mut store = Some(crate::cli::open_store(&config)?);
    let mut scheduler = Scheduler::new(&config)?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;

    let mut queue: VecDeque<(Job, DateTime<Utc>)> = VecDeque::new();
    {
        let s = store.as_ref().expect("store just opened");
        let missed = scheduler.start(clock.now(), |job| {
            s.job_last_slot(job.as_str()).ok().flatten()
        });
        queue.extend(missed);
    }
    let watchdog = systemd::watchdog_period();
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(StdDuration::from_secs(3600)));
    tracing::info!(config = %config_path.display(), jobs = ?queue.iter().map(|(j, _)| j.as_str()).collect::<Vec<_>>(), "meetledger started");
    systemd::ready(&idle_status(&scheduler));

    let mut current: Option<Current> = None;
    let mut email_retries: u32 = 0;
    let mut email_retry: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    let mut reopen_store = false;
    let mut stop_deadline: Option<tokio::time::Instant> = None;
    let mut give_up = false;
    // Set while jobs wait for a clock that stepped back to pass this time.
    let mut clock_behind: Option<DateTime<Utc>> = None;

    loop {
        let mut start = None;
        if stop_deadline.is_some() && current.is_none() {
            break;
        }
        // Start the next queued job when none is running.
        if current.is_none() && stop_deadline.is_none() {
            if reopen_store {
                match crate::cli::open_store(&config) {
                    Ok(s) => store = Some(s),
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "cannot open the new ledger; keeping the old one")
                    }
                }
                reopen_store = false;
            }
            if let Some(&(job, slot)) = queue.front() {
                let Some(s) = store
                    .take()
                    .or_else(|| crate::cli::open_store(&config).ok())
                else {
                    queue.pop_front();
                    tracing::error!("the ledger cannot be opened; the job is skipped");
                    continue;
                };
                let now = clock.now();
                // A wall clock that stepped back (a bad NTP source, a VM
                // restored from a snapshot) would make scoring read past
                // meetings as future ones and book their removal: wait,
                // job queued, until the clock passes the ledger's last run.
                match s.last_worked_at() {
                    Ok(Some(last)) if now < last => {
                        store = Some(s);
                        if clock_behind != Some(last) {
                            tracing::warn!(now = %now, last_run = %last, "the clock is behind the ledger's last run; jobs wait until it passes");
                            systemd::status(&format!(
                                "waiting: the clock is behind the last run at {}",
                                last.with_timezone(&config.tz())
                                    .format("%Y-%m-%d %H:%M:%S %Z")
                            ));
                            clock_behind = Some(last);
                        }
                    }
                    Err(e) => {
                        queue.pop_front();
                        store = Some(s);
                        tracing::error!(error = %format!("{e:#}"), "the job is skipped");
                    }
                    Ok(_) => {
                        queue.pop_front();
                        clock_behind = None;
                        start = Some((job, slot, s, now));
                    }
                }
            }
        }
        if let Some((job, slot, mut s, now)) = start {
            if let Err(e) = s.record_job_start(job.as_str(), now) {
                tracing::error!(error = %format!("{e:#}"), "cannot record the job start");
            }
            systemd::status(&format!(
                "running {} (slot {})",
                job.as_str(),
                slot.with_timezone(&config.tz())
                    .format("%Y-%m-%d %H:%M:%S %Z")
            ));
            tracing::info!(job = job.as_str(), slot = %slot, "job started");
            current = Some(Current {
                job,
                slot,
                future: start_job(job, slot, config.clone(), s, now),
            });
        }

        let now = clock.now();
        let wake = [
            scheduler.next_wakeup(),
            email_retry.map(|(at, _)| at),
            clock_behind,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|t| (t - now).to_std().unwrap_or_default())
        .unwrap_or(MAX_SLEEP)
        .min(MAX_SLEEP);
        let is_running = current.is_some();
        let running_job = current.as_ref().map(|c| c.job);
        let running = async {
            match current.as_mut() {
                Some(c) => (&mut c.future).await,
                None => std::future::pending().await,
            }
        };

        tokio::select! {
            output = running, if is_running => {
                let Current { job, slot, .. } = current.take().expect("a job was running");
                let (returned, result) = output;
                let now = clock.now();
                store = returned;
                let error = result.as_ref().err().map(|e| format!("{e:#}"));
                let stopped = result.as_ref().is_err_and(|e| {
                    e.chain().any(|cause| cause.is::<crate::shutdown::Stopped>())
                });
                match &result {
                    Ok(line) => tracing::info!(job = job.as_str(), "{line}"),
                    Err(_) if stopped => {}
                    Err(_) => tracing::error!(job = job.as_str(), error = error.as_deref().unwrap_or(""), "job failed; it runs again at its next slot"),
                }
                if stopped {
                    // Not a failure, and not done: left unrecorded, the slot
                    // counts as missed and runs once at the next start.
                    tracing::info!(job = job.as_str(), "job stopped before it finished; it runs again at the next start");
                } else if let Some(s) = store.as_mut() {
                    if let Err(e) = s.record_job_finish(job.as_str(), slot, now, error.as_deref()) {
                        tracing::error!(error = %format!("{e:#}"), "cannot record the job result");
                    }
                }
                if job == Job::Email {
                    email_retry = None;
                    if error.is_some() && now < slot + Duration::hours(EMAIL_RETRY_FOR_HOURS) {
                        let delay = (EMAIL_RETRY_FIRST << email_retries.min(6)).min(EMAIL_RETRY_MAX);
                        email_retries += 1;
                        email_retry = Some((now + Duration::seconds(delay), slot));
                        tracing::info!(in_seconds = delay, "emails that failed are retried");
                    } else {
                        email_retries = 0;
                    }
                }
                systemd::status(&idle_status(&scheduler));
            }
            _ = tokio::time::sleep(wake) => {
                let now = clock.now();
                for (job, slot) in scheduler.due(now) {
                    enqueue(&mut queue, running_job, job, slot);
                }
                if let Some((at, slot)) = email_retry {
                    if at <= now {
                        email_retry = None;
                        enqueue(&mut queue, running_job, Job::Email, slot);
                    }
                }
            }
            _ = watchdog_tick.tick(), if watchdog.is_some() => systemd::watchdog(),
            _ = terminate.recv() => begin_stop(&mut stop_deadline, running_job, "SIGTERM"),
            _ = interrupt.recv() => begin_stop(&mut stop_deadline, running_job, "SIGINT"),
            _ = async { tokio::time::sleep_until(stop_deadline.expect("guarded")).await }, if stop_deadline.is_some() && is_running => {
                give_up = true;
            }
            _ = hangup.recv() => {
                match reload(&config_path, &config, &scheduler, clock.now()) {
                    Ok((new, new_scheduler)) => {
                        reopen_store = new.ledger.path != config.ledger.path || new.base_dir != config.base_dir;
                        config = Arc::new(new);
                        scheduler = new_scheduler;
                        tracing::info!(config = %config_path.display(), "configuration reloaded");
                        systemd::status(&idle_status(&scheduler));
                    }
                    Err(e) => {
                        tracing::error!(config = %config_path.display(), error = %format!("{e:#}"), "new configuration rejected; keeping the old one");
                        systemd::status(&format!("config reload rejected; {}", idle_status(&scheduler)));
                    }
                }
            }
        }
        if give_up {
            if let Some(c) = current.take() {
                tracing::warn!(
                    job = c.job.as_str(),
                    grace_seconds = STOP_GRACE.as_secs(),
                    "the job did not finish in time; stopped between transactions"
                );
            }
        }
    }
    tracing::info!("meetledger stopped");
    Ok(())
}

/// Queues a run unless the same job is already queued (the queued run
/// takes the later slot) or running (it runs again after, once).
fn enqueue(
    queue: &mut VecDeque<(Job, DateTime<Utc>)>,
    running: Option<Job>,
    job: Job,
    slot: DateTime<Utc>,
) {
    if let Some(queued) = queue.iter_mut().find(|(j, _)| *j == job) {
        queued.1 = queued.1.max(slot);
        return;
    }
    if running == Some(job) {
        tracing::info!(
            job = job.as_str(),
            "slot reached while the job is still running; it runs once more after"
        );
    }
    queue.push_back((job, slot));
}

fn begin_stop(deadline: &mut Option<tokio::time::Instant>, running: Option<Job>, why: &str) {
    if deadline.is_some() {
        return;
    }
    *deadline = Some(tokio::time::Instant::now() + STOP_GRACE);
    crate::shutdown::request();
    match running {
        Some(job) => tracing::info!(
            signal = why,
            job = job.as_str(),
            "stopping: no new jobs; waiting for the running one"
        ),
        None => tracing::info!(signal = why, "stopping"),
    }
    systemd::stopping("stopping");
}

fn reload(
    path: &Path,
    old: &Config,
    scheduler: &Scheduler,
    now: DateTime<Utc>,
) -> Result<(Config, Scheduler)> {
    let new = Config::load(path)?;
    let fresh = Scheduler::new(&new)?;
    if new.company.timezone != old.company.timezone {
        tracing::info!(
            from = %old.company.timezone,
            to = %new.company.timezone,
            "time zone changed; schedules follow"
        );
    }
    Ok((new, scheduler.replaced_by(fresh, now)))
}

fn idle_status(scheduler: &Scheduler) -> String {
    let at = |job| {
        scheduler.next_of(job).map_or_else(
            || "—".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
    };
    let mut status = format!("idle; next sync {}", at(Job::Sync));
    if scheduler.jobs.iter().any(|p| p.job == Job::Email) {
        status.push_str(&format!(", next email {}", at(Job::Email)));
    }
    status
}

/// The future of one job run. It owns the store while it runs and hands it
/// back (or `None` if a blocking step panicked: the loop reopens it).
fn start_job(
    job: Job,
    slot: DateTime<Utc>,
    config: Arc<Config>,
    store: Store,
    now: DateTime<Utc>,
) -> Running {
    // Its own task: a sync stores what it read synchronously (a large CSV
    // import is minutes of SQLite work), which must not hold up the loop's
    // signals and watchdog pings.
    let task = tokio::spawn(async move {
        match job {
            Job::Sync => sync_and_score(config, store, now).await,
            Job::Email => emails(config, store, slot, now).await,
        }
    });
    Box::pin(async move {
        task.await
            .unwrap_or_else(|e| (None, Err(anyhow::anyhow!("the job stopped: {e}"))))
    })
}

async fn sync_and_score(config: Arc<Config>, mut store: Store, now: DateTime<Utc>) -> JobOutput {
    let summary = match pipeline::sync(&config, &mut store, now).await {
        Ok(summary) => summary,
        Err(e) => return (Some(store), Err(e)),
    };
    let failed: Vec<String> = summary.failed().map(|s| s.id.clone()).collect();
    // Scoring is CPU work of seconds on a large company: off the loop's
    // thread, so signals and watchdog pings are still served.
    let scored = tokio::task::spawn_blocking(move || {
        let result = pipeline::score_and_book(&config, &mut store, now);
        (store, result)
    })
    .await;
    match scored {
        Err(e) => (None, Err(anyhow::anyhow!("scoring stopped: {e}"))),
        Ok((store, Err(e))) => (Some(store), Err(e.context("scoring failed"))),
        Ok((store, Ok(s))) => {
            let line = format!(
                "synced {} sources; {} meetings, entries: {} added, {} rescored, {} removed",
                summary.sources.len(),
                s.meetings,
                s.added,
                s.rescored,
                s.removed
            );
            if failed.is_empty() {
                (Some(store), Ok(line))
            } else {
                (
                    Some(store),
                    Err(anyhow::anyhow!(
                        "{line}; failed sources: {} (see `meetledger status`)",
                        failed.join(", ")
                    )),
                )
            }
        }
    }
}

async fn emails(
    config: Arc<Config>,
    store: Store,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> JobOutput {
    let prepared = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let result = crate::notify::email_config(&config)
                .and_then(|email| crate::notify::schedule(&config, email))
                .and_then(|schedule| {
                    crate::notify::prepare(&config, &store, now, schedule.day_of(slot), None)
                });
            (store, result)
        })
        .await
    };
    let (mut store, envelopes) = match prepared {
        Err(e) => return (None, Err(anyhow::anyhow!("preparing emails stopped: {e}"))),
        Ok((store, Err(e))) => return (Some(store), Err(e)),
        Ok((store, Ok(envelopes))) => (store, envelopes),
    };
    let result = async {
        let email = crate::notify::email_config(&config)?;
        let transport = crate::notify::Transport::from_config(&config, email)?;
        let results = crate::notify::send(&config, &mut store, &transport, &envelopes, now).await?;
        let count =
            |f: fn(&crate::notify::Delivery) -> bool| results.iter().filter(|(_, d)| f(d)).count();
        let sent = count(|d| matches!(d, crate::notify::Delivery::Sent));
        let already = count(|d| matches!(d, crate::notify::Delivery::AlreadySent));
        let failed = count(|d| matches!(d, crate::notify::Delivery::Failed(_)));
        let line = format!("emails: {sent} sent, {already} already sent, {failed} failed");
        if failed > 0 {
            anyhow::bail!(line)
        }
        Ok(line)
    }
    .await
    .context("emails");
    (Some(store), result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!("[company]\nname = \"A\"\ntimezone = \"Europe/Berlin\"\n{extra}");
        Config::parse(&text, Path::new("/tmp/meetledger-test.toml")).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Drives the scheduler through simulated time, as the daemon loop
    /// does: sleep until the next wake-up, take what is due.
    async fn simulate(
        scheduler: &mut Scheduler,
        clock: Clock,
        until: DateTime<Utc>,
    ) -> Vec<(Job, DateTime<Utc>)> {
        let mut runs = scheduler.start(clock.now(), |_| Some(clock.now()));
        while clock.now() < until {
            let wake = scheduler
                .next_wakeup()
                .map(|t| (t - clock.now()).to_std().unwrap_or_default())
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::time::sleep(wake).await;
            runs.extend(scheduler.due(clock.now()));
        }
        runs
    }

    #[tokio::test(start_paused = true)]
    async fn across_the_autumn_change_the_daily_email_runs_once_and_sync_keeps_pace() {
        let config = config(
            "[schedule]\nsync = \"0 0 * * * *\"\n[email]\nfrom = \"m@a.example\"\nschedule = \"0 30 2 * * *\"\n",
        );
        let mut scheduler = Scheduler::new(&config).unwrap();
        // Saturday 12:00 CEST → Monday 12:00 CET, through 2026-10-25.
        let clock = Clock::starting_at(Some(at("2026-10-24T10:00:00Z")));
        let runs = simulate(&mut scheduler, clock, at("2026-10-26T11:00:00Z")).await;
        let emails: Vec<String> = runs
            .iter()
            .filter(|(j, _)| *j == Job::Email)
            .map(|(_, t)| t.to_rfc3339())
            .collect();
        assert_eq!(
            emails,
            [
                "2026-10-25T00:30:00+00:00", // 02:30 CEST; the second 02:30 (CET) is skipped
                "2026-10-26T01:30:00+00:00"
            ]
        );
        // 49 hours of wall time, one of them repeated: 49 hourly syncs.
        assert_eq!(runs.iter().filter(|(j, _)| *j == Job::Sync).count(), 49);
    }

    #[tokio::test(start_paused = true)]
    async fn on_the_spring_day_the_email_in_the_gap_runs_at_the_gap_end() {
        let config = config("[email]\nfrom = \"m@a.example\"\nschedule = \"0 30 2 * * *\"\n");
        let mut scheduler = Scheduler::new(&config).unwrap();
        let clock = Clock::starting_at(Some(at("2026-03-28T12:00:00Z")));
        let runs = simulate(&mut scheduler, clock, at("2026-03-30T12:00:00Z")).await;
        let emails: Vec<String> = runs
            .iter()
            .filter(|(j, _)| *j == Job::Email)
            .map(|(_, t)| t.to_rfc3339())
            .collect();
        assert_eq!(
            emails,
            ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]
        );
    }

    #[test]
    fn at_start_up_a_missed_email_runs_once_and_a_never_run_sync_runs() {
        let config = config("[email]\nfrom = \"m@a.example\"\n");
        let mut scheduler = Scheduler::new(&config).unwrap();
        // Thursday 2026-11-26 12:00 Berlin; last email Tuesday 07:00.
        let runs = scheduler.start(at("2026-11-26T11:00:00Z"), |job| match job {
            Job::Email => Some(at("2026-11-24T06:00:00Z")),
            Job::Sync => None,
        });
        assert_eq!(
            runs,
            [
                (Job::Sync, at("2026-11-26T11:00:00Z")),
                (Job::Email, at("2026-11-26T06:00:00Z"))
            ]
        );
        // Today's email is done: the next is Friday's.
        assert_eq!(
            scheduler.next_of(Job::Email),
            Some(at("2026-11-27T06:00:00Z"))
        );
    }

    #[test]
    fn a_slot_reached_while_the_job_runs_is_queued_once() {
        let mut queue = VecDeque::new();
        enqueue(
            &mut queue,
            Some(Job::Sync),
            Job::Sync,
            at("2026-11-26T11:00:00Z"),
        );
        enqueue(
            &mut queue,
            Some(Job::Sync),
            Job::Sync,
            at("2026-11-26T11:15:00Z"),
        );
        assert_eq!(queue, [(Job::Sync, at("2026-11-26T11:15:00Z"))]);
    }
}
