//! Writes the same synthetic labelled flows as CSV and Parquet, plus a
//! summary JSON with the per-class byte totals, for checking the output
//! against a real ClickHouse (`tests/clickhouse_compat.py --files ...`)
//! before any dump is involved.
//!
//! Usage: cargo run --example write_sample -- OUTDIR [FLOWS] [UNIX_TIME]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use kubenetmon::model::{
    Cloud, ConnectionClass, Counters, Endpoint, FlagNames, FlagSet, LabelledFlow, LocalSite,
    Protocol, RemoteSite, RunMeta,
};
use kubenetmon::output::{open_path, Schema};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let flows: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let start: i64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(now.as_secs() as i64 - 3600);
    std::fs::create_dir_all(&dir)?;

    let meta = RunMeta {
        environment: "production".into(),
        local: LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        },
        // exercises CSV quoting through ClickHouse
        cluster: "lab, \"west\"".into(),
        interval_seconds: 60,
        flag_names: FlagNames::default(),
    };
    let names: Vec<String> = (0..50).map(|i| format!("web-{i}")).collect();
    let classes = ConnectionClass::ALL;
    let mut list = Vec::with_capacity(flows);
    let mut bytes = [[0u64; 2]; 4];
    for i in 0..flows {
        let class = classes[i % 4];
        let out = Counters {
            packets: (i % 7) as u64,
            bytes: if i % 13 == 0 { 0 } else { (i as u64) * 101 },
        };
        let inbound = Counters {
            packets: (i % 5) as u64,
            bytes: if i % 5 == 0 { 0 } else { (i as u64) * 37 + 1 },
        };
        let out = if out.bytes == 0 {
            Counters::default()
        } else {
            out
        };
        let inbound = if inbound.bytes == 0 {
            Counters::default()
        } else {
            inbound
        };
        bytes[class.index()][0] += out.bytes;
        bytes[class.index()][1] += inbound.bytes;
        let mut local = Endpoint::bare(
            IpAddr::V4(Ipv4Addr::new(10, 244, (i % 3) as u8, (i % 250) as u8)),
            30_000 + (i % 30_000) as u16,
        );
        local.namespace = "shop";
        local.pod = &names[i % names.len()];
        local.node = "ip-10-0-1-5.ec2.internal";
        local.availability_zone = "us-east-1a";
        local.app = "web";
        local.instance_id = if i % 2 == 0 { "cp-1" } else { "" };
        let remote = Endpoint::bare(
            IpAddr::V4(Ipv4Addr::new(52, 216, (i % 200) as u8, 20)),
            if i % 9 == 0 { 0 } else { 443 },
        );
        let (cloud, region, service) = match class {
            ConnectionClass::IntraVpc => ("aws", "us-east-1", ""),
            ConnectionClass::IntraRegion => ("aws", "us-east-1", "s3"),
            ConnectionClass::InterRegion => ("aws", "eu-west-1", "ec2"),
            ConnectionClass::PublicInternet => ("", "", ""),
        };
        list.push(LabelledFlow {
            observed_at: start + (i as i64 % 600),
            proto: if i % 3 == 0 {
                Protocol::Udp
            } else {
                Protocol::Tcp
            },
            class,
            local,
            remote,
            remote_site: RemoteSite::from_text(cloud, region, service),
            flags: FlagSet::EMPTY,
            out,
            inbound,
        });
    }
    let mut rows = 0;
    for name in ["sample.csv", "sample.parquet"] {
        let mut sink = open_path(&dir.join(name), None, Schema::Upstream, &meta)?;
        for chunk in list.chunks(4096) {
            sink.write_batch(chunk)?;
        }
        rows = sink.finish()?.commit()?;
    }
    let mut by_class = serde_json::Map::new();
    for c in classes {
        let [o, i] = bytes[c.index()];
        by_class.insert(c.as_str().into(), serde_json::json!({"out": o, "in": i}));
    }
    let summary = serde_json::json!({"labelled": flows, "rows": rows, "bytes": by_class});
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    eprintln!("wrote {rows} rows to {}", dir.display());
    Ok(())
}
