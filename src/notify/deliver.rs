//! Email delivery: a lettre `Message` (multipart/alternative: plain text,
//! then HTML) and the two transports, SMTP (STARTTLS, implicit TLS, or plain
//! to a relay on 127.0.0.1) and `file` (.eml files in a folder). Knows
//! nothing of the outbox: `notify::send` decides what may be sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, EmailConfig, EmailTransport, SmtpTls};

/// SMTP conversations that hang are cut after this long (lettre's default
/// is 60 s; a nightly job can afford less waiting per attempt).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An addressed, rendered email.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `head` or a manager id.
    pub recipient: String,
    pub address: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Stable per day and address, so even a copy that slipped through
    /// would thread as the same message.
    pub message_id: String,
    /// The local day it is for (YYYY-MM-DD): the outbox key with `address`.
    pub day: String,
}

impl Envelope {
    /// The MIME message; `date` is the Date header.
    pub fn message(&self, from: &str, date: DateTime<Utc>) -> Result<Message> {
        let from: Mailbox = from.parse().with_context(|| format!("sender `{from}`"))?;
        let to: Mailbox = self
            .address
            .parse()
            .with_context(|| format!("recipient `{}`", self.address))?;
        Message::builder()
            .from(from)
            .to(to)
            .subject(&self.subject)
            .message_id(Some(self.message_id.clone()))
            .date(date.into())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(self.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(self.html.clone()),
                    ),
            )
            .context("cannot build the email")
    }

    /// The .eml file name: day, recipient and address, safe characters only.
    pub fn file_name(&self) -> String {
        let safe: String = format!("{}-{}-{}", self.day, self.recipient, self.address)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.eml")
    }
}

/// Where messages go.
pub enum Transport {
    /// Implicit TLS (port 465), through lettre's transport.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Plain or STARTTLS, over a connection we open ourselves.
    Direct(DirectSmtp),
    File(PathBuf),
}

/// One SMTP conversation per message on a socket with `TCP_NODELAY`.
/// lettre's own connections leave Nagle's algorithm on, and the final
/// "." of a message then sits in the kernel for ~40 ms (delayed ACK) before
/// the server sees it: a sender killed in that gap has delivered a message
/// it never recorded as sent, and the restart sends it again (measured by
/// `tests/crash_kill.rs`). With the flag the gap is one round trip.
pub struct DirectSmtp {
    host: String,
    port: u16,
    starttls: bool,
    credentials: Option<Credentials>,
}

impl DirectSmtp {
    async fn send(&self, message: &Message) -> Result<()> {
        use lettre::transport::smtp::authentication::Mechanism;
        use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
        use lettre::transport::smtp::extension::ClientId;

        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .with_context(|| format!("cannot connect to {}:{}", self.host, self.port))?;
        tcp.set_nodelay(true)?;
        let hello = ClientId::default();
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello).await?;
        if self.starttls {
            connection
                .starttls(TlsParameters::new(self.host.clone())?, &hello)
                .await?;
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        connection
            .send(message.envelope(), &message.formatted())
            .await?;
        // The message is the server's once it answered 250; a failed QUIT
        // changes nothing.
        let _ = connection.quit().await;
        Ok(())
    }
}

impl Transport {
    /// The transport the config asks for; resolves the SMTP password (never
    /// logged: `Secret` prints as `[redacted]`).
    pub fn from_config(config: &Config, email: &EmailConfig) -> Result<Transport> {
        match email.transport {
            EmailTransport::File => Ok(Transport::File(config.resolve(&email.folder))),
            EmailTransport::Smtp => {
                let Some(smtp) = &email.smtp else {
                    bail!("[email] transport = \"smtp\" needs an `smtp = {{ host = … }}` table");
                };
                let credentials = match (&smtp.username, &smtp.password) {
                    (Some(user), Some(password)) => {
                        let secret = crate::secrets::resolve(password, &config.base_dir)
                            .context("the SMTP password")?;
                        Some(Credentials::new(user.clone(), secret.expose().to_string()))
                    }
                    _ => None,
                };
                match smtp.tls {
                    SmtpTls::Tls => {
                        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?
                            .port(smtp.port)
                            .timeout(Some(SMTP_TIMEOUT));
                        if let Some(credentials) = credentials {
                            builder = builder.credentials(credentials);
                        }
                        Ok(Transport::Smtp(builder.build()))
                    }
                    SmtpTls::Starttls | SmtpTls::None => Ok(Transport::Direct(DirectSmtp {
                        host: smtp.host.clone(),
                        port: smtp.port,
                        starttls: smtp.tls == SmtpTls::Starttls,
                        credentials,
                    })),
                }
            }
        }
    }

    pub async fn send(&self, envelope: &Envelope, message: &Message) -> Result<()> {
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message.clone())
                    .await
                    .with_context(|| format!("SMTP refused the email to {}", envelope.address))?;
                Ok(())
            }
            Transport::Direct(direct) => tokio::time::timeout(SMTP_TIMEOUT, direct.send(message))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {SMTP_TIMEOUT:?}")))
                .with_context(|| format!("SMTP refused the email to {}", envelope.address)),
            Transport::File(folder) => {
                write_eml(folder, &envelope.file_name(), &message.formatted()).map(|_| ())
            }
        }
    }
}

/// Writes an .eml file atomically (temporary file, then rename): a reader
/// of the folder never sees half a message.
pub fn write_eml(folder: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create the outbox folder {}", folder.display()))?;
    let path = folder.join(name);
    let mut temp = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("cannot write in {}", folder.display()))?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
