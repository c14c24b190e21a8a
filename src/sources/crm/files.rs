//! `csv` and `jsonl` CRM exports (SPEC §9 columns): clients
//! `id,name,domains,emails,manager,key` and orders
//! `id,client_id,created_at,amount,currency,status,manager`. Lists inside a
//! cell are separated by `;`. A row that cannot be read is skipped with a
//! warning naming the file and line; the rest is kept.
//!
//! A `FileMapping` adapts other exports (1C, spreadsheets): column names,
//! a date format, decimal commas, a non-UTF-8 encoding, and currency
//! conversion. Without one the files are read exactly as SPEC §9 says.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::ledger::period::local_midnight;
use crate::model::{Client, Order};
use crate::sources::{
    content_cursor, file_cursor, CrmFetch, CrmSource, OrderStream, SourceWarning, SyncContext,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

pub struct FileCrm {
    id: String,
    format: Format,
    clients: PathBuf,
    orders: PathBuf,
    mapping: FileMapping,
}

/// How an export differs from SPEC §9's files.
#[derive(Debug, Clone)]
pub struct FileMapping {
    /// Our field → the file's column (clients).
    pub client_columns: BTreeMap<String, String>,
    /// Our field → the file's column (orders).
    pub order_columns: BTreeMap<String, String>,
    /// chrono format of dates or date-times, tried after RFC 3339 and
    /// `YYYY-MM-DD`.
    pub date_format: Option<String>,
    /// `1.234,56`: dots group thousands, the comma is the decimal mark.
    pub decimal_comma: bool,
    /// `None`: UTF-8 (a BOM is skipped).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub money: super::common::Money,
}

impl Default for FileMapping {
    fn default() -> Self {
        FileMapping {
            client_columns: BTreeMap::new(),
            order_columns: BTreeMap::new(),
            date_format: None,
            decimal_comma: false,
            encoding: None,
            money: super::common::Money::new(None, &BTreeMap::new()),
        }
    }
}

impl FileMapping {
    pub fn from_config(c: &crate::config::CrmConfig) -> FileMapping {
        let lower = |m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| (k.to_lowercase(), v.trim().to_lowercase()))
                .collect()
        };
        FileMapping {
            client_columns: lower(&c.columns.clients),
            order_columns: lower(&c.columns.orders),
            date_format: c.date_format.clone(),
            decimal_comma: c.decimal_comma,
            encoding: c
                .encoding
                .as_deref()
                .and_then(|e| encoding_rs::Encoding::for_label(e.as_bytes())),
            money: super::common::Money::new(c.currency.clone(), &c.rates),
        }
    }

    /// A fingerprint for the cursor: a changed mapping re-reads the files.
    fn fingerprint(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}",
            self.client_columns,
            self.order_columns,
            self.date_format,
            self.decimal_comma,
            self.encoding.map(|e| e.name()),
            self.money.currency,
            self.money.rates
        )
    }

    /// Renames the file's columns to ours.
    fn rename(columns: &BTreeMap<String, String>, rows: &mut [Row]) {
        for row in rows {
            for (ours, theirs) in columns {
                if let Some(value) = row.fields.remove(theirs) {
                    row.fields.insert(ours.clone(), value);
                }
            }
        }
    }
}

impl FileCrm {
    pub fn new(id: &str, format: Format, clients: PathBuf, orders: PathBuf) -> FileCrm {
        FileCrm {
            id: id.to_string(),
            format,
            clients,
            orders,
            mapping: FileMapping::default(),
        }
    }

    pub fn with_mapping(mut self, mapping: FileMapping) -> FileCrm {
        self.mapping = mapping;
        self
    }
}

