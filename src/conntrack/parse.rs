//! One conntrack text line → [`Flow`].
//!
//! The line is lexed with nom into whitespace-separated tokens and walked
//! through a small state machine, because the grammar is positional: the
//! same keys (`src=`, `sport=`, `packets=`, even `id=`) occur in the
//! original tuple, the reply tuple and the trailer, and only their position
//! says which is which. Values are decoded by hand-written, allocation-free
//! routines. The common IPv4 TCP/UDP lines are read by the fast path in
//! `fast.rs` first; this parser takes every line it declines, and alone
//! decides what is malformed and why.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use memchr::{memchr, memmem};
use nom::bytes::complete::tag;
use nom::character::complete::{digit1, space0};
use nom::sequence::{delimited, separated_pair};
use nom::{IResult, Parser};

use super::error::{snippet, ParseError, TupleSide};
use super::{EventKind, Family, Flags, Flow, State, Tuple};
use crate::model::{Counters, Protocol};

type Res<'a, T> = IResult<&'a [u8], T, ParseError>;

impl<'a> nom::error::ParseError<&'a [u8]> for ParseError {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        // The parsers map every expected failure to a specific reason; this
        // is nom's fallback, which names what it stopped at.
        ParseError::UnexpectedToken(snippet(input))
    }
    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

#[inline]
fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Offset of the first blank (space or tab) in `i`, or `i.len()`.
///
/// Eight bytes at a time (SWAR): tokens are ~10 bytes, so this is one or
/// two steps instead of a byte loop with two compares per byte.
#[inline(always)]
fn find_blank(i: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut p = 0;
    while p + 8 <= i.len() {
        let word: [u8; 8] = i[p..p + 8].try_into().unwrap_or([0; 8]);
        let w = u64::from_le_bytes(word);
        let sp = w ^ (LO * u64::from(b' '));
        let tab = w ^ (LO * u64::from(b'\t'));
        let hits = (sp.wrapping_sub(LO) & !sp & HI) | (tab.wrapping_sub(LO) & !tab & HI);
        if hits != 0 {
            return p + (hits.trailing_zeros() / 8) as usize;
        }
        p += 8;
    }
    while p < i.len() && !is_ws(i[p]) {
        p += 1;
    }
    p
}

/// One whitespace-separated token, and the input after its trailing blanks.
///
/// A nom parser written out by hand: it runs ~25 times per line, and the
/// combinator version (`terminated(take_till1(..), space0)`) cost a fifth of
/// the whole parse in profiles.
#[inline(always)]
fn token(i: &[u8]) -> Res<'_, &[u8]> {
    let end = find_blank(i);
    if end == 0 {
        return Err(nom::Err::Error(ParseError::UnexpectedToken(String::new())));
    }
    // `i[end]`, if any, is a blank; conntrack pads only after the protocol
    // names, so the loop below rarely runs.
    let mut next = (end + 1).min(i.len());
    while next < i.len() && is_ws(i[next]) {
        next += 1;
    }
    Ok((&i[next..], &i[..end]))
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
    line_result(classify(line, line_no))
}

/// [`parse_line`] without the fast path for common TCP/UDP lines: the
/// general parser alone. Same result for every input; exists so tests and
/// the fuzz target can check exactly that.
pub fn parse_line_general(line: &[u8], line_no: u64) -> Result<Option<Flow>, ParseError> {
    line_result(classify_with(line, line_no, false))
}

fn line_result(r: Result<Line, ParseError>) -> Result<Option<Flow>, ParseError> {
    match r {
        Ok(Line::Flow(f)) => Ok(Some(f)),
        Ok(_) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a line turned out to be (so chunk parsing can count the kinds).
// Boxing the flow would cost an allocation per line on the hot path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Line {
    Flow(Flow),
    Blank,
    /// Summary line or XML framing.
    Summary,
}

#[inline]
pub(crate) fn classify(line: &[u8], line_no: u64) -> Result<Line, ParseError> {
    classify_with(line, line_no, true)
}

/// The line without leading blanks and trailing blanks or `\r`.
#[inline(always)]
pub(crate) fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && is_ws(line[start]) {
        start += 1;
    }
    &line[start..end]
}

