//! Times one sink on N synthetic flows (2N rows): `cargo run --release
//! --example time_sinks -- OUT.{csv,parquet,csv.zst} [FLOWS]`. Prints wall
//! time and the process's CPU time (user+sys) spent in the sink.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use kubenetmon::model::{ConnectionClass, Counters, Endpoint, LabelledFlow, Protocol, RunMeta};
use kubenetmon::output::create_sink;

fn cpu_seconds() -> f64 {
    // utime + stime from /proc/self/stat, in clock ticks (100 Hz on Linux)
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().expect("OUT path"));
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let pods: Vec<String> = (0..300)
        .map(|i| format!("app-{}-7d9f8c6b5-{i:05}", i % 40))
        .collect();
    let nodes: Vec<String> = (0..20)
        .map(|i| format!("ip-10-0-{i}-5.ec2.internal"))
        .collect();
    let apps: Vec<String> = (0..40).map(|i| format!("app-{i}")).collect();
    let flows: Vec<LabelledFlow<'_>> = (0..n)
        .map(|i| {
            let p = i % pods.len();
            let mut local = Endpoint::bare(
                IpAddr::V4(Ipv4Addr::from(0x0af4_0000 + p as u32)),
                (1024 + i % 60_000) as u16,
            );
            local.pod = &pods[p];
            local.namespace = "shop";
            local.node = &nodes[0];
            local.availability_zone = "us-east-1a";
            local.app = &apps[p % apps.len()];
            let class = ConnectionClass::ALL[i % 4];
            let mut remote = Endpoint::bare(
                IpAddr::V4(Ipv4Addr::from(0x34d8_0000 + (i % 5000) as u32)),
                443,
            );
            if class == ConnectionClass::IntraVpc {
                let q = (i * 7) % pods.len();
                remote.pod = &pods[q];
                remote.namespace = "shop";
                remote.node = &nodes[q % nodes.len()];
                remote.app = &apps[q % apps.len()];
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
                remote_cloud: "aws",
                remote_region: "us-east-1",
                remote_service: if class == ConnectionClass::IntraRegion {
                    "s3"
                } else {
                    ""
                },
                out: Counters {
                    packets: 10,
                    bytes: 1000 + i as u64 * 3,
                },
                inbound: Counters {
                    packets: 12,
                    bytes: 64_000 + i as u64,
                },
            }
        })
        .collect();
    let meta = RunMeta {
        environment: "production".into(),
        local_cloud: "aws".into(),
        local_region: "us-east-1".into(),
        local_cluster: "prod-1".into(),
        interval_seconds: 60,
    };
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let mut sink = create_sink(&out, None, &meta)?;
    for chunk in flows.chunks(4096) {
        sink.write_batch(chunk)?;
    }
    let rows = sink.finish()?;
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    println!(
        "{}: {rows} rows, {:.3} s wall, {:.2} s cpu, {:.2} M rows/s wall, {} bytes",
        out.display(),
        wall,
        cpu,
        rows as f64 / wall / 1e6,
        std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0)
    );
    Ok(())
}
