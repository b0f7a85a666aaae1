//! A longest-prefix-match map from CIDRs to any value, built on the range
//! table's interval structure ([`super::lpm`]): SPEC §6's zone map, custom
//! locations and `--flag` CIDRs are small tables looked up once or twice
//! per flow, so they use the same flattened intervals without the /16
//! index (a few dozen intervals fit in a cache line or two, and the index
//! would cost 256 KB per map).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::lpm::{Intervals, NONE};

/// CIDRs of both families mapped to values; a lookup answers the longest
/// stored prefix holding the address.
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    v4_nets: Vec<(u32, u8)>,
    v4_vals: Vec<V>,
    v4: Intervals<u32>,
    /// First and last IPv4 address any prefix covers: most lookups (public
    /// addresses against a VPC's subnets) miss, and this answers them
    /// without a search. `(1, 0)` when there are none.
    v4_span: (u32, u32),
    v6_nets: Vec<(u128, u8)>,
    v6_vals: Vec<V>,
    v6: Intervals<u128>,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        PrefixMap::new(Vec::new())
    }
}

impl<V> PrefixMap<V> {
    /// Host bits are cleared; when a prefix appears more than once, the
    /// last entry wins.
    pub fn new(entries: impl IntoIterator<Item = (IpNet, V)>) -> Self {
        let mut v4: Vec<((u32, u8), V)> = Vec::new();
        let mut v6: Vec<((u128, u8), V)> = Vec::new();
        for (net, val) in entries {
            match net.trunc() {
                IpNet::V4(n) => v4.push(((u32::from(n.network()), n.prefix_len()), val)),
                IpNet::V6(n) => v6.push(((u128::from(n.network()), n.prefix_len()), val)),
            }
        }
        let (v4_nets, v4_vals) = dedup_last(v4);
        let (v6_nets, v6_vals) = dedup_last(v6);
        let v4_span = v4_nets.iter().fold((1, 0), |(lo, hi), &(start, len)| {
            let last = start | u32::MAX.checked_shr(len.into()).unwrap_or(0);
            if lo > hi {
                (start, last)
            } else {
                (lo.min(start), hi.max(last))
            }
        });
        PrefixMap {
            v4_span,
            v4: Intervals::build(&v4_nets),
            v6: Intervals::build(&v6_nets),
            v4_nets,
            v4_vals,
            v6_nets,
            v6_vals,
        }
    }

    pub fn len(&self) -> usize {
        self.v4_nets.len() + self.v6_nets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The longest stored prefix holding `ip`, and its value. An
    /// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is looked up as IPv4,
    /// as in the range table.
    #[inline]
    pub fn get(&self, ip: IpAddr) -> Option<(IpNet, &V)> {
        match ip {
            IpAddr::V4(a) => self.get_v4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.get_v4(v4),
                None => self.get_v6(a),
            },
        }
    }

    /// Only the value: what the hot path needs.
    #[inline]
    pub fn value(&self, ip: IpAddr) -> Option<&V> {
        match ip {
            IpAddr::V4(a) => self.value_v4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.value_v4(v4),
                None => {
                    let i = self.v6.get(u128::from(a));
                    (i != NONE).then(|| &self.v6_vals[i as usize])
                }
            },
        }
    }

    #[inline]
    fn value_v4(&self, a: Ipv4Addr) -> Option<&V> {
        let a = u32::from(a);
        if a < self.v4_span.0 || a > self.v4_span.1 {
            return None;
        }
        let i = self.v4.get(a);
        (i != NONE).then(|| &self.v4_vals[i as usize])
    }

    fn get_v4(&self, a: Ipv4Addr) -> Option<(IpNet, &V)> {
        let i = self.v4.get(u32::from(a));
        if i == NONE {
            return None;
        }
        let (start, len) = self.v4_nets[i as usize];
        Some((
            IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(start), len)),
            &self.v4_vals[i as usize],
        ))
    }

    fn get_v6(&self, a: Ipv6Addr) -> Option<(IpNet, &V)> {
        let i = self.v6.get(u128::from(a));
        if i == NONE {
            return None;
        }
        let (start, len) = self.v6_nets[i as usize];
        Some((
            IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(start), len)),
            &self.v6_vals[i as usize],
        ))
    }

    /// Every stored prefix and its value, IPv4 first, by address.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        let v4 = self
            .v4_nets
            .iter()
            .zip(&self.v4_vals)
            .map(|(&(a, l), v)| (IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(a), l)), v));
        let v6 = self
            .v6_nets
            .iter()
            .zip(&self.v6_vals)
            .map(|(&(a, l), v)| (IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(a), l)), v));
        v4.chain(v6)
    }
}

