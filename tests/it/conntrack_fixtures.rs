//! The real dumps in testdata/conntrack/real/ (captured by
//! scripts/make-conntrack-fixtures.sh) parse to the traffic that script sent.

use std::net::IpAddr;
use std::path::PathBuf;

use kubenetmon::conntrack::{
    parse_chunk, ChunkReader, EventKind, Family, Flags, Flow, Icmp, IcmpTuples, ParsedChunk, State,
};
use kubenetmon::model::{Counters, Protocol};

use crate::support;

fn path(name: &str) -> PathBuf {
    support::testdata("conntrack/real").join(name)
}

fn load(name: &str) -> ParsedChunk {
    let input = kubenetmon::io::open_input(&path(name)).expect("fixture opens");
    let mut all = ParsedChunk::default();
    // Small chunks, so the multi-chunk path is exercised on real data too.
    for chunk in ChunkReader::with_chunk_bytes(input, 700) {
        let p = parse_chunk(&chunk.expect("read"));
        all.lines += p.lines;
        all.blank += p.blank;
        all.summary += p.summary;
        all.flows.extend(p.flows);
        all.malformed.extend(p.malformed);
    }
    assert!(all.malformed.is_empty(), "{name}: {:?}", all.malformed);
    all
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn c(packets: u64, bytes: u64) -> Option<Counters> {
    Some(Counters { packets, bytes })
}

fn find(flows: &[Flow], proto: Protocol, family: Family, sport: Option<u16>) -> &Flow {
    let hits: Vec<&Flow> = flows
        .iter()
        .filter(|f| {
            f.protocol == proto && f.family == family && (sport.is_none() || f.orig.sport == sport)
        })
        .collect();
    assert_eq!(hits.len(), 1, "{proto:?} {family:?} {sport:?}: {hits:?}");
    hits[0]
}

/// The ten flows of one `conntrack -L` snapshot, in any -o variant.
fn check_snapshot(name: &str, with_id: bool, declared_family: bool) {
    let p = load(name);
    let f = &p.flows;
    assert_eq!(f.len(), 10, "{name}");
    // Line numbers are the file's.
    let text = std::fs::read_to_string(path(name)).unwrap();
    for flow in f {
        let line = text.lines().nth(flow.line as usize - 1).unwrap();
        assert!(
            line.contains("src=") || line.contains("<src>"),
            "{name}:{}",
            flow.line
        );
    }
    if declared_family {
        // `ipv4 2`/`ipv6 10` (or XML's protoname) matched the addresses.
        assert_eq!(f.iter().filter(|x| x.family == Family::Ipv6).count(), 2);
    }

    // TCP through the ClusterIP: DNAT shows in the reply tuple.
    let t = find(f, Protocol::Tcp, Family::Ipv4, Some(40001));
    assert_eq!(
        (t.orig.src, t.orig.dst),
        (ip("10.244.1.11"), ip("10.96.0.10"))
    );
    assert_eq!((t.orig.sport, t.orig.dport), (Some(40001), Some(80)));
    assert_eq!(
        (t.reply.src, t.reply.dst),
        (ip("10.244.2.12"), ip("10.244.1.11"))
    );
    assert_eq!((t.reply.sport, t.reply.dport), (Some(8080), Some(40001)));
    assert_eq!(t.state, Some(State::TimeWait));
    assert!(t.flags.contains(Flags::ASSURED));
    assert!(t.timeout.is_some_and(|s| s <= 120));
    assert!(t.orig.counters.unwrap().packets >= 5);
    assert_eq!(t.id.is_some(), with_id, "{name}");

    // TCP to the external host, MASQUERADEd: the reply goes to the node.
    let t = find(f, Protocol::Tcp, Family::Ipv4, Some(40002));
    assert_eq!(t.reply.src, ip("192.168.100.20"));
    assert_eq!(t.reply.dst, ip("192.168.100.1"));
    assert_eq!((t.reply.sport, t.reply.dport), (Some(8443), Some(40002)));
    // 1000 payload bytes came back, plus headers.
    assert!(t.reply.counters.unwrap().bytes > 1000);

    // ping -c 3 -s 100: 3 × (20 + 8 + 100) bytes each way; CONNMARK 42.
    let t = find(f, Protocol::Icmp, Family::Ipv4, None);
    assert_eq!(t.orig.counters, c(3, 384));
    assert_eq!(t.reply.counters, c(3, 384));
    assert_eq!((t.orig.sport, t.orig.dport), (None, None));
    assert_eq!(t.mark, Some(42));
    assert_eq!(t.reply.dst, ip("192.168.100.1"));
    // The echo's own type/code/id (none in XML: conntrack does not print them).
    let xml = name.ends_with("xml.txt");
    let echo = |icmp_type, id| Icmp {
        icmp_type,
        code: 0,
        id,
    };
    assert_eq!(
        t.icmp,
        (!xml).then_some(IcmpTuples {
            orig: echo(8, 11716),
            reply: echo(0, 11716)
        }),
        "{name}"
    );

    // One 5-byte UDP datagram, echoed: 20 + 8 + 5 bytes each way.
    let t = find(f, Protocol::Udp, Family::Ipv4, Some(40004));
    assert_eq!(t.orig.counters, c(1, 33));
    assert_eq!(t.reply.counters, c(1, 33));
    assert_eq!(t.orig.dport, Some(5353));
    assert!(t.flags.is_empty());

    // ping -6 -c 2 -s 56: 2 × (40 + 8 + 56) bytes each way.
    let t = find(f, Protocol::Icmpv6, Family::Ipv6, None);
    assert_eq!(t.orig.src, ip("fd00:1::11"));
    assert_eq!(t.orig.dst, ip("fd00:100::20"));
    assert_eq!(t.orig.counters, c(2, 208));
    assert_eq!(t.reply.counters, c(2, 208));
    assert_eq!(
        t.icmp,
        (!xml).then_some(IcmpTuples {
            orig: echo(128, 12005),
            reply: echo(129, 12005)
        }),
        "{name}"
    );

    // Unanswered UDP over IPv6: 40 + 8 + 2 bytes.
    let t = find(f, Protocol::Udp, Family::Ipv6, Some(40006));
    assert!(t.flags.contains(Flags::UNREPLIED));
    assert_eq!(t.orig.counters, c(1, 50));
    assert_eq!(t.reply.counters, c(0, 0));
    assert_eq!(t.reply.src, ip("fd00:100::20"));

    // UDP-Lite in conntrack zone 7: 20 + 8 + 4 bytes.
    let t = find(f, Protocol::Udplite, Family::Ipv4, Some(40007));
    assert_eq!(t.zone, Some(7));
    assert_eq!(t.orig.counters, c(1, 32));
    assert_eq!(t.orig.dport, Some(9007));

    // Raw SCTP INIT: 20 + 12 + 20 bytes.
    let t = find(f, Protocol::Sctp, Family::Ipv4, Some(40008));
    // XML names SCTP states from the TCP table, so the reader drops them.
    let xml = name.ends_with(".xml") || name.contains("xml");
    assert_eq!(t.state, if xml { None } else { Some(State::Closed) });
    assert_eq!(t.orig.counters, c(1, 52));
    assert!(t.flags.contains(Flags::UNREPLIED));

    // GRE with a tuple zone: 20 + 4 + 12 bytes.
    let t = find(f, Protocol::Gre, Family::Ipv4, None);
    assert_eq!(t.zone_orig, Some(9));
    assert_eq!(t.orig.counters, c(1, 36));
    assert_eq!(t.orig.sport, None);

    // IP protocol 253 has no tracker: `unknown  253`, 20 + 7 bytes.
    let t = find(f, Protocol::Other(253), Family::Ipv4, None);
    assert_eq!(t.orig.counters, c(1, 27));
    assert!(t.timeout.is_some_and(|s| s <= 600));
}

#[test]
fn list_default() {
    let p = load("list-default.txt");
    assert_eq!((p.lines, p.summary, p.blank), (11, 1, 0));
    check_snapshot("list-default.txt", false, false);
}

#[test]
fn list_output_variants() {
    check_snapshot("list-extended.txt", false, true);
    check_snapshot("list-id.txt", true, false);
    check_snapshot("list-extended-id.txt", true, true);
    check_snapshot("list-ktimestamp.txt", false, false);
    check_snapshot("list-timestamp.txt", false, false);
    check_snapshot("list-labels.txt", false, false);
    check_snapshot("list-xml.txt", true, true);
}

#[test]
fn proc_nf_conntrack_full_form_ipv6() {
    check_snapshot("proc-nf_conntrack.txt", false, true);
    let p = load("proc-nf_conntrack.txt");
    assert_eq!(p.summary, 0);
    // The kernel prints zone=0 on every line.
    assert!(p
        .flows
        .iter()
        .filter(|f| f.protocol != Protocol::Gre)
        .all(|f| f.zone.is_some()));
}

#[test]
fn list_ipv6_only() {
    let p = load("list-ipv6.txt");
    assert_eq!(p.flows.len(), 2);
    assert!(p.flows.iter().all(|f| f.family == Family::Ipv6));
}

#[test]
fn accounting_off_has_no_counters() {
    let p = load("list-noacct.txt");
    assert_eq!(p.flows.len(), 1);
    let f = &p.flows[0];
    assert!(!f.has_counters());
    assert_eq!(f.orig.sport, Some(40011));
    assert_eq!(f.reply.dst, ip("192.168.100.1"));
}

fn check_events(name: &str, timestamps: bool, with_id: bool) {
    let p = load(name);
    // The `N flow events have been shown.` line, plus the XML framing.
    let framing = if name.contains("xml") { 3 } else { 0 };
    assert_eq!(p.summary, 1 + framing, "{name}");
    let f = &p.flows;
    assert!(f.len() >= 20, "{name}");
    assert!(f.iter().all(|e| e.event.is_some()));
    assert_eq!(
        f.iter().all(|e| e.timestamp.is_some()),
        timestamps,
        "{name}"
    );
    if timestamps {
        // Events come in time order and were captured in 2026.
        let ts: Vec<i64> = f.iter().map(|e| e.timestamp.unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
        assert!(ts[0] > 1_700_000_000);
    }
    let new = f.iter().filter(|e| e.event == Some(EventKind::New)).count();
    assert!(new >= 9, "{name}: {new} NEW events");
    // The TCP handshake to the ClusterIP starts SYN_SENT, unreplied, no counters.
    let syn = f
        .iter()
        .find(|e| e.event == Some(EventKind::New) && e.orig.sport == Some(40001))
        .unwrap();
    assert_eq!(syn.state, Some(State::SynSent));
    assert!(syn.flags.contains(Flags::UNREPLIED));
    assert!(!syn.has_counters());
    assert_eq!(syn.reply.src, ip("10.244.2.12"));
    assert_eq!(syn.id.is_some(), with_id);
    // `conntrack -D` of the UDP flow: a userspace DESTROY with final counters.
    let d: Vec<&Flow> = f
        .iter()
        .filter(|e| e.event == Some(EventKind::Destroy))
        .collect();
    assert_eq!(d.len(), 1, "{name}");
    assert!(d[0].flags.contains(Flags::USERSPACE));
    assert_eq!(d[0].orig.counters, c(1, 33));
    assert_eq!(d[0].reply.counters, c(1, 33));
    assert!(d[0].delta_time.is_some_and(|s| s < 15));
}

#[test]
fn events_all_variants() {
    check_events("events.txt", false, false);
    check_events("events-timestamp.txt", true, false);
    check_events("events-timestamp-extended-id.txt", true, true);
    check_events("events-ktimestamp-id.txt", false, true);
    check_events("events-xml.txt", false, true);
}
