//! The TOML configuration (SPEC §9): structs with their defaults, loading, and
//! validation with errors that name the file, line and key. Owns nothing at
//! run time: every other module receives an already validated `Config`.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub company: CompanyConfig,
    #[serde(default)]
    pub ledger: LedgerConfig,
    #[serde(default)]
    pub scoring: ScoringConfig,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default, rename = "manager")]
    pub managers: Vec<ManagerConfig>,
    #[serde(default, rename = "calendar")]
    pub calendars: Vec<CalendarConfig>,
    #[serde(default, rename = "crm")]
    pub crms: Vec<CrmConfig>,
    #[serde(default, rename = "override")]
    pub overrides: Vec<OverrideConfig>,
    #[serde(default)]
    pub email: Option<EmailConfig>,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Org-wide Google settings (OAuth client, service account).
    #[serde(default)]
    pub google: Option<GoogleConfig>,
    /// Org-wide Microsoft 365 settings (tenant, app registration).
    #[serde(default)]
    pub microsoft: Option<MicrosoftConfig>,
    /// The folder holding the config file; relative paths are resolved
    /// against it. Not part of the file.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The config file's path, for messages. Not part of the file.
    #[serde(skip)]
    pub source_path: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyConfig {
    /// Shown in emails and reports.
    pub name: String,
    /// Internal mail domains: attendees on them are colleagues, never clients.
    #[serde(default)]
    pub domains: Vec<String>,
    /// IANA zone in which months begin and schedules run.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// `ru` or `en`: language of emails and reports.
    #[serde(default = "default_language")]
    pub language: Language,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Ru,
    En,
}

fn default_timezone() -> String {
    "UTC".into()
}
fn default_language() -> Language {
    Language::Ru
}

impl CompanyConfig {
    /// The company's zone. Validation guarantees it parses.
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// SQLite file holding synced data, meetings and ledger entries.
    #[serde(default = "default_ledger_path")]
    pub path: PathBuf,
}

fn default_ledger_path() -> PathBuf {
    "ledger.db".into()
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            path: default_ledger_path(),
        }
    }
}

/// How meetings are credited when several managers took part (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CreditPolicy {
    #[default]
    Owner,
    Organizer,
    Each,
}

/// Weight of each meeting kind in the plan (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    #[serde(default = "one")]
    pub in_person: f64,
    #[serde(default = "half")]
    pub online: f64,
    #[serde(default = "half")]
    pub exhibition: f64,
    #[serde(default)]
    pub call: f64,
}

fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            in_person: 1.0,
            online: 0.5,
            exhibition: 0.5,
            call: 0.0,
        }
    }
}

impl Weights {
    pub fn of(&self, kind: crate::model::MeetingKind) -> f64 {
        use crate::model::MeetingKind::*;
        match kind {
            InPerson => self.in_person,
            Online => self.online,
            Exhibition => self.exhibition,
            Call => self.call,
        }
    }
}

/// Classification and scoring parameters (SPEC §4–5). Every key optional.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// Days after a new client's meeting in which a first order counts.
    pub first_order_days: i64,
    /// Days after a new client's meeting in which a repeat order counts.
    pub repeat_days: i64,
    /// Days before and after an existing client's meeting compared for volume.
    pub retention_days: i64,
    /// Share of the previous volume that counts as retained.
    pub retention_ratio: f64,
    /// A key account is covered when met within this many days.
    pub cadence_days: i64,
    /// Shorter events are `too_short`.
    pub min_minutes: i64,
    /// Longer events are `too_long`.
    pub max_hours: f64,
    /// Events of one client starting within this many minutes are one meeting.
    pub dedupe_minutes: i64,
    pub credit: CreditPolicy,
    /// Rule 3 of client matching: client names in titles.
    pub match_titles: bool,
    pub weights: Weights,
    /// Title words (matched case-insensitively at word beginnings, so "обед"
    /// matches "Обед" but not "Победа") that are never meetings.
    pub excluded_titles: Vec<String>,
    /// Title word stems that make a meeting an `exhibition`.
    pub exhibition_keywords: Vec<String>,
    /// Title word stems that make a meeting a `call`.
    pub call_keywords: Vec<String>,
    /// Public mailbox domains: never a client's domain; prospects on them are
    /// keyed by full email.
    pub public_domains: Vec<String>,
    /// Legal forms dropped from client names before title matching.
    pub legal_forms: Vec<String>,
    /// Key accounts by rule: the top N clients by trailing 12-month revenue
    /// (in addition to the CRM flag). Absent: CRM flag only.
    pub key_accounts_top: Option<usize>,
    /// Money for meeting the plan (× min(1, fulfilment)); absent: no money column.
    pub meetings_bonus: Option<f64>,
    /// Money for quality (× mean score); absent: no money column.
    pub quality_bonus: Option<f64>,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            first_order_days: 60,
            repeat_days: 180,
            retention_days: 90,
            retention_ratio: 0.8,
            cadence_days: 90,
            min_minutes: 15,
            max_hours: 10.0,
            dedupe_minutes: 15,
            credit: CreditPolicy::Owner,
            match_titles: true,
            weights: Weights::default(),
            excluded_titles: strings(&[
                "lunch",
                "обед",
                "отпуск",
                "vacation",
                "day off",
                "выходной",
                "больничный",
                "sick leave",
            ]),
            exhibition_keywords: strings(&[
                "exhibition",
                "expo",
                "forum",
                "conference",
                "выставк",
                "форум",
                "конференц",
                "ярмарк",
            ]),
            call_keywords: strings(&["call", "phone", "звонок", "звонк", "созвон", "телефон"]),
            public_domains: strings(DEFAULT_PUBLIC_DOMAINS),
            legal_forms: strings(DEFAULT_LEGAL_FORMS),
            key_accounts_top: None,
            meetings_bonus: None,
            quality_bonus: None,
        }
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Free mailbox providers (SPEC §4 rule 2), the Russian ones first because
/// our users' clients use them most.
pub const DEFAULT_PUBLIC_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "ya.ru",
    "bk.ru",
    "list.ru",
    "inbox.ru",
    "internet.ru",
    "rambler.ru",
    "lenta.ru",
    "autorambler.ru",
    "myrambler.ru",
    "ro.ru",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "yahoo.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.com",
    "web.de",
    "zoho.com",
    "qip.ru",
    "ukr.net",
    "tut.by",
];

/// Legal forms ignored in client names (SPEC §4 rule 3).
pub const DEFAULT_LEGAL_FORMS: &[&str] = &[
    "ООО", "ОАО", "ЗАО", "АО", "ПАО", "НАО", "ИП", "ТОО", "ГК", "LLC", "Inc", "Ltd", "GmbH",
    "Corp", "Co", "AG", "SA", "BV", "PLC", "LLP", "JSC", "OOO",
];

/// Sync window and expansion limits (SPEC §3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// How far back occurrences are kept.
    pub days_back: i64,
    /// How far ahead occurrences are kept.
    pub days_ahead: i64,
    /// Per-series cap on stored instances in the window (every kind of
    /// calendar); hitting it is reported.
    pub max_instances: usize,
    /// Largest answer read from a network source, in MiB; default 32 for
    /// API pages and 256 for whole calendars (`ics_url`, CalDAV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_mb: Option<u64>,
    /// Per-calendar budget of stored occurrences (one with many attendees
    /// counts one more per ten); series share it fairly, cuts are reported.
    pub max_occurrences_per_calendar: usize,
    /// Attendees kept per event (the organizer and managers always).
    pub max_attendees: usize,
    /// Longest title, location, name or address kept, in characters.
    pub max_text_chars: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            days_back: 400,
            days_ahead: 30,
            max_instances: 10_000,
            max_response_mb: None,
            max_occurrences_per_calendar: 100_000,
            max_attendees: 200,
            max_text_chars: 500,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerConfig {
    pub id: String,
    pub name: String,
    /// The manager's own address: identifies them as organizer/attendee.
    pub email: String,
    /// Other addresses of the same person (aliases).
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub plan: Plan,
    /// The manager's user id(s) in the CRM, to map orders and assignments.
    #[serde(default)]
    pub crm_user: Vec<String>,
}

impl ManagerConfig {
    /// All lower-case addresses of this manager.
    pub fn addresses(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.email)
            .chain(self.emails.iter())
            .map(|e| e.trim().to_lowercase())
    }
}

/// Weighted meetings per month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(default)]
    pub new: f64,
    #[serde(default)]
    pub existing: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarKind {
    IcsFile,
    IcsUrl,
    Caldav,
    Google,
    Microsoft,
}

