//! Writes a synthetic company for benchmarks, in the layout of
//! `examples/demo/`: `meetledger.toml`, `calendars/<manager>.ics`,
//! `crm/clients.csv`, `crm/orders.csv`; and the hostile calendars of the
//! memory test (issue 7). Owns every synthetic input of `scripts/bench`.
//!
//! ```sh
//! # a company (calendars + CRM), optionally with a fixed order volume
//! cargo run --release --example synth_company -- --managers 100 --months 12 --seed 1 --out /tmp/synth
//! cargo run --release --example synth_company -- --managers 1000 --months 24 --orders 5000000 --out /tmp/big
//! # the same, calendars uploaded to a Radicale server (auth none) and read over CalDAV
//! cargo run --release --example synth_company -- --managers 5 --months 3 --radicale http://127.0.0.1:5232 --out /tmp/dav
//! # a CRM edit: 1 % of the orders changed among the last 3 months' (in place)
//! cargo run --release --example synth_company -- --change-orders 1 --seed-change 7 --out /tmp/big
//! # hostile calendars: one ~200 MB file, one with a million tiny events
//! cargo run --release --example synth_company -- --hostile big-ics --size-mb 200 --out /tmp/h1
//! cargo run --release --example synth_company -- --hostile tiny-events --events 1000000 --out /tmp/h2
//! ```
//!
//! Per manager: 30 clients met in person (key accounts visited by weekly
//! series with a moved, a cancelled and an excluded instance; clients known
//! only by name; clients on public mailbox domains; new clients that order
//! twice, once or never after their first meeting), about 15 client meetings
//! a week (in person, online, calls, prospects, a few cancelled or declined, a
//! few shared with a colleague under the same UID), a Monday team meeting, a
//! weekly one-to-one, a daily lunch block for a third of the managers, a
//! vacation week: about 1 000 occurrences a year. Orders: about 100 a year;
//! with `--orders N`, exactly N in all, the extra volume being repeat orders
//! of existing clients (key accounts most) and of a portfolio of clients
//! that order without meetings (see `write_orders`). Deterministic for a
//! given seed. Files are streamed through `BufWriter`s; memory stays small
//! whatever the size.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(about = "Generate a synthetic company (calendars + CRM) for meetledger benchmarks")]
struct Args {
    /// Number of sales managers.
    #[arg(long, default_value_t = 100)]
    managers: usize,
    /// Months of calendar data, ending with `--end`.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Last month covered (YYYY-MM); benchmarks report on it.
    #[arg(long, default_value = "2026-11")]
    end: String,
    /// PRNG seed: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (created; existing files are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Total orders in `crm/orders.csv` (history of 6 months before the
    /// calendars included); default about 100 per manager and year.
    #[arg(long)]
    orders: Option<u64>,
    /// Upload each manager's calendar to this Radicale server (auth none) as
    /// `/<manager>/calendar/` and write `kind = "caldav"` sources.
    #[arg(long)]
    radicale: Option<String>,
    /// Instead of generating: change this percentage of the orders in
    /// `OUT/crm/orders.csv` (amounts, cancellations, a few new orders),
    /// chosen among the last 3 months' orders.
    #[arg(long)]
    change_orders: Option<f64>,
    /// Seed of `--change-orders`.
    #[arg(long, default_value_t = 1)]
    seed_change: u64,
    /// Where `--change-orders` writes (default: in place).
    #[arg(long)]
    change_out: Option<PathBuf>,
    /// Instead of a company: one hostile calendar and a config reading it.
    #[arg(long, value_enum)]
    hostile: Option<Hostile>,
    /// `--hostile big-ics`: size of the file in MiB.
    #[arg(long, default_value_t = 200)]
    size_mb: u64,
    /// `--hostile tiny-events`: number of events.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Hostile {
    /// One big calendar: long descriptions, many attendees, weekly series.
    BigIcs,
    /// One calendar of tiny single events.
    TinyEvents,
}

const DOMAIN: &str = "synth-pack.ru";
/// Clients a manager meets (the calendar picks among these).
const CLIENTS_PER_MANAGER: usize = 30;
/// With `--orders`: one portfolio client (orders, no meetings) per this many
/// orders of the manager's budget.
const ORDERS_PER_PORTFOLIO_CLIENT: u64 = 60;
const TEAM_SIZE: usize = 10;
const ONE_OFFS_PER_WEEK: u32 = 9;
/// Slots of a working day (Moscow time) for one-off meetings.
const SLOTS: [(u32, u32); 7] = [
    (10, 0),
    (11, 0),
    (12, 0),
    (14, 0),
    (15, 0),
    (16, 0),
    (17, 0),
];
const PUBLIC_MAIL: [&str; 5] = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru"];
const PRODUCTS: [&str; 6] = [
    "стретч-плёнка",
    "гофрокороба",
    "паллетная лента",
    "биг-бэги",
    "термоусадка",
    "мешки ПП",
];
const FIRST_NAMES: [&str; 8] = [
    "ivan", "olga", "petr", "anna", "sergey", "maria", "denis", "elena",
];

/// xorshift64*: tiny, fast, good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A unique, pronounceable company word for client `n` (bijective in `n`).
/// Syllables are chosen so that no word starts like a kind keyword
/// (выставк, форум, созвон, звонок, телефон, ярмарк, конференц) or contains an
/// excluded title pattern (обед, отпуск…).
fn company_word(mut n: usize) -> (String, String) {
    const CYR: [&str; 16] = [
        "ба", "ве", "ги", "да", "жу", "за", "ки", "ла", "ми", "не", "пу", "ру", "си", "ту", "ха",
        "ша",
    ];
    const LAT: [&str; 16] = [
        "ba", "ve", "gi", "da", "zhu", "za", "ki", "la", "mi", "ne", "pu", "ru", "si", "tu", "ha",
        "sha",
    ];
    let (mut cyr, mut lat) = (String::new(), String::new());
    // Four syllables at least: 65 536 names before the word grows. The low
    // part is scrambled by an odd multiplier (a bijection mod 2^16) so that
    // neighbours do not look alike.
    let mut low = (n % 65_536).wrapping_mul(40_503).wrapping_add(12_345) % 65_536;
    n /= 65_536;
    for _ in 0..4 {
        cyr.push_str(CYR[low % 16]);
        lat.push_str(LAT[low % 16]);
        low /= 16;
    }
    while n > 0 {
        cyr.push_str(CYR[n % 16]);
        lat.push_str(LAT[n % 16]);
        n /= 16;
    }
    let mut chars = cyr.chars();
    let cap = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default()
        + chars.as_str();
    (cap, lat)
}

#[derive(Clone, Copy, PartialEq)]
enum ClientKind {
    /// Key account: weekly visit series, monthly orders.
    Key,
    /// Known only by name: meetings booked by title.
    NameOnly,
    /// Contact on a public mailbox domain, listed in the CRM's emails.
    PublicMail,
    /// Ordinary client with a corporate domain.
    Domain,
    /// No orders before the first meeting; then twice, once, or never.
    New(NewOutcome),
    /// With `--orders`: orders through the CRM, never met in the calendars;
    /// identified like the others (`Domain`, `PublicMail`, `NameOnly`).
    Portfolio(Contact),
}

#[derive(Clone, Copy, PartialEq)]
enum Contact {
    Domain,
    PublicMail,
    NameOnly,
}

