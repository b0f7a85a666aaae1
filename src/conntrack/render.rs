//! Prints a [`Flow`] the way conntrack (or the kernel) would. Used by the
//! property tests (render → parse must give the flow back), the benchmark's
//! dump generator and the fuzz seeds; not needed to read dumps.
//!
//! Fields a [`Flow`] does not keep are rendered with fixed values: ICMP
//! `type=8 code=0 id=<n>`, GRE keys `0x0`, `use=1`.

use std::fmt::Write;
use std::net::IpAddr;

use super::{Family, Flags, Flow, Tuple};
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
    tuple(out, flow.protocol, &flow.orig, full);
    if let Some(z) = flow.zone_orig {
        let _ = write!(out, "zone-orig={z} ");
    }
    counters(out, &flow.orig);
    if flow.flags.contains(Flags::UNREPLIED) {
        out.push_str("[UNREPLIED] ");
    }
    tuple(out, flow.protocol, &flow.reply, full);
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

fn tuple(out: &mut String, p: Protocol, t: &Tuple, full: bool) {
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
            let ty = if Family::of(&t.src) == Family::Ipv4 {
                8
            } else {
                128
            };
            let _ = write!(out, "type={ty} code=0 id={} ", t.sport.unwrap_or(1));
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