/// A secret given by reference, never inline (SPEC §9).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretRef {
    File(PathBuf),
    Env(String),
    Credential(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    pub id: String,
    /// Owner; omitted for org-wide sources.
    pub manager: Option<String>,
    pub kind: CalendarKind,
    /// `ics_file`: a file or a folder of .ics files.
    pub path: Option<PathBuf>,
    /// `ics_url`, `caldav`: the address.
    pub url: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretRef>,

    // ----- `caldav` only (src/sources/caldav) -----
    /// When the account holds several calendars: the one to read, by its
    /// display name ("Work") or its path ("/calendars/petrova/work/").
    /// Without it, an account with one calendar needs nothing, and one with
    /// several is an error that lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_name: Option<String>,
    // ----- `google` and `microsoft` (src/sources/{google,microsoft}.rs) -----
    /// `user`: the manager's own consent, given once with `meetledger auth`;
    /// `org`: the organization's service account (Google, domain-wide
    /// delegation) or app registration (Microsoft, application permission).
    #[serde(default)]
    pub auth: Option<CloudAuth>,
    /// Google: the calendar id (default `primary`). Microsoft: a calendar id
    /// (default: the mailbox's default calendar).
    pub calendar_id: Option<String>,
    /// `org` auth: the mailbox read on the manager's behalf; default: the
    /// manager's email.
    pub email: Option<String>,
    /// `user` auth: this calendar's OAuth client id; default: the one in
    /// `[google]` / `[microsoft]`.
    pub client_id: Option<String>,
    /// `user` auth, Google: the OAuth client's secret; default: `[google]`.
    pub client_secret: Option<SecretRef>,
    /// `user` auth, Microsoft: the tenant (id or domain); default: `[microsoft]`.
    pub tenant: Option<String>,
}

/// How a `google` / `microsoft` calendar is authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CloudAuth {
    /// Per-user OAuth2: authorization code + PKCE (Google), device code
    /// (Microsoft); tokens kept in the ledger database.
    #[default]
    User,
    /// Org-wide: Google service account with domain-wide delegation, or a
    /// Microsoft app with client credentials.
    Org,
}

/// `[google]`: set once for every `google` calendar.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GoogleConfig {
    /// OAuth client (type "Desktop app") for `user` calendars.
    pub client_id: Option<String>,
    pub client_secret: Option<SecretRef>,
    /// The service account's JSON key (as downloaded) for `org` calendars.
    pub service_account_key: Option<SecretRef>,
    /// Overrides of Google's endpoints (tests, proxies).
    pub api_url: Option<String>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
}

/// `[microsoft]`: set once for every `microsoft` calendar.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftConfig {
    /// Directory (tenant) id or domain; `user` calendars default to
    /// `organizations`, `org` calendars need it.
    pub tenant: Option<String>,
    /// Application (client) id of the app registration.
    pub client_id: Option<String>,
    /// Client secret for `org` calendars (application permission).
    pub client_secret: Option<SecretRef>,
    /// Overrides of Microsoft's endpoints (tests, national clouds).
    pub api_url: Option<String>,
    pub login_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmKind {
    Csv,
    Jsonl,
    Rest,
    Retailcrm,
    Amocrm,
    Bitrix24,
    Hubspot,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    pub id: String,
    pub kind: CrmKind,
    /// `csv`/`jsonl`: clients file.
    pub clients: Option<PathBuf>,
    /// `csv`/`jsonl`: orders file.
    pub orders: Option<PathBuf>,

    // ---- CRM connectors and file mapping (see `validate_crm`) ----
    /// API base URL: `https://acme.retailcrm.ru`, `https://acme.amocrm.ru`,
    /// HubSpot's `https://api.hubapi.com` (the default); for `rest`, what
    /// `{base}` stands for in URL templates.
    pub url: Option<String>,
    /// `retailcrm`: the API key (sent as `X-API-KEY`).
    pub api_key: Option<SecretRef>,
    /// `amocrm` (long-lived token), `hubspot` (private app token), `rest`.
    pub token: Option<SecretRef>,
    /// `bitrix24`: the inbound webhook URL
    /// (`https://acme.bitrix24.ru/rest/1/abc123/`); the code in it is a secret.
    pub webhook: Option<SecretRef>,
    /// Zone of date-times the CRM writes without an offset (RetailCRM);
    /// default: the company's zone.
    pub account_timezone: Option<String>,
    /// The company's currency: orders in another currency are converted
    /// with `rates` or skipped with a warning. Default for API kinds: RUB;
    /// file kinds convert only when it is set.
    pub currency: Option<String>,
    /// Fixed rates: units of `currency` per unit of the named currency,
    /// e.g. `{ USD = 92.5, EUR = 100.0 }`.
    #[serde(default)]
    pub rates: std::collections::BTreeMap<String, f64>,
    /// Put before every client and order id of this CRM (two CRMs' ids never
    /// collide, and ids read like the other systems' ones).
    #[serde(default)]
    pub id_prefix: String,
    /// Extra status codes (RetailCRM status codes, amoCRM/HubSpot stages)
    /// that mean cancelled.
    #[serde(default)]
    pub cancelled_statuses: Vec<String>,
    /// Statuses that make a deal an order: amoCRM status ids (default
    /// `142`), HubSpot deal stages (default `closedwon`), Bitrix24 stage
    /// semantics (default `S`).
    #[serde(default)]
    pub won_statuses: Vec<String>,
    /// Tags (amoCRM, RetailCRM) that mark a key account, besides RetailCRM's VIP flag.
    #[serde(default)]
    pub key_tags: Vec<String>,
    /// `hubspot`, `bitrix24`: the company field that marks key accounts: a
    /// HubSpot company property (default `hs_is_target_account`), a Bitrix24
    /// company field such as `COMPANY_TYPE` or a custom `UF_CRM_…` field.
    pub key_field: Option<String>,
    /// Values of `key_field` that mark a key account, as the API returns
    /// them (a Bitrix24 list field gives its item ids), case ignored. Empty:
    /// the field is a yes/no flag (`true`, `Y`, `1`).
    #[serde(default)]
    pub key_values: Vec<String>,
    /// Changes are read since the last sync minus this overlap, so a record
    /// saved while the previous sync ran is not missed.
    #[serde(default = "default_overlap_minutes")]
    pub overlap_minutes: i64,
    /// A full re-read every this many hours finds records deleted without a
    /// trace in the change feed; 0 disables it.
    #[serde(default = "default_full_sync_hours")]
    pub full_sync_hours: i64,
    /// `csv`/`jsonl`: column names when they differ from SPEC §9
    /// (`columns.orders = { created_at = "Дата", amount = "Сумма" }`).
    #[serde(default)]
    pub columns: CrmColumns,
    /// `csv`/`jsonl`: chrono format of dates, e.g. `"%d.%m.%Y"` (1C);
    /// RFC 3339 and `YYYY-MM-DD` are always accepted.
    pub date_format: Option<String>,
    /// `csv`/`jsonl`: `1234,56` means 1234.56 even with a dot elsewhere.
    #[serde(default)]
    pub decimal_comma: bool,
    /// `csv`/`jsonl`: file encoding, e.g. `"windows-1251"`; default UTF-8.
    pub encoding: Option<String>,
    /// `rest`: how to read the API.
    pub rest: Option<RestConfig>,
}

fn default_overlap_minutes() -> i64 {
    10
}
fn default_full_sync_hours() -> i64 {
    24
}

/// How a connector tells key accounts by a company field (`key_field`,
/// `key_values`).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyField {
    /// The field as the API names it.
    pub field: String,
    /// Lower-cased; empty: the field is a yes/no flag.
    values: Vec<String>,
}

impl KeyField {
    /// The rule of a `[[crm]]`: its `key_field`, else the connector's
    /// `default` field; `None` when neither names one.
    pub fn of(c: &CrmConfig, default: Option<&str>) -> Option<KeyField> {
        let field = c
            .key_field
            .as_deref()
            .or(default)
            .map(str::trim)
            .filter(|f| !f.is_empty())?;
        Some(KeyField {
            field: field.to_string(),
            values: c
                .key_values
                .iter()
                .map(|v| v.trim().to_lowercase())
                .collect(),
        })
    }

    /// Whether the field's values (several for a multiple field) mark a key
    /// account.
    pub fn marks(&self, values: &[String]) -> bool {
        values.iter().any(|v| {
            let v = v.trim().to_lowercase();
            if self.values.is_empty() {
                matches!(v.as_str(), "y" | "yes" | "true" | "1" | "да")
            } else {
                self.values.contains(&v)
            }
        })
    }
}

/// Column names of the clients and orders files: our field → their column.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CrmColumns {
    #[serde(default)]
    pub clients: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub orders: std::collections::BTreeMap<String, String>,
}

/// A generic JSON API (`kind = "rest"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestConfig {
    /// Header carrying the token (default `Authorization`).
    #[serde(default = "default_auth_header")]
    pub auth_header: String,
    /// Written before the token (default `"Bearer "`; `""` for a bare key).
    #[serde(default = "default_auth_prefix")]
    pub auth_prefix: String,
    pub clients: RestEndpoint,
    pub orders: RestEndpoint,
}