#[derive(Clone, Copy, PartialEq)]
enum NewOutcome {
    Repeat,
    FirstOnly,
    Never,
}

struct Client {
    id: String,
    name: String,
    /// Short form used in titles: the unique word.
    word: String,
    domain: Option<String>,
    email: Option<String>,
    kind: ClientKind,
    /// For new clients: the day of the first meeting.
    first_meeting: Option<NaiveDate>,
}

struct Range {
    start: NaiveDate,
    end: NaiveDate,
}

impl Range {
    fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// An event shared with a colleague: the same UID in the next manager's file.
struct SharedCopy {
    for_manager: usize,
    text: String,
}

#[derive(Default)]
struct Counts {
    clients: usize,
    public_mail_clients: usize,
    name_only_clients: usize,
    orders: usize,
    cancelled_orders: usize,
    vevents: usize,
    series: usize,
    one_off_client_meetings: usize,
    shared: usize,
    prospects: usize,
    cancelled_events: usize,
    declined: usize,
    instances_estimate: usize,
    ics_bytes: u64,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    if let Some(pct) = args.change_orders {
        return change_orders(&args, pct);
    }
    if let Some(kind) = args.hostile {
        return hostile(&args, kind);
    }
    if args.managers == 0 || args.months == 0 {
        eprintln!("--managers and --months must be at least 1");
        std::process::exit(2);
    }
    let end_month = parse_end(&args.end);
    let range = Range {
        start: add_months(end_month, -(args.months as i32 - 1)),
        end: add_months(end_month, 1) - Duration::days(1),
    };
    let started = std::time::Instant::now();
    let out = &args.out;
    fs::create_dir_all(out.join("calendars"))?;
    fs::create_dir_all(out.join("crm"))?;
    write_config(out, args.managers, &range, args.radicale.as_deref())?;

    let mut clients_csv =
        BufWriter::with_capacity(1 << 16, File::create(out.join("crm/clients.csv"))?);
    let mut orders_csv =
        BufWriter::with_capacity(1 << 16, File::create(out.join("crm/orders.csv"))?);
    writeln!(clients_csv, "id,name,domains,emails,manager,key")?;
    writeln!(
        orders_csv,
        "id,client_id,created_at,amount,currency,status,manager"
    )?;

    // `--orders N`: every manager gets N / managers orders (the first ones
    // one more, so that the total is exactly N), and a portfolio of clients
    // without meetings sized to that budget.
    let budget = |m: usize| {
        args.orders.map(|n| {
            let managers = args.managers as u64;
            n / managers + u64::from((m as u64) < n % managers)
        })
    };
    let portfolio = args.orders.map_or(0, |n| {
        (n / args.managers as u64 / ORDERS_PER_PORTFOLIO_CLIENT) as usize
    });

    let mut counts = Counts::default();
    let mut pending_shared: Vec<SharedCopy> = Vec::new();
    for m in 0..args.managers {
        let mut rng = Rng::new(args.seed.wrapping_mul(1_000_003).wrapping_add(m as u64));
        let mut clients = make_clients(m, &range, &mut rng);
        // Portfolio clients and extra orders draw from their own stream, so
        // that `--orders` leaves the calendars as they are.
        let mut order_rng = Rng::new(
            args.seed
                .wrapping_mul(1_000_003)
                .wrapping_add(m as u64)
                .wrapping_add(0x5EED_0000_0000),
        );
        clients.extend(make_portfolio(m, args.managers, portfolio, &mut order_rng));
        for c in &clients {
            write_client_row(&mut clients_csv, c, m)?;
            match c.kind {
                ClientKind::PublicMail | ClientKind::Portfolio(Contact::PublicMail) => {
                    counts.public_mail_clients += 1
                }
                ClientKind::NameOnly | ClientKind::Portfolio(Contact::NameOnly) => {
                    counts.name_only_clients += 1
                }
                _ => {}
            }
        }
        counts.clients += clients.len();
        write_orders(
            &mut orders_csv,
            &clients,
            m,
            &range,
            &mut rng,
            &mut order_rng,
            budget(m),
            &mut counts,
        )?;

        let path = out.join(format!("calendars/{}.ics", manager_id(m)));
        let mut ics = BufWriter::with_capacity(1 << 17, File::create(&path)?);
        let mine: Vec<SharedCopy> = {
            let (mine, rest): (Vec<_>, Vec<_>) =
                pending_shared.drain(..).partition(|s| s.for_manager == m);
            pending_shared = rest;
            mine
        };
        let shared_out = write_calendar(
            &mut ics,
            m,
            args.managers,
            &clients[..CLIENTS_PER_MANAGER],
            &range,
            &mut rng,
            &mut counts,
            mine,
        )?;
        pending_shared.extend(shared_out);
        ics.flush()?;
        counts.ics_bytes += fs::metadata(&path)?.len();
    }
    clients_csv.flush()?;
    orders_csv.flush()?;
    let secs = started.elapsed().as_secs_f64();
    let orders_bytes = fs::metadata(out.join("crm/orders.csv"))?.len();
    let clients_bytes = fs::metadata(out.join("crm/clients.csv"))?.len();

