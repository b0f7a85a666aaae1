//! SPEC §7 through `label_flow`: IPv6 flows under `--schema dual`, one test
//! per rule. The fixture is a dual-stack EKS-like cluster: pods have an
//! IPv4 address and a global IPv6 address inside AWS's published
//! 2600:1f18::/32 (ec2, us-east-1); nodes have both InternalIPs.

use super::*;

const POD_V6: &str = "2600:1f18:4a1:c700::";

fn v6(host: &str) -> String {
    format!("{POD_V6}{host}")
}

fn dual_pod(name: &str, node: &str, v4: &str, host: &str) -> Pod {
    Pod {
        ips: vec![ip(v4), ip(&v6(host))],
        ..pod(
            name,
            node,
            v4,
            PodPhase::Running,
            &[("app.kubernetes.io/name", name)],
        )
    }
}

fn dual_fixture() -> Fixture {
    let pods = vec![
        dual_pod("web", N, "10.244.1.11", "11"),
        dual_pod("db", "node-b", "10.244.2.12", "12"),
        // an IPv6-only pod (EKS IPv6 clusters)
        Pod {
            ips: vec![ip(&v6("13"))],
            ..pod("v6only", N, "10.244.1.13", PodPhase::Running, &[])
        },
    ];
    let mut na = node(N, "10.0.1.10", "us-east-1a");
    na.internal_ips.push(ip("2600:1f18:4a1:c700::a"));
    let nb = node("node-b", "10.0.2.20", "us-east-1b");
    let inv: &'static Inventory = Box::leak(Box::new(
        Inventory::from_objects(pods, vec![na, nb], vec![]).unwrap(),
    ));
    let d = |service: &str, region: &str| Detail {
        cloud: Cloud::Aws,
        service: service.into(),
        region: region.into(),
    };
    let mut fx = Fixture::new();
    fx.index = LabelIndex::new(inv);
    fx.table = RangeTable::from_entries(vec![
        ("52.216.0.0/15".parse().unwrap(), d("s3", "us-east-1")),
        ("3.5.0.0/16".parse().unwrap(), d("amazon", "eu-west-1")),
        ("2600:1f18::/32".parse().unwrap(), d("ec2", "us-east-1")),
        ("2a05:d018::/35".parse().unwrap(), d("ec2", "eu-west-1")),
    ]);
    fx
}

fn dual(fx: &Fixture) -> Context<'_> {
    Context {
        ipv6: true,
        ..fx.ctx()
    }
}

fn outcome<'a>(fx: &'a Fixture, f: &Flow) -> Outcome<'a> {
    label_flow(f, &dual(fx))
}

fn labelled<'a>(fx: &'a Fixture, f: &Flow) -> LabelledFlow<'a> {
    match outcome(fx, f) {
        Outcome::Labelled(l) => l,
        o => panic!("expected a labelled flow, got {o:?}"),
    }
}

fn site(l: &LabelledFlow<'_>) -> (String, String, String) {
    let s = l.remote_site.expect("a remote site");
    (
        s.owner.as_str().to_string(),
        s.region.as_str().to_string(),
        s.service.to_string(),
    )
}

/// §7 first bullet: under `upstream` an IPv6 flow is ignored (`ipv6`);
/// under `dual` rule 2 no longer applies and it goes through §3.
#[test]
fn dual_labels_ipv6_flows_that_upstream_ignores() {
    let fx = dual_fixture();
    let f = tcp(&format!("[{}]:40000", v6("11")), "[2a05:d018::9]:443");
    assert_eq!(fx.label(&f), Outcome::Ignored(IgnoreReason::Ipv6));
    let l = labelled(&fx, &f);
    assert_eq!((l.local.pod, l.local.node), ("web", N));
    assert_eq!(l.local.availability_zone, "us-east-1a");
    assert_eq!((l.local.ip, l.local.port), (ip(&v6("11")), 40000));
    assert_eq!((l.remote.ip, l.remote.port), (ip("2a05:d018::9"), 443));
    assert_eq!(l.class, ConnectionClass::InterRegion);
    assert_eq!(site(&l), ("aws".into(), "eu-west-1".into(), "ec2".into()));
    assert_eq!((l.out.bytes, l.inbound.bytes), (399, 697));
}

