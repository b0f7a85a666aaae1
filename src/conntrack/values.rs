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