    let pct = |n: usize| 100.0 * n as f64 / counts.clients.max(1) as f64;
    println!(
        "synth_company: {} managers, {} months ({} .. {}), seed {}, into {}",
        args.managers,
        args.months,
        range.start,
        range.end,
        args.seed,
        out.display()
    );
    println!(
        "  clients {} ({} met in calendars, {} portfolio without meetings; public mailbox domains {} = {:.1} %, known only by name {} = {:.1} %)",
        counts.clients,
        args.managers * CLIENTS_PER_MANAGER,
        args.managers * portfolio,
        counts.public_mail_clients,
        pct(counts.public_mail_clients),
        counts.name_only_clients,
        pct(counts.name_only_clients)
    );
    println!(
        "  orders {} ({} cancelled), CSV {:.1} MiB (clients {:.1} MiB)",
        counts.orders,
        counts.cancelled_orders,
        mib(orders_bytes),
        mib(clients_bytes)
    );
    println!(
        "  VEVENTs {} (series {}, one-off client meetings {}, shared copies {}, prospects {}, cancelled {}, declined {})",
        counts.vevents,
        counts.series,
        counts.one_off_client_meetings,
        counts.shared,
        counts.prospects,
        counts.cancelled_events,
        counts.declined
    );
    println!(
        "  occurrences ≈ {} (series expanded, all calendars; [sync] days_back = {} keeps them in the window), ICS {:.1} MiB, generated in {:.2}s",
        counts.instances_estimate,
        days_back(&range),
        mib(counts.ics_bytes),
        secs
    );
    if let Some(url) = &args.radicale {
        upload_to_radicale(url, out, args.managers)?;
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn parse_end(end: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&format!("{end}-01"), "%Y-%m-%d").unwrap_or_else(|_| {
        eprintln!("--end must be YYYY-MM");
        std::process::exit(2);
    })
}

/// The sync window's `days_back` that keeps every generated month in the
/// window for a `--now` up to a month after the last one (at least the
/// default 400).
fn days_back(range: &Range) -> i64 {
    (range.days() + 31).max(400)
}

fn manager_id(m: usize) -> String {
    format!("m{:03}", m + 1)
}

fn manager_email(m: usize) -> String {
    format!("{}@{DOMAIN}", manager_id(m))
}

fn add_months(d: NaiveDate, delta: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + delta;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
}

/// Russian public holidays (fixed dates; bridges ignored).
fn holiday(d: NaiveDate) -> bool {
    matches!(
        (d.month(), d.day()),
        (1, 1..=8) | (2, 23) | (3, 8) | (5, 1) | (5, 9) | (6, 12) | (11, 4)
    )
}

fn workday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holiday(d)
}

fn write_config(
    out: &Path,
    managers: usize,
    range: &Range,
    radicale: Option<&str>,
) -> io::Result<()> {
    let mut w = BufWriter::new(File::create(out.join("meetledger.toml"))?);
    writeln!(
        w,
        "# Synthetic company written by `cargo run --example synth_company`."
    )?;
    writeln!(
        w,
        "[company]\nname = \"ООО «СинтПак»\"\ndomains = [\"{DOMAIN}\"]"
    )?;
    writeln!(w, "timezone = \"Europe/Moscow\"\nlanguage = \"ru\"\n")?;
    writeln!(w, "[ledger]\npath = \"ledger.db\"\n")?;
    writeln!(
        w,
        "[sync]\n# every generated month inside the window\ndays_back = {}\n",
        days_back(range)
    )?;
    writeln!(w, "[scoring]\n# defaults (SPEC §4-5)\n")?;
    for m in 0..managers {
        writeln!(
            w,
            "[[manager]]\nid = \"{}\"\nname = \"Менеджер {}\"\nemail = \"{}\"\nplan = {{ new = 6, existing = 30 }}\n",
            manager_id(m),
            m + 1,
            manager_email(m)
        )?;
    }
    if radicale.is_some() {
        // Radicale runs with auth none: any password, the user names the
        // owner of `/<manager>/`.
        fs::write(out.join("radicale.pass"), "x\n")?;
    }
    for m in 0..managers {
        match radicale {
            Some(url) => writeln!(
                w,
                "[[calendar]]\nid = \"{id}\"\nmanager = \"{id}\"\nkind = \"caldav\"\nurl = \"{url}\"\nusername = \"{id}\"\npassword = {{ file = \"radicale.pass\" }}\n",
                id = manager_id(m),
                url = radicale_collection(url, m)
            )?,
            None => writeln!(
                w,
                "[[calendar]]\nid = \"{id}\"\nmanager = \"{id}\"\nkind = \"ics_file\"\npath = \"calendars/{id}.ics\"\n",
                id = manager_id(m)
            )?,
        }
    }
    writeln!(
        w,
        "[[crm]]\nid = \"main\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\""
    )?;
    w.flush()
}

fn make_clients(m: usize, range: &Range, rng: &mut Rng) -> Vec<Client> {
    (0..CLIENTS_PER_MANAGER)
        .map(|i| {
            let n = m * CLIENTS_PER_MANAGER + i;
            let (word, lat) = company_word(n);
            let kind = match i {
                0..=5 => ClientKind::Key,
                6..=8 => ClientKind::NameOnly,
                9..=12 => ClientKind::PublicMail,
                13..=21 => ClientKind::Domain,
                22 | 23 => ClientKind::New(NewOutcome::Repeat),
                24 | 25 => ClientKind::New(NewOutcome::FirstOnly),
                _ => ClientKind::New(NewOutcome::Never),
            };
            let form = if i % 7 == 3 { "АО" } else { "ООО" };
            let domain = match kind {
                ClientKind::NameOnly | ClientKind::PublicMail => None,
                _ => Some(format!("{lat}.ru")),
            };
            let email = match kind {
                ClientKind::PublicMail => Some(format!(
                    "{}.{lat}@{}",
                    rng.pick(&FIRST_NAMES),
                    rng.pick(&PUBLIC_MAIL)
                )),
                ClientKind::NameOnly => None,
                _ => Some(format!("{}@{lat}.ru", rng.pick(&FIRST_NAMES))),
            };
            let first_meeting = match kind {
                ClientKind::New(_) => {
                    // Somewhere in the range, on a working day.
                    let mut d = range.start + Duration::days(rng.below(range.days() as u64) as i64);
                    while !workday(d) {
                        d += Duration::days(1);
                    }
                    Some(d.min(range.end))
                }
                _ => None,
            };
            Client {
                id: format!("C{:06}", n + 1),
                name: format!("{form} «{word}»"),
                word,
                domain,
                email,
                kind,
                first_meeting,
            }
        })
        .collect()
}

/// With `--orders`: `count` clients of manager `m` that order without
/// meetings: 60 % on a corporate domain, 25 % on a public mailbox (the CRM
/// lists the address), 15 % known only by name.
fn make_portfolio(m: usize, managers: usize, count: usize, rng: &mut Rng) -> Vec<Client> {
    (0..count)
        .map(|j| {
            // After every met client of every manager: names never collide.
            let n = managers * CLIENTS_PER_MANAGER + m * count + j;
            let (word, lat) = company_word(n);
            let contact = match rng.below(100) {
                0..=59 => Contact::Domain,
                60..=84 => Contact::PublicMail,
                _ => Contact::NameOnly,
            };
            let (domain, email) = match contact {
                Contact::Domain => (
                    Some(format!("{lat}.ru")),
                    Some(format!("{}@{lat}.ru", rng.pick(&FIRST_NAMES))),
                ),
                Contact::PublicMail => (
                    None,
                    Some(format!(
                        "{}.{lat}@{}",
                        rng.pick(&FIRST_NAMES),
                        rng.pick(&PUBLIC_MAIL)
                    )),
                ),
                Contact::NameOnly => (None, None),
            };
            Client {
                id: format!("C{:07}", n + 1),
                name: format!("{} «{word}»", if j % 9 == 4 { "ИП" } else { "ООО" }),
                word,
                domain,
                email,
                kind: ClientKind::Portfolio(contact),
                first_meeting: None,
            }
        })
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_client_row(w: &mut impl Write, c: &Client, m: usize) -> io::Result<()> {
    // A few CRM rows list the contact email too (rule `email`), most rely on
    // the domain (rule `domain`).
    let emails = match c.kind {
        ClientKind::PublicMail | ClientKind::Key | ClientKind::Portfolio(Contact::PublicMail) => {
            c.email.clone().unwrap_or_default()
        }
        _ => String::new(),
    };
    writeln!(
        w,
        "{},{},{},{},{},{}",
        c.id,
        csv_field(&c.name),
        c.domain.as_deref().unwrap_or(""),
        emails,
        manager_id(m),
        if c.kind == ClientKind::Key {
            "true"
        } else {
            "false"
        }
    )
}

/// Writes manager `m`'s orders: the base pattern below (about 100 a year),
/// then, when `budget` is given, as many extra repeat orders as make the
/// manager's total exactly `budget` (see `extra_orders`).
#[allow(clippy::too_many_arguments)]
fn write_orders(
    w: &mut impl Write,
    clients: &[Client],
    m: usize,
    range: &Range,
    rng: &mut Rng,
    order_rng: &mut Rng,
    budget: Option<u64>,
    counts: &mut Counts,
) -> io::Result<()> {
    // History starts six months before the calendars, so existing clients are
    // existing from the first day.
    let history = add_months(range.start, -6);
    // The base orders' count, read before the extra ones are added.
    let n = std::cell::Cell::new(0usize);
    let mut repeats_from = Vec::new();
    let mut emit = |w: &mut dyn Write,
                    rng: &mut Rng,
                    c: &Client,
                    day: NaiveDate,
                    base: f64|
     -> io::Result<()> {
        // Nothing after the last generated day: the data ends "now".
        if day > range.end {
            return Ok(());
        }
        n.set(n.get() + 1);
        let cancelled = rng.chance(0.03);
        let amount =
            (base * (0.8 + 0.4 * (rng.below(1000) as f64 / 1000.0)) / 100.0).round() * 100.0;
        let hour = 9 + rng.below(9) as u32;
        let minute = rng.below(60) as u32;
        let created = match rng.below(3) {
            0 => day.format("%Y-%m-%d").to_string(),
            1 => format!(
                "{}T{:02}:{:02}:00+03:00",
                day.format("%Y-%m-%d"),
                hour,
                minute
            ),
            _ => {
                // The same instant in UTC.
                let local = day.and_hms_opt(hour, minute, 0).expect("valid time");
                (local - Duration::hours(3))
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            }
        };
        counts.orders += 1;
        if cancelled {
            counts.cancelled_orders += 1;
        }
        writeln!(
            w,
            "O{:03}-{:05},{},{},{:.2},RUB,{},{}",
            m + 1,
            n.get(),
            c.id,
            created,
            amount,
            if cancelled { "cancelled" } else { "done" },
            manager_id(m)
        )
    };
    for (i, c) in clients.iter().enumerate() {
        match c.kind {
            ClientKind::Key => {
                // Most months; a third of the key accounts fade in the last months.
                let fading = i % 3 == 2;
                let mut month = history;
                while month <= range.end {
                    let late = month > add_months(range.end, -4);
                    if rng.chance(0.6) && (!(fading && late) || rng.chance(0.3)) {
                        let day = month + Duration::days(rng.below(27) as i64);
                        emit(w, rng, c, day, 400_000.0)?;
                    }
                    month = add_months(month, 1);
                }
            }
            ClientKind::NameOnly | ClientKind::PublicMail | ClientKind::Domain => {
                // Every three to six months, at random.
                let mut day = history + Duration::days(rng.below(60) as i64);
                while day <= range.end {
                    emit(w, rng, c, day, 150_000.0)?;
                    day += Duration::days(90 + rng.below(90) as i64);
                }
            }
            ClientKind::New(outcome) => {
                let first = c.first_meeting.expect("new clients have a first meeting");
                let first_order = first + Duration::days(5 + rng.below(50) as i64);
                match outcome {
                    NewOutcome::Never => {}
                    NewOutcome::FirstOnly => emit(w, rng, c, first_order, 200_000.0)?,
                    NewOutcome::Repeat => {
                        emit(w, rng, c, first_order, 200_000.0)?;
                        let repeat = first_order + Duration::days(20 + rng.below(90) as i64);
                        emit(w, rng, c, repeat, 250_000.0)?;
                        repeats_from.push(repeat);
                    }
                }
            }
            ClientKind::Portfolio(_) => {}
        }
    }
    let Some(budget) = budget else {
        return Ok(());
    };
    // Extra volume: repeat orders of clients that already order, spread
    // evenly over each one's active span, in proportion to span × weight.
    // Key accounts weigh most; a fading key account adds nothing in the last
    // four months (the decline the scoring must see); a new client repeats
    // only after its second order; new clients that ordered once or never
    // stay so.
    let mut repeats_from = repeats_from.into_iter();
    let spans: Vec<(usize, NaiveDate, NaiveDate, u64)> = clients
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let (from, to, weight) = match c.kind {
                ClientKind::Key if i % 3 == 2 => (history, add_months(range.end, -4), 12),
                ClientKind::Key => (history, range.end, 12),
                ClientKind::NameOnly | ClientKind::PublicMail | ClientKind::Domain => {
                    (history, range.end, 3)
                }
                ClientKind::New(NewOutcome::Repeat) => {
                    (repeats_from.next()? + Duration::days(1), range.end, 2)
                }
                ClientKind::New(_) => return None,
                ClientKind::Portfolio(_) => (history, range.end, 1),
            };
            (from <= to).then_some((i, from, to, weight))
        })
        .collect();
    let extra = budget.saturating_sub(n.get() as u64);
    let shares: Vec<u64> = spans
        .iter()
        .map(|(_, from, to, weight)| ((*to - *from).num_days() as u64 + 1) * weight)
        .collect();
    let total: u64 = shares.iter().sum::<u64>().max(1);
    // Largest-remainder split, so that the counts add up to `extra` exactly.
    let mut quota: Vec<u64> = shares.iter().map(|s| extra * s / total).collect();
    let mut left = extra - quota.iter().sum::<u64>();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by_key(|&k| std::cmp::Reverse(extra * shares[k] % total));
    for &k in by_remainder.iter().cycle().take(shares.len() * 2) {
        if left == 0 {
            break;
        }
        quota[k] += 1;
        left -= 1;
    }
    let mut days = Vec::new();
    for ((i, from, to, _), count) in spans.iter().zip(quota) {
        let c = &clients[*i];
        let span = (*to - *from).num_days() as u64 + 1;
        days.clear();
        days.extend((0..count).map(|_| *from + Duration::days(order_rng.below(span) as i64)));
        days.sort_unstable();
        let base = match c.kind {
            ClientKind::Key => 120_000.0,
            ClientKind::Portfolio(_) => 40_000.0,
            _ => 80_000.0,
        };
        for day in &days {
            emit(w, order_rng, c, *day, base)?;
        }
    }
    Ok(())
}

