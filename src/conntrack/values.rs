//! Decoders for the values of conntrack's `key=value` fields and XML
//! elements: decimal and hex numbers, IPv4 and IPv6 addresses.
//!
//! Shared by the text parser (`text/`) and the XML parser (`xml.rs`), so
//! both accept and reject exactly the same values with the same reason.
//! Hand-written and allocation-free: they run several times per line.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{snippet, ParseError};

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

/// A decimal number that must fit `T` (`sport=70000` is a bad number).
#[inline]
pub(crate) fn parse_num<T: TryFrom<u64>>(v: &[u8], key: &'static str) -> Result<T, ParseError> {
    let n = parse_u64(v, key)?;
    T::try_from(n).map_err(|_| ParseError::BadNumber {
        key,
        value: snippet(v),
    })
}

/// `0x`-prefixed hex, at most 32 bits (GRE keys).
pub(crate) fn parse_hex(v: &[u8], key: &'static str) -> Result<u32, ParseError> {
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

/// An IPv4 or IPv6 address. Dotted quads and the usual IPv6 forms (hex
/// groups, `::`, /proc's full form with leading zeros) are read by hand;
/// anything else with a `:` (an embedded IPv4 address, or an error) goes
/// to the std parser, whose answer is the rule.
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
        if let Some((a, n)) = parse_ipv6_prefix(v) {
            if n == v.len() {
                return Ok(IpAddr::V6(a));
            }
        }
        let s = std::str::from_utf8(v).map_err(|_| bad())?;
        return s.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| bad());
    }
    Err(bad())
}

/// Hex digit values, `0xFF` for every other byte.
static HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Up to `out.len()` `:`-separated groups of 1–4 hex digits at `v[*i..]`;
/// how many were read, `*i` just after the last. A `:` not followed by a
/// group is left unread. `None` where std's parser would read something
/// else than hex groups (an embedded IPv4 address: a digit run followed by
/// `.`) or could not succeed (five hex digits in a row).
#[inline(always)]
fn hex_groups(v: &[u8], i: &mut usize, out: &mut [u16]) -> Option<usize> {
    let mut n = 0;
    while n < out.len() {
        let mut j = *i;
        if n > 0 {
            if v.get(j) != Some(&b':') {
                break;
            }
            j += 1;
        }
        let start = j;
        let mut val: u32 = 0;
        while j < v.len() {
            let d = HEX[v[j] as usize];
            if d > 15 {
                break;
            }
            val = (val << 4) | u32::from(d);
            j += 1;
        }
        match j - start {
            0 => break,
            1..=4 => {}
            _ => return None,
        }
        if v.get(j) == Some(&b'.') {
            return None;
        }
        out[n] = val as u16;
        n += 1;
        *i = j;
    }
    Some(n)
}