/// §7: the IPv6 private set is fc00::/7, fe80::/10, ::1, ::, plus IPv6
/// `--private-cidr`s (and --subnets' IPv6 CIDRs, added to the same set by
/// the CLI: `PrivateNets::and`).
#[test]
fn ipv6_private_set_with_private_cidrs() {
    let mut fx = dual_fixture();
    let from = format!("[{}]:40000", v6("11"));
    for remote in ["[fd12:3456::1]:5432", "[fe80::1]:53"] {
        let l = labelled(&fx, &tcp(&from, remote));
        assert_eq!(l.class, ConnectionClass::IntraVpc, "{remote}");
        assert_eq!(site(&l), ("aws".into(), "us-east-1".into(), "".into()));
    }
    // A non-pod address of the VPC's global /56: without the CIDR it is the
    // range table's ec2; with it (or with the subnets' CIDRs) INTRA_VPC.
    let vpc_host = "[2600:1f18:4a1:c7ff::50]:5432";
    let l = labelled(&fx, &tcp(&from, vpc_host));
    assert_eq!(
        (l.class, site(&l).2),
        (ConnectionClass::IntraRegion, "ec2".into())
    );
    fx.private = PrivateNets::with_extra(["100.64.0.0/10".parse().unwrap()])
        .and(["2600:1f18:4a1:c700::/56".parse().unwrap()]);
    let l = labelled(&fx, &tcp(&from, vpc_host));
    assert_eq!(
        (l.class, site(&l).2),
        (ConnectionClass::IntraVpc, "".into())
    );
}

/// §7: a remote that has a pod is INTRA_VPC whatever its address — here a
/// global address inside AWS's ec2 prefix — and its pod's attributes fill
/// the remote columns; a non-pod address of the same prefix is ec2.
#[test]
fn a_remote_pod_is_intra_vpc_whatever_its_address() {
    let fx = dual_fixture();
    let f = tcp(
        &format!("[{}]:40000", v6("11")),
        &format!("[{}]:5432", v6("12")),
    );
    let l = labelled(&fx, &f);
    assert_eq!((l.local.pod, l.remote.pod), ("web", "db"));
    assert_eq!(l.remote.availability_zone, "us-east-1b");
    assert_eq!(l.class, ConnectionClass::IntraVpc);
    assert_eq!(site(&l), ("aws".into(), "us-east-1".into(), "".into()));
    let f = tcp(
        &format!("[{}]:40000", v6("11")),
        "[2600:1f18:4a1:c700::99]:5432",
    );
    let l = labelled(&fx, &f);
    assert_eq!(l.remote.pod, "");
    assert_eq!(l.class, ConnectionClass::IntraRegion);
    assert_eq!(site(&l).2, "ec2");
    // Seen from node-b the direction flips: db is local, web the remote pod.
    let ctx = Context {
        node: "node-b",
        ..dual(&fx)
    };
    let f = tcp(
        &format!("[{}]:40000", v6("11")),
        &format!("[{}]:5432", v6("12")),
    );
    match label_flow(&f, &ctx) {
        Outcome::Labelled(l) => {
            assert_eq!((l.local.pod, l.remote.pod), ("db", "web"));
            assert_eq!((l.out.bytes, l.class), (697, ConnectionClass::IntraVpc));
        }
        o => panic!("{o:?}"),
    }
}

