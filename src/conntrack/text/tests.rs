//! The general text parser on every format feature and every malformed
//! reason; each case is also checked to give the same with the fast path.

use std::net::IpAddr;

use crate::conntrack::error::{ParseError, TupleSide};
use crate::conntrack::{parse_line, parse_line_general};
use crate::conntrack::{EventKind, Family, Flags, Flow, Icmp, IcmpTuples, State};
use crate::model::{Counters, Protocol};

/// `parse_line`'s answer, which must be the general parser's too.
fn parsed(line: &str) -> Result<Option<Flow>, ParseError> {
    let r = parse_line(line.as_bytes(), 7);
    assert_eq!(r, parse_line_general(line.as_bytes(), 7), "{line}");
    r
}

fn p(line: &str) -> Flow {
    match parsed(line) {
        Ok(Some(f)) => f,
        other => panic!("{line}\n=> {other:?}"),
    }
}

fn e(line: &str) -> ParseError {
    match parsed(line) {
        Err(e) => e,
        other => panic!("{line}\n=> expected an error, got {other:?}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const SPEC_LINE: &str = "tcp      6 119 TIME_WAIT src=10.244.1.11 dst=52.216.10.20 sport=36560 dport=443 packets=6 bytes=399 src=52.216.10.20 dst=10.0.1.10 sport=443 dport=36560 packets=6 bytes=697 [ASSURED] mark=0 use=1";

#[test]
fn default_line_is_positional() {
    let f = p(SPEC_LINE);
    assert_eq!(f.line, 7);
    assert_eq!(f.protocol, Protocol::Tcp);
    assert_eq!(f.family, Family::Ipv4);
    assert_eq!(f.timeout, Some(119));
    assert_eq!(f.state, Some(State::TimeWait));
    assert_eq!(f.orig.src, ip("10.244.1.11"));
    assert_eq!(f.orig.dst, ip("52.216.10.20"));
    assert_eq!((f.orig.sport, f.orig.dport), (Some(36560), Some(443)));
    assert_eq!(
        f.orig.counters,
        Some(Counters {
            packets: 6,
            bytes: 399
        })
    );
    assert_eq!(f.reply.src, ip("52.216.10.20"));
    assert_eq!(f.reply.dst, ip("10.0.1.10"));
    assert_eq!((f.reply.sport, f.reply.dport), (Some(443), Some(36560)));
    assert_eq!(
        f.reply.counters,
        Some(Counters {
            packets: 6,
            bytes: 697
        })
    );
    assert_eq!(f.flags, Flags::ASSURED);
    assert_eq!(f.mark, Some(0));
    assert_eq!(
        (f.event, f.timestamp, f.id, f.zone),
        (None, None, None, None)
    );
}

#[test]
fn extended_and_proc_prefix() {
    let f = p(&format!("ipv4     2 {SPEC_LINE}"));
    assert_eq!(f.family, Family::Ipv4);
    assert_eq!(f.orig.counters.unwrap().bytes, 399);
    let f = p("ipv6     10 udp      17 28 src=fd00:0001:0000:0000:0000:0000:0000:0011 dst=fd00:0100:0000:0000:0000:0000:0000:0020 sport=40006 dport=9999 packets=1 bytes=50 [UNREPLIED] src=fd00:0100:0000:0000:0000:0000:0000:0020 dst=fd00:0001:0000:0000:0000:0000:0000:0011 sport=9999 dport=40006 packets=0 bytes=0 mark=0 zone=0 delta-time=1 use=2");
    assert_eq!(f.family, Family::Ipv6);
    assert_eq!(f.orig.src, ip("fd00:1::11"));
    assert_eq!(f.reply.src, ip("fd00:100::20"));
    assert_eq!(f.zone, Some(0));
    assert_eq!(f.delta_time, Some(1));
    assert!(f.flags.contains(Flags::UNREPLIED));
}

#[test]
fn proc_gre_timeouts_are_skipped() {
    let f = p("ipv4     2 gre      47 28 timeout=30, stream_timeout=180 src=10.244.1.11 dst=192.168.100.20 srckey=0x0 dstkey=0x0 zone-orig=9 packets=1 bytes=36 [UNREPLIED] src=192.168.100.20 dst=192.168.100.1 srckey=0x0 dstkey=0x0 packets=0 bytes=0 mark=42 delta-time=1 use=2");
    assert_eq!(f.protocol, Protocol::Gre);
    assert_eq!(f.timeout, Some(28));
    assert_eq!(f.zone_orig, Some(9));
    assert_eq!((f.orig.sport, f.orig.dport), (None, None));
    assert_eq!(
        f.orig.counters,
        Some(Counters {
            packets: 1,
            bytes: 36
        })
    );
}

#[test]
fn icmp_tuple_id_precedes_conntrack_id() {
    let f = p("icmp     1 27 src=10.244.1.11 dst=192.168.100.20 type=8 code=0 id=12378 packets=3 bytes=384 src=192.168.100.20 dst=192.168.100.1 type=0 code=0 id=12378 packets=3 bytes=384 mark=42 delta-time=3 use=1 id=187993239");
    assert_eq!(f.id, Some(187993239));
    let echo = |icmp_type, code, id| Icmp {
        icmp_type,
        code,
        id,
    };
    assert_eq!(
        f.icmp,
        Some(IcmpTuples {
            orig: echo(8, 0, 12378),
            reply: echo(0, 0, 12378)
        })
    );
    assert_eq!((f.orig.sport, f.orig.dport), (None, None));
    assert_eq!(
        f.orig.counters,
        Some(Counters {
            packets: 3,
            bytes: 384
        })
    );
    // Events print no use= and, without accounting, no counters either.
    let f = p("    [NEW] icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=5 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=5 id=99");
    assert_eq!(f.id, Some(99));
    assert!(!f.has_counters());
    let f = p("icmpv6   58 29 src=fd00::1 dst=fd00::2 type=128 code=0 id=7 src=fd00::2 dst=fd00::1 type=129 code=0 id=7 mark=0 use=1");
    assert_eq!(
        (f.protocol, f.family, f.id),
        (Protocol::Icmpv6, Family::Ipv6, None)
    );
    assert_eq!(
        f.icmp,
        Some(IcmpTuples {
            orig: echo(128, 0, 7),
            reply: echo(129, 0, 7)
        })
    );
    // Extremes, and a destination-unreachable with its code.
    let f = p("icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=3 code=255 id=65535 src=10.0.0.2 dst=10.0.0.1 type=255 code=3 id=0");
    assert_eq!(
        f.icmp,
        Some(IcmpTuples {
            orig: echo(3, 255, 65535),
            reply: echo(255, 3, 0)
        })
    );
    assert_eq!(
        e("icmp 1 29 src=10.0.0.1 dst=10.0.0.2 type=256 code=0 id=1"),
        ParseError::BadNumber {
            key: "type",
            value: "256".into()
        }
    );
    assert_eq!(
        e("icmp 1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=65536"),
        ParseError::BadNumber {
            key: "id",
            value: "65536".into()
        }
    );
}

#[test]
fn tcp_id_without_counters_is_the_conntrack_id() {
    let f = p(" [UPDATE] ipv4     2 tcp      6 60 SYN_RECV src=10.244.1.11 dst=10.96.0.10 sport=40001 dport=80 src=10.244.2.12 dst=10.244.1.11 sport=8080 dport=40001 id=62543574");
    assert_eq!(f.event, Some(EventKind::Update));
    assert_eq!(f.id, Some(62543574));
    assert_eq!(f.state, Some(State::SynRecv));
}

#[test]
fn events_with_and_without_timestamp() {
    let f = p("[1795653365.094730]\t    [NEW] tcp      6 120 SYN_SENT src=10.244.1.11 dst=10.96.0.10 sport=40001 dport=80 [UNREPLIED] src=10.244.2.12 dst=10.244.1.11 sport=8080 dport=40001");
    assert_eq!(f.timestamp, Some(1795653365));
    assert_eq!(f.event, Some(EventKind::New));
    assert!(f.flags.contains(Flags::UNREPLIED));
    let f = p("[DESTROY] udp      17 27 src=10.244.1.11 dst=192.168.100.20 sport=40004 dport=5353 packets=1 bytes=33 src=192.168.100.20 dst=192.168.100.1 sport=5353 dport=40004 packets=1 bytes=33 delta-time=3 [USERSPACE] portid=4114578049 progname=conntrack");
    assert_eq!(f.event, Some(EventKind::Destroy));
    assert_eq!(f.timestamp, None);
    assert!(f.flags.contains(Flags::USERSPACE));
    assert_eq!(
        f.reply.counters,
        Some(Counters {
            packets: 1,
            bytes: 33
        })
    );
    // progname is the rest of the line, blanks included.
    let f = p("[DESTROY] udp      17 27 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [USERSPACE] portid=1 progname=my prog [x]");
    assert!(f.flags.contains(Flags::USERSPACE));
}

#[test]
fn ktimestamp_brackets_hold_blanks() {
    let f = p("[DESTROY] udp      17 27 src=10.244.1.11 dst=192.168.100.20 sport=40004 dport=5353 packets=1 bytes=33 src=192.168.100.20 dst=192.168.100.1 sport=5353 dport=40004 packets=1 bytes=33 delta-time=3 [start=Thu Nov 26 00:36:27 2026] [stop=Thu Nov 26 00:36:30 2026] id=251291062");
    assert_eq!(f.id, Some(251291062));
    assert_eq!(f.delta_time, Some(3));
}

#[test]
fn offload_flows_have_no_timeout() {
    let f = p("tcp      6 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=443 packets=10 bytes=900 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1000 packets=9 bytes=8000 [OFFLOAD] mark=0 use=2");
    assert_eq!(f.timeout, None);
    assert_eq!(f.state, None);
    assert!(f.flags.contains(Flags::OFFLOAD));
    let f = p("ipv4     2 tcp      6 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1000 [HW_OFFLOAD] mark=0 zone=0 use=3");
    assert_eq!((f.timeout, f.state), (None, Some(State::Established)));
    assert!(f.flags.contains(Flags::HW_OFFLOAD));
}

#[test]
fn every_protocol() {
    let cases = [
        ("tcp      6", Protocol::Tcp, "sport=1 dport=2"),
        ("udp      17", Protocol::Udp, "sport=1 dport=2"),
        ("udplite  136", Protocol::Udplite, "sport=1 dport=2"),
        ("sctp     132", Protocol::Sctp, "sport=1 dport=2"),
        ("dccp     33", Protocol::Dccp, "sport=1 dport=2"),
        ("icmp     1", Protocol::Icmp, "type=8 code=0 id=3"),
        ("gre      47", Protocol::Gre, "srckey=0x1a dstkey=0x0"),
        ("unknown  253", Protocol::Other(253), ""),
    ];
    for (head, proto, fields) in cases {
        let f = p(&format!(
            "{head} 30 src=10.0.0.1 dst=10.0.0.2 {fields} src=10.0.0.2 dst=10.0.0.1 {fields} mark=0 use=1"
        ));
        assert_eq!(f.protocol, proto, "{head}");
        assert_eq!(f.icmp.is_some(), fields.starts_with("type"), "{head}");
        let ports = fields.starts_with("sport");
        assert_eq!(f.orig.sport.is_some(), ports, "{head}");
    }
}

#[test]
fn sctp_and_dccp_states() {
    assert_eq!(p("sctp     132 3 COOKIE_WAIT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1").state, Some(State::CookieWait));
    assert_eq!(p("dccp     33 431999 PARTOPEN src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1").state, Some(State::PartOpen));
    for s in State::ALL {
        assert_eq!(State::from_bytes(s.as_str().as_bytes()), Some(s));
    }
}

#[test]
fn trailer_attributes() {
    let f = p("tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=21 zone-orig=1 packets=4 bytes=200 src=10.0.0.2 dst=10.0.0.1 sport=21 dport=40000 zone-reply=2 packets=3 bytes=300 [ASSURED] mark=7 secmark=3 secctx=system_u:object_r:unlabeled_t:s0 zone=5 delta-time=10 helper=ftp use=1 id=42 labels=kn-dns,kn-web");
    assert_eq!(
        (f.zone_orig, f.zone_reply, f.zone),
        (Some(1), Some(2), Some(5))
    );
    assert_eq!((f.mark, f.id, f.delta_time), (Some(7), Some(42), Some(10)));
    assert_eq!(
        f.reply.counters,
        Some(Counters {
            packets: 3,
            bytes: 300
        })
    );
    // An attribute from a newer conntrack is tolerated.
    assert_eq!(p(&format!("{SPEC_LINE} newattr=5")).mark, Some(0));
}

#[test]
fn reason_bad_timestamp() {
    assert_eq!(
        e("[17x.5]\t[NEW] tcp 6 1 src=1.1.1.1"),
        ParseError::BadTimestamp("[17x.5]".into())
    );
    assert!(matches!(
        e("[99999999999999999999.1] [NEW] tcp"),
        ParseError::BadNumber { .. } | ParseError::BadTimestamp(_)
    ));
}

#[test]
fn reason_unknown_event() {
    assert_eq!(e("[FOO] tcp 6 1"), ParseError::UnknownEvent("[FOO]".into()));
    assert_eq!(
        e("[FOO] tcp 6 1").to_string(),
        "unknown event type '[FOO]' (expected [NEW], [UPDATE] or [DESTROY])"
    );
}

#[test]
fn reason_missing_protocol() {
    assert_eq!(e("[NEW]"), ParseError::MissingProtocol);
    assert_eq!(e("ipv4 2"), ParseError::MissingProtocol);
}

#[test]
fn reason_protocol_name_and_number() {
    assert_eq!(
        e("hello world"),
        ParseError::UnknownProtocolName("hello".into())
    );
    assert_eq!(e("tcp"), ParseError::MissingProtocolNumber("tcp".into()));
    assert_eq!(
        e("unknown 300 30 src=1.1.1.1").to_string(),
        "unknown protocol number 300"
    );
    assert_eq!(
        e("tcp 17 30 src=1.1.1.1"),
        ParseError::ProtocolMismatch {
            name: "tcp".into(),
            number: 17
        }
    );
    assert_eq!(
        e("tcp six 30"),
        ParseError::BadNumber {
            key: "protocol number",
            value: "six".into()
        }
    );
}

#[test]
fn reason_family() {
    assert_eq!(
        e("ipv5 7 tcp 6 1"),
        ParseError::UnknownFamily("ipv5".into())
    );
    assert_eq!(
        e("ipv4 10 tcp 6 1"),
        ParseError::FamilyMismatch {
            name: "ipv4".into(),
            number: 10
        }
    );
    assert_eq!(
        e(&format!("ipv6     10 {SPEC_LINE}")),
        ParseError::DeclaredFamilyMismatch {
            declared: "ipv6",
            actual: "ipv4"
        }
    );
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=fd00::1 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1"),
        ParseError::MixedFamilies { side: TupleSide::Original }
    );
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=fd00::2 dst=fd00::1 sport=2 dport=1"),
        ParseError::TupleFamilyMismatch { orig: "ipv4", reply: "ipv6" }
    );
}

#[test]
fn reason_unknown_state() {
    assert_eq!(
        e("tcp 6 1 SLEEPING src=1.1.1.1"),
        ParseError::UnknownState("SLEEPING".into())
    );
}

#[test]
fn reason_bad_address_and_number() {
    let err = e("udp 17 1 src=10.0.0.x dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1");
    assert_eq!(err.to_string(), "bad address '10.0.0.x' in src=");
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=fd00::zz sport=1 dport=2"),
        ParseError::BadAddress {
            key: "dst",
            value: "fd00::zz".into()
        }
    );
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=70000 dport=2"),
        ParseError::BadNumber {
            key: "sport",
            value: "70000".into()
        }
    );
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 packets=-1 bytes=3"),
        ParseError::BadNumber {
            key: "packets",
            value: "-1".into()
        }
    );
    assert_eq!(
        e("udp 17 99999999999 src=1.1.1.1"),
        ParseError::BadNumber {
            key: "timeout",
            value: "99999999999".into()
        }
    );
    assert_eq!(
        e("gre 47 1 src=10.0.0.1 dst=10.0.0.2 srckey=12 dstkey=0x0"),
        ParseError::BadNumber {
            key: "srckey",
            value: "12".into()
        }
    );
    assert_eq!(
        e(&format!("{SPEC_LINE} mark=x")).to_string(),
        "bad number 'x' in mark="
    );
}

