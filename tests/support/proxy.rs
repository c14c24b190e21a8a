//! A small HTTP/1 proxy for tests: logs every request (method, path, REPORT
//! kind), and optionally fails a seeded share of them the ways servers and
//! networks do (500, 503, 429 with `Retry-After: 0`, a dropped connection, a
//! body cut off short of its Content-Length, a body cut off with a matching
//! Content-Length), or hides RFC 6578 support to force the ctag/etag path.
//! With `Options::delays` it also holds answers back: a delay the client
//! should sit out, and a stall (half the body, then silence) longer than the
//! client's timeout, which it must give up on and retry.
//! One request per connection: it answers with `Connection: close`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Status500,
    Status503,
    TooMany,
    Drop,
    ShortBody,
    CutXml,
    /// The whole answer, `Delays::short` late.
    Delay,
    /// The head and half the body, then nothing for `Delays::stall`.
    Stall,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Status500 => "500",
            Fault::Status503 => "503",
            Fault::TooMany => "429",
            Fault::Drop => "drop",
            Fault::ShortBody => "short-body",
            Fault::CutXml => "cut-body",
            Fault::Delay => "delay",
            Fault::Stall => "stall",
        }
    }
}

/// Without `Options::delays`: the draw the existing fault tests were
/// written against (same seed, same faults).
const FAULTS: [Fault; 6] = [
    Fault::Status500,
    Fault::Status503,
    Fault::TooMany,
    Fault::Drop,
    Fault::ShortBody,
    Fault::CutXml,
];

const FAULTS_WITH_DELAYS: [Fault; 8] = [
    Fault::Status500,
    Fault::Status503,
    Fault::TooMany,
    Fault::Drop,
    Fault::ShortBody,
    Fault::CutXml,
    Fault::Delay,
    Fault::Stall,
];

/// How long the delay faults hold an answer.
#[derive(Debug, Clone, Copy)]
pub struct Delays {
    /// Shorter than the client's timeout: the answer arrives, late.
    pub short: Duration,
    /// Longer than the client's timeout: the client gives up first.
    pub stall: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// For REPORT: the request body's root element (`sync-collection`,
    /// `calendar-query`, `calendar-multiget`).
    pub report: Option<String>,
    pub fault: Option<Fault>,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// (seed, share of requests that fail)
    pub faults: Option<(u64, f64)>,
    /// Strip `sync-collection` from `supported-report-set` and refuse the
    /// report: a server with ctag/etag only.
    pub hide_sync: bool,
    /// Adds `Delay` and `Stall` to the faults drawn.
    pub delays: Option<Delays>,
}

struct State {
    upstream: SocketAddr,
    options: Options,
    rng: Mutex<StdRng>,
    log: Mutex<Vec<Logged>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, options: Options) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seed = options.faults.map(|(s, _)| s).unwrap_or(0);
        let state = Arc::new(State {
            upstream,
            options,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            log: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = handle(socket, &state).await;
                });
            }
        });
        Proxy { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The requests logged since the last call.
    pub fn take(&self) -> Vec<Logged> {
        std::mem::take(&mut *self.state.log.lock().unwrap())
    }
}

/// Faulted requests per kind (by `Fault::name`), and the request count.
pub fn tally(log: &[Logged]) -> (usize, std::collections::BTreeMap<&'static str, usize>) {
    let mut by_kind = std::collections::BTreeMap::new();
    for fault in log.iter().filter_map(|l| l.fault) {
        *by_kind.entry(fault.name()).or_insert(0) += 1;
    }
    (log.len(), by_kind)
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Head lines without the hop-by-hop and length headers we rewrite.
fn kept_headers(head: &str) -> Vec<&str> {
    head.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let name = l
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            !matches!(
                name.as_str(),
                "connection" | "keep-alive" | "content-length" | "transfer-encoding"
            )
        })
        .collect()
}

