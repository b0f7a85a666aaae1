//! Any bytes as a vendor range file (`--aws`, `--gcp`, `--google`,
//! `--azure`, or one in `--ranges`): the first byte picks the provider.
//! Never panics; an error names the file. A parsed file is merged with the
//! three other test files (SPEC §2), and the compiled table must answer
//! like a brute-force longest-prefix match over its own prefixes, and
//! accept each of its regions.
#![no_main]

#[path = "common.rs"]
mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use kubenetmon::model::Cloud;
use kubenetmon::ranges::{parse_provider, Provider, RangeTable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let provider = Provider::ALL[usize::from(which) % 4];
    let file = match parse_provider(provider, bytes, "fuzz.json") {
        Ok(f) => f,
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.json: "), "{e}");
            return;
        }
    };
    assert_eq!(file.ipv4_count() + file.ipv6_count(), file.prefixes.len());
    for p in &file.prefixes {
        assert_eq!(p.net, p.net.trunc());
    }
    let _ = (file.regions(), file.services());
    let files: Vec<_> = common::RANGE_FILES
        .iter()
        .map(|(p, b)| {
            if *p == provider {
                file.clone()
            } else {
                parse_provider(*p, b, p.file_name()).unwrap()
            }
        })
        .collect();
    let table = RangeTable::build(&files);
    check_lookups(&table);
    for cloud in Cloud::ALL {
        for region in table.regions(cloud) {
            if region != "global" {
                assert!(table.resolve_region(cloud, region).is_ok(), "{cloud} {region}");
            }
        }
    }
    let _ = table.interval_counts();
});

/// Lookups at the edges of (a sample of) the table's prefixes agree with
/// a scan of every prefix.
fn check_lookups(table: &RangeTable) {
    let nets: Vec<IpNet> = table.iter().map(|(n, _)| n).collect();
    let step = (nets.len() / 48).max(1);
    for net in nets.iter().step_by(step) {
        for ip in probes(net) {
            let want = nets
                .iter()
                .filter(|n| n.contains(&ip))
                .max_by_key(|n| n.prefix_len());
            let got = table.lookup(ip).map(|m| m.prefix);
            assert_eq!(got.as_ref(), want, "{ip}");
        }
    }
}

/// The first and last address of `net` and their neighbours outside it.
fn probes(net: &IpNet) -> Vec<IpAddr> {
    match net {
        IpNet::V4(n) => {
            let (a, b) = (u32::from(n.network()), u32::from(n.broadcast()));
            [a, b, a.wrapping_sub(1), b.wrapping_add(1)]
                .map(|x| IpAddr::V4(Ipv4Addr::from(x)))
                .to_vec()
        }
        IpNet::V6(n) => {
            let (a, b) = (u128::from(n.network()), u128::from(n.broadcast()));
            [a, b, a.wrapping_sub(1), b.wrapping_add(1)]
                .into_iter()
                .map(Ipv6Addr::from)
                // `::ffff:a.b.c.d` is looked up as IPv4 (its own test)
                .filter(|a| a.to_ipv4_mapped().is_none())
                .map(IpAddr::V6)
                .collect()
        }
    }
}