fn default_auth_header() -> String {
    "Authorization".into()
}
fn default_auth_prefix() -> String {
    "Bearer ".into()
}

/// One list endpoint of a `rest` CRM.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestEndpoint {
    /// URL template: `{base}` is `url`, `{since}` the RFC 3339 instant of
    /// the last sync minus the overlap (1970 on a full sync), `{since_unix}`
    /// the same in seconds. Without `{since}` every sync is a full one.
    pub url: String,
    /// Path of the array of records in a page (`data.items`); empty: the
    /// page is the array.
    #[serde(default)]
    pub items: String,
    #[serde(default)]
    pub pagination: RestPagination,
    /// Our field → dot path in a record (`attributes.name`, `emails[0]`).
    /// Clients: id, name, domains, emails, manager, key, aliases, deleted.
    /// Orders: id, client_id, created_at, amount, currency, status,
    /// cancelled, manager, deleted.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// How a `rest` endpoint pages.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, tag = "style", rename_all = "snake_case")]
pub enum RestPagination {
    /// One request.
    #[default]
    None,
    /// `?page=1,2,…` until a page comes back empty or short.
    Page {
        #[serde(default = "default_page_param")]
        param: String,
        #[serde(default = "one_u64")]
        start: u64,
        size_param: Option<String>,
        #[serde(default = "default_page_size")]
        size: u64,
    },
    /// `?offset=0,100,…` until a page comes back empty or short.
    Offset {
        #[serde(default = "default_offset_param")]
        param: String,
        size_param: Option<String>,
        #[serde(default = "default_page_size")]
        size: u64,
    },
    /// `?cursor=<value at field>` until the field is empty.
    Cursor {
        #[serde(default = "default_cursor_param")]
        param: String,
        field: String,
    },
    /// RFC 8288 `Link: <…>; rel="next"`.
    Link,
}

fn default_page_param() -> String {
    "page".into()
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_cursor_param() -> String {
    "cursor".into()
}
fn one_u64() -> u64 {
    1
}
fn default_page_size() -> u64 {
    100
}

/// An administrator's correction of one event, with who and why (SPEC §4).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideConfig {
    pub calendar: String,
    pub uid: String,
    /// RFC 3339 instance start, for one instance of a series.
    pub recurrence_id: Option<String>,
    /// Force: not a meeting.
    #[serde(default)]
    pub exclude: bool,
    /// Force: this client.
    pub client: Option<String>,
    pub by: String,
    pub why: String,
}

/// The nightly emails (SPEC §7, §9).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The sender address.
    pub from: String,
    /// Addresses that receive the team email (head of sales).
    #[serde(default)]
    pub head: Vec<String>,
    /// Cron with seconds, in the company's zone; at most one email per
    /// recipient and local day whatever the schedule says.
    #[serde(default = "default_schedule")]
    pub schedule: String,
    #[serde(default)]
    pub transport: EmailTransport,
    /// Where `transport = "file"` writes .eml files (relative to the config).
    #[serde(default = "default_outbox")]
    pub folder: PathBuf,
    pub smtp: Option<SmtpConfig>,
}

fn default_schedule() -> String {
    "0 0 7 * * Mon-Fri".into()
}
fn default_outbox() -> PathBuf {
    "outbox".into()
}

/// How emails leave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    Smtp,
    /// .eml files in `folder` (demo, tests, or a mail pickup directory).
    #[default]
    File,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
}

fn default_smtp_port() -> u16 {
    587
}

/// Transport security of the SMTP connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
    /// Plain text: only to a relay on 127.0.0.1.
    None,
}

/// When the daemon's jobs run (cron with seconds, company time zone).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Sync every source, then score (default: every 15 minutes).
    pub sync: String,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            sync: "0 */15 * * * *".into(),
        }
    }
}

/// A configuration error a user can act on: it names the file, the line and
/// the key.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// 1-based; only for TOML syntax errors.
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Which paths validation checks for existence. A calendar file may be
/// missing for a while (a mount not up, an export not yet written): when
/// running, that fails its source only; `check-config` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathChecks {
    Skip,
    CalendarFilesExist,
}

