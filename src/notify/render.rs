//! Digests → subject, plain text and HTML through the minijinja templates in
//! `templates/` (compiled into the binary). HTML templates auto-escape every
//! value, so a meeting titled `<script>` arrives as text; the plain-text
//! part is not HTML and needs no escaping.

use anyhow::{Context, Result};
use minijinja::value::Serde;
use minijinja::{context, Environment, Value};
use serde::Serialize;

use crate::config::Language;

static TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html.j2",
        include_str!("../../templates/layout.html.j2"),
    ),
    (
        "manager.html.j2",
        include_str!("../../templates/manager.html.j2"),
    ),
    (
        "manager.txt.j2",
        include_str!("../../templates/manager.txt.j2"),
    ),
    ("head.html.j2", include_str!("../../templates/head.html.j2")),
    ("head.txt.j2", include_str!("../../templates/head.txt.j2")),
];

static STRINGS: &str = include_str!("../../templates/strings.toml");

/// Longest text an email shows of one value (a title, a client name, a
/// provider's error). Calendar and CRM text is written by outsiders: a
/// 10 MB title would make a 20 MB email that SMTP servers refuse, and the
/// whole day's email would fail. With rows capped (`digest::MAX_ROWS`) this
/// bounds every email to a few hundred kilobytes.
pub const MAX_TEXT_CHARS: usize = 300;

/// Cuts every string of the email's data to [`MAX_TEXT_CHARS`], marking the
/// cut with "…".
fn shorten_texts(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
                text.truncate(cut);
                text.push('…');
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(shorten_texts),
        serde_json::Value::Object(map) => map.values_mut().for_each(shorten_texts),
        _ => {}
    }
}

/// One rendered email, before addressing.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Renderer {
    env: Environment<'static>,
    strings: toml::Table,
}

impl Renderer {
    pub fn new() -> Result<Renderer> {
        let mut env = Environment::new();
        // `.html.j2` → HTML escaping (minijinja's default callback strips
        // the `.j2`); `.txt.j2` → none.
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .context("template syntax")?,
        );
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .with_context(|| format!("template {name}"))?;
        }
        let strings: toml::Table = toml::from_str(STRINGS).context("templates/strings.toml")?;
        Ok(Renderer { env, strings })
    }

    fn words(&self, language: Language) -> Value {
        let key = match language {
            Language::Ru => "ru",
            Language::En => "en",
        };
        Value::from(Serde(self.strings.get(key)))
    }

    /// Renders `kind` (`manager` or `head`) for digest `d`.
    pub fn render<D: Serialize>(
        &self,
        kind: &str,
        language: Language,
        company: &str,
        d: &D,
    ) -> Result<Rendered> {
        let t = self.words(language);
        let mut d = serde_json::to_value(d).context("email data")?;
        shorten_texts(&mut d);
        let d = Value::from(Serde(d));
        let subject_template = t
            .get_attr(&format!("subject_{kind}"))
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let subject = self
            .env
            .render_str(&subject_template, context! { d => d.clone() })
            .context("email subject")?;
        let lang = match language {
            Language::Ru => "ru",
            Language::En => "en",
        };
        let ctx = context! { t => t, d => d, subject => subject.clone(), company => company, lang => lang };
        let text = self
            .env
            .get_template(&format!("{kind}.txt.j2"))?
            .render(&ctx)
            .with_context(|| format!("{kind}.txt.j2"))?;
        let html = self
            .env
            .get_template(&format!("{kind}.html.j2"))?
            .render(&ctx)
            .with_context(|| format!("{kind}.html.j2"))?;
        Ok(Rendered {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: tidy(&text),
            html,
        })
    }
}

/// Collapses the blank-line runs templates leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_start_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_words() {
        let strings: toml::Table = toml::from_str(STRINGS).unwrap();
        fn keys(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
            if let Some(t) = v.as_table() {
                for (k, v) in t {
                    keys(v, &format!("{prefix}.{k}"), out);
                }
            } else {
                out.push(prefix.to_string());
            }
        }
        let (mut en, mut ru) = (vec![], vec![]);
        keys(&strings["en"], "", &mut en);
        keys(&strings["ru"], "", &mut ru);
        assert_eq!(en, ru);
    }

    #[test]
    fn html_escapes_and_text_keeps_hostile_titles() {
        let r = Renderer::new().unwrap();
        let d = serde_json::json!({"team": [{"name": "<script>alert(1)</script>", "raw": "1/2", "weighted": "1/2", "plan": "1/1", "fulfilment": "50%", "mean_score": "—", "key_coverage": "—", "smart_met": false}],
            "alerts": [], "unmet_keys": [], "period": "2026-11", "day": "2026-11-27", "company": "A"});
        let out = r
            .render("head", Language::En, "\"><img src=x onerror=alert(1)>", &d)
            .unwrap();
        assert!(!out.html.contains("<script>"), "{}", out.html);
        assert!(out.html.contains("&lt;script&gt;"));
        assert!(!out.html.contains("<img src=x"));
        assert!(out.text.contains("<script>alert(1)</script>"));
    }
}