#[async_trait]
impl CrmSource for FileCrm {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        match self.format {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CrmFetch> {
        // Managers are part of the mapping, so a changed [[manager]] list re-reads the files.
        let mapping: Vec<String> = ctx
            .managers
            .iter()
            .map(|m| {
                format!(
                    "{}={}/{}",
                    m.id,
                    m.crm_user.join(","),
                    m.addresses().collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        let extra = format!(
            "{}|{}{}",
            ctx.tz,
            mapping.join(";"),
            if self.mapping.fingerprint() == FileMapping::default().fingerprint() {
                String::new()
            } else {
                format!("|{}", self.mapping.fingerprint())
            }
        );
        // Hashed as a stream first: an unchanged export of millions of
        // orders is never held in memory.
        let quick = file_cursor(&[&self.clients, &self.orders], &extra)?;
        if cursor == Some(quick.as_str()) {
            return Ok(CrmFetch::Unchanged);
        }
        let clients_bytes = read(&self.clients).await?;
        let orders_bytes = read(&self.orders).await?;
        // The cursor of exactly the bytes read (the files may have changed
        // again since they were hashed).
        let new_cursor = content_cursor(&[&clients_bytes, &orders_bytes], &extra);
        if cursor == Some(new_cursor.as_str()) {
            return Ok(CrmFetch::Unchanged);
        }
        // Orders are streamed: an export of millions of rows goes to the
        // ledger a row at a time instead of being held whole.
        let (clients, orders, warnings) = stream_exports(
            self.format,
            (&self.clients, clients_bytes),
            (&self.orders, orders_bytes),
            &self.mapping,
            ctx,
        )?;
        Ok(CrmFetch::FullStream {
            clients,
            orders: OrderStream::new(orders),
            warnings,
            cursor: new_cursor,
        })
    }
}

/// The clients and orders of two exports (each: its path, for messages,
/// and its bytes). A file that cannot be read at all is an error; a row
/// that cannot be read is a warning naming its line.
pub fn read_exports(
    format: Format,
    (clients_path, clients_bytes): (&Path, &[u8]),
    (orders_path, orders_bytes): (&Path, &[u8]),
    mapping: &FileMapping,
    ctx: &SyncContext,
) -> Result<(Vec<Client>, Vec<Order>, Vec<SourceWarning>)> {
    let (clients, stream, mut warnings) = stream_exports(
        format,
        (clients_path, clients_bytes.to_vec()),
        (orders_path, orders_bytes.to_vec()),
        mapping,
        ctx,
    )?;
    let mut orders = Vec::new();
    for item in stream {
        match item {
            Ok(order) => orders.push(order),
            Err(warning) => warnings.push(warning),
        }
    }
    Ok((clients, orders, warnings))
}

/// The clients read whole, the orders as a stream over the file's text
/// (the caller consumes it; its items are orders or skipped-row warnings).
fn stream_exports(
    format: Format,
    (clients_path, clients_bytes): (&Path, Vec<u8>),
    (orders_path, orders_bytes): (&Path, Vec<u8>),
    mapping: &FileMapping,
    ctx: &SyncContext,
) -> Result<(Vec<Client>, OrderReader, Vec<SourceWarning>)> {
    let mut warnings = Vec::new();
    let encoding = mapping.encoding;
    let mut client_rows = rows(format, clients_path, clients_bytes, encoding, &mut warnings)?;
    FileMapping::rename(&mapping.client_columns, &mut client_rows);
    let clients = read_clients(clients_path, client_rows, ctx, &mut warnings)?;
    let order_rows = RowReader::new(format, orders_path, orders_bytes, encoding)?;
    if let RowSource::Csv { headers, .. } = &order_rows.source {
        // A CSV file without a needed column is a setup error, not bad rows
        // (an empty file has no orders, and no columns to miss).
        let columns = &mapping.order_columns;
        let missing: Vec<&str> = ["id", "client_id", "created_at", "amount"]
            .into_iter()
            .filter(|ours| {
                let theirs = columns.get(*ours).map(|t| t.to_lowercase());
                !headers
                    .iter()
                    .any(|h| h == ours || Some(h) == theirs.as_ref())
            })
            .collect();
        if !missing.is_empty() && !headers.is_empty() {
            bail!(
                "{}: missing column(s) {}",
                orders_path.display(),
                missing.join(", ")
            );
        }
    }
    let orders = OrderReader {
        rows: order_rows,
        mapping: mapping.clone(),
        ctx: ctx.clone(),
    };
    Ok((clients, orders, warnings))
}

async fn read(path: &Path) -> Result<Vec<u8>> {
    tokio::fs::read(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))
}

/// One record of either format: field name (lower case) → text, and the
/// line it started on.
struct Row {
    line: u64,
    fields: HashMap<String, String>,
}

impl Row {
    fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(|s| s.trim()).unwrap_or("")
    }
}

fn rows(
    format: Format,
    path: &Path,
    bytes: Vec<u8>,
    encoding: Option<&'static encoding_rs::Encoding>,
    warnings: &mut Vec<SourceWarning>,
) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for row in RowReader::new(format, path, bytes, encoding)? {
        match row {
            Ok(row) => out.push(row),
            Err(warning) => warnings.push(warning),
        }
    }
    Ok(out)
}

/// The file's bytes as UTF-8 text (BOM dropped), decoded from `encoding`.
fn decode(
    path: &Path,
    bytes: Vec<u8>,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> Result<String> {
    match encoding {
        Some(encoding) => {
            let (text, _, had_errors) = encoding.decode(&bytes);
            if had_errors {
                bail!("{} is not valid {}", path.display(), encoding.name());
            }
            Ok(text.into_owned())
        }
        None => {
            let mut bytes = bytes;
            if bytes.starts_with(b"\xEF\xBB\xBF") {
                bytes.drain(..3);
            }
            String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not UTF-8 (set `encoding`, e.g. \"windows-1251\")",
                    path.display()
                )
            })
        }
    }
}

