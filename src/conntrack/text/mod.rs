//! The general parser for conntrack's text formats: one line → [`Flow`],
//! or the reason it is malformed.
//!
//! The line is split into blank-separated tokens (`lex.rs`) and walked
//! through a small state machine, because the grammar is positional: the
//! same keys (`src=`, `sport=`, `packets=`, even `id=`) occur in the
//! original tuple, the reply tuple and the trailer, and only their position
//! says which is which. The pieces, in line order:
//!
//! - `header.rs`: `[SECS.USECS]`, `[NEW]`…, `ipv4 2`/`ipv6 10`, `PROTO NUM`;
//! - the preamble (here): timeout, state, GRE's `timeout=N, stream_timeout=N`;
//! - `tuple.rs`: `src= dst=`, the protocol's fields, counters;
//! - after each tuple (here): `zone-orig=`/`zone-reply=`, `[UNREPLIED]`;
//! - `trailer.rs`: flags and attributes after the reply tuple.
//!
//! Values are decoded by `values.rs`. The common TCP/UDP lines are read
//! by the fast path first (`fast.rs`); this parser takes every line it
//! declines and alone decides what is malformed and why.

mod header;
mod lex;
mod trailer;
mod tuple;

#[cfg(test)]
mod tests;

use lex::{split_kv, Cursor};
use trailer::{set_once, Control, Seen};
use tuple::{placeholder, L4Fields, TupleBuf};

use super::error::{snippet, ParseError, TupleSide};
use super::values::parse_num;
use super::{Flags, Flow, IcmpTuples, State};

/// Parses the trimmed text line `body` (not blank, not XML, not a summary).
pub(crate) fn parse_flow(body: &[u8], line_no: u64) -> Result<Flow, ParseError> {
    let mut cur = Cursor { rest: body };
    let head = header::read(&mut cur)?;
    let mut walk = Walk {
        flow: Flow {
            event: head.event,
            timestamp: head.timestamp,
            ..Flow::new(line_no, head.protocol, placeholder(), placeholder())
        },
        fields: L4Fields::of(head.protocol),
        tuples: [TupleBuf::default(), TupleBuf::default()],
        phase: Phase::Preamble,
        seen: Seen::default(),
    };
    while let Some(tok) = cur.next() {
        if walk.token(tok, &mut cur)? == Control::Stop {
            break;
        }
    }
    walk.finish(head.declared)
}

/// Where in the line the walk is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// After the protocol number: timeout, state, until the first `src=`.
    Preamble,
    /// Inside a tuple, after `src= dst=`: its protocol fields.
    Fields(TupleSide),
    /// After a tuple's protocol fields: `zone-*=`, counters, `[UNREPLIED]`;
    /// after the reply tuple's, the trailer too.
    Post(TupleSide),
}

/// The state of one line's walk.
struct Walk {
    flow: Flow,
    fields: L4Fields,
    tuples: [TupleBuf; 2],
    phase: Phase,
    seen: Seen,
}

impl Walk {
    #[inline]
    fn token(&mut self, tok: &[u8], cur: &mut Cursor<'_>) -> Result<Control, ParseError> {
        match self.phase {
            Phase::Preamble => self.preamble(tok, cur)?,
            Phase::Fields(side) => {
                let t = &mut self.tuples[side as usize];
                if t.field(self.fields, tok)? {
                    return Ok(Control::Continue);
                }
                t.check(self.fields, side)?;
                self.phase = Phase::Post(side);
                // The tuple's fields ended at `tok`, which belongs to what follows.
                return self.post(side, tok, cur);
            }
            Phase::Post(side) => return self.post(side, tok, cur),
        }
        Ok(Control::Continue)
    }

    /// Before the original tuple: `[TIMEOUT] [STATE]` in that order.
    fn preamble(&mut self, tok: &[u8], cur: &mut Cursor<'_>) -> Result<(), ParseError> {
        let flow = &mut self.flow;
        if tok.starts_with(b"src=") {
            self.tuples[0].start(&tok[4..], cur, TupleSide::Original)?;
            self.phase = Phase::Fields(TupleSide::Original);
        } else if tok[0].is_ascii_digit() && flow.timeout.is_none() && flow.state.is_none() {
            flow.timeout = Some(parse_num(tok, "timeout")?);
        } else if tok.starts_with(b"timeout=") || tok.starts_with(b"stream_timeout=") {
            // The kernel's GRE /proc line: `timeout=30, stream_timeout=180`.
        } else if tok[0].is_ascii_uppercase() && flow.state.is_none() {
            flow.state =
                Some(State::from_bytes(tok).ok_or_else(|| ParseError::UnknownState(snippet(tok)))?);
        } else {
            return Err(ParseError::UnexpectedToken(snippet(tok)));
        }
        Ok(())
    }

    /// After a tuple's fields: its counters and zone, `[UNREPLIED]` and the
    /// reply tuple after the original one, the trailer after the reply one.
    fn post(
        &mut self,
        side: TupleSide,
        tok: &[u8],
        cur: &mut Cursor<'_>,
    ) -> Result<Control, ParseError> {
        let (key, val) = split_kv(tok);
        match key {
            b"packets" => self.tuples[side as usize].counters(val, cur, side)?,
            b"zone-orig" if side == TupleSide::Original => set_once(
                &mut self.flow.zone_orig,
                parse_num(val, "zone-orig")?,
                "zone-orig",
            )?,
            b"zone-reply" if side == TupleSide::Reply => set_once(
                &mut self.flow.zone_reply,
                parse_num(val, "zone-reply")?,
                "zone-reply",
            )?,
            b"src" => {
                if side == TupleSide::Reply {
                    return Err(ParseError::ExtraTuple);
                }
                self.tuples[1].start(val, cur, TupleSide::Reply)?;
                self.phase = Phase::Fields(TupleSide::Reply);
            }
            _ if side == TupleSide::Original => {
                if tok == b"[UNREPLIED]" {
                    self.flow.flags.insert(Flags::UNREPLIED);
                } else {
                    return Err(ParseError::UnexpectedToken(snippet(tok)));
                }
            }
            _ => return trailer::attribute(&mut self.flow, &mut self.seen, tok, (key, val), cur),
        }
        Ok(Control::Continue)
    }

    /// At the end of the line: both tuples complete, one address family.
    fn finish(self, declared: Option<super::Family>) -> Result<Flow, ParseError> {
        let Walk {
            mut flow,
            fields,
            tuples: [o, r],
            phase,
            ..
        } = self;
        match phase {
            Phase::Preamble => return Err(ParseError::MissingOrigTuple),
            Phase::Fields(TupleSide::Original) => {
                o.check(fields, TupleSide::Original)?;
                return Err(ParseError::MissingReplyTuple);
            }
            Phase::Post(TupleSide::Original) => return Err(ParseError::MissingReplyTuple),
            Phase::Fields(TupleSide::Reply) => r.check(fields, TupleSide::Reply)?,
            Phase::Post(TupleSide::Reply) => {}
        }
        if let (Some(orig), Some(reply)) = (o.icmp(), r.icmp()) {
            flow.icmp = Some(IcmpTuples { orig, reply });
        }
        let (orig, fo) = o.finish(TupleSide::Original)?;
        let (reply, fr) = r.finish(TupleSide::Reply)?;
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
        flow.orig = orig;
        flow.reply = reply;
        flow.family = fo;
        Ok(flow)
    }
}