#[test]
fn reason_missing_tuples_and_fields() {
    assert_eq!(e("tcp 6 1 ESTABLISHED"), ParseError::MissingOrigTuple);
    assert_eq!(
        e("tcp 6 1 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 packets=1 bytes=2"),
        ParseError::MissingReplyTuple
    );
    assert_eq!(
        e("tcp 6 1 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2").to_string(),
        "missing reply tuple"
    );
    assert_eq!(
        e("tcp 6 1 src=10.0.0.1 sport=1"),
        ParseError::MissingField {
            field: "dst",
            side: TupleSide::Original
        }
    );
    assert_eq!(
        e("tcp 6 1 src=10.0.0.1 dst=10.0.0.2 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1"),
        ParseError::MissingField {
            field: "sport",
            side: TupleSide::Original
        }
    );
    assert_eq!(
        e("tcp 6 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2")
            .to_string(),
        "missing dport= in reply tuple"
    );
    assert_eq!(
        e("icmp 1 1 src=10.0.0.1 dst=10.0.0.2 type=8 id=1 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1"),
        ParseError::MissingField { field: "code", side: TupleSide::Original }
    );
    assert_eq!(
        e("gre 47 1 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 src=10.0.0.2 dst=10.0.0.1 srckey=0x0 dstkey=0x0"),
        ParseError::MissingField { field: "dstkey", side: TupleSide::Original }
    );
}

