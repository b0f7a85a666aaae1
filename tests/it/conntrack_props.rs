//! Property tests: rendered flows parse back equal in every text layout;
//! no input panics; chunking never changes the result.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kubenetmon::conntrack::render::{render, Format};
use kubenetmon::conntrack::{
    parse_chunk, parse_line, parse_line_general, ChunkReader, EventKind, Flags, Flow, Icmp,
    IcmpTuples, ParsedChunk, State, Tuple,
};
use kubenetmon::model::{Counters, Protocol};
use proptest::prelude::*;

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Icmp),
        Just(Protocol::Icmpv6),
        Just(Protocol::Sctp),
        Just(Protocol::Dccp),
        Just(Protocol::Gre),
        Just(Protocol::Udplite),
        // Numbers conntrack has no name for print as `unknown`.
        any::<u8>().prop_filter_map("named protocol", |n| match Protocol::from_number(n) {
            p @ Protocol::Other(_) => Some(p),
            _ => None,
        }),
    ]
}

fn addr(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        prop_oneof![
            any::<u128>().prop_map(Ipv6Addr::from),
            // Runs of zero groups, so `::` appears in every place.
            proptest::array::uniform8(prop_oneof![3 => Just(0u16), 2 => any::<u16>()])
                .prop_map(Ipv6Addr::from),
        ]
        .prop_map(IpAddr::V6)
        .boxed()
    } else {
        any::<u32>()
            .prop_map(|n| IpAddr::V4(Ipv4Addr::from(n)))
            .boxed()
    }
}

fn counters() -> impl Strategy<Value = Option<Counters>> {
    proptest::option::of(
        (any::<u64>(), any::<u64>()).prop_map(|(packets, bytes)| Counters { packets, bytes }),
    )
}

fn tuple(v6: bool, ports: bool) -> impl Strategy<Value = Tuple> {
    (addr(v6), addr(v6), any::<u16>(), any::<u16>(), counters()).prop_map(
        move |(src, dst, sp, dp, counters)| Tuple {
            src,
            dst,
            sport: ports.then_some(sp),
            dport: ports.then_some(dp),
            counters,
        },
    )
}

fn flags() -> impl Strategy<Value = Flags> {
    (any::<bool>(), 0u8..4, any::<bool>()).prop_map(|(unreplied, strength, userspace)| {
        let mut f = Flags::EMPTY;
        if unreplied {
            f.insert(Flags::UNREPLIED);
        }
        // conntrack prints at most one of these.
        match strength {
            1 => f.insert(Flags::ASSURED),
            2 => f.insert(Flags::OFFLOAD),
            3 => f.insert(Flags::HW_OFFLOAD),
            _ => {}
        }
        if userspace {
            f.insert(Flags::USERSPACE);
        }
        f
    })
}

fn icmp() -> impl Strategy<Value = Icmp> {
    (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(icmp_type, code, id)| Icmp {
        icmp_type,
        code,
        id,
    })
}

fn flow() -> impl Strategy<Value = Flow> {
    (protocol(), any::<bool>()).prop_flat_map(|(proto, v6)| {
        let ports = matches!(
            proto,
            Protocol::Tcp | Protocol::Udp | Protocol::Sctp | Protocol::Dccp | Protocol::Udplite
        );
        let is_icmp = matches!(proto, Protocol::Icmp | Protocol::Icmpv6);
        (
            tuple(v6, ports),
            tuple(v6, ports),
            (icmp(), icmp())
                .prop_map(move |(orig, reply)| is_icmp.then_some(IcmpTuples { orig, reply })),
            proptest::option::of(any::<u32>()),
            proptest::option::of(proptest::sample::select(State::ALL.to_vec())),
            flags(),
            (
                proptest::option::of(any::<u32>()),
                proptest::option::of(any::<u16>()),
                proptest::option::of(any::<u16>()),
                proptest::option::of(any::<u16>()),
                proptest::option::of(any::<u32>()),
                proptest::option::of(any::<u64>()),
            ),
        )
            .prop_map(
                move |(orig, reply, icmp, timeout, state, flags, (mark, zone, zo, zr, id, dt))| {
                    let mut f = Flow::new(1, proto, orig, reply);
                    f.icmp = icmp;
                    f.timeout = timeout;
                    f.state = state;
                    f.flags = flags;
                    f.mark = mark;
                    f.zone = zone;
                    f.zone_orig = zo;
                    f.zone_reply = zr;
                    f.id = id;
                    f.delta_time = dt;
                    f
                },
            )
    })
}

/// The layout the fast path takes: IPv4 or IPv6 TCP/UDP with the
/// attributes `conntrack -L` and /proc print by default (and `-o id`).
fn common_flow() -> impl Strategy<Value = Flow> {
    any::<bool>().prop_flat_map(common_flow_of)
}

fn common_flow_of(v6: bool) -> impl Strategy<Value = Flow> {
    (
        any::<bool>(),
        tuple(v6, true),
        tuple(v6, true),
        proptest::option::of(any::<u32>()),
        proptest::option::of(proptest::sample::select(State::ALL.to_vec())),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(tcp, orig, reply, timeout, state, unreplied, assured, mark, id, (zone, dt))| {
                let proto = if tcp { Protocol::Tcp } else { Protocol::Udp };
                let mut f = Flow::new(1, proto, orig, reply);
                f.timeout = timeout;
                f.state = state;
                if unreplied {
                    f.flags.insert(Flags::UNREPLIED);
                }
                if assured {
                    f.flags.insert(Flags::ASSURED);
                }
                f.mark = mark;
                f.id = id;
                f.zone = zone;
                f.delta_time = dt;
                f
            },
        )
}