/// Sorted by prefix, one entry per prefix (the last one given).
fn dedup_last<K: Ord + Copy, V>(mut entries: Vec<(K, V)>) -> (Vec<K>, Vec<V>) {
    // Stable: equal prefixes keep their input order, so the last is last.
    entries.sort_by_key(|e| e.0);
    let mut nets: Vec<K> = Vec::with_capacity(entries.len());
    let mut vals: Vec<V> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        if nets.last() == Some(&k) {
            *vals.last_mut().expect("parallel vecs") = v;
        } else {
            nets.push(k);
            vals.push(v);
        }
    }
    (nets, vals)
}

/// A CIDR as a user types it: `10.0.0.0/16`, `2600:1f18::/56`, or a bare
/// address for a single host. Host bits are kept (callers warn and clear
/// them, SPEC §2's rule for range files).
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty CIDR".into());
    }
    if let Ok(net) = IpNet::from_str(t) {
        return Ok(net);
    }
    if let Ok(ip) = IpAddr::from_str(t) {
        return Ok(IpNet::from(ip));
    }
    Err(format!(
        "{t:?} is not a CIDR (e.g. 10.0.0.0/16 or 2600:1f18::/56)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_of_either_family() {
        let m = PrefixMap::new(vec![
            (net("10.0.0.0/16"), "vpc"),
            (net("10.0.1.0/24"), "a"),
            (net("10.0.1.128/25"), "a-high"),
            (net("2600:1f18:1::/56"), "v6"),
            (net("2600:1f18:1:1::/64"), "v6-sub"),
        ]);
        let get = |a: &str| m.get(ip(a)).map(|(n, v)| (n.to_string(), *v));
        assert_eq!(get("10.0.1.5"), Some(("10.0.1.0/24".into(), "a")));
        assert_eq!(get("10.0.1.200"), Some(("10.0.1.128/25".into(), "a-high")));
        assert_eq!(get("10.0.2.1"), Some(("10.0.0.0/16".into(), "vpc")));
        assert_eq!(get("10.1.0.1"), None);
        assert_eq!(
            get("2600:1f18:1:1::9"),
            Some(("2600:1f18:1:1::/64".into(), "v6-sub"))
        );
        assert_eq!(
            get("2600:1f18:1:2::9"),
            Some(("2600:1f18:1::/56".into(), "v6"))
        );
        assert_eq!(get("2600:1f18:2::1"), None);
        assert_eq!(get("::ffff:10.0.1.5"), Some(("10.0.1.0/24".into(), "a")));
        assert_eq!(m.value(ip("10.0.1.200")), Some(&"a-high"));
        assert_eq!(m.value(ip("2600:1f18:1:1::9")), Some(&"v6-sub"));
        assert_eq!(m.value(ip("::ffff:10.0.2.1")), Some(&"vpc"));
        assert_eq!(m.value(ip("8.8.8.8")), None);
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn host_bits_are_cleared_and_the_last_duplicate_wins() {
        let m = PrefixMap::new(vec![
            (net("10.0.1.7/24"), 1),
            (net("10.0.1.0/24"), 2),
            (net("10.0.2.0/24"), 3),
        ]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.value(ip("10.0.1.1")), Some(&2));
        let all: Vec<String> = m.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(all, ["10.0.1.0/24=2", "10.0.2.0/24=3"]);
    }

    #[test]
    fn addresses_outside_the_span_miss_and_edges_hit() {
        let m = PrefixMap::new(vec![(net("10.0.0.0/24"), 1), (net("10.0.2.0/24"), 2)]);
        assert_eq!(m.value(ip("9.255.255.255")), None);
        assert_eq!(m.value(ip("10.0.0.0")), Some(&1));
        assert_eq!(m.value(ip("10.0.1.0")), None);
        assert_eq!(m.value(ip("10.0.2.255")), Some(&2));
        assert_eq!(m.value(ip("10.0.3.0")), None);
        let all = PrefixMap::new(vec![(net("0.0.0.0/0"), 0), (net("255.255.255.255/32"), 9)]);
        assert_eq!(all.value(ip("0.0.0.0")), Some(&0));
        assert_eq!(all.value(ip("255.255.255.255")), Some(&9));
    }

    #[test]
    fn empty_map_answers_nothing() {
        let m: PrefixMap<u8> = PrefixMap::default();
        assert!(m.is_empty());
        assert_eq!(m.get(ip("10.0.0.1")), None);
        assert_eq!(m.value(ip("::1")), None);
    }

    #[test]
    fn cidrs_parse_with_or_without_a_length() {
        assert_eq!(parse_cidr(" 10.0.0.0/16 ").unwrap(), net("10.0.0.0/16"));
        assert_eq!(parse_cidr("10.0.0.9").unwrap(), net("10.0.0.9/32"));
        assert_eq!(parse_cidr("2600::1").unwrap(), net("2600::1/128"));
        assert_eq!(
            parse_cidr("10.0.0.9/24").unwrap().to_string(),
            "10.0.0.9/24"
        );
        for bad in ["", "10.0.0.0/33", "10.0.0/16", "zone-a", "10.0.0.0/"] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }
}
