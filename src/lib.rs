//! kubenetmon: where a Kubernetes cluster's network bytes go, offline.
//!
//! Reads conntrack dumps ([`conntrack`]), joins them with a kubectl
//! inventory ([`inventory`]), classifies the far end against cloud IP
//! ranges ([`ranges`]) in the labeller ([`label`]), and writes rows for
//! ClickHouse's `network_flows_0` table ([`output`]).

pub mod conntrack;
pub mod dumps;
pub mod fetch;
pub mod inventory;
pub mod io;
pub mod label;
pub mod model;
pub mod output;
pub mod ranges;
pub mod time;
