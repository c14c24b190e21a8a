//! The ledger as payroll relies on it (SPEC §6): the same inputs append
//! nothing; a changed order rescores exactly the meetings it affects; a
//! closed month never changes and later differences become adjustments in
//! the first open month.

mod common;

use common::{scenario_calendar, Company, SCENARIO_ORDERS};
use serde_json::Value;

const NOW: &str = "2026-11-27T18:00:00+03:00";

fn company() -> Company {
    let company = Company::new("");
    company.write("calendars/ivanov.ics", &scenario_calendar());
    company.orders(&SCENARIO_ORDERS);
    company
}

fn entries(company: &Company, period: &str) -> Vec<Value> {
    company
        .ok(NOW, &["entries", "--period", period, "--format", "jsonl"])
        .jsonl()
}

fn all_entries(company: &Company) -> Vec<Value> {
    ["2026-09", "2026-10", "2026-11", "2026-12"]
        .iter()
        .flat_map(|p| entries(company, p))
        .collect()
}

#[test]
fn running_twice_on_the_same_inputs_appends_nothing() {
    let company = company();
    let first = company.ok(NOW, &["run", "--once"]);
    assert!(
        first
            .stdout
            .contains("3 meetings; entries: 3 added, 0 rescored, 0 removed"),
        "{}",
        first.stdout
    );
    let before = all_entries(&company);
    assert_eq!(before.len(), 3);

    let second = company.ok(NOW, &["run", "--once"]);
    assert!(
        second.stdout.contains("ivanov-main: unchanged"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("0 added, 0 rescored, 0 removed"),
        "{}",
        second.stdout
    );
    assert_eq!(all_entries(&company), before);
}

#[test]
fn a_changed_order_rescores_exactly_the_meetings_it_affects() {
    let company = company();
    company.ok(NOW, &["run", "--once"]);
    // c3 places a first order: only the November meeting with c3 changes.
    company.orders(&[
        "o1,c1,2026-09-20,100000,RUB,paid,ivanov",
        "o2,c1,2026-10-15T12:00:00+03:00,50000,RUB,paid,ivanov",
        "o3,c2,2026-08-01,70000,RUB,paid,petrova",
        "o4,c3,2026-11-20,9000,RUB,paid,ivanov",
    ]);
    let run = company.ok(NOW, &["run", "--once"]);
    assert!(
        run.stdout.contains("0 added, 1 rescored, 0 removed"),
        "{}",
        run.stdout
    );
    let november = entries(&company, "2026-11");
    let rescored: Vec<&Value> = november
        .iter()
        .filter(|e| e["change"] == "rescored")
        .collect();
    assert_eq!(rescored.len(), 1);
    let e = rescored[0];
    assert_eq!(e["client"], "c3");
    assert_eq!(e["uid"], "m3@acme");
    assert_eq!(e["score"], 0.5);
    assert_eq!(e["score_delta"], 0.5);
    assert_eq!(e["weight_delta"], 0.0);
    assert_eq!(e["adjusts"], Value::Null);
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .contains("outcome pending (provisional) → ordered (provisional)"),
        "{e}"
    );
}

#[test]
fn a_closed_month_never_changes_and_later_differences_become_adjustments() {
    let company = company();
    company.ok(NOW, &["run", "--once"]);
    let september = |c: &Company| {
        c.ok(NOW, &["report", "--period", "2026-09", "--format", "json"])
            .json()
    };
    let before = september(&company);
    assert_eq!(before["managers"][0]["outcomes"]["repeat"], 1, "{before}");

    let closed = company.ok(NOW, &["close", "2026-10"]);
    assert!(
        closed.stdout.contains("closed 2026-09, 2026-10"),
        "{}",
        closed.stdout
    );
    let again = company.ok(NOW, &["close", "2026-10"]);
    assert!(again.stdout.contains("already closed"), "{}", again.stdout);

    // The repeat order is cancelled after September was paid.
    company.orders(&[
        "o1,c1,2026-09-20,100000,RUB,paid,ivanov",
        "o2,c1,2026-10-15T12:00:00+03:00,50000,RUB,cancelled,ivanov",
        "o3,c2,2026-08-01,70000,RUB,paid,petrova",
    ]);
    company.ok(NOW, &["run", "--once"]);

    let after = september(&company);
    assert_eq!(after["closed"], true);
    assert_eq!(
        after["managers"], before["managers"],
        "a closed month's figures changed"
    );
    let meetings = company
        .ok(
            NOW,
            &["meetings", "--period", "2026-09", "--format", "jsonl"],
        )
        .jsonl();
    assert_eq!(
        meetings[0]["outcome"], "repeat",
        "closed month's meetings are frozen"
    );

    assert!(entries(&company, "2026-09")
        .iter()
        .all(|e| e["change"] == "added"));
    let adjustments: Vec<Value> = entries(&company, "2026-11")
        .into_iter()
        .filter(|e| e["adjusts"] != Value::Null)
        .collect();
    assert_eq!(adjustments.len(), 1, "{adjustments:?}");
    let a = &adjustments[0];
    assert_eq!(a["adjusts"], "2026-09");
    assert_eq!(a["period"], "2026-11");
    assert_eq!(a["change"], "rescored");
    assert_eq!(a["uid"], "m1@acme");
    assert_eq!(a["score"], 0.5);
    assert_eq!(a["score_delta"], -0.5);

    let november = company
        .ok(NOW, &["report", "--period", "2026-11", "--format", "json"])
        .json();
    assert_eq!(november["managers"][0]["adjustments"]["count"], 1);
    assert_eq!(november["managers"][0]["adjustments"]["score_delta"], -0.5);
}

#[test]
fn a_month_that_has_not_ended_cannot_be_closed() {
    let company = company();
    let run = company.run(NOW, &["close", "2026-11"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("2026-11 has not ended yet"),
        "{}",
        run.stderr
    );
}

#[test]
fn ledger_entries_cannot_be_rewritten() {
    let company = company();
    company.ok(NOW, &["run", "--once"]);
    let conn = rusqlite::Connection::open(company.path("ledger.db")).unwrap();
    let update = conn.execute("UPDATE entries SET score = 1.0", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM entries", []);
    assert!(delete.is_err());
}
