//! Rows per second written by the CSV and Parquet sinks, on synthetic
//! labelled flows shaped like a busy node's: a few hundred pods, a few
//! thousand remote addresses, one observation time. Parquet in both
//! schemas (`--schema dual`'s IPv6 address columns).
//!
//! `cargo bench --bench output`

use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubenetmon::model::{
    Cloud, ConnectionClass, Counters, Endpoint, FlagNames, FlagSet, LabelledFlow, LocalSite,
    Protocol, RemoteSite, RunMeta,
};
use kubenetmon::output::{open_path, Schema};

const FLOWS: usize = 200_000;
const BATCH: usize = 4096;

struct Names {
    pods: Vec<String>,
    nodes: Vec<String>,
    apps: Vec<String>,
}

fn names() -> Names {
    Names {
        pods: (0..300)
            .map(|i| format!("app-{}-7d9f8c6b5-{i:05}", i % 40))
            .collect(),
        nodes: (0..20)
            .map(|i| format!("ip-10-0-{i}-5.ec2.internal"))
            .collect(),
        apps: (0..40).map(|i| format!("app-{i}")).collect(),
    }
}

fn flows(n: &Names) -> Vec<LabelledFlow<'_>> {
    (0..FLOWS)
        .map(|i| {
            let p = i % n.pods.len();
            let mut local = Endpoint::bare(
                IpAddr::V4(Ipv4Addr::from(0x0af4_0000 + p as u32)),
                (1024 + i % 60_000) as u16,
            );
            local.pod = &n.pods[p];
            local.namespace = "shop";
            local.node = &n.nodes[0];
            local.availability_zone = "us-east-1a";
            local.app = &n.apps[p % n.apps.len()];
            let class = ConnectionClass::ALL[i % 4];
            let mut remote = Endpoint::bare(
                IpAddr::V4(Ipv4Addr::from(0x34d8_0000 + (i % 5000) as u32)),
                443,
            );
            if class == ConnectionClass::IntraVpc {
                let q = (i * 7) % n.pods.len();
                remote.pod = &n.pods[q];
                remote.namespace = "shop";
                remote.node = &n.nodes[q % n.nodes.len()];
                remote.app = &n.apps[q % n.apps.len()];
            }
            LabelledFlow {
                observed_at: 1_700_000_000,
                proto: if i % 5 == 0 {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                },
                class,
                local,
                remote,
                remote_site: RemoteSite::from_text(
                    "aws",
                    "us-east-1",
                    if class == ConnectionClass::IntraRegion {
                        "s3"
                    } else {
                        ""
                    },
                ),
                flags: FlagSet::EMPTY,
                out: Counters {
                    packets: 10 + i as u64 % 100,
                    bytes: 1000 + i as u64 * 3,
                },
                inbound: Counters {
                    packets: 12,
                    bytes: 64_000 + i as u64,
                },
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let n = names();
    let flows = flows(&n);
    let meta = RunMeta {
        environment: "production".into(),
        local: LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        },
        cluster: "prod-1".into(),
        interval_seconds: 60,
        flag_names: FlagNames::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("output");
    group.sample_size(10);
    group.throughput(Throughput::Elements(2 * FLOWS as u64));
    for (name, file, schema) in [
        ("rows.csv", "rows.csv", Schema::Upstream),
        ("rows.parquet", "rows.parquet", Schema::Upstream),
        ("rows.parquet (dual)", "dual.parquet", Schema::Dual),
        ("rows.csv.zst", "rows.csv.zst", Schema::Upstream),
    ] {
        let path = dir.path().join(file);
        group.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |()| {
                    let mut sink = open_path(&path, None, schema, &meta).unwrap();
                    for chunk in flows.chunks(BATCH) {
                        sink.write_batch(chunk).unwrap();
                    }
                    sink.finish().unwrap().commit().unwrap()
                },
                BatchSize::PerIteration,
            )
        });
        if let Ok(m) = std::fs::metadata(&path) {
            eprintln!("{name}: {} bytes for {} rows", m.len(), 2 * FLOWS);
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