/// Writes one content line, folded at 75 octets (RFC 5545 §3.1), never
/// inside a UTF-8 sequence.
fn line(w: &mut impl Write, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut limit = 75;
    while bytes.len() - start > limit {
        let mut cut = start + limit;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        w.write_all(&bytes[start..cut])?;
        w.write_all(b"\r\n ")?;
        start = cut;
        limit = 74;
    }
    w.write_all(&bytes[start..])?;
    w.write_all(b"\r\n")
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            _ => out.push(ch),
        }
    }
    out
}

fn local(d: NaiveDate, h: u32, min: u32) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(h, min, 0).expect("valid time"))
}

/// Time zone style of a manager's export: Outlook (Windows name), Google
/// (one-off events in UTC) or plain IANA.
#[derive(Clone, Copy)]
enum Style {
    Outlook,
    Google,
    Iana,
}

impl Style {
    fn of(m: usize) -> Style {
        match m % 3 {
            0 => Style::Outlook,
            1 => Style::Google,
            _ => Style::Iana,
        }
    }
    fn tzid(self) -> &'static str {
        match self {
            Style::Outlook => "Russian Standard Time",
            _ => "Europe/Moscow",
        }
    }
    fn dt(self, name: &str, t: NaiveDateTime, one_off: bool) -> String {
        match self {
            Style::Google if one_off => format!(
                "{name}:{}",
                (t - Duration::hours(3)).format("%Y%m%dT%H%M%SZ")
            ),
            _ => format!("{name};TZID={}:{}", self.tzid(), t.format("%Y%m%dT%H%M%S")),
        }
    }
}

struct EventOut<'a> {
    uid: String,
    title: String,
    start: NaiveDateTime,
    end: NaiveDateTime,
    location: Option<String>,
    description: Option<String>,
    organizer: Option<(String, String)>,
    attendees: Vec<(String, String, &'a str)>,
    status: &'a str,
    transparent: bool,
    rrule: Option<String>,
    exdates: Vec<NaiveDateTime>,
    recurrence_id: Option<NaiveDateTime>,
}

