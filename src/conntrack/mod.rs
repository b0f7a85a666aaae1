//! Conntrack dump reader: every text format of SPEC §1.1, streamed in
//! bounded memory as chunks of whole lines that can be parsed in parallel.
//!
//! Knows nothing of Kubernetes. See `docs/conntrack.md` for the formats.
//!
//! ```
//! use kubenetmon::conntrack::{parse_chunk, ChunkReader};
//! let dump = "tcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 \
//!             src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [ASSURED] mark=0 use=1\n";
//! let mut flows = 0;
//! for chunk in ChunkReader::new(dump.as_bytes()) {
//!     flows += parse_chunk(&chunk.unwrap()).flows.len();
//! }
//! assert_eq!(flows, 1);
//! ```

mod error;
mod fast;
mod key;
mod line;
mod reader;
/// Prints flows as conntrack would: test and benchmark support, behind the
/// non-default `testing` feature (not part of the stable API).
#[cfg(any(test, feature = "testing"))]
pub mod render;
mod text;
mod values;
mod xml;

use std::fmt;
use std::net::IpAddr;

pub use error::{ParseError, TupleSide};
pub use key::{ConnectionKey, L4Key};
pub use line::parse_line;
#[cfg(any(test, feature = "testing"))]
pub use line::parse_line_general;
pub use reader::{
    parse_chunk, Chunk, ChunkReader, Malformed, Overlong, ParsedChunk, DEFAULT_CHUNK_BYTES,
    MAX_LINE_BYTES,
};

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

/// An ICMP or ICMPv6 tuple's own fields, `type= code= id=`. The echo
/// identifier is what tells two pings between the same hosts apart, as a
/// port does for TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmp {
    /// `type=` (8 echo request, 0 echo reply; ICMPv6 128/129).
    pub icmp_type: u8,
    pub code: u8,
    pub id: u16,
}

/// The ICMP fields of both tuples of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpTuples {
    pub orig: Icmp,
    pub reply: Icmp,
}

/// `conntrack -E` event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    New,
    Update,
    Destroy,
}

impl EventKind {
    /// As conntrack prints it, brackets included.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::New => "[NEW]",
            EventKind::Update => "[UPDATE]",
            EventKind::Destroy => "[DESTROY]",
        }
    }
}

/// Layer-3 family of a flow (conntrack's `ipv4 2` / `ipv6 10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    /// The kernel's address-family number (`AF_INET` = 2, `AF_INET6` = 10).
    pub fn number(self) -> u8 {
        match self {
            Family::Ipv4 => 2,
            Family::Ipv6 => 10,
        }
    }

    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// Protocol state word printed after the timeout: TCP, SCTP and DCCP
/// states share one enum because conntrack prints them in the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    // shared
    None,
    Established,
    // TCP
    SynSent,
    SynRecv,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
    Listen,
    SynSent2,
    // SCTP
    Closed,
    CookieWait,
    CookieEchoed,
    ShutdownSent,
    ShutdownRecd,
    ShutdownAckSent,
    HeartbeatSent,
    HeartbeatAcked,
    // DCCP (kernel names)
    Request,
    Respond,
    PartOpen,
    Open,
    CloseReq,
    Closing,
    DccpTimeWait,
    Ignore,
    Invalid,
}

