//! Golden checks of the rendered nightly emails for the demo company, in
//! Russian and English (plain text and HTML), as `meetledger email` prints
//! and writes them at the demo's fixed "now". Update after an intended
//! change with `UPDATE_GOLDEN=1 cargo test --test email_render`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const NOW: &str = "2026-11-27T18:00:00+03:00";

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/email")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                panic!(
                    "{name} differs at line {}:\nexpected: {e}\nactual:   {a}",
                    i + 1
                );
            }
        }
        panic!(
            "{name} differs in length ({} vs {} lines)",
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

fn demo_company(language: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let run = meetledger(&["demo", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let config = dir.path().join("meetledger.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("language = \"ru\"", &format!("language = \"{language}\""));
    std::fs::write(
        &config,
        format!(
            "{text}\n[email]\nfrom = \"meetledger@upakprom.ru\"\nhead = [\"head@upakprom.ru\"]\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn demo_emails_match_the_golden_files_in_both_languages() {
    for language in ["ru", "en"] {
        let dir = demo_company(language);
        let config = dir.path().join("meetledger.toml");
        let config = config.to_str().unwrap();
        for to in ["ivanova", "head"] {
            let run = meetledger(&["--config", config, "--now", NOW, "email", "--to", to]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            golden(&format!("{language}-{to}.txt"), &run.stdout);
        }
        // The HTML parts, decoded from the .eml files by Python's email
        // package.
        let out = dir.path().join("eml");
        let run = meetledger(&[
            "--config",
            config,
            "--now",
            NOW,
            "email",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/parse_eml.py");
        for (to, file) in [
            ("ivanova", "2026-11-27-ivanova-a.ivanova@upakprom.ru.eml"),
            ("head", "2026-11-27-head-head@upakprom.ru.eml"),
        ] {
            let parsed = Command::new(venv_python())
                .arg(&script)
                .arg(out.join(file))
                .output()
                .unwrap();
            assert!(
                parsed.status.success(),
                "{}",
                String::from_utf8_lossy(&parsed.stderr)
            );
            let value: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
            golden(
                &format!("{language}-{to}.html"),
                value["html"].as_str().unwrap(),
            );
        }
    }
}

#[test]
fn an_unknown_recipient_is_a_usage_error() {
    let dir = demo_company("en");
    let config = dir.path().join("meetledger.toml");
    let run = meetledger(&[
        "--config",
        config.to_str().unwrap(),
        "--now",
        NOW,
        "email",
        "--to",
        "nobody",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nobody"));
}