/// §7: pods' IPv6 podIPs and nodes' IPv6 InternalIPs are indexed like IPv4
/// ones: an IPv6-only pod is found, and a flow from the node's IPv6
/// address is a node flow.
#[test]
fn ipv6_pod_and_node_addresses_are_indexed() {
    let fx = dual_fixture();
    let f = tcp(
        &format!("[{}]:8080", "2a05:d018::9"),
        &format!("[{}]:80", v6("13")),
    );
    let l = labelled(&fx, &f);
    assert_eq!(l.local.pod, "v6only");
    assert_eq!((l.out.bytes, l.inbound.bytes), (697, 399));
    let f = tcp("[2600:1f18:4a1:c700::a]:40000", "[2a05:d018::9]:443");
    assert_eq!(outcome(&fx, &f), Outcome::Ignored(IgnoreReason::NodeFlow));
    // the loopback filter covers ::1 under dual too
    let f = tcp("[::1]:40000", "[::1]:443");
    assert_eq!(outcome(&fx, &f), Outcome::Ignored(IgnoreReason::Loopback));
}

/// §7: an IPv4-mapped address is its IPv4 address everywhere: pod and node
/// lookup, loopback, private set, range lookup — and the flow is an IPv4
/// flow, labelled under `upstream` too, with IPv4 addresses in the row.
#[test]
fn ipv4_mapped_addresses_are_ipv4() {
    let fx = dual_fixture();
    let f = tcp("[::ffff:10.244.1.11]:40000", "[::ffff:52.216.1.1]:443");
    for ctx in [fx.ctx(), dual(&fx)] {
        match label_flow(&f, &ctx) {
            Outcome::Labelled(l) => {
                assert_eq!(l.local.pod, "web");
                assert_eq!(l.local.ip, ip("10.244.1.11"));
                assert_eq!(l.remote.ip, ip("52.216.1.1"));
                assert_eq!(l.class, ConnectionClass::IntraRegion);
                assert_eq!(l.remote_site.unwrap().service, "s3");
            }
            o => panic!("{o:?}"),
        }
    }
    let f = tcp("[::ffff:10.0.1.10]:40000", "[::ffff:52.216.1.1]:443");
    assert_eq!(fx.label(&f), Outcome::Ignored(IgnoreReason::NodeFlow));
    let f = tcp("[::ffff:127.0.0.1]:40000", "[::ffff:127.0.0.1]:443");
    assert_eq!(fx.label(&f), Outcome::Ignored(IgnoreReason::Loopback));
    let l = labelled(&fx, &tcp("10.244.1.11:40000", "[::ffff:192.168.9.9]:443"));
    assert_eq!(
        (l.class, l.remote.ip),
        (ConnectionClass::IntraVpc, ip("192.168.9.9"))
    );
}

/// §7: a NAT64 address (64:ff9b::/96) is classified by its last 32 bits
/// (private set, range lookup); the row keeps the address as written.
#[test]
fn nat64_is_classified_by_the_embedded_ipv4() {
    let fx = dual_fixture();
    let from = format!("[{}]:40000", v6("13"));
    let l = labelled(&fx, &tcp(&from, "[64:ff9b::52.216.1.1]:443"));
    assert_eq!(l.remote.ip, ip("64:ff9b::34d8:101"));
    assert_eq!(l.class, ConnectionClass::IntraRegion);
    assert_eq!(site(&l), ("aws".into(), "us-east-1".into(), "s3".into()));
    let l = labelled(&fx, &tcp(&from, "[64:ff9b::3.5.7.7]:443"));
    assert_eq!(
        (l.class, site(&l).1),
        (ConnectionClass::InterRegion, "eu-west-1".into())
    );
    let l = labelled(&fx, &tcp(&from, "[64:ff9b::10.9.9.9]:443"));
    assert_eq!(
        (l.class, site(&l).2),
        (ConnectionClass::IntraVpc, "".into())
    );
    let l = labelled(&fx, &tcp(&from, "[64:ff9b::8.8.8.8]:53"));
    assert_eq!(
        (l.class, l.remote_site),
        (ConnectionClass::PublicInternet, None)
    );
}