impl State {
    /// Every state, for tests and generators.
    pub const ALL: [State; 28] = [
        State::None,
        State::Established,
        State::SynSent,
        State::SynRecv,
        State::FinWait,
        State::CloseWait,
        State::LastAck,
        State::TimeWait,
        State::Close,
        State::Listen,
        State::SynSent2,
        State::Closed,
        State::CookieWait,
        State::CookieEchoed,
        State::ShutdownSent,
        State::ShutdownRecd,
        State::ShutdownAckSent,
        State::HeartbeatSent,
        State::HeartbeatAcked,
        State::Request,
        State::Respond,
        State::PartOpen,
        State::Open,
        State::CloseReq,
        State::Closing,
        State::DccpTimeWait,
        State::Ignore,
        State::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::None => "NONE",
            State::Established => "ESTABLISHED",
            State::SynSent => "SYN_SENT",
            State::SynRecv => "SYN_RECV",
            State::FinWait => "FIN_WAIT",
            State::CloseWait => "CLOSE_WAIT",
            State::LastAck => "LAST_ACK",
            State::TimeWait => "TIME_WAIT",
            State::Close => "CLOSE",
            State::Listen => "LISTEN",
            State::SynSent2 => "SYN_SENT2",
            State::Closed => "CLOSED",
            State::CookieWait => "COOKIE_WAIT",
            State::CookieEchoed => "COOKIE_ECHOED",
            State::ShutdownSent => "SHUTDOWN_SENT",
            State::ShutdownRecd => "SHUTDOWN_RECD",
            State::ShutdownAckSent => "SHUTDOWN_ACK_SENT",
            State::HeartbeatSent => "HEARTBEAT_SENT",
            State::HeartbeatAcked => "HEARTBEAT_ACKED",
            State::Request => "REQUEST",
            State::Respond => "RESPOND",
            State::PartOpen => "PARTOPEN",
            State::Open => "OPEN",
            State::CloseReq => "CLOSEREQ",
            State::Closing => "CLOSING",
            State::DccpTimeWait => "TIMEWAIT",
            State::Ignore => "IGNORE",
            State::Invalid => "INVALID",
        }
    }

    pub fn from_bytes(word: &[u8]) -> Option<State> {
        // Hot path: the common TCP states first, by length, then the rest.
        match word {
            b"ESTABLISHED" => Some(State::Established),
            b"TIME_WAIT" => Some(State::TimeWait),
            _ => State::ALL
                .iter()
                .copied()
                .find(|s| s.as_str().as_bytes() == word),
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Status flags printed in brackets. A small bit set: no allocation.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    pub const EMPTY: Flags = Flags(0);
    /// `[UNREPLIED]`: no packet seen in the reply direction.
    pub const UNREPLIED: Flags = Flags(1);
    pub const ASSURED: Flags = Flags(1 << 1);
    /// `[OFFLOAD]`: handled by the flow table; conntrack prints no timeout.
    pub const OFFLOAD: Flags = Flags(1 << 2);
    pub const HW_OFFLOAD: Flags = Flags(1 << 3);
    /// `[USERSPACE]`: the event was triggered by a userspace program.
    pub const USERSPACE: Flags = Flags(1 << 4);

    const NAMES: [(Flags, &'static str); 5] = [
        (Flags::UNREPLIED, "UNREPLIED"),
        (Flags::ASSURED, "ASSURED"),
        (Flags::OFFLOAD, "OFFLOAD"),
        (Flags::HW_OFFLOAD, "HW_OFFLOAD"),
        (Flags::USERSPACE, "USERSPACE"),
    ];

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    /// Builds a set from raw bits; unknown bits are dropped.
    pub fn from_bits_truncate(bits: u8) -> Flags {
        Flags(bits & 0b1_1111)
    }

    /// Names of the set flags, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Flags::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// A parsed conntrack entry.
///
/// Only what a consumer can act on is kept; free text (`secctx=`,
/// `helper=`, `labels=`, `progname=`) and the `[start=]`/`[stop=]` wall-clock
/// times (local time of the dumping host, ambiguous) are validated and
/// skipped, so a flow holds no heap data. Per-tuple extras live beside the
/// tuples, like `zone_orig`/`zone_reply`: ICMP's `type= code= id=` in
/// [`Flow::icmp`].
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
    /// Layer-3 family (from the `ipv4 2`/`ipv6 10` prefix, else the addresses).
    pub family: Family,
    /// Seconds until the entry expires; `None` for `[OFFLOAD]` flows and XML
    /// without `<timeout>`.
    pub timeout: Option<u32>,
    /// TCP/SCTP/DCCP state, when printed.
    pub state: Option<State>,
    pub flags: Flags,
    pub mark: Option<u32>,
    /// `zone=`.
    pub zone: Option<u16>,
    /// `zone-orig=` after the original tuple.
    pub zone_orig: Option<u16>,
    /// `zone-reply=` after the reply tuple.
    pub zone_reply: Option<u16>,
    /// Conntrack entry id (`-o id`, `id=` after `use=`).
    pub id: Option<u32>,
    /// `delta-time=`: seconds since the entry was created (needs
    /// `nf_conntrack_timestamp=1`).
    pub delta_time: Option<u64>,
    /// `type= code= id=` of both tuples, for ICMP/ICMPv6 text lines
    /// (`None` otherwise, and for `-o xml`, which does not print them).
    pub icmp: Option<IcmpTuples>,
}

impl Flow {
    /// A flow with the given tuples and every optional attribute unset; the
    /// family is taken from the original source address.
    pub fn new(line: u64, protocol: Protocol, orig: Tuple, reply: Tuple) -> Flow {
        Flow {
            line,
            protocol,
            family: Family::of(&orig.src),
            orig,
            reply,
            event: None,
            timestamp: None,
            timeout: None,
            state: None,
            flags: Flags::EMPTY,
            mark: None,
            zone: None,
            zone_orig: None,
            zone_reply: None,
            id: None,
            delta_time: None,
            icmp: None,
        }
    }

    /// Counters of both tuples, zero when accounting is off.
    pub fn has_counters(&self) -> bool {
        self.orig.counters.is_some() || self.reply.counters.is_some()
    }
}