/// The IPv6 address at the start of `v` and its length in bytes, read the
/// way std's `Ipv6Addr::from_str` reads it: up to eight groups, or groups,
/// `::` and at most as many groups as leave `::` one to stand for. The
/// caller checks that what follows ends the token; on a whole token the
/// answer is std's whenever this returns `Some` (unit tests compare them),
/// and `None` sends the token to std (embedded IPv4, or invalid).
#[inline]
pub(crate) fn parse_ipv6_prefix(v: &[u8]) -> Option<(Ipv6Addr, usize)> {
    let mut i = 0;
    let mut head = [0u16; 8];
    let h = hex_groups(v, &mut i, &mut head)?;
    if h == 8 {
        return Some((Ipv6Addr::from(head), i));
    }
    if v.get(i) != Some(&b':') || v.get(i + 1) != Some(&b':') {
        return None;
    }
    i += 2;
    let mut tail = [0u16; 7];
    let t = hex_groups(v, &mut i, &mut tail[..7 - h])?;
    head[8 - t..].copy_from_slice(&tail[..t]);
    Some((Ipv6Addr::from(head), i))
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

/// Exactly a dotted quad (leading zeros allowed, as digits like any other).
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
    fn numbers_must_fit_their_type() {
        assert_eq!(parse_num::<u16>(b"65535", "sport"), Ok(65535));
        assert_eq!(
            parse_num::<u16>(b"65536", "sport"),
            Err(ParseError::BadNumber {
                key: "sport",
                value: "65536".into()
            })
        );
        assert_eq!(parse_num::<u8>(b"255", "type"), Ok(255));
        assert!(parse_num::<u8>(b"256", "type").is_err());
    }

    #[test]
    fn hex_keys() {
        assert_eq!(parse_hex(b"0x0", "k"), Ok(0));
        assert_eq!(parse_hex(b"0x1a", "k"), Ok(0x1a));
        assert_eq!(parse_hex(b"0xFFFFFFFF", "k"), Ok(u32::MAX));
        for bad in [&b"12"[..], b"0x", b"0x123456789", b"0xg", b"x1"] {
            assert!(parse_hex(bad, "k").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ipv4_matches_std() {
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

    /// `parse_ipv6_prefix` on a whole token, as `parse_ip` and the fast
    /// path use it: `Some` must be std's answer.
    fn check_v6(s: &[u8]) {
        let std = std::str::from_utf8(s)
            .ok()
            .and_then(|t| t.parse::<Ipv6Addr>().ok());
        if let Some((a, n)) = parse_ipv6_prefix(s) {
            if n == s.len() {
                assert_eq!(Some(a), std, "{:?}", String::from_utf8_lossy(s));
            } else {
                // A prefix: the token goes on, with a byte that cannot
                // continue an address the way std reads it.
                assert!(n < s.len());
            }
        }
        let via = parse_ip(s, "src").ok();
        let want = parse_ipv4(s)
            .map(IpAddr::V4)
            .or(if s.contains(&b':') && s.len() <= 45 {
                std.map(IpAddr::V6)
            } else {
                None
            });
        assert_eq!(via, want, "{:?}", String::from_utf8_lossy(s));
    }

    #[test]
    fn ipv6_reads_the_usual_forms_like_std() {
        for s in [
            "::",
            "::1",
            "1::",
            "fd00:1::11",
            "fd00:0001:0000:0000:0000:0000:0000:0011",
            "2600:1f18:4a3:6c01:a1b6::b",
            "2a00:1450:4001:95df:1:1a78:0:81a",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3::6:7:8",
            "FD00:ABCD::Ef",
            "0:0:0:0:0:0:0:0",
        ] {
            let (a, n) = parse_ipv6_prefix(s.as_bytes()).unwrap_or_else(|| panic!("{s}"));
            assert_eq!((a, n), (s.parse().unwrap(), s.len()), "{s}");
            check_v6(s.as_bytes());
        }
        // Declined (std decides): embedded IPv4, and what std rejects.
        for s in [
            "::ffff:10.0.0.1",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "12345::",
            "1::23456",
            ":1::2",
            "1:2",
            "1:::2",
            "",
            ":",
        ] {
            let exact = parse_ipv6_prefix(s.as_bytes()).filter(|&(_, n)| n == s.len());
            assert_eq!(exact, None, "{s}");
            check_v6(s.as_bytes());
        }
        // A longer token is a prefix at most, never a wrong address.
        for s in [
            "1::2::3",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7:8::",
            "1::2:3:4:5:6:7:8",
            "1::2:",
            "fd00::1g",
            "fd00::1 x",
        ] {
            check_v6(s.as_bytes());
            assert!(
                parse_ipv6_prefix(s.as_bytes()).is_none_or(|(_, n)| n < s.len()),
                "{s}"
            );
        }
    }

    #[test]
    fn ipv6_agrees_with_std_on_every_short_string() {
        // Every string of up to 7 bytes over an alphabet that reaches each
        // branch: digits, hex letters of both cases, separators, junk.
        let alphabet = b"0fA:.g";
        let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
        while let Some(s) = stack.pop() {
            check_v6(&s);
            if s.len() < 7 {
                for &c in alphabet {
                    let mut t = s.clone();
                    t.push(c);
                    stack.push(t);
                }
            }
        }
    }

    #[test]
    fn ipv6_agrees_with_std_on_random_addresses_in_every_spelling() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let r = rnd();
            // Sparse addresses, so `::` compression happens often.
            let groups: [u16; 8] = std::array::from_fn(|k| {
                if (r >> (k * 3)) & 3 == 0 {
                    (rnd() >> (k * 5)) as u16 >> ((r >> 40) % 16)
                } else {
                    0
                }
            });
            let a = Ipv6Addr::from(groups);
            let full: Vec<String> = groups.iter().map(|g| format!("{g:04x}")).collect();
            let short: Vec<String> = groups.iter().map(|g| format!("{g:X}")).collect();
            for s in [a.to_string(), full.join(":"), short.join(":")] {
                check_v6(s.as_bytes());
                assert_eq!(parse_ip(s.as_bytes(), "src"), Ok(IpAddr::V6(a)), "{s}");
                // Mangled: a byte dropped, doubled or replaced.
                let b = s.as_bytes();
                let at = (r as usize >> 7) % b.len();
                for edit in [
                    [&b[..at], &b[at + 1..]].concat(),
                    [&b[..at], &b[at..at + 1], &b[at..]].concat(),
                    [&b[..at], b":", &b[at + 1..]].concat(),
                    [&b[..at], b".", &b[at..]].concat(),
                ] {
                    check_v6(&edit);
                }
            }
        }
    }

    #[test]
    fn ip_takes_both_families_and_names_the_key() {
        assert_eq!(
            parse_ip(b"10.0.0.1", "src"),
            Ok("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            parse_ip(b"fd00:0001:0000:0000:0000:0000:0000:0011", "src"),
            Ok("fd00:1::11".parse().unwrap())
        );
        assert_eq!(
            parse_ip(b"fd00::zz", "dst"),
            Err(ParseError::BadAddress {
                key: "dst",
                value: "fd00::zz".into()
            })
        );
        assert!(parse_ip(b"\xff:", "src").is_err());
        assert!(parse_ip(b"", "src").is_err());
    }
}