/// All problems found in one file, reported together.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Resolves a path from the config against the config file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    pub fn tz(&self) -> Tz {
        self.company.tz()
    }

    pub fn manager(&self, id: &str) -> Option<&ManagerConfig> {
        self.managers.iter().find(|m| m.id == id)
    }

    pub fn calendar(&self, id: &str) -> Option<&CalendarConfig> {
        self.calendars.iter().find(|c| c.id == id)
    }

    /// Reads, parses and validates a config file, for running: a calendar
    /// file that does not exist (yet) is that source's failure at sync
    /// time, not a reason to stop every source (`load_checked` reports it).
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_with(path, PathChecks::Skip)
    }

    /// `load` that also reports calendar paths that do not exist, as
    /// `check-config` does.
    pub fn load_checked(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_with(path, PathChecks::CalendarFilesExist)
    }

    fn load_with(path: &Path, checks: PathChecks) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: None,
                column: None,
                key: None,
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        Config::parse_with(&text, path, checks)
    }

    /// Parses and validates config text; `path` names the file in errors and
    /// anchors relative paths. Every mistake is reported, each once: a TOML
    /// syntax error alone (nothing after it can be trusted); otherwise every
    /// unknown key, wrong type and missing key (see `read_every_mistake`),
    /// then the semantic checks of what could be read, minus the problems
    /// that only repeat a mistake already reported.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        Config::parse_with(text, path, PathChecks::Skip)
    }

    fn parse_with(text: &str, path: &Path, checks: PathChecks) -> Result<Config, ConfigErrors> {
        let error = |line, column, key, message| ConfigError {
            file: path.to_path_buf(),
            line,
            column,
            key,
            message,
        };
        let shape = match read_every_mistake(text) {
            Ok(shape) => shape,
            Err(syntax) => {
                let (line, column) = syntax.span.map_or((None, None), |s| {
                    (Some(line_of(text, s.start)), Some(column_of(text, s.start)))
                });
                return Err(ConfigErrors(vec![error(
                    line,
                    column,
                    None,
                    syntax.message,
                )]));
            }
        };
        let locator = KeyLocator::new(text);
        let mut errors: Vec<ConfigError> = shape
            .mistakes
            .iter()
            .map(|m| {
                let line = m
                    .span
                    .as_ref()
                    .map(|s| line_of(text, s.start))
                    .or_else(|| locator.line_of(&m.key));
                error(line, None, Some(m.key.clone()), m.message.clone())
            })
            .collect();
        let Some(mut config) = shape.config else {
            return Err(ConfigErrors(errors));
        };
        config.source_path = path.to_path_buf();
        config.base_dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        let repeats = |key: &str| {
            shape.settled.iter().any(|settled| {
                key == settled
                    || key
                        .strip_prefix(settled.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
        };
        for (key, message) in config.validate(checks) {
            if !repeats(&key) {
                errors.push(error(locator.line_of(&key), None, Some(key), message));
            }
        }
        if errors.is_empty() {
            return Ok(config);
        }
        // In file order; a key without a line (a missing section) first.
        errors.sort_by_key(|e| e.line.unwrap_or(0));
        Err(ConfigErrors(errors))
    }

    /// Semantic checks serde cannot express. Each problem is a key path
    /// (`calendar[1].manager`) and a message.
    fn validate(&self, checks: PathChecks) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.company.timezone.parse::<Tz>().is_err() {
            problems.push((
                "company.timezone".to_string(),
                format!(
                    "`{}` is not an IANA time zone (e.g. \"Europe/Moscow\")",
                    self.company.timezone
                ),
            ));
        }
        let s = &self.scoring;
        for (key, value) in [
            ("first_order_days", s.first_order_days),
            ("repeat_days", s.repeat_days),
            ("retention_days", s.retention_days),
            ("cadence_days", s.cadence_days),
        ] {
            if value <= 0 {
                problems.push((
                    format!("scoring.{key}"),
                    "must be a positive number of days".into(),
                ));
            }
        }
        if s.repeat_days < s.first_order_days {
            problems.push((
                "scoring.repeat_days".into(),
                "must not be shorter than first_order_days".into(),
            ));
        }
        if !s.retention_ratio.is_finite() || s.retention_ratio < 0.0 {
            problems.push(("scoring.retention_ratio".into(), "must be 0 or more".into()));
        }
        for (key, value) in [
            ("min_minutes", s.min_minutes),
            ("dedupe_minutes", s.dedupe_minutes),
        ] {
            if value < 0 {
                problems.push((format!("scoring.{key}"), "must not be negative".into()));
            }
        }
        for (key, weight) in [
            ("in_person", s.weights.in_person),
            ("online", s.weights.online),
            ("exhibition", s.weights.exhibition),
            ("call", s.weights.call),
        ] {
            if !weight.is_finite() || weight < 0.0 {
                problems.push((
                    format!("scoring.weights.{key}"),
                    "must be a number of 0 or more (1.0 counts a meeting once)".into(),
                ));
            }
        }
        if !s.max_hours.is_finite() || s.max_hours <= 0.0 {
            problems.push(("scoring.max_hours".into(), "must be positive".into()));
        }
        for (key, value) in [
            ("days_back", self.sync.days_back),
            ("days_ahead", self.sync.days_ahead),
        ] {
            if value < 0 {
                problems.push((format!("sync.{key}"), "must not be negative".into()));
            }
        }
        for (key, value) in [
            ("max_instances", self.sync.max_instances),
            (
                "max_occurrences_per_calendar",
                self.sync.max_occurrences_per_calendar,
            ),
            ("max_attendees", self.sync.max_attendees),
            ("max_text_chars", self.sync.max_text_chars),
        ] {
            if value == 0 {
                problems.push((format!("sync.{key}"), "must be at least 1".into()));
            }
        }

        let mut manager_ids = HashSet::new();
        for (i, m) in self.managers.iter().enumerate() {
            if m.id.trim().is_empty() {
                problems.push((format!("manager[{i}].id"), "must not be empty".into()));
            }
            if !manager_ids.insert(m.id.as_str()) {
                problems.push((
                    format!("manager[{i}].id"),
                    format!("duplicate manager id `{}`", m.id),
                ));
            }
            // The address that identifies them in calendars and receives their email.
            if m.email.parse::<lettre::message::Mailbox>().is_err() || !m.email.contains('@') {
                problems.push((
                    format!("manager[{i}].email"),
                    format!("`{}` is not an email address", m.email),
                ));
            }
            for (key, value) in [("new", m.plan.new), ("existing", m.plan.existing)] {
                if !value.is_finite() || value < 0.0 {
                    problems.push((
                        format!("manager[{i}].plan.{key}"),
                        "must be a number of 0 or more".into(),
                    ));
                }
            }
        }

        let mut calendar_ids = HashSet::new();
        for (i, c) in self.calendars.iter().enumerate() {
            if !calendar_ids.insert(c.id.as_str()) {
                problems.push((
                    format!("calendar[{i}].id"),
                    format!("duplicate calendar id `{}`", c.id),
                ));
            }
            if let Some(manager) = &c.manager {
                if !manager_ids.contains(manager.as_str()) {
                    problems.push((
                        format!("calendar[{i}].manager"),
                        format!("no [[manager]] has id `{manager}`"),
                    ));
                }
            }
            match c.kind {
                CalendarKind::IcsFile => match &c.path {
                    None => problems.push((
                        format!("calendar[{i}].path"),
                        "required for kind = \"ics_file\"".into(),
                    )),
                    Some(p)
                        if checks == PathChecks::CalendarFilesExist
                            && !self.resolve(p).exists() =>
                    {
                        problems.push((
                            format!("calendar[{i}].path"),
                            format!("`{}` does not exist", self.resolve(p).display()),
                        ))
                    }
                    _ => {}
                },
                CalendarKind::IcsUrl | CalendarKind::Caldav => {
                    if c.url.is_none() {
                        problems.push((
                            format!("calendar[{i}].url"),
                            "required for this kind".into(),
                        ));
                    }
                }
                CalendarKind::Google | CalendarKind::Microsoft => {}
            }
            self.validate_cloud_calendar(i, c, &mut problems);
            if c.kind != CalendarKind::IcsFile && c.path.is_some() {
                problems.push((
                    format!("calendar[{i}].path"),
                    "only for kind = \"ics_file\"".into(),
                ));
            }
        }

        self.validate_network_calendars(&mut problems);

        let mut crm_ids = HashSet::new();
        for (i, c) in self.crms.iter().enumerate() {
            if !crm_ids.insert(c.id.as_str()) {
                problems.push((
                    format!("crm[{i}].id"),
                    format!("duplicate crm id `{}`", c.id),
                ));
            }
            if matches!(c.kind, CrmKind::Csv | CrmKind::Jsonl) {
                for (key, value) in [("clients", &c.clients), ("orders", &c.orders)] {
                    match value {
                        None => problems
                            .push((format!("crm[{i}].{key}"), "required for file CRMs".into())),
                        Some(p) if !self.resolve(p).exists() => problems.push((
                            format!("crm[{i}].{key}"),
                            format!("`{}` does not exist", self.resolve(p).display()),
                        )),
                        _ => {}
                    }
                }
            }
            validate_crm(i, c, &mut problems);
        }

        for (i, o) in self.overrides.iter().enumerate() {
            if !calendar_ids.contains(o.calendar.as_str()) {
                problems.push((
                    format!("override[{i}].calendar"),
                    format!("no [[calendar]] has id `{}`", o.calendar),
                ));
            }
            if let Some(r) = &o.recurrence_id {
                if chrono::DateTime::parse_from_rfc3339(r).is_err() {
                    problems.push((
                        format!("override[{i}].recurrence_id"),
                        "must be an RFC 3339 instant".into(),
                    ));
                }
            }
            if o.exclude == o.client.is_some() {
                problems.push((
                    format!("override[{i}]"),
                    "set exactly one of `exclude = true` or `client = \"ID\"`".into(),
                ));
            }
        }
        self.validate_email_and_schedule(&mut problems);
        problems
    }

    /// The daemon's schedules and the email settings (issue 6).
    fn validate_email_and_schedule(&self, problems: &mut Vec<(String, String)>) {
        if let Err(e) = crate::daemon::schedule::parse(&self.schedule.sync) {
            problems.push(("schedule.sync".into(), one_line(&e.to_string())));
        }
        let Some(email) = &self.email else { return };
        if let Err(e) = crate::daemon::schedule::parse(&email.schedule) {
            problems.push(("email.schedule".into(), one_line(&e.to_string())));
        }
        for (key, address) in std::iter::once(("email.from", &email.from))
            .chain(email.head.iter().map(|h| ("email.head", h)))
        {
            if address.parse::<lettre::message::Mailbox>().is_err() {
                problems.push((key.into(), format!("`{address}` is not an email address")));
            }
        }
        match (&email.transport, &email.smtp) {
            (EmailTransport::Smtp, None) => problems.push((
                "email.smtp".into(),
                "required for transport = \"smtp\" (host, port, tls, username, password)".into(),
            )),
            (EmailTransport::Smtp, Some(smtp)) => {
                let local = matches!(smtp.host.as_str(), "127.0.0.1" | "::1" | "localhost");
                if smtp.tls == SmtpTls::None && !local {
                    problems.push((
                        "email.smtp.tls".into(),
                        "`none` sends passwords and mail in clear text; only allowed for a relay on 127.0.0.1".into(),
                    ));
                }
                if smtp.username.is_some() != smtp.password.is_some() {
                    problems.push((
                        "email.smtp.password".into(),
                        "give both `username` and `password`, or neither".into(),
                    ));
                }
            }
            (EmailTransport::File, _) => {}
        }
    }
}

impl Config {
    /// The keys of `ics_url` and `caldav` calendars (src/sources/ics_url.rs,
    /// src/sources/caldav): a URL the source can fetch, credentials given as
    /// a pair, and `calendar_name` only where it means something.
    fn validate_network_calendars(&self, problems: &mut Vec<(String, String)>) {
        for (i, c) in self.calendars.iter().enumerate() {
            let network = matches!(c.kind, CalendarKind::IcsUrl | CalendarKind::Caldav);
            if c.calendar_name.is_some() && c.kind != CalendarKind::Caldav {
                problems.push((
                    format!("calendar[{i}].calendar_name"),
                    "only for kind = \"caldav\"".into(),
                ));
            }
            if !network {
                continue;
            }
            if let Some(url) = &c.url {
                let schemes: &[&str] = if c.kind == CalendarKind::IcsUrl {
                    &["https", "http", "webcal", "webcals"]
                } else {
                    &["https", "http"]
                };
                match reqwest::Url::parse(url) {
                    Ok(parsed) if schemes.contains(&parsed.scheme()) && parsed.has_host() => {}
                    Ok(_) => problems.push((
                        format!("calendar[{i}].url"),
                        format!("must be an absolute {} URL", schemes.join("/")),
                    )),
                    Err(e) => {
                        problems.push((format!("calendar[{i}].url"), format!("not a URL ({e})")))
                    }
                }
            }
            match (&c.username, &c.password) {
                (Some(_), None) => problems.push((
                    format!("calendar[{i}].password"),
                    "required with `username` (e.g. password = { file = \"/etc/meetledger/NAME.pass\" })"
                        .into(),
                )),
                (None, Some(_)) => problems.push((
                    format!("calendar[{i}].username"),
                    "required with `password`".into(),
                )),
                _ => {}
            }
        }
    }
}

impl Config {
    /// Checks of `google` / `microsoft` calendars and the `[google]` /
    /// `[microsoft]` tables: every key the chosen auth needs is present.
    fn validate_cloud_calendar(
        &self,
        i: usize,
        c: &CalendarConfig,
        problems: &mut Vec<(String, String)>,
    ) {
        let key = |k: &str| format!("calendar[{i}].{k}");
        let cloud = matches!(c.kind, CalendarKind::Google | CalendarKind::Microsoft);
        if !cloud {
            for (name, set) in [
                ("auth", c.auth.is_some()),
                ("calendar_id", c.calendar_id.is_some()),
                ("email", c.email.is_some()),
                ("client_id", c.client_id.is_some()),
                ("client_secret", c.client_secret.is_some()),
                ("tenant", c.tenant.is_some()),
            ] {
                if set {
                    problems.push((
                        key(name),
                        "only for kind = \"google\" or \"microsoft\"".into(),
                    ));
                }
            }
            return;
        }
        let auth = c.auth.unwrap_or_default();
        if auth == CloudAuth::Org {
            let has_email =
                c.email.is_some() || c.manager.as_deref().and_then(|m| self.manager(m)).is_some();
            if !has_email {
                problems.push((
                    key("email"),
                    "org-wide auth reads a mailbox: set `email` or `manager`".into(),
                ));
            }
        } else if c.email.is_some() {
            problems.push((
                key("email"),
                "only with auth = \"org\" (a user token reads its own calendar)".into(),
            ));
        }
        if c.kind == CalendarKind::Google {
            let g = self.google.clone().unwrap_or_default();
            if c.tenant.is_some() {
                problems.push((key("tenant"), "only for kind = \"microsoft\"".into()));
            }
            match auth {
                CloudAuth::User => {
                    if c.client_id.is_none() && g.client_id.is_none() {
                        problems.push((
                            key("client_id"),
                            "auth = \"user\" needs an OAuth client: set it here or in [google]"
                                .into(),
                        ));
                    }
                    if c.client_secret.is_none() && g.client_secret.is_none() {
                        problems.push((
                            key("client_secret"),
                            "auth = \"user\" needs the OAuth client's secret: set it here or in [google]".into(),
                        ));
                    }
                }
                CloudAuth::Org => {
                    if g.service_account_key.is_none() {
                        problems.push((
                            "google.service_account_key".into(),
                            format!("calendar `{}` uses auth = \"org\": the service account's JSON key is required", c.id),
                        ));
                    }
                }
            }
            for (name, url) in [
                ("api_url", &g.api_url),
                ("auth_url", &g.auth_url),
                ("token_url", &g.token_url),
            ] {
                check_url(&format!("google.{name}"), url, problems);
            }
        } else {
            let m = self.microsoft.clone().unwrap_or_default();
            if c.client_secret.is_some() {
                problems.push((
                    key("client_secret"),
                    "Microsoft user auth (device code) has no secret; an app secret goes in [microsoft]".into(),
                ));
            }
            if c.client_id.is_none() && m.client_id.is_none() {
                problems.push((
                    key("client_id"),
                    "needs the app registration's client id: set it here or in [microsoft]".into(),
                ));
            }
            if auth == CloudAuth::Org {
                if m.tenant.is_none() {
                    problems.push((
                        "microsoft.tenant".into(),
                        format!("calendar `{}` uses auth = \"org\": the tenant id or domain is required", c.id),
                    ));
                }
                if m.client_secret.is_none() {
                    problems.push((
                        "microsoft.client_secret".into(),
                        format!("calendar `{}` uses auth = \"org\": the app's client secret is required", c.id),
                    ));
                }
            }
            for (name, url) in [("api_url", &m.api_url), ("login_url", &m.login_url)] {
                check_url(&format!("microsoft.{name}"), url, problems);
            }
        }
    }
}

/// A message on one line: the cron parser quotes the expression and points
/// at it with a `^` line, which only breaks up the `file:line: key` list.
fn one_line(message: &str) -> String {
    let caret = |l: &str| !l.trim().is_empty() && l.trim().chars().all(|c| c == '^');
    let lines: Vec<&str> = message.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if caret(line) {
            continue;
        }
        let mut line = line.trim_end();
        if lines.get(i + 1).is_some_and(|next| caret(next)) {
            // The quoted expression: dropped, up to the text it follows.
            line = match line.rfind('(') {
                Some(open) => &line[..=open],
                None => "",
            };
        }
        if !out.is_empty() && !out.ends_with('(') && !line.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

fn check_url(key: &str, url: &Option<String>, problems: &mut Vec<(String, String)>) {
    if let Some(url) = url {
        if reqwest::Url::parse(url).is_err() {
            problems.push((key.to_string(), format!("`{url}` is not a URL")));
        }
    }
}

/// 1-based line of a byte offset.
/// The line of a key path (`crm[0].token`) in config text, for problems
/// found after loading (e.g. `secrets::audit`).
pub fn line_of_key(text: &str, key: &str) -> Option<usize> {
    KeyLocator::new(text).line_of(key)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// 1-based column (in characters) of a byte offset.
fn column_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let start = text.as_bytes()[..offset]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&text.as_bytes()[start..offset])
        .chars()
        .count()
        + 1
}

/// Finds the line of a key path such as `calendar[1].manager` in the
/// original text, through toml_edit's spans.
struct KeyLocator<'a> {
    text: &'a str,
    doc: Option<toml_edit::Document<&'a str>>,
}

