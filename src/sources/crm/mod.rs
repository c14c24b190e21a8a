//! CRM sources: clients and orders. `files` reads CSV and JSONL exports;
//! native API connectors join it here.

pub mod files;
