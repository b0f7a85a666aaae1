//! Any bytes as a `--subnets` file (`aws ec2 describe-subnets` JSON):
//! an error or CIDRs, never a panic. Every CIDR comes with a non-empty,
//! trimmed zone and its JSON path; written back as describe-subnets JSON
//! the CIDRs read again to the same (net, zone) list; and a zone map built
//! from them answers each CIDR's own address with a zone.
#![no_main]

use kubenetmon::zones::{parse_subnets, ZoneMapBuilder, ZoneSource};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(cidrs) = parse_subnets(data, "fuzz.json") else {
        return;
    };
    for c in &cidrs {
        assert!(!c.zone.is_empty());
        assert_eq!(c.zone.trim(), c.zone);
        assert!(c.entry.ends_with("CidrBlock"), "{}", c.entry);
    }
    // Round trip: one subnet per CIDR, IPv4 in CidrBlock, IPv6 in an association.
    let subnets: Vec<_> = cidrs
        .iter()
        .map(|c| match c.net {
            ipnet::IpNet::V4(_) => json!({"AvailabilityZone": c.zone, "CidrBlock": c.net.to_string()}),
            ipnet::IpNet::V6(_) => json!({"AvailabilityZone": c.zone,
                "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": c.net.to_string()}]}),
        })
        .collect();
    if !subnets.is_empty() {
        let doc = serde_json::to_vec(&json!({ "Subnets": subnets })).unwrap();
        let again = parse_subnets(&doc, "again.json").unwrap();
        let pairs = |v: &[kubenetmon::zones::SubnetCidr]| -> Vec<(ipnet::IpNet, String)> {
            v.iter().map(|c| (c.net, c.zone.clone())).collect()
        };
        assert_eq!(pairs(&again), pairs(&cidrs));
    }
    // The zone map: a conflict is an error (two zones for one CIDR), else
    // each CIDR's network address has a zone.
    let mut b = ZoneMapBuilder::new();
    for c in &cidrs {
        let source = ZoneSource::File {
            path: "fuzz.json".into(),
            entry: c.entry.clone(),
            subnet_id: c.subnet_id.clone(),
        };
        if b.add(c.net, &c.zone, source).is_err() {
            return;
        }
    }
    let map = b.build();
    for c in &cidrs {
        assert!(map.zone_of(c.net.network()).is_some(), "{}", c.net);
    }
});
