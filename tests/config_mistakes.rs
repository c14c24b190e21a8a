//! Issue 7: a config file with every kind of mistake yields one clear error
//! per mistake, each naming the file, the line and the key, and exit code 2;
//! each mistake alone yields exactly its own error. The file is built from
//! parts that each come in a good and a bad version, so the same text gives
//! the all-mistakes file, the one-mistake files and the valid file; the
//! line a mistake must be reported at is the one marked `#!` in its bad
//! version.

mod common;

use std::collections::BTreeSet;

use common::meetledger;

/// One piece of the config file. `key: None` is text shared by every
/// version (section headers, correct entries).
struct Part {
    good: &'static str,
    bad: &'static str,
    key: Option<&'static str>,
}

const fn same(text: &'static str) -> Part {
    Part {
        good: text,
        bad: text,
        key: None,
    }
}

const fn mistake(good: &'static str, bad: &'static str, key: &'static str) -> Part {
    Part {
        good,
        bad,
        key: Some(key),
    }
}

const PARTS: &[Part] = &[
    same("[company]\nname = \"Acme\"\n"),
    // A bad time zone.
    mistake(
        "timezone = \"Europe/Moscow\"\n",
        "timezone = \"Europe/Atlantis\" #!\n",
        "company.timezone",
    ),
    same("\n[scoring]\n"),
    // An unknown key in a section (a misspelling).
    mistake(
        "match_titles = true\n",
        "match_title = true #!\n",
        "scoring.match_title",
    ),
    // Out of range: negative hours, a negative weight.
    mistake(
        "max_hours = 8\n",
        "max_hours = -2 #!\n",
        "scoring.max_hours",
    ),
    mistake(
        "weights = { online = 0.5 }\n",
        "weights = { online = -0.5 } #!\n",
        "scoring.weights.online",
    ),
    same("\n[sync]\n"),
    // A string for a number.
    mistake(
        "days_back = 400\n",
        "days_back = \"400\" #!\n",
        "sync.days_back",
    ),
    same("\n[schedule]\n"),
    // A bad cron schedule.
    mistake(
        "sync = \"0 */15 * * * *\"\n",
        "sync = \"every 15 minutes\" #!\n",
        "schedule.sync",
    ),
    // An unknown section.
    mistake(
        "",
        "\n[reporting] #!\nformat = \"pdf\"\n",
        "reporting",
    ),
    same("\n[[manager]]\nid = \"ivanov\"\nname = \"Ivan Ivanov\"\nemail = \"ivanov@acme.example\"\n"),
    // A missing required key.
    mistake(
        "\n[[manager]]\nid = \"petrova\"\nname = \"Olga Petrova\"\n",
        "\n[[manager]] #!\nid = \"petrova\"\n",
        "manager[1].name",
    ),
    // A bad email address.
    mistake(
        "email = \"petrova@acme.example\"\n",
        "email = \"petrova(at)acme.example\" #!\n",
        "manager[1].email",
    ),
    // A duplicate manager id.
    mistake(
        "\n[[manager]]\nid = \"sidorov\"\nname = \"Sid Sidorov\"\nemail = \"sidorov@acme.example\"\n",
        "\n[[manager]]\nid = \"ivanov\" #!\nname = \"Sid Sidorov\"\nemail = \"sidorov@acme.example\"\n",
        "manager[2].id",
    ),
    same("\n[[calendar]]\nid = \"ivanov-main\"\nmanager = \"ivanov\"\nkind = \"ics_file\"\npath = \"calendars/ivanov.ics\"\n"),
    // A misspelled key inside a [[calendar]] (its `path` is then missing:
    // the same mistake, not another).
    mistake(
        "\n[[calendar]]\nid = \"ivanov-old\"\nmanager = \"ivanov\"\nkind = \"ics_file\"\npath = \"calendars/ivanov.ics\"\n",
        "\n[[calendar]]\nid = \"ivanov-old\"\nmanager = \"ivanov\"\nkind = \"ics_file\"\npth = \"calendars/ivanov.ics\" #!\n",
        "calendar[1].pth",
    ),
    same("\n[[calendar]]\nid = \"petrova-main\"\nkind = \"ics_file\"\n"),
    // A calendar of an unknown manager.
    mistake(
        "manager = \"petrova\"\n",
        "manager = \"petrova-o\" #!\n",
        "calendar[2].manager",
    ),
    // A missing file for an ics_file source.
    mistake(
        "path = \"calendars/petrova.ics\"\n",
        "path = \"calendars/petrova-2024.ics\" #!\n",
        "calendar[2].path",
    ),
    // A duplicate calendar id.
    mistake(
        "\n[[calendar]]\nid = \"ivanov-shared\"\nmanager = \"ivanov\"\nkind = \"ics_file\"\npath = \"calendars/shared.ics\"\n",
        "\n[[calendar]]\nid = \"ivanov-main\" #!\nmanager = \"ivanov\"\nkind = \"ics_file\"\npath = \"calendars/shared.ics\"\n",
        "calendar[3].id",
    ),
    same("\n[[crm]]\nid = \"main\"\n"),
    // An unknown kind.
    mistake("kind = \"csv\"\n", "kind = \"excel\" #!\n", "crm[0].kind"),
    same("clients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n"),
    same("\n[[crm]]\nid = \"shop\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n"),
    // A currency that is not a code.
    mistake(
        "currency = \"RUB\"\n",
        "currency = \"rubles\" #!\n",
        "crm[1].currency",
    ),
    same("\n[email]\ntransport = \"smtp\"\n"),
    // A bad sender address.
    mistake(
        "from = \"meetledger@acme.example\"\n",
        "from = \"meetledger at acme\" #!\n",
        "email.from",
    ),
    same("\n[email.smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\n"),
    // A number out of its type's range.
    mistake("port = 2525\n", "port = 70000 #!\n", "email.smtp.port"),
];

