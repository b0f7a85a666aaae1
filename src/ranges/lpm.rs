//! The compiled longest-prefix-match structure: every prefix of one address
//! family flattened into sorted, disjoint intervals, each carrying the index
//! of the longest prefix covering it. A lookup is one binary search; for
//! IPv4 a table indexed by the top 16 bits narrows that search to the few
//! intervals inside one /16 (usually one or two). See docs/ranges.md for
//! the measurements behind this choice.

/// Marks an interval covered by no prefix.
pub(crate) const NONE: u32 = u32::MAX;

/// An unsigned address key (`u32` for IPv4, `u128` for IPv6).
pub(crate) trait Key: Copy + Ord + std::fmt::Debug {
    const ZERO: Self;
    const MAX: Self;
    /// Last address of the prefix `start/len`.
    fn last(start: Self, len: u8) -> Self;
    fn succ(self) -> Self;
}

impl Key for u32 {
    const ZERO: Self = 0;
    const MAX: Self = u32::MAX;
    fn last(start: Self, len: u8) -> Self {
        start | u32::MAX.checked_shr(len.into()).unwrap_or(0)
    }
    fn succ(self) -> Self {
        self + 1
    }
}

impl Key for u128 {
    const ZERO: Self = 0;
    const MAX: Self = u128::MAX;
    fn last(start: Self, len: u8) -> Self {
        start | u128::MAX.checked_shr(len.into()).unwrap_or(0)
    }
    fn succ(self) -> Self {
        self + 1
    }
}

/// One address family's table.
#[derive(Debug, Clone)]
pub(crate) struct Intervals<K> {
    /// Start of each interval; `starts[0]` is always 0 and the last
    /// interval runs to the end of the address space.
    starts: Vec<K>,
    /// Index into the caller's prefix list, or [`NONE`].
    vals: Vec<u32>,
}

impl<K: Key> Intervals<K> {
    /// `prefixes` are `(network, length)`, distinct and with host bits clear;
    /// values are their positions in that slice.
    pub(crate) fn build(prefixes: &[(K, u8)]) -> Self {
        let mut order: Vec<u32> = (0..prefixes.len() as u32).collect();
        // Containing prefixes first: by start, then shorter first.
        order.sort_unstable_by_key(|&i| prefixes[i as usize]);
        let mut out = Intervals {
            starts: Vec::with_capacity(prefixes.len() * 2 + 1),
            vals: Vec::with_capacity(prefixes.len() * 2 + 1),
        };
        // Open prefixes, innermost last: (last address, value).
        let mut stack: Vec<(K, u32)> = Vec::new();
        let mut first = true;
        for i in order {
            let (start, len) = prefixes[i as usize];
            let end = K::last(start, len);
            while let Some(&(top_end, _)) = stack.last() {
                if top_end >= start {
                    break;
                }
                stack.pop();
                let below = stack.last().map_or(NONE, |t| t.1);
                out.emit(top_end.succ(), below);
            }
            if first && start != K::ZERO {
                out.emit(K::ZERO, NONE);
            }
            first = false;
            out.emit(start, i);
            stack.push((end, i));
        }
        while let Some((top_end, _)) = stack.pop() {
            if top_end != K::MAX {
                let below = stack.last().map_or(NONE, |t| t.1);
                out.emit(top_end.succ(), below);
            }
        }
        if out.starts.is_empty() {
            out.emit(K::ZERO, NONE);
        }
        out.coalesce();
        out
    }

    /// Records that from `start` on, the answer is `val`. A later emit at
    /// the same start overrides (a nested prefix starting where its parent
    /// does).
    fn emit(&mut self, start: K, val: u32) {
        if self.starts.last() == Some(&start) {
            *self.vals.last_mut().expect("parallel vecs") = val;
        } else {
            self.starts.push(start);
            self.vals.push(val);
        }
    }

    /// Merges neighbours with the same answer.
    fn coalesce(&mut self) {
        let mut w = 0;
        for r in 0..self.starts.len() {
            if w > 0 && self.vals[w - 1] == self.vals[r] {
                continue;
            }
            self.starts[w] = self.starts[r];
            self.vals[w] = self.vals[r];
            w += 1;
        }
        self.starts.truncate(w);
        self.vals.truncate(w);
        self.starts.shrink_to_fit();
        self.vals.shrink_to_fit();
    }

    /// Index of the interval holding `key`, searching only `lo..hi`
    /// (the caller guarantees the answer lies there).
    #[inline]
    fn find_in(&self, key: K, lo: usize, hi: usize) -> usize {
        lo + self.starts[lo..hi].partition_point(|&s| s <= key) - 1
    }

    #[inline]
    pub(crate) fn get(&self, key: K) -> u32 {
        self.vals[self.find_in(key, 0, self.starts.len())]
    }

    pub(crate) fn interval_count(&self) -> usize {
        self.starts.len()
    }
}

/// IPv4: intervals plus a /16 index into them.
#[derive(Debug, Clone)]
pub(crate) struct V4Index {
    intervals: Intervals<u32>,
    /// `block[h]` = interval holding address `h << 16`; one extra entry at
    /// the end equal to the interval count.
    block: Vec<u32>,
}