impl<'a> EventOut<'a> {
    fn new(uid: String, title: String, start: NaiveDateTime, minutes: i64) -> EventOut<'a> {
        EventOut {
            uid,
            title,
            start,
            end: start + Duration::minutes(minutes),
            location: None,
            description: None,
            organizer: None,
            attendees: Vec::new(),
            status: "CONFIRMED",
            transparent: false,
            rrule: None,
            exdates: Vec::new(),
            recurrence_id: None,
        }
    }
}

fn write_event(w: &mut impl Write, style: Style, e: &EventOut) -> io::Result<()> {
    let one_off = e.rrule.is_none() && e.recurrence_id.is_none();
    line(w, "BEGIN:VEVENT")?;
    line(w, &format!("UID:{}", e.uid))?;
    line(w, "DTSTAMP:20261127T120000Z")?;
    line(w, &style.dt("DTSTART", e.start, one_off))?;
    line(w, &style.dt("DTEND", e.end, one_off))?;
    if let Some(r) = &e.rrule {
        line(w, &format!("RRULE:{r}"))?;
    }
    for x in &e.exdates {
        line(w, &style.dt("EXDATE", *x, false))?;
    }
    if let Some(rid) = e.recurrence_id {
        line(w, &style.dt("RECURRENCE-ID", rid, false))?;
    }
    line(w, &format!("SUMMARY:{}", esc(&e.title)))?;
    if let Some(l) = &e.location {
        line(w, &format!("LOCATION:{}", esc(l)))?;
    }
    if let Some(d) = &e.description {
        line(w, &format!("DESCRIPTION:{}", esc(d)))?;
    }
    if let Some((email, name)) = &e.organizer {
        line(w, &format!("ORGANIZER;CN={name}:mailto:{email}"))?;
    }
    for (email, name, partstat) in &e.attendees {
        line(
            w,
            &format!("ATTENDEE;CN={name};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat}:mailto:{email}"),
        )?;
    }
    line(w, &format!("STATUS:{}", e.status))?;
    line(
        w,
        if e.transparent {
            "TRANSP:TRANSPARENT"
        } else {
            "TRANSP:OPAQUE"
        },
    )?;
    if matches!(style, Style::Outlook) {
        line(w, "X-MICROSOFT-CDO-BUSYSTATUS:BUSY")?;
    }
    line(w, "END:VEVENT")
}

fn event_text(style: Style, e: &EventOut) -> String {
    let mut buf = Vec::with_capacity(1024);
    write_event(&mut buf, style, e).expect("writing to memory");
    String::from_utf8(buf).expect("UTF-8")
}

fn until(range: &Range) -> String {
    // End of the last day, Moscow time, in UTC.
    format!("UNTIL={}T205959Z", range.end.format("%Y%m%d"))
}

