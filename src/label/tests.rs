//! One test per §3 rule and per outcome reason.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;
use crate::conntrack::Tuple;
use crate::inventory::{Inventory, Node, Pod, PodPhase, Service};
use crate::model::{Cloud, ConnectionClass};
use crate::ranges::Detail;
use crate::zones::ZoneMap;

const N: &str = "node-a";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn pod(name: &str, node: &str, addr: &str, phase: PodPhase, l: &[(&str, &str)]) -> Pod {
    Pod {
        name: name.into(),
        namespace: "shop".into(),
        labels: labels(l),
        node_name: node.into(),
        host_network: false,
        phase,
        ips: vec![ip(addr)],
    }
}

fn node(name: &str, addr: &str, zone: &str) -> Node {
    Node {
        name: name.into(),
        labels: labels(&[
            ("topology.kubernetes.io/zone", zone),
            ("topology.kubernetes.io/region", "us-east-1"),
        ]),
        provider_id: format!("aws:///{zone}/i-{name}"),
        internal_ips: vec![ip(addr)],
    }
}

fn inventory() -> Inventory {
    use PodPhase::*;
    let pods = vec![
        pod(
            "web-1",
            N,
            "10.244.1.11",
            Running,
            &[
                ("app.kubernetes.io/name", "web"),
                ("control-plane-id", "cp-7"),
            ],
        ),
        pod("web-2", N, "10.244.1.12", Running, &[("k8s-app", "web2")]),
        pod(
            "db-1",
            "node-b",
            "10.244.2.12",
            Running,
            &[("app.kubernetes.io/name", "db"), ("k8s-app", "ignored")],
        ),
        // A finished job and a live pod on the same (reused) IP.
        pod("old-job", N, "10.244.1.99", Succeeded, &[]),
        pod("reuser", "node-b", "10.244.1.99", Running, &[]),
        // Two live pods on one IP.
        pod("twin-a", N, "10.244.1.50", Running, &[]),
        pod("twin-b", N, "10.244.1.50", Pending, &[]),
        // A single pod is used whatever its phase.
        pod("crashed", N, "10.244.1.60", Failed, &[]),
        // Several candidates, all finished: the IP has no pod.
        pod("done-1", N, "10.244.1.70", Succeeded, &[]),
        pod("done-2", "node-b", "10.244.1.70", Failed, &[]),
        // A pod on a node missing from the inventory.
        pod("stray", "node-c", "10.244.3.3", Running, &[]),
        // hostNetwork pod: shares the node's IP.
        Pod {
            host_network: true,
            ..pod("kube-proxy", N, "10.0.1.10", Running, &[])
        },
    ];
    let nodes = vec![
        node(N, "10.0.1.10", "us-east-1a"),
        node("node-b", "10.0.2.20", "us-east-1b"),
    ];
    let services = vec![Service {
        name: "db".into(),
        namespace: "shop".into(),
        cluster_ips: vec![ip("10.96.0.10")],
    }];
    Inventory::from_objects(pods, nodes, services).unwrap()
}

fn table() -> RangeTable {
    let d = |cloud, service: &str, region: &str| Detail {
        cloud,
        service: service.into(),
        region: region.into(),
    };
    RangeTable::from_entries(vec![
        (
            "52.216.0.0/15".parse().unwrap(),
            d(Cloud::Aws, "s3", "us-east-1"),
        ),
        (
            "3.5.0.0/16".parse().unwrap(),
            d(Cloud::Aws, "amazon", "eu-west-1"),
        ),
        (
            "15.0.0.0/16".parse().unwrap(),
            d(Cloud::Aws, "amazon", "global"),
        ),
        ("16.0.0.0/16".parse().unwrap(), d(Cloud::Aws, "amazon", "")),
        (
            "34.1.208.0/20".parse().unwrap(),
            d(Cloud::Gcp, "googlecloud", "us-east1"),
        ),
    ])
}

struct Fixture {
    index: LabelIndex<'static>,
    table: RangeTable,
    local: LocalSite,
    private: PrivateNets,
    zones: ZoneMap,
    locations: Locations,
    flags: FlagRules,
}

