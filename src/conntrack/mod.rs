//! Conntrack dump reader: every text format of SPEC §1.1, streamed in
//! bounded memory as chunks of whole lines that can be parsed in parallel.
//!
//! Knows nothing of Kubernetes.

use std::net::IpAddr;

use crate::model::{Counters, Protocol};

/// One direction of a conntrack entry. The first `src= dst= ...` group of a
/// line is the original tuple, the second the reply tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// `None` for protocols without ports (icmp, gre, unknown).
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// `None` when accounting is off (no `packets=`/`bytes=`).
    pub counters: Option<Counters>,
}

/// `conntrack -E` event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    New,
    Update,
    Destroy,
}

/// A parsed conntrack entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// 1-based line number in its input.
    pub line: u64,
    pub protocol: Protocol,
    pub orig: Tuple,
    pub reply: Tuple,
    /// Event type, for `conntrack -E` lines.
    pub event: Option<EventKind>,
    /// Event timestamp (`[1700000000.123456]` prefix), whole Unix seconds.
    pub timestamp: Option<i64>,
}

impl Flow {
    /// Counters of both tuples, zero when accounting is off.
    pub fn has_counters(&self) -> bool {
        self.orig.counters.is_some() || self.reply.counters.is_some()
    }
}