/// The records of one export, read one at a time: a row, or a warning
/// naming the file and line of a record that cannot be read.
struct RowReader {
    path: PathBuf,
    source: RowSource,
}

enum RowSource {
    Csv {
        reader: csv::Reader<std::io::Cursor<String>>,
        headers: Vec<String>,
    },
    Jsonl {
        text: String,
        offset: usize,
        line: u64,
    },
}

/// Longest line a CRM export may have. Real rows are well under a kilobyte;
/// a line of hundreds of megabytes is a broken or hostile file, and reading
/// it as one row would hold it twice in memory.
const MAX_LINE_BYTES: usize = 1 << 20;

fn refuse_giant_lines(path: &Path, text: &str) -> Result<()> {
    for (number, line) in text.split('\n').enumerate() {
        if line.len() > MAX_LINE_BYTES {
            bail!(
                "{}:{}: a line of {} MiB; a CRM export's rows are never longer than {} MiB, so the file is not read",
                path.display(),
                number + 1,
                line.len() >> 20,
                MAX_LINE_BYTES >> 20
            );
        }
    }
    Ok(())
}

impl RowReader {
    fn new(
        format: Format,
        path: &Path,
        bytes: Vec<u8>,
        encoding: Option<&'static encoding_rs::Encoding>,
    ) -> Result<RowReader> {
        let text = decode(path, bytes, encoding)?;
        refuse_giant_lines(path, &text)?;
        let source = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(std::io::Cursor::new(text));
                let headers = reader
                    .headers()
                    .with_context(|| format!("{}: cannot read the header row", path.display()))?
                    .iter()
                    .map(|h| h.trim().to_lowercase())
                    .collect();
                RowSource::Csv { reader, headers }
            }
            Format::Jsonl => RowSource::Jsonl {
                text,
                offset: 0,
                line: 0,
            },
        };
        Ok(RowReader {
            path: path.to_path_buf(),
            source,
        })
    }

    fn warning(&self, line: u64, message: String) -> SourceWarning {
        SourceWarning {
            place: format!("{}:{line}", self.path.display()),
            message,
            skipped: true,
        }
    }
}

impl Iterator for RowReader {
    type Item = Result<Row, SourceWarning>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let outcome = match &mut self.source {
                RowSource::Csv { reader, headers } => {
                    let mut record = csv::StringRecord::new();
                    match reader.read_record(&mut record) {
                        Ok(false) => return None,
                        Ok(true) => {
                            let line = record.position().map_or(0, |p| p.line());
                            if record.iter().all(|f| f.trim().is_empty()) {
                                continue;
                            }
                            if record.len() != headers.len() {
                                Err((
                                    line,
                                    format!(
                                        "row has {} fields, the header has {}; row skipped",
                                        record.len(),
                                        headers.len()
                                    ),
                                ))
                            } else {
                                let fields = headers
                                    .iter()
                                    .cloned()
                                    .zip(record.iter().map(str::to_string))
                                    .collect();
                                Ok(Row { line, fields })
                            }
                        }
                        // Reading from memory cannot fail on I/O; a
                        // record the reader cannot make sense of is skipped.
                        Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return None,
                        Err(e) => {
                            let line = e.position().map_or(0, |p| p.line());
                            Err((line, format!("unreadable row ({e}); skipped")))
                        }
                    }
                }
                RowSource::Jsonl { text, offset, line } => {
                    if *offset >= text.len() {
                        return None;
                    }
                    let rest = &text[*offset..];
                    let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
                    let raw = rest[..end].trim_end_matches(['\n', '\r']);
                    *offset += end;
                    *line += 1;
                    if raw.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw) {
                        Ok(object) => Ok(Row {
                            line: *line,
                            fields: object
                                .into_iter()
                                .map(|(k, v)| (k.to_lowercase(), json_text(&v)))
                                .collect(),
                        }),
                        Err(e) => Err((*line, format!("not a JSON object ({e}); skipped"))),
                    }
                }
            };
            return Some(outcome.map_err(|(line, message)| self.warning(line, message)));
        }
    }
}