impl<'a> KeyLocator<'a> {
    fn new(text: &'a str) -> Self {
        KeyLocator {
            text,
            doc: toml_edit::Document::parse(text).ok(),
        }
    }

    fn line_of(&self, path: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let segments: Vec<&str> = path.split('.').collect();
        locate(doc.as_table(), &segments).map(|span| line_of(self.text, span.start))
    }
}

/// The span of the deepest part of `segments` that exists under `table`.
fn locate(table: &dyn toml_edit::TableLike, segments: &[&str]) -> Option<std::ops::Range<usize>> {
    let (segment, rest) = segments.split_first()?;
    let (name, index) = match segment.split_once('[') {
        Some((name, i)) => (name, i.trim_end_matches(']').parse::<usize>().ok()),
        None => (*segment, None),
    };
    let item = table.get(name)?;
    match (index, item) {
        (Some(i), toml_edit::Item::ArrayOfTables(tables)) => {
            let entry = tables.get(i)?;
            locate(entry, rest).or_else(|| entry.span())
        }
        _ => {
            let here = item_span(item);
            match item.as_table_like() {
                Some(inner) if !rest.is_empty() => locate(inner, rest).or(here),
                _ => here,
            }
        }
    }
}

fn item_span(item: &toml_edit::Item) -> Option<std::ops::Range<usize>> {
    match item {
        toml_edit::Item::Value(v) => v.span(),
        toml_edit::Item::Table(t) => t.span(),
        toml_edit::Item::ArrayOfTables(a) => a.span(),
        toml_edit::Item::None => None,
    }
}

