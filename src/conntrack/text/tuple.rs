//! The two tuples of a text line: `src= dst=`, the protocol's own fields
//! (ports, ICMP type/code/id, GRE keys), then counters.

use std::net::{IpAddr, Ipv4Addr};

use super::lex::{split_kv, Cursor};
use crate::conntrack::error::{ParseError, TupleSide};
use crate::conntrack::values::{parse_hex, parse_ip, parse_num, parse_u64};
use crate::conntrack::{Family, Icmp, Tuple};
use crate::model::{Counters, Protocol};

/// Which per-tuple fields a protocol prints.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum L4Fields {
    Ports,
    Icmp,
    GreKeys,
    None,
}

impl L4Fields {
    pub(super) fn of(p: Protocol) -> L4Fields {
        match p {
            Protocol::Tcp | Protocol::Udp | Protocol::Sctp | Protocol::Dccp | Protocol::Udplite => {
                L4Fields::Ports
            }
            Protocol::Icmp | Protocol::Icmpv6 => L4Fields::Icmp,
            Protocol::Gre => L4Fields::GreKeys,
            Protocol::Other(_) => L4Fields::None,
        }
    }
}

/// Tuple under construction.
#[derive(Default)]
pub(super) struct TupleBuf {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    icmp_id: Option<u16>,
    srckey: bool,
    dstkey: bool,
    counters: Option<Counters>,
}

impl TupleBuf {
    /// `src=ADDR` (its value already in hand) then `dst=ADDR`.
    pub(super) fn start(
        &mut self,
        src: &[u8],
        cur: &mut Cursor<'_>,
        side: TupleSide,
    ) -> Result<(), ParseError> {
        self.src = Some(parse_ip(src, "src")?);
        match cur.next() {
            Some(tok) if tok.starts_with(b"dst=") => {
                self.dst = Some(parse_ip(&tok[4..], "dst")?);
                Ok(())
            }
            _ => Err(ParseError::MissingField { field: "dst", side }),
        }
    }

    /// Consumes `tok` if it is a protocol field of this tuple not yet seen.
    #[inline]
    pub(super) fn field(&mut self, fields: L4Fields, tok: &[u8]) -> Result<bool, ParseError> {
        let (key, val) = split_kv(tok);
        match (fields, key) {
            (L4Fields::Ports, b"sport") if self.sport.is_none() => {
                self.sport = Some(parse_num(val, "sport")?);
            }
            (L4Fields::Ports, b"dport") if self.dport.is_none() => {
                self.dport = Some(parse_num(val, "dport")?);
            }
            (L4Fields::Icmp, b"type") if self.icmp_type.is_none() => {
                self.icmp_type = Some(parse_num(val, "type")?);
            }
            (L4Fields::Icmp, b"code") if self.icmp_code.is_none() => {
                self.icmp_code = Some(parse_num(val, "code")?);
            }
            // The tuple's own ICMP id; a later `id=` is the conntrack id.
            (L4Fields::Icmp, b"id") if self.icmp_id.is_none() => {
                self.icmp_id = Some(parse_num(val, "id")?);
            }
            (L4Fields::GreKeys, b"srckey") if !self.srckey => {
                parse_hex(val, "srckey")?;
                self.srckey = true;
            }
            (L4Fields::GreKeys, b"dstkey") if !self.dstkey => {
                parse_hex(val, "dstkey")?;
                self.dstkey = true;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Every field the protocol prints was there.
    pub(super) fn check(&self, fields: L4Fields, side: TupleSide) -> Result<(), ParseError> {
        let missing = match fields {
            L4Fields::Ports if self.sport.is_none() => "sport",
            L4Fields::Ports if self.dport.is_none() => "dport",
            L4Fields::Icmp if self.icmp_type.is_none() => "type",
            L4Fields::Icmp if self.icmp_code.is_none() => "code",
            L4Fields::Icmp if self.icmp_id.is_none() => "id",
            L4Fields::GreKeys if !self.srckey => "srckey",
            L4Fields::GreKeys if !self.dstkey => "dstkey",
            _ => return Ok(()),
        };
        Err(ParseError::MissingField {
            field: missing,
            side,
        })
    }

    /// `packets=N` (value in hand) and the `bytes=N` that must follow.
    pub(super) fn counters(
        &mut self,
        packets: &[u8],
        cur: &mut Cursor<'_>,
        side: TupleSide,
    ) -> Result<(), ParseError> {
        if self.counters.is_some() {
            return Err(ParseError::Duplicate("packets"));
        }
        let packets = parse_u64(packets, "packets")?;
        let bytes = match cur.next().map(split_kv) {
            Some((b"bytes", v)) => parse_u64(v, "bytes")?,
            _ => return Err(ParseError::PacketsWithoutBytes(side)),
        };
        self.counters = Some(Counters { packets, bytes });
        Ok(())
    }

    /// `type= code= id=`, when the tuple had all three.
    pub(super) fn icmp(&self) -> Option<Icmp> {
        Some(Icmp {
            icmp_type: self.icmp_type?,
            code: self.icmp_code?,
            id: self.icmp_id?,
        })
    }

    /// The finished tuple, its addresses checked to be of one family.
    pub(super) fn finish(self, side: TupleSide) -> Result<(Tuple, Family), ParseError> {
        // `start` guarantees both addresses.
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let t = Tuple {
            src: self.src.unwrap_or(unspecified),
            dst: self.dst.unwrap_or(unspecified),
            sport: self.sport,
            dport: self.dport,
            counters: self.counters,
        };
        let f = Family::of(&t.src);
        if f != Family::of(&t.dst) {
            return Err(ParseError::MixedFamilies { side });
        }
        Ok((t, f))
    }
}

/// Stands in for a tuple until the line's own are read.
pub(super) fn placeholder() -> Tuple {
    Tuple {
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        sport: None,
        dport: None,
        counters: None,
    }
}
