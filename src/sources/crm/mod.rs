//! CRM sources: clients and orders. `files` reads CSV and JSONL exports;
//! `retailcrm`, `amocrm`, `bitrix24` and `hubspot` are native API
//! connectors, `rest` reads any JSON API described in config. What they
//! share (cursor, paging, JSON paths, currencies, errors) is in `common`.

pub mod amocrm;
pub mod bitrix24;
pub mod common;
pub mod files;
pub mod hubspot;
pub mod rest;
pub mod retailcrm;
