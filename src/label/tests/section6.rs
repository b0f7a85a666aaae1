//! SPEC §6 through `label_flow`: zones (§6.1), locations (§6.2) and
//! connection flags (§6.3), one test per rule. The fixture is the parent's
//! (web-1, web-2 on node-a in us-east-1a; db-1 on node-b in us-east-1b;
//! `stray` on node-c, which is not in the inventory).

use super::*;
use crate::label::flags::{CROSS_AZ, NAT_GATEWAY};
use crate::label::{FlagConfig, LocationSpec, UserFlag};
use crate::zones::{ZoneMapBuilder, ZoneSpec};

fn zones(specs: &[&str]) -> ZoneMap {
    let mut b = ZoneMapBuilder::new();
    for s in specs {
        b.add_spec(&s.parse::<ZoneSpec>().unwrap()).unwrap();
    }
    b.build()
}

fn locations(specs: &[&str]) -> Locations {
    let specs: Vec<LocationSpec> = specs.iter().map(|s| s.parse().unwrap()).collect();
    Locations::new(&specs).unwrap()
}

fn flags(config: FlagConfig) -> FlagRules {
    FlagRules::new(&config).unwrap()
}

fn defaults() -> FlagConfig {
    FlagConfig {
        cross_az: true,
        ..Default::default()
    }
}

