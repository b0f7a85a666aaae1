//! Labelling throughput (SPEC §3), excluding I/O.
//!
//! `label_flow`: flows already parsed, one core. `parse_and_label`: the
//! pipeline over an in-memory dump (parse + label, all cores, no sink).
//! Run: `cargo bench --bench label`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use kubenetmon::conntrack::{Flow, Tuple};
use kubenetmon::inventory::{Inventory, Node, Pod, PodPhase};
use kubenetmon::label::pipeline::{run_dump, Options, Quiet};
use kubenetmon::label::{
    label_flow, Context, FlagConfig, FlagRules, LabelIndex, LocalSite, Locations, Outcome,
    PrivateNets, TimeSource,
};
use kubenetmon::model::{Cloud, Counters, Protocol};
use kubenetmon::ranges::{Detail, RangeTable};
use kubenetmon::zones::{ZoneMap, ZoneMapBuilder};

const NODES: u32 = 50;
const PODS_PER_NODE: u32 = 100;
const FLOWS: usize = 100_000;

fn pod_ip(node: u32, i: u32) -> Ipv4Addr {
    Ipv4Addr::new(
        10,
        200 + (node / 250) as u8,
        (node % 250) as u8,
        (i + 2) as u8,
    )
}

fn inventory() -> Inventory {
    let mut pods = Vec::new();
    let mut nodes = Vec::new();
    for n in 0..NODES {
        let name = format!("node-{n}");
        nodes.push(Node {
            name: name.clone(),
            labels: BTreeMap::from([(
                "topology.kubernetes.io/zone".to_string(),
                format!("us-east-1{}", ["a", "b", "c"][n as usize % 3]),
            )]),
            provider_id: format!("aws:///us-east-1a/i-{n:017x}"),
            internal_ips: vec![IpAddr::V4(Ipv4Addr::new(
                10,
                0,
                (n / 250) as u8,
                (n % 250) as u8,
            ))],
        });
        for i in 0..PODS_PER_NODE {
            pods.push(Pod {
                name: format!("app-{n}-{i}"),
                namespace: format!("ns-{}", i % 10),
                labels: BTreeMap::from([(
                    "app.kubernetes.io/name".to_string(),
                    format!("app-{}", i % 20),
                )]),
                node_name: name.clone(),
                host_network: false,
                phase: PodPhase::Running,
                ips: vec![IpAddr::V4(pod_ip(n, i))],
            });
        }
    }
    Inventory::from_objects(pods, nodes, vec![]).unwrap()
}

fn table() -> RangeTable {
    // A few thousand public prefixes, as in the real AWS file's order of magnitude.
    let mut entries = Vec::new();
    for a in 1..=200u8 {
        for b in (0..=255u8).step_by(16) {
            let region = ["us-east-1", "eu-west-1", "global"][(a as usize + b as usize) % 3];
            entries.push((
                format!("{a}.{b}.0.0/16").parse().unwrap(),
                Detail {
                    cloud: if a % 5 == 0 { Cloud::Gcp } else { Cloud::Aws },
                    service: "amazon".into(),
                    region: region.into(),
                },
            ));
        }
    }
    RangeTable::from_entries(entries)
}

/// A mix like a busy node's: pod→internet, pod→pod, inbound, node flows, UDP.
fn flows() -> Vec<Flow> {
    let mut out = Vec::with_capacity(FLOWS);
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for k in 0..FLOWS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let me = IpAddr::V4(pod_ip(0, (x % PODS_PER_NODE as u64) as u32));
        let peer = match k % 4 {
            0 | 1 => IpAddr::V4(Ipv4Addr::new(
                (x >> 8) as u8 % 200 + 1,
                (x >> 16) as u8,
                3,
                4,
            )),
            2 => IpAddr::V4(pod_ip(
                (x >> 20) as u32 % NODES,
                (x >> 28) as u32 % PODS_PER_NODE,
            )),
            _ => IpAddr::V4(Ipv4Addr::new(10, 0, 0, (x >> 8) as u8 % NODES as u8)),
        };
        let c = |p, b| {
            Some(Counters {
                packets: p,
                bytes: b,
            })
        };
        let orig = Tuple {
            src: me,
            dst: peer,
            sport: Some(30000 + (k % 20000) as u16),
            dport: Some(443),
            counters: c(10, 1000 + k as u64),
        };
        let reply = Tuple {
            src: peer,
            dst: me,
            sport: Some(443),
            dport: orig.sport,
            counters: c(12, 20000),
        };
        let proto = if k % 10 == 0 {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        out.push(Flow::new(k as u64 + 1, proto, orig, reply));
    }
    out
}