#[test]
fn reason_packets_without_bytes() {
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 packets=1 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1"),
        ParseError::PacketsWithoutBytes(TupleSide::Original)
    );
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 packets=1"),
        ParseError::PacketsWithoutBytes(TupleSide::Reply)
    );
}

#[test]
fn reason_extra_tuple_duplicate_unexpected() {
    assert_eq!(
        e(&format!("{SPEC_LINE} src=1.1.1.1 dst=2.2.2.2")),
        ParseError::ExtraTuple
    );
    assert_eq!(
        e(&format!("{SPEC_LINE} mark=1")),
        ParseError::Duplicate("mark")
    );
    assert_eq!(
        e(&format!("{SPEC_LINE} use=1")),
        ParseError::Duplicate("use")
    );
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 packets=1 bytes=1 packets=1 bytes=1 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1"),
        ParseError::Duplicate("packets")
    );
    assert_eq!(
        e(&format!("{SPEC_LINE} [BOGUS]")),
        ParseError::UnexpectedToken("[BOGUS]".into())
    );
    assert_eq!(
        e(&format!("{SPEC_LINE} garbage")),
        ParseError::UnexpectedToken("garbage".into())
    );
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 [ASSURED] src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1"),
        ParseError::UnexpectedToken("[ASSURED]".into())
    );
    assert_eq!(
        e("tcp 6 1 ESTABLISHED ESTABLISHED src=1.1.1.1"),
        ParseError::UnexpectedToken("ESTABLISHED".into())
    );
    // A port field in an ICMP tuple is out of place.
    assert_eq!(
        e("icmp 1 1 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 sport=5 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1"),
        ParseError::UnexpectedToken("sport=5".into())
    );
}

#[test]
fn bare_src_key_is_a_bad_address_not_a_panic() {
    // Found by proptest: `src` without `=` where the reply tuple starts.
    assert_eq!(
        e("udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src dst=10.0.0.1"),
        ParseError::BadAddress {
            key: "src",
            value: String::new()
        }
    );
}

#[test]
fn reason_unterminated_bracket() {
    assert_eq!(
        e(&format!("{SPEC_LINE} [start=Thu Nov 26 00:36:27 2026")),
        ParseError::Unterminated("start=Thu".into())
    );
}

#[test]
fn invalid_utf8_is_malformed_not_a_panic() {
    let mut line = SPEC_LINE.as_bytes().to_vec();
    line[20] = 0xff;
    assert!(parse_line(&line, 1).is_err());
    assert!(parse_line(b"\xff\xfe tcp", 1).is_err());
    assert!(parse_line(b"tcp 6 1 src=\xc3\x28", 1).is_err());
}