impl Fixture {
    fn new() -> Self {
        // Leaked so the index can borrow it for the whole test.
        let inv: &'static Inventory = Box::leak(Box::new(inventory()));
        Fixture {
            index: LabelIndex::new(inv),
            table: table(),
            local: LocalSite {
                cloud: Cloud::Aws,
                region: "us-east-1".into(),
            },
            private: PrivateNets::upstream(),
            zones: ZoneMap::default(),
            locations: Locations::none(),
            flags: FlagRules::none(),
        }
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            node: N,
            index: &self.index,
            table: &self.table,
            local: &self.local,
            private: &self.private,
            zones: &self.zones,
            locations: &self.locations,
            flags: &self.flags,
            ignore_udp: false,
            time: TimeSource::EventOr(1_700_000_000),
        }
    }

    fn label(&self, f: &Flow) -> Outcome<'_> {
        label_flow(f, &self.ctx())
    }

    fn labelled(&self, f: &Flow) -> LabelledFlow<'_> {
        match self.label(f) {
            Outcome::Labelled(l) => l,
            other => panic!("expected a labelled flow, got {other:?}"),
        }
    }
}

fn c(packets: u64, bytes: u64) -> Option<Counters> {
    Some(Counters { packets, bytes })
}

fn ep(s: &str) -> (IpAddr, u16) {
    let (a, p) = s.rsplit_once(':').unwrap();
    (ip(a.trim_matches(['[', ']'])), p.parse().unwrap())
}

/// A flow `osrc -> odst` whose reply comes from `rsrc` to `rdst`.
fn flow_full(
    proto: Protocol,
    o: (&str, &str),
    r: (&str, &str),
    oc: Option<Counters>,
    rc: Option<Counters>,
) -> Flow {
    let tuple = |(s, d): (&str, &str), counters| {
        let (s, d) = (ep(s), ep(d));
        Tuple {
            src: s.0,
            dst: d.0,
            sport: Some(s.1),
            dport: Some(d.1),
            counters,
        }
    };
    Flow::new(1, proto, tuple(o, oc), tuple(r, rc))
}

/// A TCP flow without NAT: the reply is the mirror of the original.
fn tcp(src: &str, dst: &str) -> Flow {
    flow_full(Protocol::Tcp, (src, dst), (dst, src), c(6, 399), c(5, 697))
}

fn ignored(fx: &Fixture, f: &Flow) -> IgnoreReason {
    match fx.label(f) {
        Outcome::Ignored(r) => r,
        other => panic!("expected ignored, got {other:?}"),
    }
}

