//! Tokens of a conntrack text line: blank-separated words, `key=value`.

use nom::IResult;

use crate::conntrack::error::{snippet, ParseError};

pub(super) type Res<'a, T> = IResult<&'a [u8], T, ParseError>;

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
pub(super) fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Offset of the first blank (space or tab) in `i`, or `i.len()`.
///
/// Eight bytes at a time (SWAR): tokens are ~10 bytes, so this is one or
/// two steps instead of a byte loop with two compares per byte.
#[inline(always)]
pub(super) fn find_blank(i: &[u8]) -> usize {
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
pub(super) fn token(i: &[u8]) -> Res<'_, &[u8]> {
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

/// The rest of a line, handed out token by token.
pub(super) struct Cursor<'a> {
    pub(super) rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(super) fn next(&mut self) -> Option<&'a [u8]> {
        match token(self.rest) {
            Ok((rest, tok)) => {
                self.rest = rest;
                Some(tok)
            }
            Err(_) => None,
        }
    }
}

/// `key=value` → (key, value); a token without `=` is all key, empty value.
/// Keys are short: a plain loop beats memchr's setup here.
#[inline(always)]
pub(super) fn split_kv(tok: &[u8]) -> (&[u8], &[u8]) {
    let mut p = 0;
    while p < tok.len() {
        if tok[p] == b'=' {
            return (&tok[..p], &tok[p + 1..]);
        }
        p += 1;
    }
    (tok, &[])
}

/// A plausible attribute name (`newattr`, `zone-orig`): lower-case first.
pub(super) fn is_key(k: &[u8]) -> bool {
    !k.is_empty()
        && k[0].is_ascii_lowercase()
        && k.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn tokens_and_key_values() {
        let mut c = Cursor {
            rest: b"tcp      6\tsrc=1.2.3.4 x",
        };
        let toks: Vec<&[u8]> = std::iter::from_fn(|| c.next()).collect();
        assert_eq!(toks, [&b"tcp"[..], b"6", b"src=1.2.3.4", b"x"]);
        assert_eq!(split_kv(b"src=1.2.3.4"), (&b"src"[..], &b"1.2.3.4"[..]));
        assert_eq!(split_kv(b"a=b=c"), (&b"a"[..], &b"b=c"[..]));
        assert_eq!(split_kv(b"[ASSURED]"), (&b"[ASSURED]"[..], &b""[..]));
        assert!(is_key(b"zone-orig") && is_key(b"new_attr2"));
        assert!(!is_key(b"") && !is_key(b"Zone") && !is_key(b"1x") && !is_key(b"a.b"));
    }
}
