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
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
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
                let builder = match smtp.tls {
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                };
                let mut builder = builder.port(smtp.port).timeout(Some(SMTP_TIMEOUT));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    let secret = crate::secrets::resolve(password, &config.base_dir)
                        .context("the SMTP password")?;
                    builder = builder
                        .credentials(Credentials::new(user.clone(), secret.expose().to_string()));
                }
                Ok(Transport::Smtp(builder.build()))
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
