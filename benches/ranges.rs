//! Range table benchmarks over the real vendor files in ../shared/ranges
//! (skipped when that directory is absent):
//! - `load_build`: read + parse + merge + compile all four files;
//! - `build`: merge + compile only, from already-parsed files;
//! - `lookup_v4` / `lookup_v6`: longest-prefix match, our flattened
//!   interval table against the `prefix-trie` crate on the same prefixes.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use kubenetmon::ranges::{self, Provider, RangeSources, RangeTable};

fn ranges_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/ranges");
    if Provider::ALL
        .iter()
        .all(|p| dir.join(p.file_name()).is_file())
    {
        Some(dir)
    } else {
        eprintln!("skipping range benchmarks: {} not found", dir.display());
        None
    }
}

/// xorshift64*: deterministic addresses without a rand dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Half the probes fall inside a random stored prefix, half are uniform.
fn probes(table: &RangeTable, n: usize, v6: bool) -> Vec<IpAddr> {
    let nets: Vec<IpNet> = table
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.addr().is_ipv6() == v6)
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|i| {
            let r = rng.next();
            if i % 2 == 0 {
                let net = nets[(r as usize) % nets.len()];
                let noise = rng.next();
                match net {
                    IpNet::V4(n) => {
                        let host = (noise as u32) & !u32::from(n.netmask());
                        IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
                    }
                    IpNet::V6(n) => {
                        let noise = ((noise as u128) << 64) | rng.next() as u128;
                        let host = noise & !u128::from(n.netmask());
                        IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
                    }
                }
            } else if v6 {
                // Mostly inside 2000::/3, where the prefixes are.
                let a = ((r as u128) << 64 | rng.next() as u128) >> 3 | (1u128 << 125);
                IpAddr::V6(Ipv6Addr::from(a))
            } else {
                IpAddr::V4(Ipv4Addr::from(r as u32))
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let Some(dir) = ranges_dir() else { return };
    let sources = RangeSources {
        dir: Some(dir.clone()),
        ..Default::default()
    };

    let mut g = c.benchmark_group("ranges");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("load_build", |b| {
        b.iter(|| ranges::load(black_box(&sources), None).unwrap())
    });
    let files: Vec<_> = Provider::ALL
        .iter()
        .map(|p| ranges::read_provider_file(*p, &dir.join(p.file_name())).unwrap())
        .collect();
    g.bench_function("build", |b| b.iter(|| RangeTable::build(black_box(&files))));
    g.finish();

    let table = RangeTable::build(&files);
    let mut trie4 = prefix_trie::PrefixMap::<Ipv4Net, u32>::new();
    let mut trie6 = prefix_trie::PrefixMap::<Ipv6Net, u32>::new();
    for (i, (net, _)) in table.iter().enumerate() {
        match net {
            IpNet::V4(n) => {
                trie4.insert(n, i as u32);
            }
            IpNet::V6(n) => {
                trie6.insert(n, i as u32);
            }
        }
    }

    for (name, v6) in [("lookup_v4", false), ("lookup_v6", true)] {
        let addrs = probes(&table, 1 << 16, v6);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(addrs.len() as u64));
        g.sample_size(30).measurement_time(Duration::from_secs(3));
        g.bench_function("flat_intervals", |b| {
            b.iter(|| {
                let mut hits = 0usize;
                for &a in &addrs {
                    hits += table
                        .lookup(black_box(a))
                        .map_or(0, |m| m.prefix.prefix_len() as usize);
                }
                hits
            })
        });
        g.bench_function("prefix_trie", |b| {
            b.iter(|| {
                let mut hits = 0usize;
                for &a in &addrs {
                    let found = match black_box(a) {
                        IpAddr::V4(x) => trie4
                            .get_lpm(&Ipv4Net::new_assert(x, 32))
                            .map(|(p, _)| p.prefix_len()),
                        IpAddr::V6(x) => trie6
                            .get_lpm(&Ipv6Net::new_assert(x, 128))
                            .map(|(p, _)| p.prefix_len()),
                    };
                    hits += found.map_or(0, usize::from);
                }
                hits
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
