//! Prints a [`Flow`] the way conntrack (or the kernel) would. Used by the
//! property tests (render → parse must give the flow back), the benchmark's
//! dump generator and the fuzz seeds; not needed to read dumps.
//!
//! Fields a [`Flow`] does not keep are rendered with fixed values: GRE keys
//! `0x0`, `use=1`; and ICMP `type=8 code=0 id=1` (ICMPv6 `type=128`) when
//! the flow has no [`Flow::icmp`].

use std::fmt::Write;
use std::net::IpAddr;

use super::{Family, Flags, Flow, Icmp, Tuple};
use crate::model::Protocol;

/// Output layout to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `conntrack -L` (plus `id=` when the flow has one, as with `-o id`).
    Default,
    /// `conntrack -L -o extended`: `ipv4     2 ` prefix.
    Extended,
    /// `/proc/net/nf_conntrack`: extended prefix, IPv6 in full form.
    Proc,
    /// `conntrack -E`: the event tag, and a `[secs.micros]<TAB>` prefix when
    /// the flow has a timestamp (`-o timestamp`).
    Event,
}

/// Appends one line (no newline) for `flow` to `out`.
pub fn render(flow: &Flow, format: Format, out: &mut String) {
    if format == Format::Event {
        if let Some(ts) = flow.timestamp {
            let _ = write!(out, "[{ts}.{:06}]\t", (flow.line * 7919) % 1_000_000);
        }
        let tag = flow.event.map_or("[NEW]", |e| e.as_str());
        let _ = write!(out, "{tag:>9} ");
    }
    if matches!(format, Format::Extended | Format::Proc) {
        let _ = write!(out, "{:<8} {} ", flow.family.as_str(), flow.family.number());
    }
    let _ = write!(
        out,
        "{:<8} {} ",
        flow.protocol.as_str(),
        flow.protocol.number()
    );
    if let Some(t) = flow.timeout {
        let _ = write!(out, "{t} ");
    }
    if let Some(s) = flow.state {
        let _ = write!(out, "{s} ");
    }
    let full = format == Format::Proc;
    let icmp = flow.icmp.map(|i| (i.orig, i.reply));
    tuple(out, flow.protocol, &flow.orig, icmp.map(|i| i.0), full);
    if let Some(z) = flow.zone_orig {
        let _ = write!(out, "zone-orig={z} ");
    }
    counters(out, &flow.orig);
    if flow.flags.contains(Flags::UNREPLIED) {
        out.push_str("[UNREPLIED] ");
    }
    tuple(out, flow.protocol, &flow.reply, icmp.map(|i| i.1), full);
    if let Some(z) = flow.zone_reply {
        let _ = write!(out, "zone-reply={z} ");
    }
    counters(out, &flow.reply);
    // conntrack prints only the strongest of these three.
    if flow.flags.contains(Flags::HW_OFFLOAD) {
        out.push_str("[HW_OFFLOAD] ");
    } else if flow.flags.contains(Flags::OFFLOAD) {
        out.push_str("[OFFLOAD] ");
    } else if flow.flags.contains(Flags::ASSURED) {
        out.push_str("[ASSURED] ");
    }
    if let Some(m) = flow.mark {
        let _ = write!(out, "mark={m} ");
    }
    if let Some(z) = flow.zone {
        let _ = write!(out, "zone={z} ");
    }
    if let Some(d) = flow.delta_time {
        let _ = write!(out, "delta-time={d} ");
    }
    if format != Format::Event {
        out.push_str("use=1 ");
    }
    if let Some(id) = flow.id {
        let _ = write!(out, "id={id} ");
    }
    if flow.flags.contains(Flags::USERSPACE) {
        out.push_str("[USERSPACE] portid=1234 progname=kube-proxy ");
    }
    if out.ends_with(' ') {
        out.pop();
    }
}

fn addr(out: &mut String, ip: &IpAddr, full: bool) {
    match ip {
        IpAddr::V6(v6) if full => {
            for (i, seg) in v6.segments().iter().enumerate() {
                if i > 0 {
                    out.push(':');
                }
                let _ = write!(out, "{seg:04x}");
            }
        }
        _ => {
            let _ = write!(out, "{ip}");
        }
    }
}

fn tuple(out: &mut String, p: Protocol, t: &Tuple, icmp: Option<Icmp>, full: bool) {
    out.push_str("src=");
    addr(out, &t.src, full);
    out.push_str(" dst=");
    addr(out, &t.dst, full);
    out.push(' ');
    match p {
        Protocol::Tcp | Protocol::Udp | Protocol::Sctp | Protocol::Dccp | Protocol::Udplite => {
            let _ = write!(
                out,
                "sport={} dport={} ",
                t.sport.unwrap_or(0),
                t.dport.unwrap_or(0)
            );
        }
        Protocol::Icmp | Protocol::Icmpv6 => {
            let i = icmp.unwrap_or(Icmp {
                icmp_type: if Family::of(&t.src) == Family::Ipv4 {
                    8
                } else {
                    128
                },
                code: 0,
                id: 1,
            });
            let _ = write!(out, "type={} code={} id={} ", i.icmp_type, i.code, i.id);
        }
        Protocol::Gre => out.push_str("srckey=0x0 dstkey=0x0 "),
        Protocol::Other(_) => {}
    }
}

