//! What follows the reply tuple: status flags in brackets and attributes
//! (`mark= secmark= secctx= zone= delta-time= [start=…] [stop=…] helper=
//! use= id= labels= [USERSPACE] portid= progname=`), in any order.

use memchr::memchr;
use nom::character::complete::space0;

use super::lex::{is_key, Cursor};
use crate::conntrack::error::{snippet, ParseError};
use crate::conntrack::values::{parse_num, parse_u64};
use crate::conntrack::{Flags, Flow};

/// Whether the walk goes on after a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    Continue,
    /// `progname=` runs to the end of the line, blanks included.
    Stop,
}

/// Attributes that are checked once but not kept.
#[derive(Default)]
pub(super) struct Seen {
    r#use: bool,
    secmark: bool,
    portid: bool,
}

/// One trailer token (`key`/`val`: `tok` split at its first `=`).
pub(super) fn attribute(
    flow: &mut Flow,
    seen: &mut Seen,
    tok: &[u8],
    (key, val): (&[u8], &[u8]),
    cur: &mut Cursor<'_>,
) -> Result<Control, ParseError> {
    if tok[0] == b'[' {
        match tok {
            b"[ASSURED]" => flow.flags.insert(Flags::ASSURED),
            b"[UNREPLIED]" => flow.flags.insert(Flags::UNREPLIED),
            b"[OFFLOAD]" => flow.flags.insert(Flags::OFFLOAD),
            b"[HW_OFFLOAD]" => flow.flags.insert(Flags::HW_OFFLOAD),
            b"[USERSPACE]" => flow.flags.insert(Flags::USERSPACE),
            _ if tok.starts_with(b"[start=") || tok.starts_with(b"[stop=") => {
                skip_bracket(tok, cur)?
            }
            _ => return Err(ParseError::UnexpectedToken(snippet(tok))),
        }
        return Ok(Control::Continue);
    }
    match key {
        b"mark" => set_once(&mut flow.mark, parse_num(val, "mark")?, "mark")?,
        b"zone" => set_once(&mut flow.zone, parse_num(val, "zone")?, "zone")?,
        b"id" => set_once(&mut flow.id, parse_num(val, "id")?, "id")?,
        b"delta-time" => set_once(
            &mut flow.delta_time,
            parse_u64(val, "delta-time")?,
            "delta-time",
        )?,
        b"use" => flag_once(&mut seen.r#use, val, "use")?,
        b"secmark" => flag_once(&mut seen.secmark, val, "secmark")?,
        b"portid" => flag_once(&mut seen.portid, val, "portid")?,
        b"progname" => return Ok(Control::Stop),
        b"secctx" | b"helper" | b"labels" => {}
        _ if tok.len() > key.len() && is_key(key) => {
            // An attribute a newer conntrack prints: tolerated.
        }
        _ => return Err(ParseError::UnexpectedToken(snippet(tok))),
    }
    Ok(Control::Continue)
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

pub(super) fn set_once<T>(slot: &mut Option<T>, v: T, key: &'static str) -> Result<(), ParseError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::text::lex::split_kv;
    use crate::conntrack::Tuple;
    use crate::model::Protocol;

    fn run(trailer: &str) -> Result<(Flow, Control, String), ParseError> {
        let t = Tuple {
            src: [10, 0, 0, 1].into(),
            dst: [10, 0, 0, 2].into(),
            sport: None,
            dport: None,
            counters: None,
        };
        let mut flow = Flow::new(1, Protocol::Tcp, t, t);
        let mut seen = Seen::default();
        let mut cur = Cursor {
            rest: trailer.as_bytes(),
        };
        let mut ctl = Control::Continue;
        while let Some(tok) = cur.next() {
            ctl = attribute(&mut flow, &mut seen, tok, split_kv(tok), &mut cur)?;
            if ctl == Control::Stop {
                break;
            }
        }
        Ok((flow, ctl, String::from_utf8_lossy(cur.rest).into_owned()))
    }

    #[test]
    fn kept_skipped_and_tolerated() {
        let (f, ctl, rest) = run("[OFFLOAD] mark=7 secmark=3 secctx=x:y zone=5 delta-time=10 [start=Thu Nov 26 00:36:27 2026] [stop=x] helper=ftp use=1 id=42 labels=a,b newattr=5 [USERSPACE] portid=9 progname=my prog [x]").unwrap();
        assert_eq!(
            (f.mark, f.zone, f.delta_time, f.id),
            (Some(7), Some(5), Some(10), Some(42))
        );
        assert!(f.flags.contains(Flags::OFFLOAD | Flags::USERSPACE));
        assert_eq!((ctl, rest.as_str()), (Control::Stop, "prog [x]"));
    }

    #[test]
    fn reasons() {
        let err = |s: &str| run(s).err().unwrap();
        assert_eq!(err("mark=1 mark=1"), ParseError::Duplicate("mark"));
        assert_eq!(err("use=1 use=2"), ParseError::Duplicate("use"));
        assert_eq!(err("use=x").to_string(), "bad number 'x' in use=");
        assert_eq!(
            err("[BOGUS]"),
            ParseError::UnexpectedToken("[BOGUS]".into())
        );
        assert_eq!(err("Mark=1"), ParseError::UnexpectedToken("Mark=1".into()));
        assert_eq!(
            err("newattr"),
            ParseError::UnexpectedToken("newattr".into())
        );
        assert_eq!(
            err("[start=Thu Nov 26"),
            ParseError::Unterminated("start=Thu".into())
        );
        assert_eq!(
            err("[start=Thu [stop=x]"),
            ParseError::Unterminated("start=Thu".into())
        );
    }
}
