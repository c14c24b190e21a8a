//! Golden test of `meetledger demo`: the bundled company's November report,
//! byte for byte. A deliberate change to the demo or the rules is accepted
//! with `UPDATE_GOLDEN=1 cargo test --test demo_golden`, and the diff of
//! `tests/golden/demo.txt` is reviewed like code.

mod common;

use common::meetledger;

const GOLDEN: &str = "tests/golden/demo.txt";

#[test]
fn demo_output_matches_the_golden_file() {
    let run = meetledger(&["demo"]);
    assert_eq!(run.code, 0, "demo failed:\n{}\n{}", run.stdout, run.stderr);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &run.stdout).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).expect("golden file (create it with UPDATE_GOLDEN=1)");
    if run.stdout != expected {
        let mut diff = String::new();
        for (i, (want, got)) in expected.lines().zip(run.stdout.lines()).enumerate() {
            if want != got {
                diff.push_str(&format!(
                    "line {}:\n  expected: {want}\n  actual:   {got}\n",
                    i + 1
                ));
            }
        }
        panic!(
            "demo output differs from {GOLDEN} ({} vs {} lines):\n{diff}\nfull output:\n{}",
            expected.lines().count(),
            run.stdout.lines().count(),
            run.stdout
        );
    }
}

#[test]
fn demo_twice_gives_the_same_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme");
    let first = meetledger(&["demo", "--out", out.to_str().unwrap()]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let config = out.join("meetledger.toml");
    let config = config.to_str().unwrap();
    let now = "2026-11-27T18:00:00+03:00";
    let again = meetledger(&["--config", config, "--now", now, "run", "--once"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stdout
            .contains("entries: 0 added, 0 rescored, 0 removed"),
        "{}",
        again.stdout
    );
}