/// `fast: false` skips the fast path (callers that already tried it).
#[inline(always)]
pub(crate) fn classify_with(line: &[u8], line_no: u64, fast: bool) -> Result<Line, ParseError> {
    let body = trim_line(line);
    if body.is_empty() {
        return Ok(Line::Blank);
    }
    if body[0] == b'<' {
        return super::xml::parse_xml_line(body, line_no);
    }
    if body.starts_with(b"conntrack v") && memmem::find(body, b"have been shown").is_some() {
        return Ok(Line::Summary);
    }
    if fast {
        if let Some(f) = super::fast::parse_common(body, line_no) {
            return Ok(Line::Flow(f));
        }
    }
    parse_flow(body, line_no).map(Line::Flow)
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
        timestamp =
            Some(i64::try_from(secs).map_err(|_| ParseError::BadTimestamp(secs.to_string()))?);
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
    let fields = l4_fields(protocol);

    let mut flow = Flow {
        event,
        timestamp,
        ..Flow::new(line_no, protocol, placeholder_tuple(), placeholder_tuple())
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
                        start_tuple(&mut tuples[0], &tok[4..], &mut cur, TupleSide::Original)?;
                        phase = Phase::Fields(TupleSide::Original);
                    } else if tok[0].is_ascii_digit()
                        && flow.timeout.is_none()
                        && flow.state.is_none()
                    {
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
                            set_once(
                                &mut flow.zone_orig,
                                parse_num(val, "zone-orig")?,
                                "zone-orig",
                            )?;
                        }
                        b"zone-reply" if side == TupleSide::Reply => {
                            set_once(
                                &mut flow.zone_reply,
                                parse_num(val, "zone-reply")?,
                                "zone-reply",
                            )?;
                        }
                        b"src" => {
                            if side == TupleSide::Reply {
                                return Err(ParseError::ExtraTuple);
                            }
                            start_tuple(&mut tuples[1], val, &mut cur, TupleSide::Reply)?;
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
                                    _ if tok.starts_with(b"[start=")
                                        || tok.starts_with(b"[stop=") =>
                                    {
                                        skip_bracket(tok, &mut cur)?
                                    }
                                    _ => return Err(ParseError::UnexpectedToken(snippet(tok))),
                                }
                            } else {
                                match key {
                                    b"mark" => {
                                        set_once(&mut flow.mark, parse_num(val, "mark")?, "mark")?
                                    }
                                    b"zone" => {
                                        set_once(&mut flow.zone, parse_num(val, "zone")?, "zone")?
                                    }
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

/// `src=ADDR` (its value already in hand) then `dst=ADDR`.
fn start_tuple(
    t: &mut TupleBuf,
    src: &[u8],
    cur: &mut Cursor<'_>,
    side: TupleSide,
) -> Result<(), ParseError> {
    t.src = Some(parse_ip(src, "src")?);
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
/// Keys are short: a plain loop beats memchr's setup here.
#[inline(always)]
fn split_kv(tok: &[u8]) -> (&[u8], &[u8]) {
    let mut p = 0;
    while p < tok.len() {
        if tok[p] == b'=' {
            return (&tok[..p], &tok[p + 1..]);
        }
        p += 1;
    }
    (tok, &[])
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
    if v.len() <= 19 {
        // At most 19 digits cannot overflow a u64: no checks per digit.
        let mut n: u64 = 0;
        for &c in v {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return Err(bad());
            }
            n = n * 10 + u64::from(d);
        }
        return Ok(n);
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

/// Up to three digits at `v[*i..]`, at most 255.
#[inline(always)]
fn octet(v: &[u8], i: &mut usize) -> Option<u8> {
    let start = *i;
    let mut n: u32 = 0;
    while *i < v.len() && *i - start < 3 {
        let d = v[*i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n * 10 + u32::from(d);
        *i += 1;
    }
    if *i == start || n > 255 {
        return None;
    }
    Some(n as u8)
}

#[inline]
pub(crate) fn parse_ipv4(v: &[u8]) -> Option<Ipv4Addr> {
    let mut i = 0;
    let mut o = [0u8; 4];
    for (k, slot) in o.iter_mut().enumerate() {
        if k > 0 {
            if v.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        *slot = octet(v, &mut i)?;
    }
    (i == v.len()).then(|| Ipv4Addr::from(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Flow {
        match parse_line(line.as_bytes(), 7) {
            Ok(Some(f)) => f,
            other => panic!("{line}\n=> {other:?}"),
        }
    }

    fn e(line: &str) -> ParseError {
        match parse_line(line.as_bytes(), 7) {
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
    fn blank_crlf_and_summary_lines_are_not_flows() {
        assert_eq!(parse_line(b"", 1), Ok(None));
        assert_eq!(parse_line(b"  \t \r", 1), Ok(None));
        assert_eq!(
            parse_line(
                b"conntrack v1.4.7 (conntrack-tools): 8 flow entries have been shown.",
                1
            ),
            Ok(None)
        );
        assert_eq!(
            parse_line(
                b"conntrack v1.4.7 (conntrack-tools): 26 flow events have been shown.\r",
                1
            ),
            Ok(None)
        );
        let crlf = format!("{SPEC_LINE}\r");
        assert_eq!(p(&crlf), p(SPEC_LINE));
    }

    #[test]
    fn xml_lines() {
        assert_eq!(
            parse_line(br#"<?xml version="1.0" encoding="utf-8"?>"#, 1),
            Ok(None)
        );
        assert_eq!(parse_line(b"<conntrack>", 1), Ok(None));
        assert_eq!(parse_line(b"</conntrack>", 1), Ok(None));
        let f = p(
            r#"<flow type="destroy"><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.244.1.11</src><dst>10.96.0.10</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>40001</sport><dport>80</dport></layer4><zone>3</zone><counters><packets>6</packets><bytes>394</bytes></counters></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.244.2.12</src><dst>10.244.1.11</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>8080</sport><dport>40001</dport></layer4><counters><packets>6</packets><bytes>1023</bytes></counters></meta><meta direction="independent"><state>TIME_WAIT</state><timeout>116</timeout><mark>0</mark><zone>4</zone><use>1</use><id>62543574</id><assured/><deltatime>3</deltatime></meta></flow>"#,
        );
        assert_eq!(f.event, Some(EventKind::Destroy));
        assert_eq!(f.reply.src, ip("10.244.2.12"));
        assert_eq!(
            f.reply.counters,
            Some(Counters {
                packets: 6,
                bytes: 1023
            })
        );
        assert_eq!(
            (f.state, f.timeout, f.id),
            (Some(State::TimeWait), Some(116), Some(62543574))
        );
        assert_eq!((f.zone_orig, f.zone), (Some(3), Some(4)));
        assert!(f.flags.contains(Flags::ASSURED));
    }

    #[test]
    fn find_blank_matches_a_byte_loop() {
        let text = b"tcp      6 431999 ESTABLISHED src=10.244.1.11\tdst=x a bb ccc dddddddddddddddd \xff\x80\x7f=";
        for start in 0..text.len() {
            let i = &text[start..];
            let want = i.iter().position(|&c| is_ws(c)).unwrap_or(i.len());
            assert_eq!(find_blank(i), want, "{start}");
        }
        // Bytes next to a blank that could fool the SWAR borrow trick.
        for b in 0..=255u8 {
            let mut v = [b; 16];
            v[9] = b' ';
            let want = v.iter().position(|&c| is_ws(c)).unwrap();
            assert_eq!(find_blank(&v), want, "{b}");
        }
    }

    #[test]
    fn u64_parsing_edges() {
        assert_eq!(parse_u64(b"0", "k"), Ok(0));
        assert_eq!(
            parse_u64(b"9999999999999999999", "k"),
            Ok(9_999_999_999_999_999_999)
        );
        assert_eq!(parse_u64(b"18446744073709551615", "k"), Ok(u64::MAX));
        assert!(parse_u64(b"18446744073709551616", "k").is_err());
        assert!(parse_u64(b"99999999999999999999", "k").is_err());
        assert!(parse_u64(b"123456789012345678901", "k").is_err());
        assert!(parse_u64(b"", "k").is_err());
        assert!(parse_u64(b"1x", "k").is_err());
    }

    #[test]
    fn ipv4_fast_path_matches_std() {
        for s in ["0.0.0.0", "255.255.255.255", "10.244.1.11", "1.2.3.4"] {
            assert_eq!(parse_ipv4(s.as_bytes()), s.parse().ok(), "{s}");
        }
        for s in [
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4a",
            "1234.1.1.1",
            ".1.2.3",
            "1.2.3.",
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()), None, "{s}");
        }
    }

    // ---- every malformed reason ----

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
            ParseError::MissingField { field: "sport", side: TupleSide::Original }
        );
        assert_eq!(
            e("tcp 6 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2").to_string(),
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
    fn reason_bad_xml() {
        assert!(matches!(
            e("<flow><meta direction=\"original\">"),
            ParseError::BadXml(_)
        ));
        assert!(matches!(e("<flo"), ParseError::BadXml(_)));
        assert!(matches!(e("<flow><meta"), ParseError::BadXml(_)));
        assert_eq!(
            e("<flow></flow>").to_string(),
            "bad XML flow: no <layer4> in the original tuple"
        );
        assert_eq!(
            e(
                r#"<flow><meta direction="original"><layer4 protonum="6" protoname="tcp"></layer4></meta></flow>"#
            ),
            ParseError::MissingOrigTuple
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
}