/// The config text with the mistakes whose index `bad` accepts.
fn config_text(bad: impl Fn(usize) -> bool) -> String {
    PARTS
        .iter()
        .enumerate()
        .map(|(i, p)| if bad(i) { p.bad } else { p.good })
        .collect()
}

/// (line, key) of every `#!` mark of the mistakes that are in `text`.
fn marked(text: &str, bad: impl Fn(usize) -> bool) -> BTreeSet<(usize, String)> {
    let keys: Vec<&str> = PARTS
        .iter()
        .enumerate()
        .filter(|(i, p)| p.key.is_some() && bad(*i))
        .map(|(_, p)| p.key.unwrap())
        .collect();
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("#!"))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), keys.len(), "one #! mark per mistake");
    lines
        .into_iter()
        .zip(keys.into_iter().map(str::to_string))
        .collect()
}

struct Checked {
    code: i32,
    /// (line, key) of each `file:line: key `…`: message` line, in order.
    errors: Vec<(usize, String)>,
    stderr: String,
}

/// Runs `check-config` on `text` in a folder with the files the valid
/// config names.
fn check(text: &str) -> Checked {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "calendars/ivanov.ics",
        "calendars/petrova.ics",
        "calendars/shared.ics",
        "crm/clients.csv",
        "crm/orders.csv",
    ] {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "").unwrap();
    }
    let config = dir.path().join("meetledger.toml");
    std::fs::write(&config, text).unwrap();
    let run = meetledger(&["--config", config.to_str().unwrap(), "check-config"]);
    let prefix = format!("{}:", config.display());
    let errors = run
        .stderr
        .lines()
        .filter_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
        .map(|rest| {
            let (line, rest) = rest.split_once(": key `").unwrap_or_else(|| {
                panic!("an error without a line and a key: {rest}\n{}", run.stderr)
            });
            let key = rest.split('`').next().unwrap();
            (line.parse().unwrap(), key.to_string())
        })
        .collect();
    Checked {
        code: run.code,
        errors,
        stderr: run.stderr,
    }
}

#[test]
fn the_config_without_mistakes_is_valid() {
    let checked = check(&config_text(|_| false));
    assert_eq!(checked.code, 0, "{}", checked.stderr);
}

#[test]
fn every_mistake_at_once_gives_one_error_each_with_its_line_and_key() {
    let text = config_text(|_| true);
    let checked = check(&text);
    assert_eq!(checked.code, 2, "{}", checked.stderr);
    let expected = marked(&text, |_| true);
    let found: BTreeSet<(usize, String)> = checked.errors.iter().cloned().collect();
    assert_eq!(
        found, expected,
        "errors differ from the marked mistakes:\n{}",
        checked.stderr
    );
    assert_eq!(
        checked.errors.len(),
        expected.len(),
        "a mistake reported twice:\n{}",
        checked.stderr
    );
    // In file order, so they can be fixed top to bottom.
    let lines: Vec<usize> = checked.errors.iter().map(|(l, _)| *l).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{}", checked.stderr);
}

#[test]
fn each_mistake_alone_gives_exactly_its_own_error() {
    for (i, part) in PARTS.iter().enumerate() {
        let Some(key) = part.key else { continue };
        let text = config_text(|j| j == i);
        let checked = check(&text);
        assert_eq!(checked.code, 2, "{key}: {}", checked.stderr);
        let expected: Vec<(usize, String)> = marked(&text, |j| j == i).into_iter().collect();
        assert_eq!(checked.errors, expected, "{key}:\n{}", checked.stderr);
    }
}

#[test]
fn the_messages_say_what_is_wrong() {
    let checked = meetledger_stderr(&config_text(|_| true));
    for needle in [
        "`Europe/Atlantis` is not an IANA time zone",
        "unknown field `match_title` (did you mean `match_titles`?)",
        "unknown field `reporting`",
        "unknown field `pth` (did you mean `path`?)",
        "invalid type: string \"400\", expected a whole number",
        "missing key `name` (required)",
        "duplicate manager id `ivanov`",
        "duplicate calendar id `ivanov-main`",
        "no [[manager]] has id `petrova-o`",
        "calendars/petrova-2024.ics` does not exist",
        "unknown variant `excel`",
        "`meetledger at acme` is not an email address",
        "expected a whole number from 0 to 65535",
    ] {
        assert!(checked.contains(needle), "no `{needle}` in:\n{checked}");
    }
}

fn meetledger_stderr(text: &str) -> String {
    check(text).stderr
}

#[test]
fn a_syntax_error_is_reported_alone_with_line_and_column() {
    // A syntax error hides nothing worth guessing at: it is the one error.
    let text = config_text(|_| true).replacen("[sync]", "[sync", 1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("meetledger.toml");
    std::fs::write(&config, &text).unwrap();
    let run = meetledger(&["--config", config.to_str().unwrap(), "check-config"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = text.lines().position(|l| l == "[sync").unwrap() + 1;
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("meetledger.toml:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains(&format!("meetledger.toml:{line}:6: TOML syntax:")),
        "{}",
        run.stderr
    );
}
