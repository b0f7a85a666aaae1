//! Which conntrack entry a flow is, for matching one snapshot against an
//! earlier one (SPEC §8, `label --baseline`).

use std::net::IpAddr;

use super::{Flow, Icmp};
use crate::model::Protocol;

/// The original tuple's layer-4 identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Key {
    /// TCP, UDP, UDP-Lite, SCTP, DCCP.
    Ports { sport: u16, dport: u16 },
    /// ICMP/ICMPv6 `type= code= id=` of the original tuple.
    Icmp(Icmp),
    /// Neither: GRE, unknown protocols, and ICMP from `-o xml` (which
    /// prints no ICMP fields).
    None,
}

/// SPEC §8's connection key: protocol, original-tuple addresses, ports
/// (ICMP: type, code, id) and the zone. Counters, timeouts, state and the
/// reply tuple are not part of it, so the same connection in two snapshots
/// has the same key.
///
/// The conntrack id is not in the key: SPEC adds it only when *both* dumps
/// carry ids, which the caller knows; pair the key with [`Flow::conntrack_id`]
/// then. The zone is kept in the form conntrack prints it: `zone=` for a
/// zone of both directions, `zone-orig=`/`zone-reply=` for a directional one
/// (the kernel prints one of them; entries that differ there are different
/// entries). Small and `Copy`, so a map of a million keys stays compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionKey {
    pub protocol: Protocol,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4Key,
    pub zone: Option<u16>,
    pub zone_orig: Option<u16>,
    pub zone_reply: Option<u16>,
}

impl Flow {
    /// This flow's [`ConnectionKey`].
    pub fn connection_key(&self) -> ConnectionKey {
        let l4 = match (self.orig.sport, self.orig.dport, self.icmp) {
            (Some(sport), Some(dport), _) => L4Key::Ports { sport, dport },
            (_, _, Some(icmp)) => L4Key::Icmp(icmp.orig),
            _ => L4Key::None,
        };
        ConnectionKey {
            protocol: self.protocol,
            src: self.orig.src,
            dst: self.orig.dst,
            l4,
            zone: self.zone,
            zone_orig: self.zone_orig,
            zone_reply: self.zone_reply,
        }
    }

    /// The conntrack entry id (`id=` after `use=`, `-o id`), when printed.
    /// Not an ICMP tuple's `id=`, which is in [`Flow::icmp`].
    pub fn conntrack_id(&self) -> Option<u32> {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::parse_line;
    use std::collections::HashSet;

    fn flow(line: &str) -> Flow {
        parse_line(line.as_bytes(), 1).unwrap().unwrap()
    }

    const PING: &str = "icmp     1 29 src=10.244.1.11 dst=192.168.100.20 type=8 code=0 id=12378 packets=3 bytes=252 src=192.168.100.20 dst=10.244.1.11 type=0 code=0 id=12378 packets=3 bytes=252 mark=0 use=1";
    const TCP: &str = "tcp      6 431999 ESTABLISHED src=10.244.1.11 dst=52.216.10.20 sport=36560 dport=443 packets=6 bytes=399 src=52.216.10.20 dst=10.0.1.10 sport=443 dport=36560 packets=6 bytes=697 [ASSURED] mark=0 use=1";

    #[test]
    fn icmp_lines_with_different_ids_have_different_keys() {
        let a = flow(PING);
        let b = flow(&PING.replace("id=12378", "id=12379"));
        assert_ne!(a.connection_key(), b.connection_key());
        assert_eq!(
            a.connection_key().l4,
            L4Key::Icmp(Icmp {
                icmp_type: 8,
                code: 0,
                id: 12378
            })
        );
        // Type and code count too.
        let c = flow(&PING.replace("type=8 code=0", "type=13 code=0"));
        let d = flow(&PING.replace("type=8 code=0", "type=8 code=1"));
        let keys: HashSet<ConnectionKey> = [&a, &b, &c, &d]
            .iter()
            .map(|f| f.connection_key())
            .collect();
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn same_tuple_other_counters_state_and_reply_is_the_same_key() {
        let a = flow(TCP);
        let later = TCP
            .replace("packets=6 bytes=399", "packets=60 bytes=39900")
            .replace("431999 ESTABLISHED", "119 TIME_WAIT")
            .replace("dst=10.0.1.10", "dst=10.0.1.11")
            .replace("use=1", "use=2 id=77");
        let b = flow(&later);
        assert_ne!(a, b);
        assert_eq!(a.connection_key(), b.connection_key());
        assert_eq!((a.conntrack_id(), b.conntrack_id()), (None, Some(77)));
        let ping_later = PING.replace("packets=3 bytes=252", "packets=9 bytes=756");
        assert_eq!(
            flow(PING).connection_key(),
            flow(&ping_later).connection_key()
        );
    }

    #[test]
    fn zone_and_tuple_fields_make_other_keys() {
        let a = flow(TCP).connection_key();
        let zoned =
            |z: &str| flow(&TCP.replace("mark=0", &format!("mark=0 zone={z}"))).connection_key();
        assert_ne!(a, zoned("1"));
        assert_ne!(zoned("1"), zoned("2"));
        assert_eq!(zoned("1"), zoned("1"));
        let orig_zone =
            flow(&TCP.replace(" packets=6 bytes=399", " zone-orig=1 packets=6 bytes=399"));
        assert_ne!(orig_zone.connection_key(), zoned("1"));
        for (from, to) in [
            (
                "sport=36560 dport=443 packets=6",
                "sport=36561 dport=443 packets=6",
            ),
            (
                "sport=36560 dport=443 packets=6",
                "sport=36560 dport=80 packets=6",
            ),
            ("src=10.244.1.11 dst=52", "src=10.244.1.12 dst=52"),
            ("dst=52.216.10.20 sport", "dst=52.216.10.21 sport"),
        ] {
            assert_ne!(a, flow(&TCP.replace(from, to)).connection_key(), "{to}");
        }
        let udp = TCP.replace("tcp      6 431999 ESTABLISHED", "udp      17 30");
        assert_ne!(a, flow(&udp).connection_key());
    }

    #[test]
    fn key_is_small() {
        // A 1 M-entry baseline map holds a million of these (SPEC §8).
        assert!(
            std::mem::size_of::<ConnectionKey>() <= 56,
            "{}",
            std::mem::size_of::<ConnectionKey>()
        );
    }

    #[test]
    fn protocols_without_ports_or_icmp_fields() {
        let gre = flow("gre      47 28 src=10.244.1.11 dst=192.168.100.20 srckey=0x0 dstkey=0x0 src=192.168.100.20 dst=192.168.100.1 srckey=0x0 dstkey=0x0 use=2");
        assert_eq!(gre.connection_key().l4, L4Key::None);
        // conntrack's XML has no ICMP fields: the key falls back to the addresses.
        let xml = flow(
            r#"<flow type="new"><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.244.1.11</src><dst>192.168.100.20</dst></layer3><layer4 protonum="1" protoname="icmp"></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>192.168.100.20</src><dst>192.168.100.1</dst></layer3><layer4 protonum="1" protoname="icmp"></layer4></meta><meta direction="independent"><timeout>30</timeout><mark>42</mark><id>2120247744</id><unreplied/></meta></flow>"#,
        );
        assert_eq!((xml.icmp, xml.connection_key().l4), (None, L4Key::None));
        assert_eq!(xml.conntrack_id(), Some(2_120_247_744));
    }
}
