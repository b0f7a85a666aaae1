//! Any text as `classify`'s address input (stdin lines, or one argument):
//! every token gets an answer and nothing panics. A token is found exactly
//! when it parses as an address; a found address lies in the prefix the
//! answer names; the class is there exactly with a local site; with the
//! inventory a pod's address is INTRA_VPC (§7) and its owner's zone is the
//! answer's zone (§6.1); the location is given exactly with locations (§6.2)
//! and holds the address.
#![no_main]

#[path = "common.rs"]
mod common;

use std::net::IpAddr;

use ipnet::IpNet;
use kubenetmon::classify::{answer, tokens, Answer, Lookup, Owner};
use kubenetmon::label::{LabelIndex, LocalSite, LocationSpec, Locations, PrivateNets};
use kubenetmon::model::Cloud;
use kubenetmon::zones::{ZoneMapBuilder, ZoneSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // stdin is read as UTF-8 lines; a line that is not is reported whole
    // (src/cli/classify.rs, unit-tested there).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let table = common::table();
    let inv = common::inventory();
    let local = LocalSite {
        cloud: Cloud::Aws,
        region: "us-east-1".into(),
    };
    let private = PrivateNets::with_extra(["100.64.0.0/10".parse().unwrap()]);
    let mut zb = ZoneMapBuilder::new();
    for z in ["10.0.0.0/19=us-east-1a", "10.0.32.0/19=us-east-1b", "2600:1f18::/48=us-east-1c"] {
        zb.add_spec(&z.parse::<ZoneSpec>().unwrap()).unwrap();
    }
    let zones = zb.build();
    let none = Locations::default();
    let specs: Vec<LocationSpec> = ["10.20.0.0/16=aws/eu-west-1", "192.168.0.0/16=gcp/us-central1"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let locations = Locations::new(&specs).unwrap();
    // An argument may hold anything, blanks and `#` included.
    let whole = std::iter::once(text);
    let toks = text.lines().flat_map(tokens);
    for token in whole.chain(toks) {
        let parsed = token.trim().parse::<IpAddr>().ok();
        let plain = Lookup {
            table,
            local: None,
            private: &private,
            zones: None,
            locations: &none,
            pods: None,
        };
        let full = Lookup {
            table,
            local: Some(&local),
            private: &private,
            zones: Some(&zones),
            locations: &locations,
            pods: Some((inv, LabelIndex::new(inv))),
        };
        for at in [&plain, &full] {
            match answer(token, at) {
                Answer::Unparsable { input } => {
                    assert!(parsed.is_none());
                    assert_eq!(input, token);
                }
                Answer::Found {
                    ip,
                    prefix,
                    class,
                    zone,
                    location,
                    owner,
                    error,
                    ..
                } => {
                    assert_eq!(Some(ip), parsed);
                    if !prefix.is_empty() {
                        let net: IpNet = prefix.parse().unwrap();
                        assert!(net.contains(&ip.to_canonical()), "{ip} {net}");
                    }
                    // No class when §3.9 refused (a same-cloud prefix without a region).
                    assert_eq!(class.is_some(), at.local.is_some() && error.is_none());
                    assert_eq!(zone.is_some(), at.zones.is_some());
                    assert_eq!(location.is_some(), !at.locations.is_empty());
                    if let Some(l) = location.filter(|l| !l.is_empty()) {
                        let net: IpNet = l.parse().unwrap();
                        assert!(net.contains(&ip.to_canonical()), "{ip} {net}");
                    }
                    if let Some(o) = owner {
                        let _ = (o.pod(), o.node(), o.multiple());
                        if matches!(o, Owner::Pod { .. }) {
                            assert_eq!(class, Some("INTRA_VPC"));
                        }
                        if let Some(z) = zone.as_deref().filter(|_| !o.zone().is_empty()) {
                            assert_eq!(z, o.zone());
                        }
                    }
                }
            }
        }
    }
});
