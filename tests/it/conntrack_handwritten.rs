//! Hand-written fixtures (testdata/conntrack/handwritten/) for what the
//! capture kernel cannot produce: DCCP, flow offload, SELinux secctx,
//! helpers, tuple zones, userspace events with a program name; plus CRLF
//! and malformed lines.

use std::net::IpAddr;

use kubenetmon::conntrack::{
    parse_chunk, ChunkReader, EventKind, Family, Flags, ParseError, ParsedChunk, State, TupleSide,
};
use kubenetmon::model::{Counters, Protocol};

use crate::support;

fn load(name: &str) -> ParsedChunk {
    let p = support::testdata("conntrack/handwritten").join(name);
    let input = kubenetmon::io::open_input(&p).unwrap();
    let mut all = ParsedChunk::default();
    for c in ChunkReader::new(input) {
        let p = parse_chunk(&c.unwrap());
        all.lines += p.lines;
        all.blank += p.blank;
        all.summary += p.summary;
        all.flows.extend(p.flows);
        all.malformed.extend(p.malformed);
    }
    all
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn dccp() {
    let p = load("dccp.txt");
    assert!(p.malformed.is_empty(), "{:?}", p.malformed);
    let states: Vec<_> = p.flows.iter().map(|f| f.state).collect();
    assert_eq!(
        states,
        [
            Some(State::Established),
            Some(State::Request),
            Some(State::Open),
            Some(State::PartOpen)
        ]
    );
    assert!(p.flows.iter().all(|f| f.protocol == Protocol::Dccp));
    assert_eq!(
        p.flows[0].orig.counters,
        Some(Counters {
            packets: 12,
            bytes: 1480
        })
    );
    assert_eq!(p.flows[0].reply.dport, Some(41000));
}

#[test]
fn offload_has_no_timeout() {
    let p = load("offload.txt");
    assert!(p.malformed.is_empty(), "{:?}", p.malformed);
    assert_eq!(p.flows.len(), 4);
    assert!(p.flows.iter().all(|f| f.timeout.is_none()));
    assert!(p.flows[0].flags.contains(Flags::OFFLOAD));
    assert!(p.flows[1].flags.contains(Flags::HW_OFFLOAD));
    assert_eq!(p.flows[2].state, Some(State::Established));
    assert_eq!(p.flows[3].family, Family::Ipv6);
    assert_eq!(p.flows[3].orig.dst, ip("2a00:1450:4001::200e"));
    assert_eq!(
        p.flows[0].reply.counters,
        Some(Counters {
            packets: 2400,
            bytes: 3_500_000
        })
    );
}

#[test]
fn attributes() {
    let p = load("attributes.txt");
    assert!(p.malformed.is_empty(), "{:?}", p.malformed);
    let f = &p.flows[0];
    assert_eq!(
        (f.zone_orig, f.zone_reply, f.zone),
        (Some(1), Some(2), Some(3))
    );
    assert_eq!(
        (f.mark, f.delta_time, f.id),
        (Some(5), Some(42), Some(3917413503))
    );
    assert_eq!(
        f.reply.counters,
        Some(Counters {
            packets: 8,
            bytes: 700
        })
    );
    assert_eq!(p.flows[1].zone, Some(0));
    let d = &p.flows[2];
    assert_eq!(
        (d.event, d.timestamp),
        (Some(EventKind::Destroy), Some(1_700_000_000))
    );
    assert!(d.flags.contains(Flags::USERSPACE | Flags::ASSURED));
    assert_eq!(d.id, Some(1));
    assert_eq!(d.state, Some(State::Close));
    let u = &p.flows[3];
    assert_eq!(u.event, Some(EventKind::Update));
    assert!(!u.has_counters());
}

#[test]
fn crlf_and_missing_final_newline() {
    let p = load("crlf-no-final-newline.txt");
    assert!(p.malformed.is_empty(), "{:?}", p.malformed);
    assert_eq!((p.lines, p.summary, p.blank, p.flows.len()), (4, 1, 1, 2));
    let f = &p.flows[1];
    assert_eq!(f.line, 4);
    // ClusterIP DNAT: the DNS service IP, answered by a pod.
    assert_eq!(f.orig.dst, ip("10.96.0.10"));
    assert_eq!(f.reply.src, ip("10.244.3.5"));
    assert_eq!(
        f.reply.counters,
        Some(Counters {
            packets: 1,
            bytes: 120
        })
    );
}

#[test]
fn malformed_lines_are_reported_with_reasons() {
    let p = load("malformed.txt");
    assert_eq!(p.lines, 9);
    assert_eq!((p.flows.len(), p.blank, p.summary), (1, 1, 1));
    let got: Vec<(u64, ParseError)> = p
        .malformed
        .iter()
        .map(|m| (m.line, m.reason.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, ParseError::MissingReplyTuple),
            (
                3,
                ParseError::BadAddress {
                    key: "src",
                    value: "10.244.1.x".into()
                }
            ),
            (4, ParseError::ProtocolNumberOutOfRange(300)),
            (7, ParseError::UnknownProtocolName("this".into())),
            (8, ParseError::PacketsWithoutBytes(TupleSide::Original)),
            (
                9,
                ParseError::BadAddress {
                    key: "src",
                    value: "\u{fffd}\u{fffd}".into()
                }
            ),
        ]
    );
    assert_eq!(
        p.malformed[2].to_string(),
        format!(
            "line 4: unknown protocol number 300: {}",
            p.malformed[2].text
        )
    );
}