/// JSON values as the cell text a CSV export would hold.
fn json_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(json_text).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

fn require_columns(path: &Path, first: Option<&Row>, format: Format, names: &[&str]) -> Result<()> {
    // A CSV file without the column is a setup error, not a bad row.
    if format == Format::Csv {
        if let Some(first) = first {
            let missing: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| !first.fields.contains_key(*n))
                .collect();
            if !missing.is_empty() {
                bail!(
                    "{}: missing column(s) {}",
                    path.display(),
                    missing.join(", ")
                );
            }
        }
    }
    Ok(())
}

fn split_list(cell: &str) -> Vec<String> {
    cell.split([';', ','])
        .map(|s| s.trim().trim_start_matches("mailto:").to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_flag(cell: &str) -> Option<bool> {
    match cell.trim().to_lowercase().as_str() {
        "" | "false" | "no" | "0" | "n" | "нет" => Some(false),
        "true" | "yes" | "1" | "y" | "да" => Some(true),
        _ => None,
    }
}

fn read_clients(
    path: &Path,
    rows: Vec<Row>,
    ctx: &SyncContext,
    warnings: &mut Vec<SourceWarning>,
) -> Result<Vec<Client>> {
    require_columns(path, rows.first(), Format::Csv, &["id", "name"])?;
    let mut clients = Vec::with_capacity(rows.len());
    let place = |row: &Row| format!("{}:{}", path.display(), row.line);
    for row in &rows {
        let mut skip = |row: &Row, message: String| {
            warnings.push(SourceWarning {
                place: place(row),
                message,
                skipped: true,
            });
        };
        let id = row.get("id");
        if id.is_empty() {
            skip(row, "client without an id; skipped".into());
            continue;
        }
        let Some(key) = parse_flag(row.get("key")) else {
            skip(
                row,
                format!(
                    "key `{}` is not true/false/yes/no/1/0; client {id} skipped",
                    row.get("key")
                ),
            );
            continue;
        };
        let manager_ref = row.get("manager");
        let manager = ctx.manager_for(manager_ref);
        if manager.is_none() && !manager_ref.is_empty() {
            warnings.push(SourceWarning {
                place: place(row),
                message: format!("manager `{manager_ref}` of client {id} is not a configured manager (id, crm_user or email)"),
                skipped: false,
            });
        }
        let domains = split_list(row.get("domains"))
            .into_iter()
            .map(|d| {
                d.trim_start_matches('@')
                    .trim_start_matches("www.")
                    .to_string()
            })
            // `@` or `www.` alone names no domain.
            .filter(|d| !d.is_empty())
            .collect();
        clients.push(Client {
            id: id.to_string(),
            name: row.get("name").to_string(),
            aliases: split_list_keep_case(row.get("aliases")),
            domains,
            emails: split_list(row.get("emails")),
            manager,
            key,
        });
    }
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(clients)
}

fn split_list_keep_case(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Orders read from their rows one at a time (see `FileCrm::fetch`).
struct OrderReader {
    rows: RowReader,
    mapping: FileMapping,
    ctx: SyncContext,
}

impl Iterator for OrderReader {
    type Item = Result<Order, SourceWarning>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut row = match self.rows.next()? {
            Ok(row) => row,
            Err(warning) => return Some(Err(warning)),
        };
        FileMapping::rename(&self.mapping.order_columns, std::slice::from_mut(&mut row));
        let mapping = &self.mapping;
        Some(
            read_order(&row, self.ctx.tz, mapping)
                .and_then(|mut order| mapping.money.convert(&mut order).map(|()| order))
                .map(|mut order| {
                    order.manager = self.ctx.manager_for(row.get("manager"));
                    order
                })
                .map_err(|message| SourceWarning {
                    place: format!("{}:{}", self.rows.path.display(), row.line),
                    message: format!("{message}; order skipped"),
                    skipped: true,
                }),
        )
    }
}

fn read_order(row: &Row, tz: Tz, mapping: &FileMapping) -> Result<Order, String> {
    let id = row.get("id");
    if id.is_empty() {
        return Err("order without an id".into());
    }
    let client_id = row.get("client_id");
    if client_id.is_empty() {
        return Err(format!("order {id} has no client_id"));
    }
    let created_at = parse_instant(row.get("created_at"), tz)
        .or_else(|| parse_formatted(row.get("created_at"), mapping.date_format.as_deref()?, tz))
        .ok_or_else(|| {
            format!(
                "order {id}: created_at `{}` is neither RFC 3339 nor YYYY-MM-DD{}",
                row.get("created_at"),
                mapping
                    .date_format
                    .as_deref()
                    .map(|f| format!(" nor {f}"))
                    .unwrap_or_default()
            )
        })?;
    let amount_text = if mapping.decimal_comma {
        row.get("amount").replace('.', "")
    } else {
        row.get("amount").to_string()
    };
    let amount = parse_amount(&amount_text)
        .ok_or_else(|| format!("order {id}: amount `{}` is not a number", row.get("amount")))?;
    let status = row.get("status").to_lowercase();
    Ok(Order {
        id: id.to_string(),
        client_id: client_id.to_string(),
        created_at,
        amount,
        currency: row.get("currency").to_uppercase(),
        cancelled: matches!(status.as_str(), "cancelled" | "canceled"),
        status,
        manager: None,
    })
}

/// RFC 3339, or a date meaning midnight in the company's zone (SPEC §9).
pub fn parse_instant(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|d| local_midnight(d, tz))
}

/// A date or date-time in a configured chrono format, read in `tz`.
fn parse_formatted(text: &str, format: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(local) = chrono::NaiveDateTime::parse_from_str(text, format) {
        return super::common::local_instant(local, tz);
    }
    NaiveDate::parse_from_str(text, format)
        .ok()
        .map(|d| local_midnight(d, tz))
}

/// A money amount: `1234.5`, `1 234,50` or `1234,5`.
pub(crate) fn parse_amount(text: &str) -> Option<f64> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let normalized = if compact.contains(',') && !compact.contains('.') {
        compact.replace(',', ".")
    } else {
        compact.replace(',', "")
    };
    normalized.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_without_time_are_company_midnight() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        assert_eq!(
            parse_instant("2026-11-01", tz).unwrap().to_rfc3339(),
            "2026-10-31T21:00:00+00:00"
        );
        assert_eq!(
            parse_instant("2026-11-01T10:00:00+03:00", tz)
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T07:00:00+00:00"
        );
        assert!(parse_instant("01.11.2026", tz).is_none());
    }

    #[test]
    fn amounts_accept_spaces_and_decimal_commas() {
        assert_eq!(parse_amount("1 234,50"), Some(1234.5));
        assert_eq!(parse_amount("1,234.50"), Some(1234.5));
        assert_eq!(parse_amount("1500"), Some(1500.0));
        assert_eq!(parse_amount("abc"), None);
    }

    #[test]
    fn flags_read_the_usual_spellings() {
        assert_eq!(parse_flag("Yes"), Some(true));
        assert_eq!(parse_flag(""), Some(false));
        assert_eq!(parse_flag("maybe"), None);
    }

    /// fuzz/artifacts/crm_files/crash-dfd0e43b: a domains cell of `www.` or `@`
    /// gave the client an empty domain.
    #[test]
    fn fuzz_crash_dfd0e43b_a_bare_www_or_at_is_no_domain() {
        let ctx = SyncContext::new(
            &toml::from_str("[company]\nname = \"A\"").unwrap(),
            chrono::Utc::now(),
        );
        let (clients, _, warnings) = read_exports(
            Format::Csv,
            (
                Path::new("clients.csv"),
                b"id,name,domains\nC1,Acme,www.;@;acme.example\n",
            ),
            (Path::new("orders.csv"), b"id,client_id,created_at,amount\n"),
            &FileMapping::default(),
            &ctx,
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(clients[0].domains, vec!["acme.example"]);
    }
}
