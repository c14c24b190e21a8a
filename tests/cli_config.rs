//! A bad configuration is refused with exit code 2 and a message naming the
//! file, the line and the key; a good one passes `check-config`.

mod common;

use common::{meetledger, Company};

fn check(company: &Company) -> common::Run {
    meetledger(&[
        "--config",
        company.config().to_str().unwrap(),
        "check-config",
    ])
}

#[test]
fn the_shipped_example_config_is_valid() {
    let company = Company::new("");
    company.write("meetledger.toml", include_str!("../config/example.toml"));
    company.write("calendars/ivanov.ics", &common::ics(&[]));
    let run = check(&company);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("ok (1 managers, 1 calendars, 1 CRM sources)"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unknown_key_names_file_line_and_key() {
    let company = Company::new("[scoring]\nmin_minutes = 20\nmax_hourz = 8\n");
    let run = check(&company);
    assert_eq!(run.code, 2);
    // The extra text starts two lines after the common head.
    let line = common::CONFIG_HEAD.lines().count() + 4;
    let expected =
        format!("meetledger.toml:{line}: key `scoring.max_hourz`: unknown field `max_hourz`");
    assert!(
        run.stderr.contains(&expected),
        "expected `{expected}` in:\n{}",
        run.stderr
    );
}

#[test]
fn a_calendar_of_an_unknown_manager_names_the_line_of_that_key() {
    let company = Company::new("[[calendar]]\nid = \"x\"\nmanager = \"sidorov\"\nkind = \"ics_file\"\npath = \"calendars/ivanov.ics\"\n");
    let run = check(&company);
    assert_eq!(run.code, 2);
    let line = common::CONFIG_HEAD.lines().count() + 4;
    let expected = format!(
        "meetledger.toml:{line}: key `calendar[2].manager`: no [[manager]] has id `sidorov`"
    );
    assert!(
        run.stderr.contains(&expected),
        "expected `{expected}` in:\n{}",
        run.stderr
    );
}

#[test]
fn every_semantic_mistake_is_reported_at_once() {
    let company = Company::new("");
    let text = std::fs::read_to_string(company.config())
        .unwrap()
        .replace("Europe/Moscow", "Europe/Atlantis")
        .replace("id = \"petrova\"", "id = \"ivanov\"")
        .replace("calendars/petrova.ics", "calendars/missing.ics");
    company.write("meetledger.toml", &text);
    let run = check(&company);
    assert_eq!(run.code, 2);
    for needle in [
        "key `company.timezone`: `Europe/Atlantis` is not an IANA time zone",
        "key `manager[1].id`: duplicate manager id `ivanov`",
        "key `calendar[1].path`",
        "missing.ics` does not exist",
    ] {
        assert!(
            run.stderr.contains(needle),
            "expected `{needle}` in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let run = meetledger(&["--config", "/nonexistent/meetledger.toml", "check-config"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("/nonexistent/meetledger.toml: cannot read the config file"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_now_is_a_usage_error() {
    let company = Company::new("");
    let run = company.run("yesterday", &["report"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not an RFC 3339 time"),
        "{}",
        run.stderr
    );
}
