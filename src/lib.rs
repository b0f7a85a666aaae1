//! kubenetmon: where a Kubernetes cluster's network bytes go, offline.
//!
//! Reads conntrack dumps ([`conntrack`]), joins them with a kubectl
//! inventory ([`inventory`]), classifies the far end against cloud IP
//! ranges ([`ranges`]) in the labeller ([`label`]), and writes rows for
//! ClickHouse's `network_flows_0` table ([`output`]), as files or straight
//! into a server ([`clickhouse`]). [`zones`] maps addresses to availability
//! zones (SPEC §6.1).

pub mod classify;
pub mod clickhouse;
pub mod conntrack;
pub mod dumps;
pub mod fetch;
pub mod http;
pub mod inventory;
pub mod io;
pub mod label;
pub mod model;
pub mod output;
pub mod ranges;
pub mod report;
pub mod time;
pub mod zones;

/// An error and its sources, `: `-separated, as `anyhow`'s `{:#}` prints
/// them: for messages that are not the top-level error. Library errors
/// name their own context and leave the cause to `source()`, so a cause
/// is printed once.
pub fn display_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