async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let want = content_length(&head);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < want {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

fn response(status_line: &str, headers: &[&str], body: &[u8], length: usize) -> Vec<u8> {
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

async fn handle(mut client: TcpStream, state: &State) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await else {
        return Ok(());
    };
    let mut request_line = head.lines().next().unwrap_or("").split_whitespace();
    let method = request_line.next().unwrap_or("").to_string();
    let path = request_line.next().unwrap_or("").to_string();
    let report = (method == "REPORT")
        .then(|| meetledger::sources::caldav::xml::parse(&body).ok())
        .flatten()
        .map(|root| root.name);
    let kinds: &[Fault] = if state.options.delays.is_some() {
        &FAULTS_WITH_DELAYS
    } else {
        &FAULTS
    };
    let fault = state.options.faults.and_then(|(_, share)| {
        let mut rng = state.rng.lock().unwrap();
        rng.random_bool(share)
            .then(|| kinds[rng.random_range(0..kinds.len())])
    });
    state.log.lock().unwrap().push(Logged {
        method: method.clone(),
        path: path.clone(),
        report: report.clone(),
        fault,
    });

    if state.options.hide_sync && report.as_deref() == Some("sync-collection") {
        let answer = response("HTTP/1.1 501 Not Implemented", &[], b"", 0);
        return client.write_all(&answer).await;
    }
    match fault {
        Some(Fault::Status500) => {
            let answer = response("HTTP/1.1 500 Internal Server Error", &[], b"", 0);
            return client.write_all(&answer).await;
        }
        Some(Fault::Status503) => {
            let answer = response(
                "HTTP/1.1 503 Service Unavailable",
                &["Retry-After: 0"],
                b"",
                0,
            );
            return client.write_all(&answer).await;
        }
        Some(Fault::TooMany) => {
            let answer = response(
                "HTTP/1.1 429 Too Many Requests",
                &["Retry-After: 0"],
                b"",
                0,
            );
            return client.write_all(&answer).await;
        }
        _ => {}
    }

    // Forward, one request per upstream connection.
    let mut upstream = TcpStream::connect(state.upstream).await?;
    let mut forward = format!("{}\r\n", head.lines().next().unwrap_or(""));
    for h in kept_headers(&head) {
        forward.push_str(h);
        forward.push_str("\r\n");
    }
    forward.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    upstream.write_all(forward.as_bytes()).await?;
    upstream.write_all(&body).await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    let Some(head_end) = find(&answer, b"\r\n\r\n") else {
        return Ok(());
    };
    let answer_head = String::from_utf8_lossy(&answer[..head_end]).into_owned();
    let mut answer_body = answer[head_end + 4..].to_vec();
    if state.options.hide_sync {
        let text = String::from_utf8_lossy(&answer_body).replace(
            "<supported-report><report><sync-collection /></report></supported-report>",
            "",
        );
        answer_body = text.into_bytes();
    }
    let status_line = answer_head
        .lines()
        .next()
        .unwrap_or("HTTP/1.1 502 Bad Gateway");
    let headers = kept_headers(&answer_head);
    let delays = state.options.delays;
    let out = match (fault, delays) {
        (Some(Fault::Drop), _) => return Ok(()),
        (Some(Fault::Delay), Some(delays)) => {
            tokio::time::sleep(delays.short).await;
            response(status_line, &headers, &answer_body, answer_body.len())
        }
        (Some(Fault::Stall), Some(delays)) => {
            // Promise the whole body, send half (or nothing of an empty
            // answer), then go quiet past the client's timeout.
            let half = answer_body.len() / 2;
            if half > 0 {
                let mut bytes = response(status_line, &headers, &answer_body, answer_body.len());
                bytes.truncate(bytes.len() - (answer_body.len() - half));
                client.write_all(&bytes).await?;
                client.flush().await?;
            }
            tokio::time::sleep(delays.stall).await;
            return Ok(());
        }
        (Some(Fault::ShortBody), _) if answer_body.len() > 1 => {
            let half = answer_body.len() / 2;
            let mut bytes = response(status_line, &headers, &answer_body, answer_body.len());
            bytes.truncate(bytes.len() - (answer_body.len() - half));
            bytes
        }
        (Some(Fault::CutXml), _) if answer_body.len() > 1 => {
            let half = answer_body.len() / 2;
            response(status_line, &headers, &answer_body[..half], half)
        }
        _ => response(status_line, &headers, &answer_body, answer_body.len()),
    };
    client.write_all(&out).await?;
    client.shutdown().await
}