/// Writes one manager's calendar; returns the copies of shared meetings that
/// belong in a later manager's file.
#[allow(clippy::too_many_arguments)]
fn write_calendar(
    w: &mut impl Write,
    m: usize,
    managers: usize,
    clients: &[Client],
    range: &Range,
    rng: &mut Rng,
    counts: &mut Counts,
    incoming: Vec<SharedCopy>,
) -> io::Result<Vec<SharedCopy>> {
    let style = Style::of(m);
    let me = (manager_email(m), format!("Менеджер {}", m + 1));
    let team = m / TEAM_SIZE;
    let head = (
        format!("head{}@{DOMAIN}", team + 1),
        format!("Руководитель группы {}", team + 1),
    );
    let mut shared_out = Vec::new();
    let mut vevents = 0usize;
    // Weeks run Monday to Friday from the Monday on or before the range start.
    let week0 = range.start - Duration::days(range.start.weekday().num_days_from_monday() as i64);
    let weeks = ((range.end - week0).num_days() / 7 + 1) as usize;

    line(w, "BEGIN:VCALENDAR")?;
    line(w, "VERSION:2.0")?;
    line(
        w,
        match style {
            Style::Outlook => "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
            Style::Google => "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            Style::Iana => "PRODID:-//meetledger//synth_company//RU",
        },
    )?;
    line(w, "METHOD:PUBLISH")?;
    line(w, "BEGIN:VTIMEZONE")?;
    line(w, &format!("TZID:{}", style.tzid()))?;
    for l in [
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0300",
        "TZOFFSETTO:+0300",
    ] {
        line(w, l)?;
    }
    line(w, "TZNAME:MSK")?;
    line(w, "END:STANDARD")?;
    line(w, "END:VTIMEZONE")?;

    // First working day of the range, for series starts.
    let mut first = range.start;
    while !workday(first) {
        first += Duration::days(1);
    }
    let holidays: Vec<NaiveDate> = (0..range.days())
        .map(|i| range.start + Duration::days(i))
        .filter(|d| holiday(*d) && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect();

    // Days of the range from `from` on that match `keep`: series counts.
    let days_from = |from: NaiveDate, keep: &dyn Fn(NaiveDate) -> bool| {
        (0..=(range.end - from).num_days())
            .map(|i| from + Duration::days(i))
            .filter(|d| keep(*d))
            .count()
    };
    let weekday = |d: NaiveDate| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let mut monday = range.start;
    while monday.weekday() != Weekday::Mon {
        monday += Duration::days(1);
    }
    // Monday sales meeting: the same UID in every team member's calendar;
    // internal; holidays excluded.
    let mut standup = EventOut::new(
        format!("standup-team{}@{DOMAIN}", team + 1),
        "Планёрка группы продаж".into(),
        local(monday, 9, 30),
        30,
    );
    standup.organizer = Some(head.clone());
    for k in team * TEAM_SIZE..((team + 1) * TEAM_SIZE).min(managers) {
        standup
            .attendees
            .push((manager_email(k), format!("Менеджер {}", k + 1), "ACCEPTED"));
    }
    standup.rrule = Some(format!("FREQ=WEEKLY;BYDAY=MO;{}", until(range)));
    standup.exdates = holidays
        .iter()
        .filter(|d| d.weekday() == Weekday::Mon)
        .map(|d| local(*d, 9, 30))
        .collect();
    write_event(w, style, &standup)?;
    counts.instances_estimate +=
        days_from(monday, &|d| d.weekday() == Weekday::Mon) - standup.exdates.len();
    // A third of the managers block lunch every weekday (excluded by title).
    if m % 3 == 1 {
        let mut lunch = EventOut::new(
            format!("lunch-{}@{DOMAIN}", manager_id(m)),
            "Обед".into(),
            local(first, 13, 0),
            60,
        );
        lunch.rrule = Some(format!("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;{}", until(range)));
        write_event(w, style, &lunch)?;
        vevents += 1;
        counts.series += 1;
        counts.instances_estimate += days_from(first, &weekday);
    }
    // A weekly one-to-one (internal).
    let mut friday = first;
    while friday.weekday() != Weekday::Fri {
        friday += Duration::days(1);
    }
    let mut one2one = EventOut::new(
        format!("1on1-{}@{DOMAIN}", manager_id(m)),
        "1:1 с руководителем".into(),
        local(friday, 17, 30),
        30,
    );
    one2one.organizer = Some(head.clone());
    one2one
        .attendees
        .push((me.0.clone(), me.1.clone(), "ACCEPTED"));
    one2one.rrule = Some(format!("FREQ=WEEKLY;BYDAY=FR;{}", until(range)));
    write_event(w, style, &one2one)?;
    vevents += 2;
    counts.series += 2;
    counts.instances_estimate += days_from(friday, &|d| d.weekday() == Weekday::Fri);

    // Vacation: one all-day week, no one-off meetings in it.
    let vacation_week = rng.below(weeks as u64) as usize;
    let vac_start = (week0 + Duration::days(vacation_week as i64 * 7)).max(range.start);
    line(w, "BEGIN:VEVENT")?;
    line(w, &format!("UID:vacation-{}@{DOMAIN}", manager_id(m)))?;
    line(w, "DTSTAMP:20261127T120000Z")?;
    line(
        w,
        &format!("DTSTART;VALUE=DATE:{}", vac_start.format("%Y%m%d")),
    )?;
    line(
        w,
        &format!(
            "DTEND;VALUE=DATE:{}",
            (vac_start + Duration::days(5)).format("%Y%m%d")
        ),
    )?;
    line(w, "SUMMARY:Отпуск")?;
    line(w, "TRANSP:TRANSPARENT")?;
    line(w, "END:VEVENT")?;
    vevents += 1;
    counts.instances_estimate += 1;

    // Busy slots per (week, weekday, slot): key-account series take slots 0/1.
    let mut busy = vec![0u64; weeks + 1];
    let slot_bit = |day: usize, slot: usize| 1u64 << (day * SLOTS.len() + slot);

    // Weekly key-account visits: one series per key account, with an EXDATE,
    // a moved instance and a cancelled instance.
    for (i, c) in clients
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ClientKind::Key)
    {
        let day = i % 5;
        let slot = if i < 5 { 0 } else { 1 };
        let mut start_day = range.start;
        while start_day.weekday().num_days_from_monday() as usize != day {
            start_day += Duration::days(1);
        }
        let (h, mi) = SLOTS[slot];
        let mut s = EventOut::new(
            format!("key-{}-{}@{DOMAIN}", manager_id(m), c.id),
            format!("Визит в {}", c.name),
            local(start_day, h, mi),
            90,
        );
        s.location = Some(format!("Склад {}", c.word));
        s.organizer = Some(me.clone());
        s.attendees.push((me.0.clone(), me.1.clone(), "ACCEPTED"));
        if let Some(e) = &c.email {
            s.attendees
                .push((e.clone(), format!("Контакт {}", c.word), "ACCEPTED"));
        }
        s.rrule = Some(format!(
            "FREQ=WEEKLY;{};BYDAY={}",
            until(range),
            ["MO", "TU", "WE", "TH", "FR"][day]
        ));
        let n_inst = ((range.end - start_day).num_days() / 7 + 1) as u64;
        let ex = rng.below(n_inst);
        let moved = (ex + 1 + rng.below(n_inst.max(2) - 1)) % n_inst;
        let cancelled = (moved + 1) % n_inst;
        s.exdates
            .push(local(start_day + Duration::weeks(ex as i64), h, mi));
        write_event(w, style, &s)?;
        vevents += 1;
        counts.series += 1;
        counts.instances_estimate += n_inst as usize - 1;
        for week_busy in busy.iter_mut() {
            *week_busy |= slot_bit(day, slot);
        }
        if n_inst >= 3 && moved != ex && cancelled != ex {
            let rid = local(start_day + Duration::weeks(moved as i64), h, mi);
            let mut o = EventOut::new(s.uid.clone(), s.title.clone(), rid + Duration::hours(5), 90);
            o.organizer = s.organizer.clone();
            o.attendees = s.attendees.clone();
            o.location = s.location.clone();
            o.recurrence_id = Some(rid);
            write_event(w, style, &o)?;
            let rid = local(start_day + Duration::weeks(cancelled as i64), h, mi);
            let mut o = EventOut::new(s.uid.clone(), s.title.clone(), rid, 90);
            o.organizer = s.organizer.clone();
            o.attendees = s.attendees.clone();
            o.recurrence_id = Some(rid);
            o.status = "CANCELLED";
            write_event(w, style, &o)?;
            vevents += 2;
            counts.cancelled_events += 1;
        }
    }

    // First meetings with new clients, on their fixed day.
    for c in clients
        .iter()
        .filter(|c| matches!(c.kind, ClientKind::New(_)))
    {
        let d = c.first_meeting.expect("new clients have a first meeting");
        let mut e = EventOut::new(
            format!("first-{}@{DOMAIN}", c.id),
            format!("Знакомство: {}", c.name),
            local(d, 12, 30),
            60,
        );
        e.organizer = Some(me.clone());
        e.attendees.push((me.0.clone(), me.1.clone(), "ACCEPTED"));
        e.attendees.push((
            c.email.clone().unwrap_or_default(),
            format!("Контакт {}", c.word),
            "NEEDS-ACTION",
        ));
        write_event(w, style, &e)?;
        vevents += 1;
        counts.one_off_client_meetings += 1;
        counts.instances_estimate += 1;
    }

    // Routine one-off meetings, week by week.
    let mut serial = 0usize;
    for (week, week_busy) in busy.iter_mut().enumerate().take(weeks) {
        if week == vacation_week {
            continue;
        }
        let monday = week0 + Duration::days(week as i64 * 7);
        let want = ONE_OFFS_PER_WEEK - 2 + rng.below(5) as u32;
        let mut placed = 0;
        let mut tries = 0;
        while placed < want && tries < 60 {
            tries += 1;
            let day = rng.below(5) as usize;
            let slot = rng.below(SLOTS.len() as u64) as usize;
            let date = monday + Duration::days(day as i64);
            if date < range.start
                || date > range.end
                || !workday(date)
                || *week_busy & slot_bit(day, slot) != 0
            {
                continue;
            }
            *week_busy |= slot_bit(day, slot);
            placed += 1;
            serial += 1;
            let (h, mi) = SLOTS[slot];
            let start = local(date, h, mi);
            let uid = format!("ev-{}-{serial:05}@{DOMAIN}", manager_id(m));
            let roll = rng.below(100);
            let mut e;
            if roll < 8 {
                // Prospect: an external company not in the CRM, or a private person.
                let (email, who) = if rng.chance(0.5) {
                    let (_, lat) = company_word(1_000_000 + m * 1000 + serial);
                    (
                        format!("info@{lat}-prospect.ru"),
                        "Потенциальный клиент".to_string(),
                    )
                } else {
                    (
                        format!(
                            "{}.{serial}@{}",
                            rng.pick(&FIRST_NAMES),
                            rng.pick(&PUBLIC_MAIL)
                        ),
                        "Частное лицо".to_string(),
                    )
                };
                e = EventOut::new(uid, "Знакомство: потенциальный клиент".into(), start, 60);
                e.organizer = Some(me.clone());
                e.attendees.push((me.0.clone(), me.1.clone(), "ACCEPTED"));
                e.attendees.push((email, who, "NEEDS-ACTION"));
                counts.prospects += 1;
            } else if roll < 12 {
                // Internal meeting.
                e = EventOut::new(uid, "Разбор воронки".into(), start, 45);
                e.organizer = Some(head.clone());
                e.attendees.push((me.0.clone(), me.1.clone(), "ACCEPTED"));
            } else {
                // A client of this manager; new clients only after their first meeting.
                let c = loop {
                    let c = &clients[rng.below(clients.len() as u64) as usize];
                    match c.first_meeting {
                        Some(f) if f >= date => continue,
                        _ => break c,
                    }
                };
                let kind = rng.below(100);
                let product = rng.pick(&PRODUCTS);
                let (title, minutes) = if kind < 20 {
                    (format!("Созвон с {}", c.word), 30)
                } else if kind < 40 {
                    (format!("{}: онлайн-встреча", c.word), 45)
                } else if kind < 70 {
                    (format!("Встреча {}", c.name), 60)
                } else {
                    (format!("{}: {product}", c.word), 60)
                };
                e = EventOut::new(uid, title, start, minutes);
                if (20..40).contains(&kind) {
                    e.location = Some(format!(
                        "https://telemost.yandex.ru/j/{:014}",
                        rng.below(100_000_000_000_000)
                    ));
                }
                if c.kind != ClientKind::NameOnly {
                    e.organizer = Some(me.clone());
                    let own = if rng.chance(0.02) {
                        counts.declined += 1;
                        "DECLINED"
                    } else {
                        "ACCEPTED"
                    };
                    e.attendees.push((me.0.clone(), me.1.clone(), own));
                    let email = c.email.clone().unwrap_or_default();
                    e.attendees
                        .push((email, format!("Контакт {}", c.word), "ACCEPTED"));
                }
                if rng.chance(0.03) {
                    e.status = "CANCELLED";
                    counts.cancelled_events += 1;
                }
                if rng.chance(0.01) {
                    e.end = e.start + Duration::minutes(10); // too short
                }
                if rng.chance(0.03) {
                    e.description = Some("Только передать документы #nomeeting".into());
                }
                // Shared with the next colleague of the team now and then.
                let next = m + 1;
                if next < managers
                    && next / TEAM_SIZE == team
                    && rng.chance(0.02)
                    && e.organizer.is_some()
                {
                    e.attendees.push((
                        manager_email(next),
                        format!("Менеджер {}", next + 1),
                        "ACCEPTED",
                    ));
                    shared_out.push(SharedCopy {
                        for_manager: next,
                        text: event_text(Style::of(next), &e),
                    });
                    counts.shared += 1;
                }
                counts.one_off_client_meetings += 1;
            }
            write_event(w, style, &e)?;
            vevents += 1;
            counts.instances_estimate += 1;
        }
    }
    for s in incoming {
        w.write_all(s.text.as_bytes())?;
        vevents += 1;
        counts.instances_estimate += 1;
    }
    line(w, "END:VCALENDAR")?;
    counts.vevents += vevents;
    Ok(shared_out)
}

