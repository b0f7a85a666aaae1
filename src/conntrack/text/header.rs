//! The start of a text line, up to the protocol number:
//! `[SECS.USECS]` `[NEW]|[UPDATE]|[DESTROY]` `ipv4 2|ipv6 10` `PROTO NUM`.

use nom::bytes::complete::tag;
use nom::character::complete::{digit1, space0};
use nom::sequence::{delimited, separated_pair};
use nom::Parser;

use super::lex::{is_ws, Cursor, Res};
use crate::conntrack::error::{snippet, ParseError};
use crate::conntrack::values::parse_u64;
use crate::conntrack::{EventKind, Family};
use crate::model::Protocol;

/// What the line says before its first field.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Header {
    /// `-o timestamp` event prefix, whole Unix seconds.
    pub timestamp: Option<i64>,
    pub event: Option<EventKind>,
    /// The `ipv4 2`/`ipv6 10` prefix, to be checked against the addresses.
    pub declared: Option<Family>,
    pub protocol: Protocol,
}

/// `[1700000000.123456]`: the `-o timestamp` event prefix.
fn event_timestamp(i: &[u8]) -> Res<'_, (&[u8], &[u8])> {
    delimited(tag("["), separated_pair(digit1, tag("."), digit1), tag("]")).parse(i)
}

fn protocol_by_name(name: &[u8]) -> Option<Option<Protocol>> {
    Some(Some(match name {
        b"tcp" => Protocol::Tcp,
        b"udp" => Protocol::Udp,
        b"icmp" => Protocol::Icmp,
        b"icmpv6" => Protocol::Icmpv6,
        b"sctp" => Protocol::Sctp,
        b"dccp" => Protocol::Dccp,
        b"gre" => Protocol::Gre,
        b"udplite" => Protocol::Udplite,
        b"unknown" => return Some(None),
        _ => return None,
    }))
}

/// Reads the header from the start of `cur` (the whole trimmed line).
pub(super) fn read(cur: &mut Cursor<'_>) -> Result<Header, ParseError> {
    let timestamp = timestamp_prefix(cur)?;
    let mut word = cur.next().ok_or(ParseError::MissingProtocol)?;
    let mut event = None;
    if word.first() == Some(&b'[') {
        event = Some(match word {
            b"[NEW]" => EventKind::New,
            b"[UPDATE]" => EventKind::Update,
            b"[DESTROY]" => EventKind::Destroy,
            _ => return Err(ParseError::UnknownEvent(snippet(word))),
        });
        word = cur.next().ok_or(ParseError::MissingProtocol)?;
    }

    // Optional layer-3 name and number (`-o extended`, /proc/net/nf_conntrack).
    let mut declared = None;
    if word == b"ipv4" || word == b"ipv6" {
        let fam = if word == b"ipv4" {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        let num = cur.next().ok_or(ParseError::MissingProtocol)?;
        let n = parse_u64(num, "layer-3 number")?;
        if n != u64::from(fam.number()) {
            return Err(ParseError::FamilyMismatch {
                name: fam.as_str().to_string(),
                number: n,
            });
        }
        declared = Some(fam);
        word = cur.next().ok_or(ParseError::MissingProtocol)?;
    }

    let protocol = protocol(word, cur)?;
    Ok(Header {
        timestamp,
        event,
        declared,
        protocol,
    })
}

/// `[SECONDS.MICROS]<blanks>`, if the line starts with one.
fn timestamp_prefix(cur: &mut Cursor<'_>) -> Result<Option<i64>, ParseError> {
    let body = cur.rest;
    if !(body.len() > 1 && body[0] == b'[' && body[1].is_ascii_digit()) {
        return Ok(None);
    }
    let (rest, (secs, _micros)) = event_timestamp(body).map_err(|_| {
        let end = body.iter().position(|&c| is_ws(c)).unwrap_or(body.len());
        ParseError::BadTimestamp(snippet(&body[..end]))
    })?;
    let secs = parse_u64(secs, "timestamp")?;
    let ts = i64::try_from(secs).map_err(|_| ParseError::BadTimestamp(secs.to_string()))?;
    let (rest, _) = space0::<_, ParseError>(rest).unwrap_or((rest, &[]));
    cur.rest = rest;
    Ok(Some(ts))
}

/// `NAME NUMBER`, `word` being the name; they must agree.
fn protocol(word: &[u8], cur: &mut Cursor<'_>) -> Result<Protocol, ParseError> {
    let named = protocol_by_name(word).ok_or_else(|| {
        if word.starts_with(b"ipv") {
            ParseError::UnknownFamily(snippet(word))
        } else {
            ParseError::UnknownProtocolName(snippet(word))
        }
    })?;
    let num = cur
        .next()
        .ok_or_else(|| ParseError::MissingProtocolNumber(snippet(word)))?;
    let n = parse_u64(num, "protocol number")?;
    let n = u8::try_from(n).map_err(|_| ParseError::ProtocolNumberOutOfRange(n))?;
    let protocol = Protocol::from_number(n);
    if let Some(p) = named {
        if p != protocol {
            return Err(ParseError::ProtocolMismatch {
                name: snippet(word),
                number: n,
            });
        }
    }
    Ok(protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(line: &str) -> (Result<Header, ParseError>, String) {
        let mut cur = Cursor {
            rest: line.as_bytes(),
        };
        let h = read(&mut cur);
        (h, String::from_utf8_lossy(cur.rest).into_owned())
    }

    #[test]
    fn every_prefix_combination() {
        let (h, rest) = head("[1795653365.094730]\t    [NEW] ipv6     10 udp      17 30 src=x");
        assert_eq!(
            h,
            Ok(Header {
                timestamp: Some(1_795_653_365),
                event: Some(EventKind::New),
                declared: Some(Family::Ipv6),
                protocol: Protocol::Udp,
            })
        );
        assert_eq!(rest, "30 src=x");
        let (h, rest) = head("unknown  253 30");
        assert_eq!(
            h,
            Ok(Header {
                timestamp: None,
                event: None,
                declared: None,
                protocol: Protocol::Other(253),
            })
        );
        assert_eq!(rest, "30");
        let (h, _) = head("[DESTROY] ipv4 2 gre 47");
        assert_eq!(
            h.map(|h| (h.event, h.protocol)),
            Ok((Some(EventKind::Destroy), Protocol::Gre))
        );
    }

    #[test]
    fn reasons() {
        assert_eq!(head("").0, Err(ParseError::MissingProtocol));
        assert_eq!(head("[NEW]").0, Err(ParseError::MissingProtocol));
        assert_eq!(head("ipv6 10").0, Err(ParseError::MissingProtocol));
        assert_eq!(
            head("[1.x] tcp 6").0,
            Err(ParseError::BadTimestamp("[1.x]".into()))
        );
        assert_eq!(
            head("[9999999999999999999.1] tcp 6").0,
            Err(ParseError::BadTimestamp("9999999999999999999".into()))
        );
        assert_eq!(
            head("ipv6 2 tcp 6").0,
            Err(ParseError::FamilyMismatch {
                name: "ipv6".into(),
                number: 2
            })
        );
        assert_eq!(
            head("ipv7 2").0,
            Err(ParseError::UnknownFamily("ipv7".into()))
        );
        assert_eq!(
            head("udp 6").0,
            Err(ParseError::ProtocolMismatch {
                name: "udp".into(),
                number: 6
            })
        );
        assert_eq!(
            head("unknown 256").0,
            Err(ParseError::ProtocolNumberOutOfRange(256))
        );
    }
}