fn error(fx: &Fixture, f: &Flow) -> LabelError {
    match fx.label(f) {
        Outcome::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

// ---- agent-side filters ----

#[test]
fn zero_counters_are_ignored() {
    let fx = Fixture::new();
    let f = flow_full(
        Protocol::Tcp,
        ("10.244.1.11:1000", "52.216.1.1:443"),
        ("52.216.1.1:443", "10.0.1.10:1000"),
        c(0, 0),
        c(0, 0),
    );
    assert_eq!(ignored(&fx, &f), IgnoreReason::ZeroCounters);
}

#[test]
fn accounting_off_counts_as_zero() {
    let fx = Fixture::new();
    let f = flow_full(
        Protocol::Tcp,
        ("10.244.1.11:1000", "52.216.1.1:443"),
        ("52.216.1.1:443", "10.0.1.10:1000"),
        None,
        None,
    );
    assert_eq!(ignored(&fx, &f), IgnoreReason::ZeroCounters);
}

#[test]
fn one_nonzero_counter_is_enough() {
    let fx = Fixture::new();
    // An UNREPLIED entry: only the original direction carried bytes.
    let f = flow_full(
        Protocol::Tcp,
        ("10.244.1.11:1000", "52.216.1.1:443"),
        ("52.216.1.1:443", "10.244.1.11:1000"),
        c(1, 60),
        c(0, 0),
    );
    let l = fx.labelled(&f);
    assert_eq!(
        l.out,
        Counters {
            packets: 1,
            bytes: 60
        }
    );
    assert_eq!(l.inbound, Counters::default());
    let f = flow_full(
        Protocol::Tcp,
        ("10.244.1.11:1000", "52.216.1.1:443"),
        ("52.216.1.1:443", "10.244.1.11:1000"),
        None,
        c(1, 0),
    );
    assert!(matches!(fx.label(&f), Outcome::Labelled(_)));
}

#[test]
fn non_tcp_udp_protocols_are_ignored() {
    let fx = Fixture::new();
    for p in [
        Protocol::Icmp,
        Protocol::Sctp,
        Protocol::Gre,
        Protocol::Udplite,
        Protocol::Other(253),
    ] {
        let mut f = tcp("10.244.1.11:1000", "52.216.1.1:443");
        f.protocol = p;
        assert_eq!(ignored(&fx, &f), IgnoreReason::Protocol, "{p:?}");
    }
}

#[test]
fn zero_counters_are_checked_before_protocol() {
    let fx = Fixture::new();
    let mut f = tcp("10.244.1.11:1000", "52.216.1.1:443");
    f.protocol = Protocol::Icmp;
    f.orig.counters = None;
    f.reply.counters = None;
    assert_eq!(ignored(&fx, &f), IgnoreReason::ZeroCounters);
}

#[test]
fn loopback_in_any_address_field_is_ignored() {
    let fx = Fixture::new();
    let base = tcp("10.244.1.11:1000", "52.216.1.1:443");
    for (i, addr) in ["127.0.0.1", "127.5.6.7", "::1"].iter().enumerate() {
        for field in 0..4 {
            let mut f = base.clone();
            let a = ip(addr);
            match field {
                0 => f.orig.src = a,
                1 => f.orig.dst = a,
                2 => f.reply.src = a,
                _ => f.reply.dst = a,
            }
            assert_eq!(
                ignored(&fx, &f),
                IgnoreReason::Loopback,
                "case {i}, field {field}"
            );
        }
    }
    // 126.x and 128.x are not loopback.
    let f = tcp("10.244.1.11:1000", "128.0.0.1:443");
    assert!(matches!(fx.label(&f), Outcome::Labelled(_)));
}

#[test]
fn loopback_is_checked_after_protocol() {
    let fx = Fixture::new();
    let mut f = tcp("127.0.0.1:1000", "127.0.0.1:443");
    f.protocol = Protocol::Icmp;
    assert_eq!(ignored(&fx, &f), IgnoreReason::Protocol);
}

// ---- §3.1 – §3.3 ----

#[test]
fn udp_is_ignored_only_with_ignore_udp() {
    let fx = Fixture::new();
    let f = flow_full(
        Protocol::Udp,
        ("10.244.1.11:5000", "10.96.0.10:53"),
        ("10.244.2.12:53", "10.244.1.11:5000"),
        c(1, 60),
        c(1, 120),
    );
    let l = fx.labelled(&f);
    assert_eq!(l.proto, Protocol::Udp);
    let ctx = Context {
        ignore_udp: true,
        ..fx.ctx()
    };
    assert_eq!(
        label_flow(&f, &ctx),
        Outcome::Ignored(IgnoreReason::UdpIgnored)
    );
    // TCP is unaffected by --ignore-udp.
    let t = tcp("10.244.1.11:1000", "52.216.1.1:443");
    assert!(matches!(label_flow(&t, &ctx), Outcome::Labelled(_)));
    // Loopback wins over udp_ignored (agent filters come first).
    let mut lo = f.clone();
    lo.orig.dst = ip("127.0.0.53");
    assert_eq!(
        label_flow(&lo, &ctx),
        Outcome::Ignored(IgnoreReason::Loopback)
    );
}

#[test]
fn any_ipv6_address_is_ignored() {
    let fx = Fixture::new();
    let f = flow_full(
        Protocol::Tcp,
        ("[fd00:1::11]:1000", "[2600::1]:443"),
        ("[2600::1]:443", "[fd00:1::11]:1000"),
        c(1, 80),
        c(1, 80),
    );
    assert_eq!(ignored(&fx, &f), IgnoreReason::Ipv6);
    // A single IPv6 field is enough (e.g. NAT64).
    let mut f = tcp("10.244.1.11:1000", "52.216.1.1:443");
    f.reply.src = ip("64:ff9b::3418:101");
    assert_eq!(ignored(&fx, &f), IgnoreReason::Ipv6);
}

#[test]
fn udp_ignored_is_checked_before_ipv6() {
    let fx = Fixture::new();
    let mut f = flow_full(
        Protocol::Udp,
        ("[fd00:1::11]:1000", "[2600::1]:53"),
        ("[2600::1]:53", "[fd00:1::11]:1000"),
        c(1, 80),
        c(1, 80),
    );
    let ctx = Context {
        ignore_udp: true,
        ..fx.ctx()
    };
    assert_eq!(
        label_flow(&f, &ctx),
        Outcome::Ignored(IgnoreReason::UdpIgnored)
    );
    f.protocol = Protocol::Tcp;
    assert_eq!(label_flow(&f, &ctx), Outcome::Ignored(IgnoreReason::Ipv6));
}

#[test]
fn node_flows_are_ignored_by_original_or_reply_source() {
    let fx = Fixture::new();
    // The node (or a hostNetwork pod) opens a connection.
    let f = tcp("10.0.1.10:40000", "52.216.1.1:443");
    assert_eq!(ignored(&fx, &f), IgnoreReason::NodeFlow);
    // Another node's InternalIP counts too.
    let f = tcp("10.0.2.20:40000", "10.244.1.11:8080");
    assert_eq!(ignored(&fx, &f), IgnoreReason::NodeFlow);
    // A pod talks to the node: the reply's source is the node.
    let f = tcp("10.244.1.11:40000", "10.0.1.10:10250");
    assert_eq!(ignored(&fx, &f), IgnoreReason::NodeFlow);
}

#[test]
fn node_ip_as_original_destination_only_is_not_a_node_flow() {
    let fx = Fixture::new();
    // NodePort: original destination is the node, DNAT sends it to a pod,
    // so neither source is a node.
    let f = flow_full(
        Protocol::Tcp,
        ("52.216.1.1:5555", "10.0.1.10:30080"),
        ("10.244.1.11:8080", "52.216.1.1:5555"),
        c(3, 300),
        c(4, 4000),
    );
    let l = fx.labelled(&f);
    assert_eq!(l.local.pod, "web-1");
    assert_eq!((l.remote.ip, l.remote.port), ep("52.216.1.1:5555"));
}

#[test]
fn ipv6_is_checked_before_node_flow() {
    let fx = Fixture::new();
    let mut f = tcp("10.0.1.10:40000", "52.216.1.1:443");
    f.reply.dst = ip("fd00::10");
    assert_eq!(ignored(&fx, &f), IgnoreReason::Ipv6);
}

#[test]
fn conntrack_events_other_than_destroy_are_not_final() {
    let fx = Fixture::new();
    let mut f = tcp("10.244.1.11:1000", "52.216.1.1:443");
    for (ev, want) in [
        (Some(EventKind::New), false),
        (Some(EventKind::Update), false),
        (Some(EventKind::Destroy), true),
        (None, true),
    ] {
        f.event = ev;
        let out = fx.label(&f);
        if want {
            assert!(matches!(out, Outcome::Labelled(_)), "{ev:?}: {out:?}");
        } else {
            assert_eq!(out, Outcome::Ignored(IgnoreReason::EventNotFinal));
        }
    }
    // A NEW event has no counters yet: still event_not_final, not zero_counters.
    f.event = Some(EventKind::New);
    f.orig.counters = None;
    f.reply.counters = None;
    assert_eq!(ignored(&fx, &f), IgnoreReason::EventNotFinal);
}

// ---- §3.4 endpoints ----

#[test]
fn destination_is_the_reply_source_after_dnat() {
    let fx = Fixture::new();
    // web-1 calls the db ClusterIP; DNAT picks db-1 on node-b.
    let f = flow_full(
        Protocol::Tcp,
        ("10.244.1.11:40001", "10.96.0.10:80"),
        ("10.244.2.12:8080", "10.244.1.11:40001"),
        c(6, 399),
        c(5, 697),
    );
    let l = fx.labelled(&f);
    assert_eq!((l.local.ip, l.local.port), ep("10.244.1.11:40001"));
    assert_eq!((l.remote.ip, l.remote.port), ep("10.244.2.12:8080"));
    assert_eq!(l.remote.pod, "db-1");
    assert_eq!(l.remote.node, "node-b");
    assert_eq!(l.class, ConnectionClass::IntraVpc);
}

#[test]
fn snat_reply_destination_is_not_used() {
    let fx = Fixture::new();
    // MASQUERADE: the reply goes to the node IP, but src is still the pod.
    let f = flow_full(
        Protocol::Tcp,
        ("10.244.1.11:40002", "52.216.1.1:443"),
        ("52.216.1.1:443", "10.0.1.10:61000"),
        c(6, 399),
        c(5, 697),
    );
    let l = fx.labelled(&f);
    assert_eq!((l.local.ip, l.local.port), ep("10.244.1.11:40002"));
    assert_eq!(l.local.pod, "web-1");
}

// ---- §3.5 pod lookup ----

#[test]
fn several_live_pods_on_an_ip_are_an_error() {
    let fx = Fixture::new();
    let f = tcp("10.244.1.50:1000", "52.216.1.1:443");
    assert_eq!(
        error(&fx, &f),
        LabelError::MultiplePods {
            ip: ip("10.244.1.50"),
            count: 2
        }
    );
    // On the destination side too.
    let f = tcp("52.216.1.1:1000", "10.244.1.50:443");
    assert_eq!(error(&fx, &f).kind(), ErrorKind::MultiplePods);
}

#[test]
fn finished_pods_are_dropped_when_an_ip_is_reused() {
    let fx = Fixture::new();
    // old-job (Succeeded, on N) and reuser (Running, on node-b) share the IP:
    // reuser wins, so the remote pod is on another node.
    let f = tcp("10.244.1.11:1000", "10.244.1.99:80");
    let l = fx.labelled(&f);
    assert_eq!(l.remote.pod, "reuser");
    assert_eq!(l.remote.node, "node-b");
    assert_eq!(l.remote.availability_zone, "us-east-1b");
}

#[test]
fn a_single_pod_is_used_whatever_its_phase() {
    let fx = Fixture::new();
    let f = tcp("10.244.1.60:1000", "52.216.1.1:443");
    let l = fx.labelled(&f);
    assert_eq!(l.local.pod, "crashed");
}

#[test]
fn only_finished_candidates_means_no_pod() {
    let fx = Fixture::new();
    // No pod on either side -> unknown direction (not multiple_pods).
    let f = tcp("10.244.1.70:1000", "52.216.1.1:443");
    assert_eq!(error(&fx, &f).kind(), ErrorKind::UnknownDirection);
    // With a local pod on the other side, the finished IP is a bare remote.
    let f = tcp("10.244.1.11:1000", "10.244.1.70:443");
    let l = fx.labelled(&f);
    assert_eq!(l.remote.pod, "");
    assert_eq!(l.remote.node, "");
}

// ---- §3.6 direction and §3.7 counters ----

#[test]
fn both_pods_on_n_local_is_src() {
    let fx = Fixture::new();
    let f = tcp("10.244.1.12:1000", "10.244.1.11:80");
    let l = fx.labelled(&f);
    assert_eq!((l.local.pod, l.remote.pod), ("web-2", "web-1"));
    assert_eq!(
        l.out,
        Counters {
            packets: 6,
            bytes: 399
        }
    );
    assert_eq!(
        l.inbound,
        Counters {
            packets: 5,
            bytes: 697
        }
    );
}

#[test]
fn src_pod_on_n_local_is_src() {
    let fx = Fixture::new();
    // Remote is a pod on another node: src still wins.
    let f = tcp("10.244.1.11:1000", "10.244.2.12:80");
    let l = fx.labelled(&f);
    assert_eq!((l.local.pod, l.remote.pod), ("web-1", "db-1"));
    assert_eq!(l.out.bytes, 399);
    assert_eq!(l.inbound.bytes, 697);
}

#[test]
fn dst_pod_on_n_local_is_dst_and_counters_swap() {
    let fx = Fixture::new();
    // db-1 on node-b calls web-1 on N: seen on N, web-1 is local.
    let f = tcp("10.244.2.12:1000", "10.244.1.11:80");
    let l = fx.labelled(&f);
    assert_eq!((l.local.pod, l.remote.pod), ("web-1", "db-1"));
    assert_eq!((l.local.ip, l.local.port), ep("10.244.1.11:80"));
    assert_eq!((l.remote.ip, l.remote.port), ep("10.244.2.12:1000"));
    assert_eq!(
        l.out,
        Counters {
            packets: 5,
            bytes: 697
        }
    );
    assert_eq!(
        l.inbound,
        Counters {
            packets: 6,
            bytes: 399
        }
    );
}

#[test]
fn no_src_pod_and_dst_pod_elsewhere_local_is_src() {
    let fx = Fixture::new();
    let f = tcp("52.216.1.1:1000", "10.244.2.12:80");
    let l = fx.labelled(&f);
    assert_eq!(l.local.ip, ip("52.216.1.1"));
    assert_eq!(l.local.pod, "");
    assert_eq!(l.remote.pod, "db-1");
    assert_eq!(l.out.bytes, 399);
}

#[test]
fn src_pod_elsewhere_and_no_dst_pod_local_is_dst() {
    let fx = Fixture::new();
    let f = tcp("10.244.2.12:1000", "52.216.1.1:443");
    let l = fx.labelled(&f);
    assert_eq!(l.local.ip, ip("52.216.1.1"));
    assert_eq!(l.remote.pod, "db-1");
    assert_eq!(l.out.bytes, 697);
    assert_eq!(l.inbound.bytes, 399);
}

#[test]
fn unknown_direction_cases() {
    let fx = Fixture::new();
    // Neither end known.
    let f = tcp("52.216.1.1:1000", "3.5.1.1:443");
    assert_eq!(
        error(&fx, &f),
        LabelError::UnknownDirection {
            src: ip("52.216.1.1"),
            dst: ip("3.5.1.1")
        }
    );
    // Both ends known pods, both on other nodes.
    let f = tcp("10.244.2.12:1000", "10.244.3.3:443");
    assert_eq!(error(&fx, &f).kind(), ErrorKind::UnknownDirection);
}

// ---- §3.8 attributes ----

#[test]
fn pod_attributes_come_from_labels_and_node() {
    let fx = Fixture::new();
    let f = tcp("10.244.1.11:1000", "10.244.2.12:80");
    let l = fx.labelled(&f);
    let lo = l.local;
    assert_eq!(
        (
            lo.namespace,
            lo.pod,
            lo.instance_id,
            lo.node,
            lo.availability_zone,
            lo.app
        ),
        ("shop", "web-1", "cp-7", N, "us-east-1a", "web")
    );
    // app.kubernetes.io/name wins over k8s-app.
    assert_eq!(l.remote.app, "db");
    assert_eq!(l.remote.instance_id, "");
    // k8s-app is the fallback.
    let l = fx.labelled(&tcp("10.244.1.12:1000", "52.216.1.1:443"));
    assert_eq!(l.local.app, "web2");
}

#[test]
fn zone_is_empty_when_the_node_is_not_in_the_inventory() {
    let fx = Fixture::new();
    let l = fx.labelled(&tcp("10.244.1.11:1000", "10.244.3.3:80"));
    assert_eq!(l.remote.pod, "stray");
    assert_eq!(l.remote.node, "node-c");
    assert_eq!(l.remote.availability_zone, "");
}

// ---- §3.9 remote classification ----

#[test]
fn remote_classes() {
    let fx = Fixture::new();
    let cls = |dst: &str| {
        let l = fx.labelled(&tcp("10.244.1.11:1000", dst));
        (
            l.class,
            l.remote_cloud(),
            l.remote_region(),
            l.remote_service(),
        )
    };
    assert_eq!(
        cls("10.244.2.12:80"),
        (ConnectionClass::IntraVpc, "aws", "us-east-1", "")
    );
    assert_eq!(
        cls("169.254.169.254:80"),
        (ConnectionClass::IntraVpc, "aws", "us-east-1", "")
    );
    assert_eq!(
        cls("52.216.1.1:443"),
        (ConnectionClass::IntraRegion, "aws", "us-east-1", "s3")
    );
    assert_eq!(
        cls("15.0.0.1:443"),
        (ConnectionClass::IntraRegion, "aws", "global", "amazon")
    );
    assert_eq!(
        cls("3.5.1.1:443"),
        (ConnectionClass::InterRegion, "aws", "eu-west-1", "amazon")
    );
    assert_eq!(
        cls("34.1.208.1:443"),
        (
            ConnectionClass::PublicInternet,
            "gcp",
            "us-east1",
            "googlecloud"
        )
    );
    assert_eq!(
        cls("8.8.8.8:53"),
        (ConnectionClass::PublicInternet, "", "", "")
    );
}

#[test]
fn same_cloud_prefix_without_region_is_an_error() {
    let fx = Fixture::new();
    let e = error(&fx, &tcp("10.244.1.11:1000", "16.0.0.9:443"));
    assert_eq!(e.kind(), ErrorKind::SameCloudEmptyRegion);
    assert!(e.to_string().contains("16.0.0.0/16"), "{e}");
}

#[test]
fn private_cidr_makes_a_remote_intra_vpc() {
    let mut fx = Fixture::new();
    assert_eq!(
        fx.labelled(&tcp("10.244.1.11:1000", "100.64.1.1:443"))
            .class,
        ConnectionClass::PublicInternet
    );
    fx.private = PrivateNets::with_extra(["100.64.0.0/10".parse().unwrap()]);
    assert_eq!(
        fx.labelled(&tcp("10.244.1.11:1000", "100.64.1.1:443"))
            .class,
        ConnectionClass::IntraVpc
    );
}

#[test]
fn the_remote_side_is_classified_not_the_local_one() {
    let fx = Fixture::new();
    // Local is the external address (no src pod, dst pod elsewhere): the
    // remote is the pod, a private address.
    let l = fx.labelled(&tcp("52.216.1.1:1000", "10.244.2.12:80"));
    assert_eq!(l.class, ConnectionClass::IntraVpc);
}

// ---- time ----

#[test]
fn observation_time_prefers_event_timestamps_unless_fixed() {
    let fx = Fixture::new();
    let mut f = tcp("10.244.1.11:1000", "52.216.1.1:443");
    assert_eq!(fx.labelled(&f).observed_at, 1_700_000_000);
    f.timestamp = Some(1_700_000_123);
    assert_eq!(fx.labelled(&f).observed_at, 1_700_000_123);
    let ctx = Context {
        time: TimeSource::Fixed(42),
        ..fx.ctx()
    };
    match label_flow(&f, &ctx) {
        Outcome::Labelled(l) => assert_eq!(l.observed_at, 42),
        o => panic!("{o:?}"),
    }
}

#[test]
fn node_name_decides_what_is_local() {
    let fx = Fixture::new();
    // The same flow seen on node-b: db-1 is the local pod there.
    let f = tcp("10.244.1.11:1000", "10.244.2.12:80");
    let ctx = Context {
        node: "node-b",
        ..fx.ctx()
    };
    match label_flow(&f, &ctx) {
        Outcome::Labelled(l) => {
            assert_eq!(l.local.pod, "db-1");
            assert_eq!(l.out.bytes, 697);
        }
        o => panic!("{o:?}"),
    }
}

// SPEC §6: zones, locations and connection flags.
mod section6;