// ---- Radicale ----------------------------------------------------------------

/// The collection of manager `m` on the Radicale server at `base`.
fn radicale_collection(base: &str, m: usize) -> String {
    format!("{}/{}/calendar/", base.trim_end_matches('/'), manager_id(m))
}

/// PUTs each manager's whole calendar on `/<manager>/calendar/` (Radicale
/// creates the collection and splits the VCALENDAR into one resource per
/// UID), as the manager (auth none: the user name is the owner).
fn upload_to_radicale(base: &str, out: &Path, managers: usize) -> io::Result<()> {
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    let mut bytes_sent = 0u64;
    for m in 0..managers {
        let body = fs::read(out.join(format!("calendars/{}.ics", manager_id(m))))?;
        bytes_sent += body.len() as u64;
        let url = radicale_collection(base, m);
        let status = runtime
            .block_on(
                client
                    .put(&url)
                    .basic_auth(manager_id(m), Some("x"))
                    .header("Content-Type", "text/calendar; charset=utf-8")
                    .body(body)
                    .send(),
            )
            .map_err(|e| io::Error::other(format!("PUT {url}: {e}")))?
            .status();
        if !status.is_success() {
            return Err(io::Error::other(format!("PUT {url}: HTTP {status}")));
        }
    }
    println!(
        "  uploaded {managers} calendars ({:.1} MiB) to {base} in {:.1}s",
        mib(bytes_sent),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---- CRM edits (--change-orders) ---------------------------------------------

/// Rewrites the orders file with `pct` % of its rows changed, as a CRM edits
/// them: among the orders of the last 3 months (by `created_at`, counted
/// back from the newest), most get a new amount, about a third change status
/// (done → cancelled, or a cancellation undone), and one change in twenty is
/// a new order of a client seen among the changed rows. Two streamed passes;
/// deterministic for a given file and `--seed-change`.
fn change_orders(args: &Args, pct: f64) -> io::Result<()> {
    if !(0.0..=100.0).contains(&pct) {
        eprintln!("--change-orders must be a percentage (0..100)");
        std::process::exit(2);
    }
    let started = std::time::Instant::now();
    let path = args.out.join("crm/orders.csv");
    let date_of = |row: &str| -> Option<NaiveDate> {
        let created = row.split(',').nth(2)?;
        NaiveDate::parse_from_str(created.get(..10)?, "%Y-%m-%d").ok()
    };
    // Pass 1: how many rows, and the newest date.
    let mut total = 0u64;
    let mut newest: Option<NaiveDate> = None;
    for row in BufReader::new(File::open(&path)?).lines().skip(1) {
        let row = row?;
        total += 1;
        if let Some(d) = date_of(&row) {
            newest = newest.max(Some(d));
        }
    }
    let Some(newest) = newest else {
        eprintln!("{}: no orders with a date", path.display());
        std::process::exit(1);
    };
    let since = newest - Duration::days(91);
    let mut recent = 0u64;
    for row in BufReader::new(File::open(&path)?).lines().skip(1) {
        if date_of(&row?).is_some_and(|d| d >= since) {
            recent += 1;
        }
    }
    let target = (total as f64 * pct / 100.0).round() as u64;
    let new_orders = target / 20;
    let to_change = (target - new_orders).min(recent);

    // Pass 2: choose exactly `to_change` of the `recent` rows (selection
    // sampling: each row is taken with probability needed / rows left).
    let out_path = args.change_out.clone().unwrap_or_else(|| path.clone());
    let tmp = out_path.with_extension("csv.tmp");
    let mut w = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
    let mut rng = Rng::new(args.seed_change ^ 0xC4A1_6E00);
    let (mut seen, mut needed) = (0u64, to_change);
    let (mut amounts, mut cancelled, mut restored) = (0u64, 0u64, 0u64);
    let mut buyers: Vec<(String, String)> = Vec::new();
    let mut lines = BufReader::new(File::open(&path)?).lines();
    if let Some(header) = lines.next() {
        writeln!(w, "{}", header?)?;
    }
    for row in lines {
        let row = row?;
        let is_recent = date_of(&row).is_some_and(|d| d >= since);
        let fields: Vec<&str> = row.split(',').collect();
        let pick = is_recent && fields.len() == 7 && !row.contains('"') && {
            let left = recent - seen;
            seen += 1;
            rng.below(left.max(1)) < needed
        };
        if !pick {
            writeln!(w, "{row}")?;
            continue;
        }
        needed -= 1;
        let mut f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        if rng.below(3) == 0 {
            if f[5].eq_ignore_ascii_case("cancelled") || f[5].eq_ignore_ascii_case("canceled") {
                f[5] = "done".into();
                restored += 1;
            } else {
                f[5] = "cancelled".into();
                cancelled += 1;
            }
        } else {
            let amount: f64 = f[3].parse().unwrap_or(100_000.0);
            let factor = 0.5 + rng.below(1001) as f64 / 1000.0;
            f[3] = format!(
                "{:.2}",
                ((amount * factor / 100.0).round() * 100.0).max(100.0)
            );
            amounts += 1;
        }
        if buyers.len() < 100_000 {
            buyers.push((f[1].clone(), f[6].clone()));
        }
        writeln!(w, "{}", f.join(","))?;
    }
    let mut added = 0u64;
    for k in 0..new_orders {
        if buyers.is_empty() {
            break;
        }
        let (client, manager) = &buyers[rng.below(buyers.len() as u64) as usize];
        let day = newest - Duration::days(rng.below(30) as i64);
        let amount = (500 + rng.below(3000)) * 100;
        writeln!(
            w,
            "N{}-{:07},{client},{},{amount}.00,RUB,done,{manager}",
            args.seed_change,
            k + 1,
            day.format("%Y-%m-%d")
        )?;
        added += 1;
    }
    w.flush()?;
    drop(w);
    fs::rename(&tmp, &out_path)?;
    println!(
        "synth_company: changed {} of {total} orders ({pct} %) in {} in {:.2}s, seed {}",
        amounts + cancelled + restored + added,
        out_path.display(),
        started.elapsed().as_secs_f64(),
        args.seed_change
    );
    println!(
        "  among {recent} orders since {since}: {amounts} new amounts, {cancelled} cancelled, {restored} cancellations undone; {added} new orders"
    );
    Ok(())
}

// ---- hostile calendars (--hostile) -------------------------------------------

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One calendar `calendars/hostile.ics` of one manager, and a config
/// reading it as an `ics_file` source. Every event lies in the default sync
/// window (400 days back) for a `--now` in the `--end` month: the 370 days
/// before that month and its first 20 days, so that all of it is expanded
/// and stored.
fn hostile(args: &Args, kind: Hostile) -> io::Result<()> {
    let started = std::time::Instant::now();
    let value = kind.to_possible_value().expect("no skipped variants");
    let name = value.get_name();
    let out = &args.out;
    fs::create_dir_all(out.join("calendars"))?;
    let anchor = parse_end(&args.end);
    let first_day = anchor - Duration::days(370);
    let span_days = 390u64;
    let mut rng = Rng::new(args.seed ^ 0x4057_11E0);
    let path = out.join("calendars/hostile.ics");
    let mut w = Counting {
        inner: BufWriter::with_capacity(1 << 17, File::create(&path)?),
        bytes: 0,
    };
    line(&mut w, "BEGIN:VCALENDAR")?;
    line(&mut w, "VERSION:2.0")?;
    line(&mut w, "PRODID:-//meetledger//synth_company hostile//RU")?;
    let (mut events, mut series, mut occurrences, mut attendees) = (0u64, 0u64, 0u64, 0u64);
    match kind {
        Hostile::TinyEvents => {
            // Evenly spread: a few thousand a day.
            let step = span_days * 86_400 / args.events.max(1);
            for i in 0..args.events {
                let t = first_day.and_hms_opt(0, 0, 0).expect("midnight")
                    + Duration::seconds((i * step) as i64);
                write!(
                    w,
                    "BEGIN:VEVENT\r\nUID:t{i}@h\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:e{i}\r\nEND:VEVENT\r\n",
                    t.format("%Y%m%dT%H%M%SZ"),
                    (t + Duration::minutes(15)).format("%Y%m%dT%H%M%SZ")
                )?;
            }
            events = args.events;
            occurrences = args.events;
        }
        Hostile::BigIcs => {
            // Meetings of a big organisation's shared calendar: agendas of
            // 1-6 KiB, 5-80 attendees; one event in ten a weekly series of
            // 26 with two exclusions.
            const WORDS: [&str; 12] = [
                "поставка",
                "согласование",
                "договор",
                "спецификация",
                "логистика",
                "склад",
                "упаковка",
                "бюджет",
                "отгрузка",
                "претензия",
                "график",
                "тендер",
            ];
            let target = args.size_mb * 1024 * 1024;
            let mut description = String::new();
            while w.bytes < target {
                let i = events;
                let day = first_day + Duration::days(rng.below(span_days) as i64);
                let start = local(day, 8 + rng.below(10) as u32, 30 * rng.below(2) as u32);
                let is_series = rng.below(10) == 0;
                let mut e = EventOut::new(
                    format!("big-{i}@hostile.example"),
                    format!("Совещание {i}: {} и {}", rng.pick(&WORDS), rng.pick(&WORDS)),
                    start,
                    30 + 30 * rng.below(4) as i64,
                );
                e.location = Some(format!(
                    "Переговорная {}, корпус {}",
                    rng.below(40),
                    rng.below(5)
                ));
                description.clear();
                let size = 1024 + rng.below(5 * 1024) as usize;
                let mut item = 1;
                while description.len() < size {
                    description.push_str(&format!(
                        "{item}. Обсудить {}: {}, {}, {}; ответственный — сотрудник {}.\n",
                        rng.pick(&WORDS),
                        rng.pick(&WORDS),
                        rng.pick(&WORDS),
                        rng.pick(&WORDS),
                        rng.below(10_000)
                    ));
                    item += 1;
                }
                e.description = Some(description.clone());
                e.organizer = Some((
                    format!("org{}@hostile.example", rng.below(500)),
                    "Организатор".into(),
                ));
                let people = 5 + rng.below(76);
                for k in 0..people {
                    let who = rng.below(20_000);
                    e.attendees.push((
                        format!("user{who}@dept{}.hostile.example", k % 40),
                        format!("Сотрудник {who}"),
                        if k % 7 == 0 { "TENTATIVE" } else { "ACCEPTED" },
                    ));
                }
                attendees += people;
                if is_series {
                    e.rrule = Some("FREQ=WEEKLY;COUNT=26".into());
                    e.exdates = vec![start + Duration::weeks(3), start + Duration::weeks(9)];
                    series += 1;
                    // Instances past the window's end (30 days after a
                    // `--now` on the 27th of the `--end` month) are not stored.
                    let window_end = anchor + Duration::days(26 + 30);
                    occurrences += (0..26i64)
                        .filter(|k| *k != 3 && *k != 9 && day + Duration::weeks(*k) < window_end)
                        .count() as u64;
                } else {
                    occurrences += 1;
                }
                write_event(&mut w, Style::Iana, &e)?;
                events += 1;
            }
        }
    }
    line(&mut w, "END:VCALENDAR")?;
    w.flush()?;
    let bytes = w.bytes;
    drop(w);

    let mut config = BufWriter::new(File::create(out.join("meetledger.toml"))?);
    write!(
        config,
        "# Hostile calendar written by `cargo run --example synth_company -- --hostile {}`.\n\
         [company]\nname = \"Hostile\"\ndomains = [\"{DOMAIN}\"]\ntimezone = \"Europe/Moscow\"\n\n\
         [ledger]\npath = \"ledger.db\"\n\n\
         [[manager]]\nid = \"h001\"\nname = \"Hostile\"\nemail = \"h001@{DOMAIN}\"\n\n\
         [[calendar]]\nid = \"hostile\"\nmanager = \"h001\"\nkind = \"ics_file\"\npath = \"calendars/hostile.ics\"\n",
        name
    )?;
    config.flush()?;
    println!(
        "synth_company: hostile {name} calendar {} ({:.1} MiB), seed {}",
        path.display(),
        mib(bytes),
        args.seed
    );
    println!(
        "  VEVENTs {events} (series {series}), attendees {attendees}, occurrences ≈ {occurrences} in the window (from {first_day}), written in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
