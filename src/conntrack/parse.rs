//! One conntrack text line → [`Flow`].
//!
//! The line is lexed with nom into whitespace-separated tokens and walked
//! through a small state machine, because the grammar is positional: the
//! same keys (`src=`, `sport=`, `packets=`, even `id=`) occur in the
//! original tuple, the reply tuple and the trailer, and only their position
//! says which is which. Values are decoded by hand-written, allocation-free
//! routines (this is the hot path of the whole tool).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use memchr::{memchr, memmem};
use nom::bytes::complete::{tag, take_till1};
use nom::character::complete::{digit1, space0};
use nom::sequence::{delimited, separated_pair, terminated};
use nom::{IResult, Parser};

use super::error::{snippet, ParseError, TupleSide};
use super::{EventKind, Family, Flags, Flow, State, Tuple};
use crate::model::{Counters, Protocol};

type Res<'a, T> = IResult<&'a [u8], T, ParseError>;

impl<'a> nom::error::ParseError<&'a [u8]> for ParseError {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        // Remaining length; turned into a byte offset by `parse_line`.
        ParseError::Syntax(input.len())
    }
    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

#[inline]
fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// One whitespace-separated token, and the input after its trailing blanks.
#[inline]
fn token(i: &[u8]) -> Res<'_, &[u8]> {
    terminated(take_till1(is_ws), space0).parse(i)
}

/// `[1700000000.123456]`: the `-o timestamp` event prefix, as whole seconds.
fn event_timestamp(i: &[u8]) -> Res<'_, (&[u8], &[u8])> {
    delimited(tag("["), separated_pair(digit1, tag("."), digit1), tag("]")).parse(i)
}

/// Parses one line (without its newline; a trailing `\r` is ignored).
///
/// `Ok(None)` for lines that are not flows but not errors either: blank
/// lines, conntrack's `N flow entries have been shown.` summary, and the
/// framing lines of `-o xml`.
pub fn parse_line(line: &[u8], line_no: u64) -> Result<Option<Flow>, ParseError> {
    match classify(line, line_no) {
        Ok(Line::Flow(f)) => Ok(Some(f)),
        Ok(_) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a line turned out to be (so chunk parsing can count the kinds).
pub(crate) enum Line {
    Flow(Flow),
    Blank,
    /// Summary line or XML framing.
    Summary,
}

pub(crate) fn classify(line: &[u8], line_no: u64) -> Result<Line, ParseError> {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && is_ws(line[start]) {
        start += 1;
    }
    let body = &line[start..end];
    if body.is_empty() {
        return Ok(Line::Blank);
    }
    if body[0] == b'<' {
        return super::xml::parse_xml_line(body, line_no);
    }
    if body.starts_with(b"conntrack v") && memmem::find(body, b"have been shown").is_some() {
        return Ok(Line::Summary);
    }
    parse_flow(body, line_no).map(Line::Flow).map_err(|e| match e {
        ParseError::Syntax(rem) => ParseError::Syntax(start + body.len().saturating_sub(rem)),
        e => e,
    })
}

/// Where in the line the walk is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// After the protocol number: timeout, state, until the first `src=`.
    Preamble,
    /// Inside a tuple, after `src= dst=`: its protocol fields.
    Fields(TupleSide),
    /// After a tuple's protocol fields: `zone-*=`, counters, `[UNREPLIED]`.
    Post(TupleSide),
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match token(self.rest) {
            Ok((rest, tok)) => {
                self.rest = rest;
                Some(tok)
            }
            Err(_) => None,
        }
    }
}

/// Tuple under construction.
#[derive(Default)]
struct TupleBuf {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: bool,
    icmp_code: bool,
    icmp_id: bool,
    srckey: bool,
    dstkey: bool,
    counters: Option<Counters>,
}

/// Which per-tuple fields a protocol prints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum L4Fields {
    Ports,
    Icmp,
    GreKeys,
    None,
}

