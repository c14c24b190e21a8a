//! Config checks of the network calendar kinds (`ics_url`, `caldav`): each
//! error names the key, and example blocks from the README parse.

use std::path::Path;

use meetledger::config::Config;

const HEAD: &str = r#"
[company]
name = "Acme"

[[manager]]
id = "petrova"
name = "Petrova"
email = "petrova@acme.example"
"#;

fn problems(calendar: &str) -> Vec<String> {
    match Config::parse(
        &format!("{HEAD}\n[[calendar]]\n{calendar}"),
        Path::new("m.toml"),
    ) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn a_caldav_block_as_documented_parses() {
    let ok = problems(
        r#"id = "petrova-yandex"
manager = "petrova"
kind = "caldav"
url = "https://caldav.yandex.ru/"
username = "petrova@acme.example"
password = { file = "/etc/meetledger/petrova.pass" }
calendar_name = "Работа""#,
    );
    assert_eq!(ok, Vec::<String>::new());
    let feed = problems("id = \"f\"\nkind = \"ics_url\"\nurl = \"webcal://example.com/a.ics\"");
    assert_eq!(feed, Vec::<String>::new());
}

#[test]
fn credentials_come_in_pairs() {
    let errors =
        problems("id = \"c\"\nkind = \"caldav\"\nurl = \"https://dav.example/\"\nusername = \"u\"");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("m.toml:") && errors[0].contains("key `calendar[0].password`"),
        "{errors:?}"
    );
}

#[test]
fn urls_must_be_fetchable() {
    let errors = problems("id = \"c\"\nkind = \"caldav\"\nurl = \"webcal://dav.example/\"");
    assert!(errors[0].contains("calendar[0].url"), "{errors:?}");
    let errors = problems("id = \"c\"\nkind = \"ics_url\"\nurl = \"not a url\"");
    assert!(
        errors[0].contains("calendar[0].url") && errors[0].contains("not a URL"),
        "{errors:?}"
    );
}

#[test]
fn calendar_name_is_only_for_caldav() {
    let errors = problems(
        "id = \"f\"\nkind = \"ics_url\"\nurl = \"https://example.com/a.ics\"\ncalendar_name = \"Work\"",
    );
    assert!(
        errors[0].contains("calendar[0].calendar_name"),
        "{errors:?}"
    );
}