fn common_format() -> impl Strategy<Value = Format> {
    prop_oneof![
        Just(Format::Default),
        Just(Format::Extended),
        Just(Format::Proc)
    ]
}

fn same_with_and_without_fast_path(bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        parse_line(bytes, 9),
        parse_line_general(bytes, 9),
        "{}",
        String::from_utf8_lossy(bytes)
    );
    Ok(())
}

fn event() -> impl Strategy<Value = (EventKind, Option<i64>)> {
    (
        prop_oneof![
            Just(EventKind::New),
            Just(EventKind::Update),
            Just(EventKind::Destroy)
        ],
        proptest::option::of(0i64..=9_999_999_999),
    )
}

fn round_trip(f: &Flow, format: Format) -> Result<(), TestCaseError> {
    let mut line = String::new();
    render(f, format, &mut line);
    let parsed = parse_line(line.as_bytes(), f.line);
    prop_assert_eq!(parsed, Ok(Some(f.clone())), "{:?}: {}", format, line);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn default_round_trips(mut f in flow(), line in 1u64..1_000_000) {
        f.line = line;
        round_trip(&f, Format::Default)?;
    }

    #[test]
    fn extended_round_trips(f in flow()) {
        round_trip(&f, Format::Extended)?;
    }

    #[test]
    fn proc_round_trips(f in flow()) {
        round_trip(&f, Format::Proc)?;
    }

    #[test]
    fn id_round_trips(mut f in flow(), id in any::<u32>()) {
        // `-o id`: the conntrack id after use=, behind an ICMP tuple's own id=.
        f.id = Some(id);
        round_trip(&f, Format::Default)?;
    }

    #[test]
    fn events_round_trip(mut f in flow(), (kind, ts) in event()) {
        f.event = Some(kind);
        f.timestamp = ts;
        round_trip(&f, Format::Event)?;
    }

    #[test]
    fn common_lines_round_trip_through_the_fast_path(f in common_flow(), format in common_format()) {
        round_trip(&f, format)?;
        let mut line = String::new();
        render(&f, format, &mut line);
        same_with_and_without_fast_path(line.as_bytes())?;
    }

    #[test]
    fn mangled_common_lines_same_with_and_without_fast_path(
        f in common_flow(),
        format in common_format(),
        cut in any::<proptest::sample::Index>(),
        junk in proptest::collection::vec(prop_oneof![
            any::<u8>(),
            proptest::sample::select(b" \t0123456789abcdefA.:=[]x-%".to_vec()),
        ], 0..6),
        drop in 0usize..12,
    ) {
        let mut line = String::new();
        render(&f, format, &mut line);
        let mut bytes = line.into_bytes();
        let at = cut.index(bytes.len() + 1);
        let mut edited = bytes.clone();
        edited.splice(at..at, junk.iter().copied());
        same_with_and_without_fast_path(&edited)?;
        let mut dropped = bytes.clone();
        dropped.drain(at..(at + drop).min(bytes.len()));
        same_with_and_without_fast_path(&dropped)?;
        bytes.truncate(at);
        same_with_and_without_fast_path(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_line(&bytes, 1);
        same_with_and_without_fast_path(&bytes)?;
    }

    #[test]
    fn mangled_lines_never_panic(f in flow(), cut in any::<proptest::sample::Index>(), junk in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut line = String::new();
        render(&f, Format::Extended, &mut line);
        let mut bytes = line.into_bytes();
        let at = cut.index(bytes.len() + 1);
        bytes.splice(at..at, junk);
        let _ = parse_line(&bytes, 1);
        bytes.truncate(at);
        let _ = parse_line(&bytes, 1);
    }

    #[test]
    fn chunking_does_not_change_results(
        flows in proptest::collection::vec(flow(), 0..30),
        bad in proptest::collection::vec(any::<u8>(), 0..40),
        chunk in 1usize..700,
        crlf in any::<bool>(),
    ) {
        let mut text = Vec::new();
        for (i, f) in flows.iter().enumerate() {
            let mut s = String::new();
            render(f, Format::Default, &mut s);
            text.extend_from_slice(s.as_bytes());
            if i % 7 == 3 {
                text.extend_from_slice(b"\n");
                text.extend(bad.iter().copied().filter(|&b| b != b'\n'));
            }
            text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        let whole = collect(ChunkReader::new(&text[..]));
        let small = collect(ChunkReader::with_chunk_bytes(&text[..], chunk));
        prop_assert_eq!(&whole, &small);
        prop_assert_eq!(whole.flows.len(), flows.len());
        prop_assert_eq!(whole.lines as usize, text.iter().filter(|&&b| b == b'\n').count());
    }
}

fn collect<R: std::io::BufRead>(r: ChunkReader<R>) -> ParsedChunk {
    let mut all = ParsedChunk::default();
    for c in r {
        let p = parse_chunk(&c.unwrap());
        all.lines += p.lines;
        all.blank += p.blank;
        all.summary += p.summary;
        all.flows.extend(p.flows);
        all.malformed.extend(p.malformed);
    }
    all
}