fn nat(gateway_endpoints: &[&str]) -> FlagConfig {
    FlagConfig {
        cross_az: true,
        nat_gateway: true,
        gateway_endpoints: gateway_endpoints.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A flow's flags as `NAME=value`, in key order.
fn flag_text(fx: &Fixture, l: &LabelledFlow<'_>) -> Vec<String> {
    l.flags
        .iter()
        .map(|(id, v)| format!("{}={v}", fx.flags.names().name(id)))
        .collect()
}

/// §6.1: an endpoint's zone is its pod's zone when known, else the zone
/// map's, else unknown; both zone columns carry it.
#[test]
fn zone_comes_from_the_pod_then_the_zone_map() {
    let mut fx = Fixture::new();
    fx.zones = zones(&[
        // Contradicts the pods' nodes: the pods' zones win.
        "10.244.1.0/24=us-east-1c",
        "10.244.2.0/24=us-east-1c",
        // `stray`'s node is not in the inventory: its zone comes from here.
        "10.244.3.0/24=us-east-1c",
        "10.0.200.0/24=us-east-1b",
        "10.0.200.128/25=us-east-1a",
    ]);
    let zone = |src: &str, dst: &str| {
        let l = fx.labelled(&tcp(src, dst));
        (l.local.availability_zone, l.remote.availability_zone)
    };
    assert_eq!(
        zone("10.244.1.11:1000", "10.244.2.12:80"),
        ("us-east-1a", "us-east-1b")
    );
    assert_eq!(
        zone("10.244.1.11:1000", "10.244.3.3:80"),
        ("us-east-1a", "us-east-1c")
    );
    // A database in the VPC: no pod, its subnet's zone (longest prefix).
    assert_eq!(
        zone("10.244.1.11:1000", "10.0.200.5:5432"),
        ("us-east-1a", "us-east-1b")
    );
    assert_eq!(
        zone("10.244.1.11:1000", "10.0.200.200:5432"),
        ("us-east-1a", "us-east-1a")
    );
    // In no subnet: unknown.
    assert_eq!(
        zone("10.244.1.11:1000", "52.216.1.1:443"),
        ("us-east-1a", "")
    );
    // The local side without a pod (an address talking to a pod on another
    // node) gets its subnet's zone too.
    let l = fx.labelled(&tcp("10.0.200.5:1000", "10.244.2.12:80"));
    assert_eq!(
        (
            l.local.pod,
            l.local.availability_zone,
            l.remote.availability_zone
        ),
        ("", "us-east-1b", "us-east-1b")
    );
    // Without a zone map: §3.8's columns.
    let fx = Fixture::new();
    let l = fx.labelled(&tcp("10.244.1.11:1000", "10.244.3.3:80"));
    assert_eq!(l.remote.availability_zone, "");
}

/// §6.3 CROSS_AZ: present when both zones are known; true when they differ.
#[test]
fn cross_az_compares_the_two_zones() {
    let mut fx = Fixture::new();
    fx.flags = flags(defaults());
    fx.zones = zones(&["10.0.200.0/24=us-east-1a"]);
    let of = |dst: &str| flag_text(&fx, &fx.labelled(&tcp("10.244.1.11:1000", dst)));
    assert_eq!(of("10.244.2.12:80"), ["CROSS_AZ=true"]);
    assert_eq!(of("10.244.1.12:80"), ["CROSS_AZ=false"]);
    assert_eq!(of("10.0.200.9:5432"), ["CROSS_AZ=false"]);
    // stray's zone is unknown, and so is S3's.
    assert!(of("10.244.3.3:80").is_empty());
    assert!(of("52.216.1.1:443").is_empty());
    // The flag is the same whichever side opened the connection.
    let l = fx.labelled(&tcp("10.244.2.12:80", "10.244.1.11:1000"));
    assert_eq!(l.local.pod, "web-1");
    assert_eq!(flag_text(&fx, &l), ["CROSS_AZ=true"]);
    assert_eq!(fx.flags.names().iter().collect::<Vec<_>>(), [CROSS_AZ]);
}

/// §6.2: a location is checked before the private set (10.0.0.0/8 here)
/// and gets §3.9's class for its cloud and region.
#[test]
fn location_comes_before_the_private_set() {
    let mut fx = Fixture::new();
    fx.locations = locations(&[
        "10.0.200.0/24=aws/eu-west-1",
        "10.0.201.0/24=AWS/US-East-1",
        "192.168.0.0/16=onprem/dc1",
    ]);
    let at = |dst: &str| {
        let l = fx.labelled(&tcp("10.244.1.11:1000", dst));
        (
            l.class,
            l.remote_cloud(),
            l.remote_region(),
            l.remote_service(),
        )
    };
    use ConnectionClass::*;
    assert_eq!(at("10.0.200.5:5432"), (InterRegion, "aws", "eu-west-1", ""));
    assert_eq!(at("10.0.201.5:5432"), (IntraRegion, "aws", "us-east-1", ""));
    assert_eq!(at("192.168.3.3:443"), (PublicInternet, "onprem", "dc1", ""));
    // Outside every location, the private set still applies.
    assert_eq!(at("10.0.202.5:5432"), (IntraVpc, "aws", "us-east-1", ""));
}

/// §6.3's last line (and §7): a remote that has a pod is INTRA_VPC before
/// any location.
#[test]
fn a_remote_pod_is_intra_vpc_before_any_location() {
    let mut fx = Fixture::new();
    fx.locations = locations(&["10.244.0.0/16=onprem/dc1"]);
    let l = fx.labelled(&tcp("10.244.1.11:1000", "10.244.2.12:80"));
    assert_eq!(
        (l.class, l.remote_cloud(), l.remote_region()),
        (ConnectionClass::IntraVpc, "aws", "us-east-1")
    );
    // An address of the same CIDR without a pod is in the location.
    let l = fx.labelled(&tcp("10.244.1.11:1000", "10.244.9.9:80"));
    assert_eq!(
        (l.class, l.remote_cloud()),
        (ConnectionClass::PublicInternet, "onprem")
    );
}

/// §6.3 NAT_GATEWAY: only when the local endpoint initiated the connection
/// and the remote is neither private/local nor in a location.
#[test]
fn nat_gateway_needs_a_local_initiator_and_a_non_vpc_remote() {
    let mut fx = Fixture::new();
    fx.flags = flags(nat(&[]));
    fx.locations = locations(&["198.18.0.0/15=onprem/dc1"]);
    fx.private = PrivateNets::with_extra(["100.64.0.0/10".parse().unwrap()]);
    let nat_of = |f: &Flow| {
        let l = fx.labelled(f);
        fx.flags.tally(l.flags).nat_gateway
    };
    // web-1 opens connections to the internet and to AWS services.
    assert!(nat_of(&tcp("10.244.1.11:1000", "8.8.8.8:443")));
    assert!(nat_of(&tcp("10.244.1.11:1000", "52.216.1.1:443")));
    assert!(nat_of(&tcp("10.244.1.11:1000", "3.5.1.1:443")));
    // The same remote opening a connection to web-1 (local = dst): no.
    let inbound = tcp("8.8.8.8:1000", "10.244.1.11:8080");
    assert_eq!(fx.labelled(&inbound).local.pod, "web-1");
    assert!(!nat_of(&inbound));
    // Private, --private-cidr, pod, location: not through the NAT gateway.
    assert!(!nat_of(&tcp("10.244.1.11:1000", "10.0.200.5:5432")));
    assert!(!nat_of(&tcp("10.244.1.11:1000", "100.64.1.1:443")));
    assert!(!nat_of(&tcp("10.244.1.11:1000", "10.244.2.12:80")));
    assert!(!nat_of(&tcp("10.244.1.11:1000", "198.18.1.1:443")));
    // The flag is true or absent, never false.
    let l = fx.labelled(&tcp("10.244.1.11:1000", "8.8.8.8:443"));
    assert_eq!(flag_text(&fx, &l), ["NAT_GATEWAY=true"]);
    let l = fx.labelled(&inbound);
    assert!(flag_text(&fx, &l).is_empty());
    assert_eq!(
        fx.flags.names().iter().collect::<Vec<_>>(),
        [CROSS_AZ, NAT_GATEWAY]
    );
}

/// §6.3: `--gateway-endpoint s3` exempts same-cloud, same-region S3 only.
#[test]
fn gateway_endpoint_exempts_local_region_services() {
    let mut fx = Fixture::new();
    fx.flags = flags(nat(&["s3"]));
    let nat_of = |fx: &Fixture, dst: &str| {
        let l = fx.labelled(&tcp("10.244.1.11:1000", dst));
        fx.flags.tally(l.flags).nat_gateway
    };
    // 52.216.0.0/15 is S3 in us-east-1, the local region.
    assert!(!nat_of(&fx, "52.216.1.1:443"));
    // Another service, another region, global, another cloud: still NAT.
    assert!(nat_of(&fx, "3.5.1.1:443"));
    assert!(nat_of(&fx, "15.0.0.1:443"));
    assert!(nat_of(&fx, "34.1.208.1:443"));
    assert!(nat_of(&fx, "8.8.8.8:443"));
    // The same S3 traffic from a cluster in another region goes through NAT.
    fx.local.region = "eu-west-1".into();
    assert!(nat_of(&fx, "52.216.1.1:443"));
}

/// §6.3 `--flag NAME=CIDR`: true when the remote is inside CIDR, absent
/// otherwise; keys in byte order with the built-in ones.
#[test]
fn user_flags_are_set_by_the_remote_address() {
    let mut fx = Fixture::new();
    fx.zones = zones(&["10.0.100.0/24=us-east-1b"]);
    fx.flags = flags(FlagConfig {
        user: vec![
            "NLB=10.0.100.0/24".parse::<UserFlag>().unwrap(),
            "A_ENDPOINT=52.216.0.0/16".parse().unwrap(),
        ],
        ..nat(&[])
    });
    let of = |src: &str, dst: &str| flag_text(&fx, &fx.labelled(&tcp(src, dst)));
    assert_eq!(
        of("10.244.1.11:1000", "10.0.100.7:443"),
        ["CROSS_AZ=true", "NLB=true"]
    );
    assert_eq!(
        of("10.244.1.11:1000", "52.216.1.1:443"),
        ["A_ENDPOINT=true", "NAT_GATEWAY=true"]
    );
    assert!(of("10.244.1.11:1000", "10.0.101.7:443").is_empty());
    // The remote address decides, not the local one: the NLB calling web-1.
    let l = fx.labelled(&tcp("10.0.100.7:1000", "10.244.1.11:8080"));
    assert_eq!(l.remote.ip, ip("10.0.100.7"));
    assert_eq!(flag_text(&fx, &l), ["CROSS_AZ=true", "NLB=true"]);
}

/// `--no-flags`: an empty map; with no zone or location options either,
/// exactly the upstream flow.
#[test]
fn no_flags_leaves_the_map_empty_and_the_rows_upstream() {
    let upstream = Fixture::new();
    let mut fx = Fixture::new();
    fx.flags = FlagRules::none();
    for (src, dst) in [
        ("10.244.1.11:1000", "10.244.2.12:80"),
        ("10.244.1.11:1000", "8.8.8.8:443"),
        ("8.8.8.8:1000", "10.244.1.11:8080"),
        ("10.244.1.11:1000", "10.0.200.5:5432"),
    ] {
        let f = tcp(src, dst);
        let l = fx.labelled(&f);
        assert!(l.flags.is_empty());
        assert_eq!(l, upstream.labelled(&f));
    }
    // Zones still apply with --no-flags; the flags stay empty.
    fx.zones = zones(&["10.0.200.0/24=us-east-1b"]);
    let l = fx.labelled(&tcp("10.244.1.11:1000", "10.0.200.5:5432"));
    assert_eq!(
        (l.remote.availability_zone, l.flags.is_empty()),
        ("us-east-1b", true)
    );
}