/// Checks of the connector keys of one `[[crm]]` (issue 5): the secret a
/// kind needs, URLs, zones, currencies, file mapping and `rest` tables.
fn validate_crm(i: usize, c: &CrmConfig, problems: &mut Vec<(String, String)>) {
    let mut problem =
        |key: &str, message: String| problems.push((format!("crm[{i}].{key}"), message));
    let is_file = matches!(c.kind, CrmKind::Csv | CrmKind::Jsonl);
    let needs = |kind: CrmKind| -> Option<&'static str> {
        match kind {
            CrmKind::Retailcrm => Some("api_key"),
            CrmKind::Amocrm | CrmKind::Hubspot => Some("token"),
            CrmKind::Bitrix24 => Some("webhook"),
            _ => None,
        }
    };
    if let Some(key) = needs(c.kind) {
        let given = match key {
            "api_key" => c.api_key.is_some(),
            "token" => c.token.is_some(),
            _ => c.webhook.is_some(),
        };
        if !given {
            problem(
                key,
                format!("required for kind = \"{}\" (a secret reference: {{ file = \"…\" }}, {{ env = \"…\" }} or {{ credential = \"…\" }})", crm_kind_name(c.kind)),
            );
        }
    }
    if matches!(c.kind, CrmKind::Retailcrm | CrmKind::Amocrm) && c.url.is_none() {
        problem(
            "url",
            "required: the account address, e.g. \"https://acme.retailcrm.ru\"".into(),
        );
    }
    if let Some(url) = &c.url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            problem("url", format!("`{url}` is not an http(s) URL"));
        }
    }
    report_keys_not_read(c, &mut problem);
    if !c.key_values.is_empty() && c.key_field.is_none() && reads_key(c.kind, "key_field") {
        problem(
            "key_values",
            "set `key_field`, the company field these values are read from".into(),
        );
    }
    if let Some(zone) = &c.account_timezone {
        if zone.parse::<Tz>().is_err() {
            problem(
                "account_timezone",
                format!("`{zone}` is not an IANA time zone"),
            );
        }
    }
    let is_code = |s: &str| s.len() == 3 && s.chars().all(|ch| ch.is_ascii_alphabetic());
    if let Some(currency) = &c.currency {
        if !is_code(currency) {
            problem(
                "currency",
                format!("`{currency}` is not a three-letter currency code"),
            );
        }
    }
    for (code, rate) in &c.rates {
        if !is_code(code) {
            problem(
                "rates",
                format!("`{code}` is not a three-letter currency code"),
            );
        }
        if !rate.is_finite() || *rate <= 0.0 {
            problem(
                "rates",
                format!("the rate of {code} must be a positive number"),
            );
        }
    }
    if !c.rates.is_empty() && c.currency.is_none() && is_file {
        problem(
            "currency",
            "set the company currency the rates convert into".into(),
        );
    }
    if c.overlap_minutes < 0 {
        problem("overlap_minutes", "must not be negative".into());
    }
    if c.full_sync_hours < 0 {
        problem(
            "full_sync_hours",
            "must not be negative (0 disables full re-reads)".into(),
        );
    }
    if let Some(format) = &c.date_format {
        use chrono::format::{Item, StrftimeItems};
        if StrftimeItems::new(format).any(|item| matches!(item, Item::Error))
            || !format.contains('%')
        {
            problem(
                "date_format",
                format!("`{format}` is not a chrono format such as \"%d.%m.%Y\""),
            );
        }
    }
    if let Some(encoding) = &c.encoding {
        if encoding_rs::Encoding::for_label(encoding.as_bytes()).is_none() {
            problem(
                "encoding",
                format!("`{encoding}` is not a known encoding (e.g. \"windows-1251\")"),
            );
        }
    }
    const CLIENT_FIELDS: &[&str] = &[
        "id", "name", "domains", "emails", "manager", "key", "aliases", "deleted",
    ];
    const ORDER_FIELDS: &[&str] = &[
        "id",
        "client_id",
        "created_at",
        "amount",
        "currency",
        "status",
        "cancelled",
        "manager",
        "deleted",
    ];
    for (table, fields, allowed) in [
        ("columns.clients", &c.columns.clients, CLIENT_FIELDS),
        ("columns.orders", &c.columns.orders, ORDER_FIELDS),
    ] {
        for name in fields.keys() {
            if !allowed.contains(&name.as_str()) || name == "deleted" || name == "cancelled" {
                problem(
                    table,
                    format!("unknown field `{name}` (one of {})", allowed.join(", ")),
                );
            }
        }
    }
    match (&c.rest, c.kind) {
        (None, CrmKind::Rest) => problem(
            "rest",
            "required for kind = \"rest\": [crm.rest.clients] and [crm.rest.orders]".into(),
        ),
        // Reported by `report_keys_not_read`.
        (Some(_), kind) if kind != CrmKind::Rest => {}
        (Some(rest), _) => {
            for (name, endpoint, allowed, required) in [
                ("clients", &rest.clients, CLIENT_FIELDS, &["id", "name"][..]),
                (
                    "orders",
                    &rest.orders,
                    ORDER_FIELDS,
                    &["id", "client_id", "created_at", "amount"][..],
                ),
            ] {
                for field in endpoint.fields.keys() {
                    if !allowed.contains(&field.as_str()) {
                        problem(
                            &format!("rest.{name}.fields"),
                            format!("unknown field `{field}` (one of {})", allowed.join(", ")),
                        );
                    }
                }
                for field in required {
                    if !endpoint.fields.contains_key(*field) {
                        problem(
                            &format!("rest.{name}.fields"),
                            format!("`{field}` is required"),
                        );
                    }
                }
                if endpoint.url.contains("{base}") && c.url.is_none() {
                    problem(
                        &format!("rest.{name}.url"),
                        "uses {base} but `url` is not set".into(),
                    );
                }
                if let RestPagination::Cursor { field, .. } = &endpoint.pagination {
                    if field.is_empty() {
                        problem(
                            &format!("rest.{name}.pagination"),
                            "`field` must name where the next cursor is".into(),
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

/// The optional `[[crm]]` keys each kind reads (besides `id` and `kind`).
/// A key given to a kind that does not read it is a mistake: the user
/// believes it does something (`key_tags` in a Bitrix24 block marks
/// nothing), so validation reports it.
fn crm_keys_read(kind: CrmKind) -> &'static [&'static str] {
    // Every API connector: zone, money, ids and the incremental schedule.
    const API: [&str; 7] = [
        "account_timezone",
        "currency",
        "rates",
        "id_prefix",
        "cancelled_statuses",
        "overlap_minutes",
        "full_sync_hours",
    ];
    const FILES: &[&str] = &[
        "clients",
        "orders",
        "currency",
        "rates",
        "columns",
        "date_format",
        "decimal_comma",
        "encoding",
    ];
    const REST: &[&str] = &concat_keys::<10>(&API, &["url", "token", "rest"]);
    const RETAILCRM: &[&str] = &concat_keys::<10>(&API, &["url", "api_key", "key_tags"]);
    const AMOCRM: &[&str] = &concat_keys::<11>(&API, &["url", "token", "won_statuses", "key_tags"]);
    const BITRIX24: &[&str] = &concat_keys::<11>(
        &API,
        &["webhook", "won_statuses", "key_field", "key_values"],
    );
    const HUBSPOT: &[&str] = &concat_keys::<12>(
        &API,
        &["url", "token", "won_statuses", "key_field", "key_values"],
    );
    match kind {
        CrmKind::Csv | CrmKind::Jsonl => FILES,
        CrmKind::Rest => REST,
        CrmKind::Retailcrm => RETAILCRM,
        CrmKind::Amocrm => AMOCRM,
        CrmKind::Bitrix24 => BITRIX24,
        CrmKind::Hubspot => HUBSPOT,
    }
}

/// `a` then `b`, as one array of length `N` (checked when compiled).
const fn concat_keys<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    assert!(a.len() + b.len() == N);
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < a.len() { a[i] } else { b[i - a.len()] };
        i += 1;
    }
    out
}

const CRM_KINDS: [CrmKind; 7] = [
    CrmKind::Csv,
    CrmKind::Jsonl,
    CrmKind::Rest,
    CrmKind::Retailcrm,
    CrmKind::Amocrm,
    CrmKind::Bitrix24,
    CrmKind::Hubspot,
];

fn reads_key(kind: CrmKind, key: &str) -> bool {
    crm_keys_read(kind).contains(&key)
}

/// Each optional key of `c` and whether it is set. A key left at its
/// default changes nothing, so "set" means "not the default".
fn crm_keys_set(c: &CrmConfig) -> [(&'static str, bool); 22] {
    [
        ("clients", c.clients.is_some()),
        ("orders", c.orders.is_some()),
        ("url", c.url.is_some()),
        ("api_key", c.api_key.is_some()),
        ("token", c.token.is_some()),
        ("webhook", c.webhook.is_some()),
        ("account_timezone", c.account_timezone.is_some()),
        ("currency", c.currency.is_some()),
        ("rates", !c.rates.is_empty()),
        ("id_prefix", !c.id_prefix.is_empty()),
        ("cancelled_statuses", !c.cancelled_statuses.is_empty()),
        ("won_statuses", !c.won_statuses.is_empty()),
        ("key_tags", !c.key_tags.is_empty()),
        ("key_field", c.key_field.is_some()),
        ("key_values", !c.key_values.is_empty()),
        (
            "overlap_minutes",
            c.overlap_minutes != default_overlap_minutes(),
        ),
        (
            "full_sync_hours",
            c.full_sync_hours != default_full_sync_hours(),
        ),
        (
            "columns",
            !c.columns.clients.is_empty() || !c.columns.orders.is_empty(),
        ),
        ("date_format", c.date_format.is_some()),
        ("decimal_comma", c.decimal_comma),
        ("encoding", c.encoding.is_some()),
        ("rest", c.rest.is_some()),
    ]
}

/// Reports each optional key set in `c` that its kind does not read.
fn report_keys_not_read(c: &CrmConfig, problem: &mut impl FnMut(&str, String)) {
    let set = crm_keys_set(c);
    for (key, _) in set
        .iter()
        .filter(|(key, set)| *set && !reads_key(c.kind, key))
    {
        let readers: Vec<CrmKind> = CRM_KINDS
            .into_iter()
            .filter(|kind| reads_key(*kind, key))
            .collect();
        let only = if readers == [CrmKind::Csv, CrmKind::Jsonl] {
            "only for file CRMs (csv, jsonl)".to_string()
        } else {
            let names: Vec<String> = readers
                .iter()
                .map(|k| format!("\"{}\"", crm_kind_name(*k)))
                .collect();
            format!("only for kind = {}", names.join(", "))
        };
        let instead = match *key {
            "key_tags" if reads_key(c.kind, "key_field") => {
                "; mark key accounts with `key_field` (and `key_values`)"
            }
            "url" if c.kind == CrmKind::Bitrix24 => "; the portal address is in `webhook`",
            _ => "",
        };
        problem(
            key,
            format!(
                "not read by kind = \"{}\" ({only}){instead}",
                crm_kind_name(c.kind)
            ),
        );
    }
}

/// The TOML spelling of a CRM kind, for messages.
pub fn crm_kind_name(kind: CrmKind) -> &'static str {
    match kind {
        CrmKind::Csv => "csv",
        CrmKind::Jsonl => "jsonl",
        CrmKind::Rest => "rest",
        CrmKind::Retailcrm => "retailcrm",
        CrmKind::Amocrm => "amocrm",
        CrmKind::Bitrix24 => "bitrix24",
        CrmKind::Hubspot => "hubspot",
    }
}

// ---------------------------------------------------------------------------
// Reading the file's shape: every unknown key, wrong type and missing key.
//
// serde stops at the first problem. So the file is parsed once into toml's
// spanned tree, and deserialized again and again: each failure is reported
// at the key its span points to, then repaired in the tree (an unknown or
// ill-typed key removed, so its default applies; a missing key filled with
// a placeholder; an unknown `kind` replaced by a known one) until the whole
// tree deserializes. The keys touched are "settled": semantic problems under
// them would only repeat the reported mistake and are left out.

/// A problem of the file's shape.
struct Mistake {
    span: Option<std::ops::Range<usize>>,
    key: String,
    message: String,
}

/// What reading the shape found.
struct Shape {
    /// `None` when some mistake could not be repaired (the rest of the
    /// checks would be guesses).
    config: Option<Config>,
    mistakes: Vec<Mistake>,
    /// Key paths whose semantic problems are consequences of a mistake.
    settled: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn key_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

type Tree<'i> = toml::de::DeTable<'i>;
type Node<'i> = toml::Spanned<toml::de::DeValue<'i>>;

/// Placeholders tried in turn for a missing key, until one has its type.
fn placeholder<'i>(attempt: usize) -> Option<toml::de::DeValue<'i>> {
    use toml::de::{DeArray, DeValue};
    match attempt {
        0 => Some(DeValue::String("".into())),
        1 => Some(DeValue::Table(Tree::new())),
        2 => Some(DeValue::Array(DeArray::new())),
        3 => Some(DeValue::Boolean(false)),
        _ => None,
    }
}

/// Parses `text` and reports every shape mistake, each once (see above).
/// A TOML syntax error is returned alone.
fn read_every_mistake(text: &str) -> Result<Shape, Mistake> {
    use serde::Deserialize as _;
    let mut tree = toml::de::DeTable::parse(text).map_err(|e| Mistake {
        span: e.span(),
        key: String::new(),
        message: format!("TOML syntax: {}", e.message().trim()),
    })?;
    let mut mistakes: Vec<Mistake> = Vec::new();
    let mut settled: Vec<String> = Vec::new();
    // Keys we filled in, with how many placeholders were tried.
    let mut filled: Vec<(Vec<Segment>, usize)> = Vec::new();
    let is_reported = |settled: &[String], key: &str| settled.iter().any(|s| s == key);
    // Each round repairs one key; a config has far fewer keys than this.
    for _ in 0..1000 {
        let error = match Config::deserialize(toml::de::Deserializer::from(tree.clone())) {
            Ok(config) => {
                return Ok(Shape {
                    config: Some(config),
                    mistakes,
                    settled,
                })
            }
            Err(e) => e,
        };
        let message = error.message().trim().to_string();
        // A span of the whole document is the root's (a missing section).
        let mut at = error
            .span()
            .filter(|span| *span != tree.span())
            .map(|span| path_of(tree.get_ref(), &span))
            .unwrap_or_default();
        let span = error.span().filter(|_| !at.is_empty());
        let under_filled = |at: &[Segment]| filled.iter().any(|(f, _)| at.starts_with(f));

        if let Some(name) = quoted_after(&message, "unknown field `") {
            if !under_filled(&at) {
                let key = key_path(&at);
                let (text, meant) = unknown_key_message(&name, &message);
                mistakes.push(Mistake {
                    span,
                    key: key.clone(),
                    message: text,
                });
                settled.push(key);
                // `pth` for `path`: that `path` is then missing is the same mistake.
                if let Some(meant) = meant {
                    let mut sibling = at.clone();
                    sibling.pop();
                    sibling.push(Segment::Key(meant));
                    settled.push(key_path(&sibling));
                }
            }
            if !remove(tree.get_mut(), &at) {
                break;
            }
            continue;
        }
        if let Some(name) = quoted_after(&message, "missing field `") {
            let entry = key_path(&at);
            at.push(Segment::Key(name.clone()));
            let key = key_path(&at);
            if !under_filled(&at) && !is_reported(&settled, &key) {
                mistakes.push(Mistake {
                    span,
                    key: key.clone(),
                    message: format!("missing key `{name}`{}", required_in(&entry)),
                });
                settled.push(key);
            }
            let Some(value) = placeholder(0) else { break };
            // A span of its own, past the end of the text, so that errors
            // inside the placeholder are found to be ours.
            let own = text.len() + 1 + filled.len();
            if !insert(tree.get_mut(), &at, Node::new(own..own, value)) {
                break;
            }
            filled.push((at, 0));
            continue;
        }
        if at.is_empty() {
            // Nowhere to point and nothing to repair: report and stop.
            mistakes.push(Mistake {
                span: None,
                key: String::new(),
                message: friendlier(&message),
            });
            return Ok(Shape {
                config: None,
                mistakes,
                settled,
            });
        }
        // A value of the wrong type, or not one of the allowed words.
        let variant = first_expected(&message);
        if let Some(i) = filled.iter().position(|(f, _)| *f == at) {
            // Our placeholder has the wrong type: try the next one.
            filled[i].1 += 1;
            let value = match variant {
                Some(v) => Some(toml::de::DeValue::String(v.into())),
                None => placeholder(filled[i].1),
            };
            let Some(value) = value else { break };
            if !replace(tree.get_mut(), &at, value) {
                break;
            }
            continue;
        }
        if !under_filled(&at) {
            // An element of a list is reported as the list.
            while matches!(at.last(), Some(Segment::Index(_)))
                && !is_table_entry(tree.get_ref(), &at)
            {
                at.pop();
            }
            let key = key_path(&at);
            if !is_reported(&settled, &key) {
                mistakes.push(Mistake {
                    span: error.span(),
                    key: key.clone(),
                    message: friendlier(&message),
                });
                settled.push(key);
            }
        }
        match variant {
            // An unknown `kind` (or other word): read the entry as a known
            // one, and settle the whole entry, whose other checks would
            // depend on the kind.
            Some(v) if is_string(tree.get_ref(), &at) => {
                if !replace(tree.get_mut(), &at, toml::de::DeValue::String(v.into())) {
                    break;
                }
                let entry = key_path(&at[..at.len() - 1]);
                if !entry.is_empty() {
                    settled.push(entry);
                }
            }
            _ => {
                if !remove(tree.get_mut(), &at) {
                    break;
                }
            }
        }
    }
    Ok(Shape {
        config: None,
        mistakes,
        settled,
    })
}

/// `text` between `prefix` and the next backtick.
fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let rest = text.split(prefix).nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// The first word of serde's "expected one of `a`, `b`" / "expected `a` or
/// `b`" after an unknown variant.
fn first_expected(message: &str) -> Option<String> {
    if !message.starts_with("unknown variant") {
        return None;
    }
    let expected = message.split("expected").nth(1)?;
    quoted_after(expected, "`")
}

/// "unknown field `max_hourz`", with the nearest allowed key when one is
/// close enough to be a misspelling (returned too), else the allowed keys.
fn unknown_key_message(name: &str, serde_message: &str) -> (String, Option<String>) {
    let allowed: Vec<&str> = serde_message
        .split("expected")
        .nth(1)
        .unwrap_or("")
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    let nearest = allowed
        .iter()
        .map(|a| (edit_distance(name, a), *a))
        .min()
        .filter(|(d, a)| *d <= 2.max(a.len() / 4) && *d < a.len());
    match nearest {
        Some((_, a)) => (
            format!("unknown field `{name}` (did you mean `{a}`?)"),
            Some(a.to_string()),
        ),
        None if allowed.is_empty() => (format!("unknown field `{name}`"), None),
        None => (
            format!("unknown field `{name}` (allowed: {})", allowed.join(", ")),
            None,
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// How a missing key is described: a whole section, or a key of one.
fn required_in(entry: &str) -> &'static str {
    if entry.is_empty() {
        " (a required section)"
    } else {
        " (required)"
    }
}

/// serde's type names in words an administrator reads.
fn friendlier(message: &str) -> String {
    let mut out = message.to_string();
    for (from, to) in [
        ("expected i64", "expected a whole number"),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected usize", "expected a whole number of 0 or more"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected f64", "expected a number"),
        ("expected a string", "expected a string in quotes"),
        ("expected a boolean", "expected true or false"),
    ] {
        if let Some(rest) = out.strip_suffix(from.trim_start_matches("expected ")) {
            if rest.ends_with("expected ") {
                out = format!("{}{}", rest.trim_end_matches("expected "), to);
                break;
            }
        }
    }
    out
}

/// The deepest key or list element whose span holds `span`.
fn path_of(tree: &Tree<'_>, span: &std::ops::Range<usize>) -> Vec<Segment> {
    fn holds(outer: &std::ops::Range<usize>, inner: &std::ops::Range<usize>) -> bool {
        outer.start <= inner.start && inner.end <= outer.end
    }
    fn walk(
        value: &toml::de::DeValue<'_>,
        path: &mut Vec<Segment>,
        span: &std::ops::Range<usize>,
        best: &mut Option<(usize, Vec<Segment>)>,
    ) {
        fn consider(best: &mut Option<(usize, Vec<Segment>)>, size: usize, path: &[Segment]) {
            if best.as_ref().is_none_or(|(b, _)| size <= *b) {
                *best = Some((size, path.to_vec()));
            }
        }
        match value {
            toml::de::DeValue::Table(table) => {
                for (k, v) in table.iter() {
                    path.push(Segment::Key(k.get_ref().to_string()));
                    for s in [k.span(), v.span()] {
                        if holds(&s, span) {
                            consider(best, s.len(), path);
                        }
                    }
                    walk(v.get_ref(), path, span, best);
                    path.pop();
                }
            }
            toml::de::DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Segment::Index(i));
                    if holds(&item.span(), span) {
                        consider(best, item.span().len(), path);
                    }
                    walk(item.get_ref(), path, span, best);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut best = None;
    // The root is a table without a span of its own here.
    let root = toml::de::DeValue::Table(tree.clone());
    walk(&root, &mut Vec::new(), span, &mut best);
    best.map(|(_, p)| p).unwrap_or_default()
}

fn node_mut<'a, 'i>(tree: &'a mut Tree<'i>, path: &[Segment]) -> Option<&'a mut Node<'i>> {
    let (first, rest) = path.split_first()?;
    let Segment::Key(k) = first else { return None };
    let mut node = tree.get_mut(k.as_str())?;
    for segment in rest {
        node = match (segment, node.get_mut()) {
            (Segment::Key(k), toml::de::DeValue::Table(t)) => t.get_mut(k.as_str())?,
            (Segment::Index(i), toml::de::DeValue::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn node<'a, 'i>(tree: &'a Tree<'i>, path: &[Segment]) -> Option<&'a Node<'i>> {
    let (first, rest) = path.split_first()?;
    let Segment::Key(k) = first else { return None };
    let mut node = tree.get(k.as_str())?;
    for segment in rest {
        node = match (segment, node.get_ref()) {
            (Segment::Key(k), toml::de::DeValue::Table(t)) => t.get(k.as_str())?,
            (Segment::Index(i), toml::de::DeValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The table `path` names, `path` being its key in `parent`.
fn parent_table<'a, 'i>(
    tree: &'a mut Tree<'i>,
    path: &[Segment],
) -> Option<(&'a mut Tree<'i>, String)> {
    let (last, parent) = path.split_last()?;
    let Segment::Key(name) = last else {
        return None;
    };
    let table = if parent.is_empty() {
        tree
    } else {
        match node_mut(tree, parent)?.get_mut() {
            toml::de::DeValue::Table(t) => t,
            _ => return None,
        }
    };
    Some((table, name.clone()))
}

fn remove(tree: &mut Tree<'_>, path: &[Segment]) -> bool {
    match path.last() {
        Some(Segment::Key(_)) => parent_table(tree, path)
            .and_then(|(table, name)| table.remove(name.as_str()))
            .is_some(),
        // A list element cannot be taken out without renumbering the
        // others: an entry is emptied, anything else drops its list.
        Some(Segment::Index(_)) => {
            if is_table_entry(tree, path) {
                replace(tree, path, toml::de::DeValue::Table(Tree::new()))
            } else {
                remove(tree, &path[..path.len() - 1])
            }
        }
        None => false,
    }
}

fn insert<'i>(tree: &mut Tree<'i>, path: &[Segment], value: Node<'i>) -> bool {
    let Some((table, name)) = parent_table(tree, path) else {
        return false;
    };
    let key = toml::Spanned::new(value.span(), std::borrow::Cow::Owned(name));
    table.insert(key, value);
    true
}

fn replace<'i>(tree: &mut Tree<'i>, path: &[Segment], value: toml::de::DeValue<'i>) -> bool {
    match node_mut(tree, path) {
        Some(node) => {
            *node.get_mut() = value;
            true
        }
        None => false,
    }
}

fn is_string(tree: &Tree<'_>, path: &[Segment]) -> bool {
    node(tree, path).is_some_and(|n| n.get_ref().is_str())
}

fn is_table_entry(tree: &Tree<'_>, path: &[Segment]) -> bool {
    matches!(path.last(), Some(Segment::Index(_)))
        && node(tree, path).is_some_and(|n| n.get_ref().is_table())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_messages_become_one_line_without_the_quoted_expression() {
        let cron = "`every 15 minutes` is not a cron schedule (every 15 minutes\n^\nThe 'Seconds' field does not support using names. 'every' specified.); six or seven fields";
        assert_eq!(
            one_line(cron),
            "`every 15 minutes` is not a cron schedule (The 'Seconds' field does not support using names. 'every' specified.); six or seven fields"
        );
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn a_misspelt_key_is_matched_to_the_nearest_allowed_one() {
        let serde = "unknown field `max_hourz`, expected one of `min_minutes`, `max_hours`";
        assert_eq!(
            unknown_key_message("max_hourz", serde),
            (
                "unknown field `max_hourz` (did you mean `max_hours`?)".to_string(),
                Some("max_hours".to_string())
            )
        );
        let (message, meant) = unknown_key_message("colour", serde);
        assert_eq!(meant, None);
        assert_eq!(
            message,
            "unknown field `colour` (allowed: min_minutes, max_hours)"
        );
    }

    #[test]
    fn every_crm_key_is_in_the_table_of_keys_each_kind_reads() {
        // serde names every field of [[crm]] when it meets an unknown one.
        let error = toml::from_str::<CrmConfig>("zzz = 1")
            .unwrap_err()
            .to_string();
        let fields: std::collections::BTreeSet<&str> = error
            .split_once("expected one of")
            .expect("serde lists the fields")
            .1
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|f| !matches!(*f, "id" | "kind"))
            .collect();
        let c: CrmConfig = toml::from_str("id = \"x\"\nkind = \"csv\"").unwrap();
        let known: std::collections::BTreeSet<&str> =
            crm_keys_set(&c).iter().map(|(k, _)| *k).collect();
        assert_eq!(fields, known, "a [[crm]] key missing from crm_keys_set");
        for kind in CRM_KINDS {
            for key in crm_keys_read(kind) {
                assert!(known.contains(key), "{key} read by {kind:?} is not a key");
            }
        }
    }

    #[test]
    fn key_fields_match_values_case_blind_or_read_a_flag() {
        let crm = |extra: &str| -> CrmConfig {
            toml::from_str(&format!("id = \"b\"\nkind = \"bitrix24\"\n{extra}")).unwrap()
        };
        let values = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let vip = KeyField::of(
            &crm("key_field = \"COMPANY_TYPE\"\nkey_values = [\"VIP\"]"),
            None,
        )
        .unwrap();
        assert!(vip.marks(&values(&[" vip "])));
        assert!(vip.marks(&values(&["45", "VIP"])), "a multiple field");
        assert!(!vip.marks(&values(&["CUSTOMER"])));
        let flag = KeyField::of(&crm("key_field = \"UF_CRM_KEY\""), None).unwrap();
        assert!(flag.marks(&values(&["Y"])) && !flag.marks(&values(&["N"])));
        assert_eq!(KeyField::of(&crm(""), None), None);
        assert_eq!(
            KeyField::of(&crm(""), Some("hs_is_target_account")).map(|k| k.field),
            Some("hs_is_target_account".to_string())
        );
        let mut problems = Vec::new();
        validate_crm(
            0,
            &crm("key_values = [\"VIP\"]\nwebhook = { env = \"X\" }"),
            &mut problems,
        );
        assert_eq!(
            problems,
            [(
                "crm[0].key_values".to_string(),
                "set `key_field`, the company field these values are read from".to_string()
            )]
        );
    }

    #[test]
    fn a_missing_section_is_reported_without_a_line() {
        let errors = Config::parse("[sync]\ndays_back = 1\n", Path::new("m.toml")).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "m.toml: key `company`: missing key `company` (a required section)"
        );
    }
}
