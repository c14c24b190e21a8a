//! CSV/JSONL exports that are not shaped like SPEC §9: a Russian 1C export
//! in Windows-1251 with its own column names, `DD.MM.YYYY` dates and decimal
//! commas, and orders in foreign currencies converted with fixed rates (or
//! skipped with a warning naming the line).

use chrono::{DateTime, Utc};
use meetledger::config::Config;
use meetledger::sources::{crm_sources, CrmFetch, SyncContext};

#[tokio::test]
async fn a_windows_1251_1c_export_is_read_through_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clients.csv"),
        encoding_rs::WINDOWS_1251
            .encode("Код,Наименование,Сайт,Почта,Менеджер,Ключевой\nК1,ООО Ромашка,romashka.ru,,ivanov,да\n")
            .0,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("orders.csv"),
        encoding_rs::WINDOWS_1251
            .encode(
                "Номер,Контрагент,Дата,Сумма,Валюта,Статус\n\
                 З1,К1,20.09.2026,\"1.234,50\",RUB,Оплачен\n\
                 З2,К1,21.09.2026,\"100,00\",USD,Оплачен\n\
                 З3,К1,22.09.2026,\"100,00\",CNY,Оплачен\n",
            )
            .0,
    )
    .unwrap();
    let file = dir.path().join("meetledger.toml");
    std::fs::write(
        &file,
        r#"
[company]
name = "Acme"
timezone = "Europe/Moscow"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"

[[crm]]
id = "1c"
kind = "csv"
clients = "clients.csv"
orders = "orders.csv"
encoding = "windows-1251"
date_format = "%d.%m.%Y"
decimal_comma = true
currency = "RUB"
rates = { USD = 90.0 }
columns.clients = { id = "Код", name = "Наименование", domains = "Сайт", emails = "Почта", manager = "Менеджер", key = "Ключевой" }
columns.orders = { id = "Номер", client_id = "Контрагент", created_at = "Дата", amount = "Сумма", currency = "Валюта", status = "Статус" }
"#,
    )
    .unwrap();
    let config = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let now: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
    let mut source = crm_sources(&config).remove(0);
    let CrmFetch::Full {
        clients,
        orders,
        warnings,
        ..
    } = source
        .fetch(None, &SyncContext::new(&config, now))
        .await
        .unwrap()
        .collected()
    else {
        panic!("expected a full read");
    };
    assert_eq!(clients.len(), 1);
    let c = &clients[0];
    assert_eq!(
        (c.id.as_str(), c.name.as_str(), c.key),
        ("К1", "ООО Ромашка", true)
    );
    assert_eq!(c.manager.as_deref(), Some("ivanov"));
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].amount, 1234.5);
    assert_eq!(
        orders[0].created_at.to_rfc3339(),
        "2026-09-19T21:00:00+00:00"
    );
    assert_eq!(
        (orders[1].amount, orders[1].currency.as_str()),
        (9000.0, "RUB")
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].place.ends_with("orders.csv:4"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].message.contains("CNY"), "{}", warnings[0]);
}

#[test]
fn connector_keys_are_checked_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meetledger.toml");
    std::fs::write(
        &file,
        r#"[company]
name = "Acme"

[[crm]]
id = "amo"
kind = "amocrm"
url = "acme.amocrm.ru"
rates = { usd = -1.0 }
encoding = "windows-1251"
"#,
    )
    .unwrap();
    let errors = Config::load(&file).unwrap_err().to_string();
    assert!(
        errors.contains("crm[0].token") && errors.contains("required for kind = \"amocrm\""),
        "{errors}"
    );
    assert!(errors.contains(":7: key `crm[0].url`"), "{errors}");
    assert!(errors.contains("crm[0].rates"), "{errors}");
    assert!(
        errors.contains("crm[0].encoding") && errors.contains("only for file CRMs"),
        "{errors}"
    );
}