fn counters(out: &mut String, t: &Tuple) {
    if let Some(c) = t.counters {
        let _ = write!(out, "packets={} bytes={} ", c.packets, c.bytes);
    }
}

/// A deterministic, realistic `conntrack -L` dump of `lines` lines: 70 %
/// TCP (mostly ESTABLISHED, some TIME_WAIT, some DNATed to a pod), 30 % UDP,
/// all with counters. For benchmarks and load tests.
pub fn synthetic_dump(lines: usize, seed: u64) -> Vec<u8> {
    synthetic_dump_with(lines, seed, Synthetic::default())
}

/// What [`synthetic_dump_with`] varies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Synthetic {
    /// Share of IPv6 lines (0.0..=1.0): dual-stack pods in an AWS-like
    /// `2600:1f18::/32` prefix talking to AWS and internet IPv6 hosts,
    /// without NAT as in EKS IPv6 clusters. The IPv4 lines stay the lines of
    /// [`synthetic_dump`] at the same positions.
    pub ipv6_share: f64,
    pub format: Format,
}

impl Default for Synthetic {
    fn default() -> Self {
        Synthetic {
            ipv6_share: 0.0,
            format: Format::Default,
        }
    }
}

/// SplitMix64's finaliser: derived randomness that draws nothing from the
/// main generator, so choosing IPv6 for a line does not shift the others.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// [`synthetic_dump`] with IPv6 lines mixed in and another layout.
pub fn synthetic_dump_with(lines: usize, seed: u64, opts: Synthetic) -> Vec<u8> {
    use super::{Flags, State};
    use crate::model::Counters;
    use std::net::{Ipv4Addr, Ipv6Addr};

    let mut x = seed | 1;
    let mut rnd = move || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let v6_per_million = (opts.ipv6_share.clamp(0.0, 1.0) * 1e6) as u64;
    let mut out = String::with_capacity(lines * 260);
    for i in 0..lines {
        let r = rnd();
        let tcp = r % 10 < 7;
        let pod = Ipv4Addr::new(10, 244, (r >> 8) as u8 % 16, (r >> 16) as u8);
        let remote = Ipv4Addr::new(
            [52, 34, 13, 10][(r >> 24) as usize % 4],
            (r >> 32) as u8,
            (r >> 40) as u8,
            (r >> 48) as u8,
        );
        let sport = 32768 + (r >> 20) as u16 % 28000;
        let dport = [443, 80, 53, 5432, 6379, 8080][(r >> 36) as usize % 6];
        let (op, ob, rp, rb) = {
            let s = rnd();
            let op = 1 + s % 5000;
            let rp = 1 + (s >> 16) % 5000;
            (
                op,
                op * (60 + (s >> 32) % 1400),
                rp,
                rp * (60 + (s >> 40) % 1400),
            )
        };
        let v6 = v6_per_million > 0
            && mix(seed ^ (i as u64).wrapping_mul(0x9e37_79b9)) % 1_000_000 < v6_per_million;
        let (src, dst, reply_dst) = if v6 {
            // Pod: a node's /80 of a subnet's /64 of the cluster's /56.
            let q = mix(r);
            let pod = Ipv6Addr::new(
                0x2600,
                0x1f18,
                0x04a3,
                0x6c00 | ((r >> 8) as u16 % 3),
                (r >> 16) as u16 % 16 + 0xa1b0,
                0,
                0,
                1 + (q as u16) % 250,
            );
            // Remote: S3 and EC2 dual-stack endpoints, Google, Cloudflare.
            let prefix: [u16; 3] = [
                [0x2600, 0x1fa0, 0x80a1],
                [0x2600, 0x1f18, 0x2551],
                [0x2a00, 0x1450, 0x4001],
                [0x2606, 0x4700, 0x0000],
            ][(r >> 24) as usize % 4];
            let remote = Ipv6Addr::new(
                prefix[0],
                prefix[1],
                prefix[2],
                (q >> 16) as u16,
                (q >> 32) as u16 % 4,
                (q >> 40) as u16,
                0,
                (q >> 48) as u16,
            );
            (IpAddr::V6(pod), IpAddr::V6(remote), IpAddr::V6(pod))
        } else {
            (
                IpAddr::V4(pod),
                IpAddr::V4(remote),
                IpAddr::V4(Ipv4Addr::new(10, 0, 1, 10)),
            )
        };
        let orig = Tuple {
            src,
            dst,
            sport: Some(sport),
            dport: Some(dport),
            counters: Some(Counters {
                packets: op,
                bytes: ob,
            }),
        };
        let reply = Tuple {
            src: dst,
            dst: reply_dst,
            sport: Some(dport),
            dport: Some(sport),
            counters: Some(Counters {
                packets: rp,
                bytes: rb,
            }),
        };
        let proto = if tcp { Protocol::Tcp } else { Protocol::Udp };
        let mut f = Flow::new(i as u64 + 1, proto, orig, reply);
        f.timeout = Some(if tcp {
            431_999 - (r % 1000) as u32
        } else {
            (r % 180) as u32
        });
        if tcp {
            f.state = Some(if r % 5 == 0 {
                State::TimeWait
            } else {
                State::Established
            });
        }
        f.flags = Flags::ASSURED;
        f.mark = Some(0);
        if opts.format == Format::Proc {
            // The kernel prints the zone and, with timestamps on, delta-time.
            f.zone = Some(0);
            f.delta_time = Some(r % 3600);
        }
        render(&f, opts.format, &mut out);
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::{parse_chunk, parse_line, ChunkReader, State};

    #[test]
    fn synthetic_dump_parses_cleanly() {
        let data = synthetic_dump(2000, 7);
        let mut flows = Vec::new();
        for c in ChunkReader::with_chunk_bytes(&data[..], 10_000) {
            let p = parse_chunk(&c.unwrap());
            assert!(p.malformed.is_empty(), "{:?}", p.malformed);
            flows.extend(p.flows);
        }
        assert_eq!(flows.len(), 2000);
        let tcp = flows.iter().filter(|f| f.protocol == Protocol::Tcp).count();
        assert!((1200..1600).contains(&tcp), "{tcp}");
        assert!(flows.iter().all(|f| f.has_counters()));
        assert!(flows.iter().any(|f| f.state == Some(State::TimeWait)));
        // Deterministic.
        assert_eq!(data, synthetic_dump(2000, 7));
    }

    #[test]
    fn dual_stack_dump_mixes_in_ipv6_lines_and_keeps_the_ipv4_ones() {
        let plain = synthetic_dump(3000, 7);
        let opts = Synthetic {
            ipv6_share: 0.3,
            format: Format::Default,
        };
        let mixed = synthetic_dump_with(3000, 7, opts);
        assert_eq!(synthetic_dump_with(3000, 7, Synthetic::default()), plain);
        let (mut v6, mut same) = (0, 0);
        for (a, b) in plain
            .split(|&c| c == b'\n')
            .zip(mixed.split(|&c| c == b'\n'))
        {
            if a == b {
                same += 1;
            } else {
                v6 += 1;
                let f = parse_line(b, 1).unwrap().unwrap();
                assert_eq!(f.family, Family::Ipv6, "{}", String::from_utf8_lossy(b));
                // No NAT: the reply goes back to the pod.
                assert_eq!((f.reply.src, f.reply.dst), (f.orig.dst, f.orig.src));
            }
        }
        assert!((800..1000).contains(&v6), "{v6} IPv6 lines of 3000");
        assert_eq!(same + v6, 3001);
        let proc = synthetic_dump_with(
            500,
            7,
            Synthetic {
                format: Format::Proc,
                ..opts
            },
        );
        let text = String::from_utf8(proc).unwrap();
        for l in text.lines() {
            let f = parse_line(l.as_bytes(), 1).unwrap().unwrap();
            assert_eq!(f.zone, Some(0));
            if f.family == Family::Ipv6 {
                assert!(l.starts_with("ipv6     10 "), "{l}");
                assert!(l.contains(" src=2600:1f18:04a3:6c0"), "{l}");
            }
        }
    }

    #[test]
    fn icmp_fields_are_printed_per_tuple() {
        let t = Tuple {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            sport: None,
            dport: None,
            counters: None,
        };
        let mut f = Flow::new(1, Protocol::Icmp, t, t);
        let mut s = String::new();
        render(&f, Format::Default, &mut s);
        assert_eq!(s, "icmp     1 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 use=1");
        f.icmp = Some(crate::conntrack::IcmpTuples {
            orig: Icmp {
                icmp_type: 8,
                code: 0,
                id: 513,
            },
            reply: Icmp {
                icmp_type: 0,
                code: 0,
                id: 513,
            },
        });
        s.clear();
        render(&f, Format::Default, &mut s);
        assert_eq!(s, "icmp     1 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=513 src=10.0.0.1 dst=10.0.0.2 type=0 code=0 id=513 use=1");
    }

    #[test]
    fn proc_prints_full_form_ipv6() {
        let t = Tuple {
            src: "fd00:1::11".parse().unwrap(),
            dst: "fd00:100::20".parse().unwrap(),
            sport: Some(1),
            dport: Some(2),
            counters: None,
        };
        let f = Flow::new(1, Protocol::Udp, t, t);
        let mut s = String::new();
        render(&f, Format::Proc, &mut s);
        assert_eq!(
            s,
            "ipv6     10 udp      17 src=fd00:0001:0000:0000:0000:0000:0000:0011 dst=fd00:0100:0000:0000:0000:0000:0000:0020 sport=1 dport=2 src=fd00:0001:0000:0000:0000:0000:0000:0011 dst=fd00:0100:0000:0000:0000:0000:0000:0020 sport=1 dport=2 use=1"
        );
    }
}
