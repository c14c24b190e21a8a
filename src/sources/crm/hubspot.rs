//! stub
use super::common::Connector;
use crate::config::{Config, CrmConfig};
use crate::sources::{CrmFetch, CrmSource, SyncContext};
use anyhow::Result;
use async_trait::async_trait;
pub struct HubSpot {
    conn: Connector,
}
impl HubSpot {
    pub fn new(c: &CrmConfig, config: &Config, http: crate::sources::http::HttpClient) -> HubSpot {
        HubSpot {
            conn: Connector::new(c, config, http, &[]),
        }
    }
}
#[async_trait]
impl CrmSource for HubSpot {
    fn id(&self) -> &str {
        &self.conn.id
    }
    fn kind(&self) -> &'static str {
        "hubspot"
    }
    async fn fetch(&mut self, _cursor: Option<&str>, _ctx: &SyncContext) -> Result<CrmFetch> {
        anyhow::bail!("todo")
    }
}