fn dump_text(flows: &[Flow]) -> String {
    let mut s = String::with_capacity(flows.len() * 220);
    for f in flows {
        let (o, r) = (f.orig, f.reply);
        let oc = o.counters.unwrap();
        let rc = r.counters.unwrap();
        s += &format!(
            "{} {:>6} 117 {}src={} dst={} sport={} dport={} packets={} bytes={} src={} dst={} sport={} dport={} packets={} bytes={} [ASSURED] mark=0 use=1\n",
            f.protocol.as_str(),
            f.protocol.number(),
            if f.protocol == Protocol::Tcp { "TIME_WAIT " } else { "" },
            o.src, o.dst, o.sport.unwrap(), o.dport.unwrap(), oc.packets, oc.bytes,
            r.src, r.dst, r.sport.unwrap(), r.dport.unwrap(), rc.packets, rc.bytes,
        );
    }
    s
}

fn bench(c: &mut Criterion) {
    let inv = inventory();
    let index = LabelIndex::new(&inv);
    let table = table();
    let local = LocalSite {
        cloud: Cloud::Aws,
        region: "us-east-1".into(),
    };
    let private = PrivateNets::upstream();
    let ctx = Context {
        node: "node-0",
        index: &index,
        table: &table,
        local: &local,
        private: &private,
        zones: &ZoneMap::default(),
        locations: &Locations::none(),
        flags: &FlagRules::none(),
        ignore_udp: false,
        time: TimeSource::Fixed(1_700_000_000),
    };
    let flows = flows();
    let labelled = flows
        .iter()
        .filter(|f| matches!(label_flow(f, &ctx), Outcome::Labelled(_)))
        .count();
    eprintln!("label bench: {labelled} of {} flows labelled", flows.len());

    let mut g = c.benchmark_group("label");
    g.throughput(Throughput::Elements(flows.len() as u64));
    g.bench_function("label_flow", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for f in &flows {
                if let Outcome::Labelled(l) = label_flow(black_box(f), &ctx) {
                    n += l.out.bytes;
                }
            }
            n
        })
    });
    // SPEC §6 on: 32 subnets in three zones, a location, CROSS_AZ,
    // NAT_GATEWAY with a gateway endpoint and a user flag.
    let mut zb = ZoneMapBuilder::new();
    for i in 0..16u8 {
        let zone = ["us-east-1a", "us-east-1b", "us-east-1c"][i as usize % 3];
        zb.add_spec(&format!("10.0.{}.0/20={zone}", i * 16).parse().unwrap())
            .unwrap();
        zb.add_spec(
            &format!("10.{}.{}.0/20={zone}", 200 + i / 4, (i % 4) * 64)
                .parse()
                .unwrap(),
        )
        .unwrap();
    }
    let zones = zb.build();
    let locations = Locations::new(&["192.168.0.0/16=onprem/dc1".parse().unwrap()]).unwrap();
    let flags = FlagRules::new(&FlagConfig {
        cross_az: true,
        nat_gateway: true,
        gateway_endpoints: vec!["s3".into()],
        user: vec!["NLB=10.0.100.0/24".parse().unwrap()],
    })
    .unwrap();
    let ctx6 = Context {
        zones: &zones,
        locations: &locations,
        flags: &flags,
        ..ctx
    };
    g.bench_function("label_flow_section6", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for f in &flows {
                if let Outcome::Labelled(l) = label_flow(black_box(f), &ctx6) {
                    n += l.out.bytes + u64::from(l.flags.len() as u8);
                }
            }
            n
        })
    });
    let text = dump_text(&flows);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("parse_and_label", |b| {
        b.iter(|| {
            run_dump(
                text.as_bytes(),
                "bench",
                Some(&ctx),
                None,
                Options::for_threads(rayon::current_num_threads()),
                &mut Quiet,
            )
            .unwrap()
            .labelled
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
