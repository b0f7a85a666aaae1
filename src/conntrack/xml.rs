//! `conntrack -L -o xml`: one `<flow>...</flow>` element per line, between
//! an `<?xml ...?>`/`<conntrack>` header and a `</conntrack>` footer.
//!
//! conntrack writes a fixed, flat vocabulary without entities in values,
//! so a small nom tag scanner is enough; this is not a general XML parser.

use std::net::{IpAddr, Ipv4Addr};

use nom::bytes::complete::{tag, take_till, take_until};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use super::error::{snippet, ParseError, TupleSide};
use super::values::{parse_ip, parse_num, parse_u64};
use super::{EventKind, Family, Flags, Flow, State, Tuple};
use crate::model::{Counters, Protocol};

type Res<'a, T> = IResult<&'a [u8], T, ParseError>;

enum Item<'a> {
    Open { name: &'a [u8], attrs: &'a [u8] },
    Close,
    Empty { name: &'a [u8] },
    Text(&'a [u8]),
}

fn item(i: &[u8]) -> Res<'_, Item<'_>> {
    if let Ok((rest, inner)) =
        delimited(tag::<_, _, ParseError>("<"), take_until(">"), tag(">")).parse(i)
    {
        let inner: &[u8] = inner;
        if inner.starts_with(b"/") {
            return Ok((rest, Item::Close));
        }
        let (inner, empty) = match inner.strip_suffix(b"/") {
            Some(s) => (s, true),
            None => (inner, false),
        };
        let (attrs, name) = take_till::<_, _, ParseError>(|c| c == b' ')(inner)?;
        return Ok((
            rest,
            if empty {
                Item::Empty { name }
            } else {
                Item::Open { name, attrs }
            },
        ));
    }
    let (rest, text) = take_till(|c| c == b'<')(i)?;
    if text.is_empty() {
        return Err(nom::Err::Failure(ParseError::BadXml(format!(
            "unterminated tag at '{}'",
            snippet(i)
        ))));
    }
    Ok((rest, Item::Text(text)))
}

/// Value of attribute `name` in `attrs` (` a="x" b="y"`).
fn attr<'a>(attrs: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut i = attrs;
    loop {
        i = i.trim_ascii_start();
        if i.is_empty() {
            return None;
        }
        let (rest, key) = take_till::<_, _, ParseError>(|c| c == b'=')(i).ok()?;
        let (rest, val) = preceded(tag::<_, _, ParseError>("=\""), take_until("\""))
            .parse(rest)
            .ok()?;
        let rest: &[u8] = &rest[1..];
        if key == name.as_bytes() {
            return Some(val);
        }
        i = rest;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Orig,
    Reply,
    Indep,
}

#[derive(Default)]
struct T {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    packets: Option<u64>,
    bytes: Option<u64>,
}

/// One trimmed line starting with `<`: a flow, `None` for the framing
/// lines (`<?xml ...?>`, `<conntrack>`, `</conntrack>`), or malformed.
pub(crate) fn parse_xml_line(body: &[u8], line_no: u64) -> Result<Option<Flow>, ParseError> {
    if body.starts_with(b"<?xml")
        || body == b"<conntrack>"
        || body == b"</conntrack>"
        || body == b"<conntrack/>"
    {
        return Ok(None);
    }
    if !body.starts_with(b"<flow") {
        return Err(ParseError::BadXml(format!(
            "expected <flow>, found '{}'",
            snippet(body)
        )));
    }
    let mut i = body;
    let mut stack: Vec<&[u8]> = Vec::with_capacity(6);
    let mut dir = Dir::Indep;
    let mut t = [T::default(), T::default()];
    let mut protocol: Option<Protocol> = None;
    let mut family: Option<Family> = None;
    let mut flow = Flow::new(line_no, Protocol::Other(0), placeholder(), placeholder());
    let mut closed = false;
    while !i.is_empty() {
        let (rest, it) = item(i).map_err(|e| match e {
            nom::Err::Error(e) | nom::Err::Failure(e) => e,
            nom::Err::Incomplete(_) => ParseError::BadXml("truncated".into()),
        })?;
        i = rest;
        match it {
            Item::Open { name, attrs } => {
                match name {
                    b"flow" => {
                        if let Some(ty) = attr(attrs, "type") {
                            flow.event = Some(match ty {
                                b"new" => EventKind::New,
                                b"update" => EventKind::Update,
                                b"destroy" => EventKind::Destroy,
                                _ => return Err(ParseError::UnknownEvent(snippet(ty))),
                            });
                        }
                    }
                    b"meta" => {
                        dir = match attr(attrs, "direction") {
                            Some(b"original") => Dir::Orig,
                            Some(b"reply") => Dir::Reply,
                            _ => Dir::Indep,
                        }
                    }
                    b"layer3" if dir == Dir::Orig => {
                        family = match attr(attrs, "protoname") {
                            Some(b"ipv4") => Some(Family::Ipv4),
                            Some(b"ipv6") => Some(Family::Ipv6),
                            Some(other) => return Err(ParseError::UnknownFamily(snippet(other))),
                            None => None,
                        }
                    }
                    b"layer4" if dir == Dir::Orig => {
                        let n = attr(attrs, "protonum")
                            .ok_or_else(|| ParseError::BadXml("layer4 without protonum".into()))?;
                        let n = parse_u64(n, "protonum")?;
                        let n =
                            u8::try_from(n).map_err(|_| ParseError::ProtocolNumberOutOfRange(n))?;
                        protocol = Some(Protocol::from_number(n));
                    }
                    _ => {}
                }
                stack.push(name);
            }
            Item::Close => {
                if stack.pop() == Some(b"flow".as_slice()) {
                    closed = true;
                    break;
                }
            }
            Item::Empty { name } => match name {
                b"assured" => flow.flags.insert(Flags::ASSURED),
                b"unreplied" => flow.flags.insert(Flags::UNREPLIED),
                b"offload" => flow.flags.insert(Flags::OFFLOAD),
                b"hw_offload" => flow.flags.insert(Flags::HW_OFFLOAD),
                _ => {}
            },
            Item::Text(v) => {
                let Some(&el) = stack.last() else { continue };
                let tix = match dir {
                    Dir::Orig => Some(0),
                    Dir::Reply => Some(1),
                    Dir::Indep => None,
                };
                match (tix, el) {
                    (Some(k), b"src") => t[k].src = Some(parse_ip(v, "src")?),
                    (Some(k), b"dst") => t[k].dst = Some(parse_ip(v, "dst")?),
                    (Some(k), b"sport") => t[k].sport = Some(parse_num(v, "sport")?),
                    (Some(k), b"dport") => t[k].dport = Some(parse_num(v, "dport")?),
                    (Some(k), b"packets") => t[k].packets = Some(parse_u64(v, "packets")?),
                    (Some(k), b"bytes") => t[k].bytes = Some(parse_u64(v, "bytes")?),
                    (Some(0), b"zone") => flow.zone_orig = Some(parse_num(v, "zone")?),
                    (Some(_), b"zone") => flow.zone_reply = Some(parse_num(v, "zone")?),
                    (None, b"zone") => flow.zone = Some(parse_num(v, "zone")?),
                    (None, b"state") => {
                        flow.state = Some(
                            State::from_bytes(v)
                                .ok_or_else(|| ParseError::UnknownState(snippet(v)))?,
                        )
                    }
                    (None, b"timeout") => flow.timeout = Some(parse_num(v, "timeout")?),
                    (None, b"mark") => flow.mark = Some(parse_num(v, "mark")?),
                    (None, b"id") => flow.id = Some(parse_num(v, "id")?),
                    (None, b"deltatime") => flow.delta_time = Some(parse_u64(v, "deltatime")?),
                    _ => {}
                }
            }
        }
    }
    if !closed {
        return Err(ParseError::BadXml("missing </flow>".into()));
    }
    // conntrack -E appends ` [USERSPACE] portid=N [progname=X]` even in XML.
    let tail = i.trim_ascii();
    if tail.starts_with(b"[USERSPACE]") {
        flow.flags.insert(Flags::USERSPACE);
    } else if !tail.is_empty() {
        return Err(ParseError::BadXml(format!(
            "unexpected '{}' after </flow>",
            snippet(tail)
        )));
    }
    flow.protocol =
        protocol.ok_or_else(|| ParseError::BadXml("no <layer4> in the original tuple".into()))?;
    if flow.protocol != Protocol::Tcp {
        // libnetfilter_conntrack's XML printer names every state from the TCP
        // table (an SCTP CLOSED comes out as SYN_SENT): only TCP's is true.
        flow.state = None;
    }
    let [o, r] = t;
    flow.orig = tuple(o, TupleSide::Original).ok_or(ParseError::MissingOrigTuple)?;
    flow.reply = tuple(r, TupleSide::Reply).ok_or(ParseError::MissingReplyTuple)?;
    let f = Family::of(&flow.orig.src);
    for (side, tu) in [
        (TupleSide::Original, &flow.orig),
        (TupleSide::Reply, &flow.reply),
    ] {
        if Family::of(&tu.src) != f || Family::of(&tu.dst) != f {
            return Err(ParseError::MixedFamilies { side });
        }
    }
    if let Some(d) = family {
        if d != f {
            return Err(ParseError::DeclaredFamilyMismatch {
                declared: d.as_str(),
                actual: f.as_str(),
            });
        }
    }
    flow.family = f;
    Ok(Some(flow))
}

fn placeholder() -> Tuple {
    Tuple {
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        sport: None,
        dport: None,
        counters: None,
    }
}

fn tuple(t: T, _side: TupleSide) -> Option<Tuple> {
    Some(Tuple {
        src: t.src?,
        dst: t.dst?,
        sport: t.sport,
        dport: t.dport,
        counters: match (t.packets, t.bytes) {
            (Some(packets), Some(bytes)) => Some(Counters { packets, bytes }),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::conntrack::error::ParseError;
    use crate::conntrack::{parse_line, EventKind, Flags, Flow, State};
    use crate::model::Counters;

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

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
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
}
