//! Why a line is malformed. Every variant names what was wrong and where,
//! so a user can find the line and see the problem without a debugger.

use std::fmt;

use thiserror::Error;

/// Which tuple of a line a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TupleSide {
    Original,
    Reply,
}

impl fmt::Display for TupleSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TupleSide::Original => "original",
            TupleSide::Reply => "reply",
        })
    }
}

/// A line that is not a conntrack entry. Text fields hold the offending
/// token (lossy UTF-8, truncated), never the whole line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("bad event timestamp '{0}' (expected [SECONDS.MICROS])")]
    BadTimestamp(String),
    #[error("unknown event type '{0}' (expected [NEW], [UPDATE] or [DESTROY])")]
    UnknownEvent(String),
    #[error("missing protocol name")]
    MissingProtocol,
    #[error("unknown protocol '{0}'")]
    UnknownProtocolName(String),
    #[error("missing protocol number after '{0}'")]
    MissingProtocolNumber(String),
    #[error("unknown protocol number {0}")]
    ProtocolNumberOutOfRange(u64),
    #[error("protocol name '{name}' does not match number {number}")]
    ProtocolMismatch { name: String, number: u8 },
    #[error("unknown layer-3 protocol '{0}'")]
    UnknownFamily(String),
    #[error("layer-3 name '{name}' does not match number {number}")]
    FamilyMismatch { name: String, number: u64 },
    #[error("unknown state '{0}'")]
    UnknownState(String),
    #[error("bad address '{value}' in {key}=")]
    BadAddress { key: &'static str, value: String },
    #[error("bad number '{value}' in {key}=")]
    BadNumber { key: &'static str, value: String },
    #[error("missing original tuple (no src=)")]
    MissingOrigTuple,
    #[error("missing reply tuple")]
    MissingReplyTuple,
    #[error("missing {field}= in {side} tuple")]
    MissingField {
        field: &'static str,
        side: TupleSide,
    },
    #[error("packets= without bytes= in {0} tuple")]
    PacketsWithoutBytes(TupleSide),
    #[error("{side} tuple mixes IPv4 and IPv6 addresses")]
    MixedFamilies { side: TupleSide },
    #[error("reply tuple is {reply} but original tuple is {orig}")]
    TupleFamilyMismatch {
        orig: &'static str,
        reply: &'static str,
    },
    #[error("line says {declared} but its addresses are {actual}")]
    DeclaredFamilyMismatch {
        declared: &'static str,
        actual: &'static str,
    },
    #[error("unexpected third tuple (src= after the reply tuple)")]
    ExtraTuple,
    #[error("duplicate {0}=")]
    Duplicate(&'static str),
    #[error("unterminated '[{0}' (no closing ']')")]
    Unterminated(String),
    #[error("unexpected '{0}'")]
    UnexpectedToken(String),
    #[error("bad XML flow: {0}")]
    BadXml(String),
    #[error("line is {0} bytes long, over the {1}-byte limit")]
    LineTooLong(u64, usize),
}

/// Lossy, bounded text of an offending token for an error message.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let cut = bytes.len().min(MAX);
    let mut s = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > MAX {
        s.push('…');
    }
    s
}