fn l4_fields(p: Protocol) -> L4Fields {
    match p {
        Protocol::Tcp | Protocol::Udp | Protocol::Sctp | Protocol::Dccp | Protocol::Udplite => {
            L4Fields::Ports
        }
        Protocol::Icmp | Protocol::Icmpv6 => L4Fields::Icmp,
        Protocol::Gre => L4Fields::GreKeys,
        Protocol::Other(_) => L4Fields::None,
    }
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

fn parse_flow(body: &[u8], line_no: u64) -> Result<Flow, ParseError> {
    let mut cur = Cursor { rest: body };
    let mut timestamp = None;
    let mut event = None;

    // [SECONDS.MICROS]<tab>
    if body.len() > 1 && body[0] == b'[' && body[1].is_ascii_digit() {
        let (rest, (secs, _micros)) = event_timestamp(body).map_err(|_| {
            let end = body.iter().position(|&c| is_ws(c)).unwrap_or(body.len());
            ParseError::BadTimestamp(snippet(&body[..end]))
        })?;
        let secs = parse_u64(secs, "timestamp")?;
        timestamp = Some(
            i64::try_from(secs).map_err(|_| ParseError::BadTimestamp(secs.to_string()))?,
        );
        let (rest, _) = space0::<_, ParseError>(rest).unwrap_or((rest, &[]));
        cur.rest = rest;
    }

    let mut word = cur.next().ok_or(ParseError::MissingProtocol)?;
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

    let named = protocol_by_name(word).ok_or_else(|| {
        if word.first().is_some_and(|c| c.is_ascii_digit()) {
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
    let fields = l4_fields(protocol);

    let mut flow = Flow {
        line: line_no,
        protocol,
        orig: placeholder_tuple(),
        reply: placeholder_tuple(),
        event,
        timestamp,
        family: Family::Ipv4,
        timeout: None,
        state: None,
        flags: Flags::EMPTY,
        mark: None,
        zone: None,
        zone_orig: None,
        zone_reply: None,
        id: None,
        delta_time: None,
    };
    let mut tuples = [TupleBuf::default(), TupleBuf::default()];
    let mut phase = Phase::Preamble;
    let mut seen_use = false;
    let mut seen_secmark = false;
    let mut seen_portid = false;

    'tokens: while let Some(tok) = cur.next() {
        loop {
            match phase {
                Phase::Preamble => {
                    if tok.starts_with(b"src=") {
                        start_tuple(&mut tuples[0], tok, &mut cur, TupleSide::Original)?;
                        phase = Phase::Fields(TupleSide::Original);
                    } else if tok[0].is_ascii_digit() && flow.timeout.is_none() && flow.state.is_none() {
                        flow.timeout = Some(parse_num(tok, "timeout")?);
                    } else if tok.starts_with(b"timeout=") || tok.starts_with(b"stream_timeout=") {
                        // The kernel's GRE /proc line: `timeout=30, stream_timeout=180`.
                    } else if tok[0].is_ascii_uppercase() && flow.state.is_none() {
                        flow.state = Some(
                            State::from_bytes(tok)
                                .ok_or_else(|| ParseError::UnknownState(snippet(tok)))?,
                        );
                    } else {
                        return Err(ParseError::UnexpectedToken(snippet(tok)));
                    }
                    continue 'tokens;
                }
                Phase::Fields(side) => {
                    let t = &mut tuples[side as usize];
                    if tuple_field(t, fields, tok)? {
                        continue 'tokens;
                    }
                    check_fields(t, fields, side)?;
                    phase = Phase::Post(side);
                    // fall through: reprocess `tok` in Post
                }
                Phase::Post(side) => {
                    let (key, val) = split_kv(tok);
                    match key {
                        b"packets" => {
                            let t = &mut tuples[side as usize];
                            if t.counters.is_some() {
                                return Err(ParseError::Duplicate("packets"));
                            }
                            let packets = parse_u64(val, "packets")?;
                            let next = cur.next();
                            let bytes = match next.map(split_kv) {
                                Some((b"bytes", v)) => parse_u64(v, "bytes")?,
                                _ => return Err(ParseError::PacketsWithoutBytes(side)),
                            };
                            t.counters = Some(Counters { packets, bytes });
                        }
                        b"zone-orig" if side == TupleSide::Original => {
                            set_once(&mut flow.zone_orig, parse_num(val, "zone-orig")?, "zone-orig")?;
                        }
                        b"zone-reply" if side == TupleSide::Reply => {
                            set_once(&mut flow.zone_reply, parse_num(val, "zone-reply")?, "zone-reply")?;
                        }
                        b"src" => {
                            if side == TupleSide::Reply {
                                return Err(ParseError::ExtraTuple);
                            }
                            start_tuple(&mut tuples[1], tok, &mut cur, TupleSide::Reply)?;
                            phase = Phase::Fields(TupleSide::Reply);
                        }
                        _ if side == TupleSide::Original => {
                            if tok == b"[UNREPLIED]" {
                                flow.flags.insert(Flags::UNREPLIED);
                            } else {
                                return Err(ParseError::UnexpectedToken(snippet(tok)));
                            }
                        }
                        _ => {
                            // Trailer after the reply tuple.
                            if tok[0] == b'[' {
                                match tok {
                                    b"[ASSURED]" => flow.flags.insert(Flags::ASSURED),
                                    b"[UNREPLIED]" => flow.flags.insert(Flags::UNREPLIED),
                                    b"[OFFLOAD]" => flow.flags.insert(Flags::OFFLOAD),
                                    b"[HW_OFFLOAD]" => flow.flags.insert(Flags::HW_OFFLOAD),
                                    b"[USERSPACE]" => flow.flags.insert(Flags::USERSPACE),
                                    _ if tok.starts_with(b"[start=") || tok.starts_with(b"[stop=") => {
                                        skip_bracket(tok, &mut cur)?
                                    }
                                    _ => return Err(ParseError::UnexpectedToken(snippet(tok))),
                                }
                            } else {
                                match key {
                                    b"mark" => set_once(&mut flow.mark, parse_num(val, "mark")?, "mark")?,
                                    b"zone" => set_once(&mut flow.zone, parse_num(val, "zone")?, "zone")?,
                                    b"id" => set_once(&mut flow.id, parse_num(val, "id")?, "id")?,
                                    b"delta-time" => set_once(
                                        &mut flow.delta_time,
                                        parse_u64(val, "delta-time")?,
                                        "delta-time",
                                    )?,
                                    b"use" => flag_once(&mut seen_use, val, "use")?,
                                    b"secmark" => flag_once(&mut seen_secmark, val, "secmark")?,
                                    b"portid" => flag_once(&mut seen_portid, val, "portid")?,
                                    b"progname" => {
                                        // Last on the line, and may contain blanks.
                                        break 'tokens;
                                    }
                                    b"secctx" | b"helper" | b"labels" => {}
                                    _ if tok.len() > key.len() && is_key(key) => {
                                        // An attribute a newer conntrack prints: tolerated.
                                    }
                                    _ => return Err(ParseError::UnexpectedToken(snippet(tok))),
                                }
                            }
                        }
                    }
                    continue 'tokens;
                }
            }
        }
    }

    match phase {
        Phase::Preamble => return Err(ParseError::MissingOrigTuple),
        Phase::Fields(TupleSide::Original) | Phase::Post(TupleSide::Original) => {
            if let Phase::Fields(side) = phase {
                check_fields(&tuples[0], fields, side)?;
            }
            return Err(ParseError::MissingReplyTuple);
        }
        Phase::Fields(TupleSide::Reply) => check_fields(&tuples[1], fields, TupleSide::Reply)?,
        Phase::Post(TupleSide::Reply) => {}
    }

    let [o, r] = tuples;
    flow.orig = finish_tuple(o);
    flow.reply = finish_tuple(r);
    let fo = same_family(&flow.orig, TupleSide::Original)?;
    let fr = same_family(&flow.reply, TupleSide::Reply)?;
    if fo != fr {
        return Err(ParseError::TupleFamilyMismatch {
            orig: fo.as_str(),
            reply: fr.as_str(),
        });
    }
    if let Some(d) = declared {
        if d != fo {
            return Err(ParseError::DeclaredFamilyMismatch {
                declared: d.as_str(),
                actual: fo.as_str(),
            });
        }
    }
    flow.family = fo;
    Ok(flow)
}

fn placeholder_tuple() -> Tuple {
    Tuple {
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        sport: None,
        dport: None,
        counters: None,
    }
}

fn finish_tuple(t: TupleBuf) -> Tuple {
    // `start_tuple` guarantees both addresses.
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    Tuple {
        src: t.src.unwrap_or(unspecified),
        dst: t.dst.unwrap_or(unspecified),
        sport: t.sport,
        dport: t.dport,
        counters: t.counters,
    }
}

fn same_family(t: &Tuple, side: TupleSide) -> Result<Family, ParseError> {
    let f = Family::of(&t.src);
    if f != Family::of(&t.dst) {
        return Err(ParseError::MixedFamilies { side });
    }
    Ok(f)
}

/// `src=ADDR` (already in hand) then `dst=ADDR`.
fn start_tuple(
    t: &mut TupleBuf,
    src_tok: &[u8],
    cur: &mut Cursor<'_>,
    side: TupleSide,
) -> Result<(), ParseError> {
    t.src = Some(parse_ip(&src_tok[4..], "src")?);
    match cur.next() {
        Some(tok) if tok.starts_with(b"dst=") => {
            t.dst = Some(parse_ip(&tok[4..], "dst")?);
            Ok(())
        }
        _ => Err(ParseError::MissingField { field: "dst", side }),
    }
}

/// Consumes `tok` if it is a protocol field of the tuple being read.
#[inline]
fn tuple_field(t: &mut TupleBuf, fields: L4Fields, tok: &[u8]) -> Result<bool, ParseError> {
    let (key, val) = split_kv(tok);
    match (fields, key) {
        (L4Fields::Ports, b"sport") if t.sport.is_none() => {
            t.sport = Some(parse_num(val, "sport")?);
        }
        (L4Fields::Ports, b"dport") if t.dport.is_none() => {
            t.dport = Some(parse_num(val, "dport")?);
        }
        (L4Fields::Icmp, b"type") if !t.icmp_type => {
            parse_num::<u8>(val, "type")?;
            t.icmp_type = true;
        }
        (L4Fields::Icmp, b"code") if !t.icmp_code => {
            parse_num::<u8>(val, "code")?;
            t.icmp_code = true;
        }
        // The tuple's own ICMP id; a later `id=` is the conntrack id.
        (L4Fields::Icmp, b"id") if !t.icmp_id => {
            parse_num::<u16>(val, "id")?;
            t.icmp_id = true;
        }
        (L4Fields::GreKeys, b"srckey") if !t.srckey => {
            parse_hex(val, "srckey")?;
            t.srckey = true;
        }
        (L4Fields::GreKeys, b"dstkey") if !t.dstkey => {
            parse_hex(val, "dstkey")?;
            t.dstkey = true;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn check_fields(t: &TupleBuf, fields: L4Fields, side: TupleSide) -> Result<(), ParseError> {
    let missing = match fields {
        L4Fields::Ports if t.sport.is_none() => "sport",
        L4Fields::Ports if t.dport.is_none() => "dport",
        L4Fields::Icmp if !t.icmp_type => "type",
        L4Fields::Icmp if !t.icmp_code => "code",
        L4Fields::Icmp if !t.icmp_id => "id",
        L4Fields::GreKeys if !t.srckey => "srckey",
        L4Fields::GreKeys if !t.dstkey => "dstkey",
        _ => return Ok(()),
    };
    Err(ParseError::MissingField {
        field: missing,
        side,
    })
}

/// `[start=Thu Nov 26 00:36:05 2026]` holds blanks: skip to its `]`.
fn skip_bracket(tok: &[u8], cur: &mut Cursor<'_>) -> Result<(), ParseError> {
    if tok.ends_with(b"]") {
        return Ok(());
    }
    match memchr(b']', cur.rest) {
        Some(p) if !cur.rest[..p].contains(&b'[') => {
            let (rest, _) = space0::<_, ParseError>(&cur.rest[p + 1..]).unwrap_or((&[], &[]));
            cur.rest = rest;
            Ok(())
        }
        _ => Err(ParseError::Unterminated(snippet(&tok[1..]))),
    }
}

fn set_once<T>(slot: &mut Option<T>, v: T, key: &'static str) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::Duplicate(key));
    }
    *slot = Some(v);
    Ok(())
}

fn flag_once(seen: &mut bool, val: &[u8], key: &'static str) -> Result<(), ParseError> {
    if *seen {
        return Err(ParseError::Duplicate(key));
    }
    parse_num::<u32>(val, key)?;
    *seen = true;
    Ok(())
}

fn is_key(k: &[u8]) -> bool {
    !k.is_empty()
        && k[0].is_ascii_lowercase()
        && k.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

/// `key=value` → (key, value); a token without `=` is all key, empty value.
#[inline]
fn split_kv(tok: &[u8]) -> (&[u8], &[u8]) {
    match memchr(b'=', tok) {
        Some(p) => (&tok[..p], &tok[p + 1..]),
        None => (tok, &[]),
    }
}

/// Decimal u64 without sign, blanks or overflow.
#[inline]
pub(crate) fn parse_u64(v: &[u8], key: &'static str) -> Result<u64, ParseError> {
    let bad = || ParseError::BadNumber {
        key,
        value: snippet(v),
    };
    if v.is_empty() || v.len() > 20 {
        return Err(bad());
    }
    let mut n: u64 = 0;
    for &c in v {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(bad());
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or_else(bad)?;
    }
    Ok(n)
}

#[inline]
fn parse_num<T: TryFrom<u64>>(v: &[u8], key: &'static str) -> Result<T, ParseError> {
    let n = parse_u64(v, key)?;
    T::try_from(n).map_err(|_| ParseError::BadNumber {
        key,
        value: snippet(v),
    })
}

fn parse_hex(v: &[u8], key: &'static str) -> Result<u32, ParseError> {
    let bad = || ParseError::BadNumber {
        key,
        value: snippet(v),
    };
    let digits = v.strip_prefix(b"0x").ok_or_else(bad)?;
    if digits.is_empty() || digits.len() > 8 {
        return Err(bad());
    }
    let mut n = 0u32;
    for &c in digits {
        let d = (c as char).to_digit(16).ok_or_else(bad)?;
        n = (n << 4) | d;
    }
    Ok(n)
}

/// Dotted quad fast path; anything with a `:` goes to the std IPv6 parser,
/// which also takes /proc's full form with leading zeros.
#[inline]
pub(crate) fn parse_ip(v: &[u8], key: &'static str) -> Result<IpAddr, ParseError> {
    let bad = || ParseError::BadAddress {
        key,
        value: snippet(v),
    };
    if let Some(a) = parse_ipv4(v) {
        return Ok(IpAddr::V4(a));
    }
    if v.contains(&b':') && v.len() <= 45 {
        let s = std::str::from_utf8(v).map_err(|_| bad())?;
        return s.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| bad());
    }
    Err(bad())
}

#[inline]
fn parse_ipv4(v: &[u8]) -> Option<Ipv4Addr> {
    if v.len() < 7 || v.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut idx = 0;
    let mut acc: u32 = 0;
    let mut digits = 0;
    for &c in v {
        if c == b'.' {
            if digits == 0 || idx == 3 {
                return None;
            }
            octets[idx] = acc as u8;
            idx += 1;
            acc = 0;
            digits = 0;
        } else {
            let d = c.wrapping_sub(b'0');
            if d > 9 || digits == 3 {
                return None;
            }
            acc = acc * 10 + u32::from(d);
            if acc > 255 {
                return None;
            }
            digits += 1;
        }
    }
    if digits == 0 || idx != 3 {
        return None;
    }
    octets[3] = acc as u8;
    Some(Ipv4Addr::from(octets))
}