impl V4Index {
    pub(crate) fn build(prefixes: &[(u32, u8)]) -> Self {
        let intervals = Intervals::build(prefixes);
        let mut block = Vec::with_capacity((1 << 16) + 1);
        let mut i = 0usize;
        for h in 0..(1u32 << 16) {
            let addr = h << 16;
            while i + 1 < intervals.starts.len() && intervals.starts[i + 1] <= addr {
                i += 1;
            }
            block.push(i as u32);
        }
        block.push(intervals.starts.len() as u32);
        V4Index { intervals, block }
    }

    #[inline]
    pub(crate) fn get(&self, addr: u32) -> u32 {
        let h = (addr >> 16) as usize;
        let lo = self.block[h] as usize;
        // The interval holding the block's last address starts at or before
        // the next block's first interval, so it lies in lo..=block[h+1].
        let hi = (self.block[h + 1] as usize + 1).min(self.intervals.starts.len());
        if hi - lo == 1 {
            return self.intervals.vals[lo];
        }
        self.intervals.vals[self.intervals.find_in(addr, lo, hi)]
    }

    pub(crate) fn interval_count(&self) -> usize {
        self.intervals.interval_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(prefixes: &[(u32, u8)], addr: u32) -> u32 {
        prefixes
            .iter()
            .enumerate()
            .filter(|(_, &(s, l))| addr >= s && addr <= u32::last(s, l))
            .max_by_key(|(_, &(_, l))| l)
            .map_or(NONE, |(i, _)| i as u32)
    }

    fn net(s: &str) -> (u32, u8) {
        let n: ipnet::Ipv4Net = s.parse().unwrap();
        (u32::from(n.network()), n.prefix_len())
    }

    #[test]
    fn nested_and_adjacent_prefixes() {
        let p: Vec<_> = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.1.2.128/25",
            "10.2.0.0/16",
            "11.0.0.0/8",
            "255.255.255.255/32",
            "0.0.0.0/32",
        ]
        .iter()
        .map(|s| net(s))
        .collect();
        let t = V4Index::build(&p);
        let probes = [
            "0.0.0.0",
            "0.0.0.1",
            "9.255.255.255",
            "10.0.0.0",
            "10.1.0.0",
            "10.1.2.0",
            "10.1.2.127",
            "10.1.2.128",
            "10.1.2.255",
            "10.1.3.0",
            "10.1.255.255",
            "10.2.0.0",
            "10.3.0.0",
            "10.255.255.255",
            "11.0.0.0",
            "11.255.255.255",
            "12.0.0.0",
            "255.255.255.254",
            "255.255.255.255",
        ];
        for a in probes {
            let addr = u32::from(a.parse::<std::net::Ipv4Addr>().unwrap());
            assert_eq!(t.get(addr), naive(&p, addr), "{a}");
        }
    }

    #[test]
    fn empty_table_matches_nothing() {
        let t = V4Index::build(&[]);
        assert_eq!(t.get(0), NONE);
        assert_eq!(t.get(u32::MAX), NONE);
        let t6 = Intervals::<u128>::build(&[]);
        assert_eq!(t6.get(5), NONE);
    }

    #[test]
    fn default_route_covers_everything() {
        let p = [(0u32, 0u8), (net("1.2.3.0/24").0, 24)];
        let t = V4Index::build(&p);
        assert_eq!(t.get(0), 0);
        assert_eq!(t.get(u32::MAX), 0);
        assert_eq!(t.get(net("1.2.3.9/32").0), 1);
        let t6 = Intervals::<u128>::build(&[(0, 0), (1 << 100, 28)]);
        assert_eq!(t6.get(u128::MAX), 0);
        assert_eq!(t6.get((1 << 100) + 7), 1);
    }

    proptest::proptest! {
        #[test]
        fn matches_a_naive_scan(
            raw in proptest::collection::vec((proptest::prelude::any::<u32>(), 0u8..=32), 0..60),
            probes in proptest::collection::vec(proptest::prelude::any::<u32>(), 50),
        ) {
            // Cluster the prefixes so that nesting actually happens.
            let mut p: Vec<(u32, u8)> = raw
                .into_iter()
                .map(|(a, l)| {
                    let a = a & 0x0f0f_ffff;
                    let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
                    (a & mask, l)
                })
                .collect();
            p.sort_unstable();
            p.dedup();
            let t = V4Index::build(&p);
            let six: Vec<(u128, u8)> = p.iter().map(|&(a, l)| ((a as u128) << 96, l)).collect();
            let t6 = Intervals::<u128>::build(&six);
            let edges = p.iter().flat_map(|&(s, l)| {
                let e = u32::last(s, l);
                [s, e, e.wrapping_add(1), s.wrapping_sub(1)]
            });
            for probe in probes.into_iter().map(|a| a & 0x0f0f_ffff).chain(edges) {
                proptest::prop_assert_eq!(t.get(probe), naive(&p, probe));
                proptest::prop_assert_eq!(t6.get((probe as u128) << 96), naive(&p, probe));
            }
        }
    }
}
