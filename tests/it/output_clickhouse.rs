//! Runs tests/clickhouse_compat.py (a real, embedded ClickHouse via the
//! `chdb` Python package) on files written by the sinks, and on the real
//! binary's output for the bundled demo. Without python3 and chdb it skips,
//! except under CI=true, where it fails (support::require).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

use kubenetmon::model::{
    Cloud, ConnectionClass, Counters, Endpoint, FlagNames, FlagSet, LabelledFlow, LocalSite,
    Protocol, RemoteSite, RunMeta,
};
use kubenetmon::output::{open_path, Schema};

use crate::support;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clickhouse_compat.py");

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import chdb"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    support::require("python3 with the chdb package (pip install chdb)", ok).then_some("python3")
}

fn run(args: &[&str]) {
    let Some(py) = python() else { return };
    let out = support::isolated(py)
        .arg(SCRIPT)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "clickhouse_compat.py failed:\n{text}");
    assert!(text.contains("PASSED"), "{text}");
}

#[test]
fn sink_files_load_into_clickhouse() {
    sink_files(Schema::Upstream);
}

/// SPEC §7: the sinks' dual-schema files (IPv4 as IPv4-mapped, IPv6 in
/// every third flow) load into `network_flows_dual`, addresses intact.
#[test]
fn dual_sink_files_load_into_clickhouse() {
    sink_files(Schema::Dual);
}

fn sink_files(schema: Schema) {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let meta = RunMeta {
        environment: "staging".into(),
        local: LocalSite {
            cloud: Cloud::Gcp,
            region: "europe-west3".into(),
        },
        cluster: "lab, \"west\"".into(),
        interval_seconds: 300,
        flag_names: FlagNames::default(),
    };
    let pods: Vec<String> = (0..17).map(|i| format!("api-{i}")).collect();
    let mut totals = [[0u64; 2]; 4];
    let flows: Vec<LabelledFlow<'_>> = (0..2500)
        .map(|i| {
            let class = ConnectionClass::ALL[i % 4];
            let mut local = Endpoint::bare(
                IpAddr::V4(Ipv4Addr::new(10, 8, (i % 4) as u8, (i % 200) as u8)),
                (i % 3) as u16 * 30_000,
            );
            local.pod = &pods[i % pods.len()];
            local.namespace = "api";
            local.app = if i % 2 == 0 { "api" } else { "" };
            let mut remote = Endpoint::bare(
                IpAddr::V4(Ipv4Addr::new(34, 107, (i % 90) as u8, 1)),
                65_535,
            );
            if schema == Schema::Dual && i % 3 == 0 {
                local.ip = IpAddr::V6(Ipv6Addr::new(
                    0x2600, 0x1f18, 0x4a1, 0xc701, 0, 0, 0, i as u16,
                ));
                remote.ip =
                    IpAddr::V6(Ipv6Addr::new(0x2a05, 0xd018, 0, 0, 0, 0, (i % 7) as u16, 1));
            }
            if class == ConnectionClass::IntraVpc {
                remote.pod = &pods[(i * 5) % pods.len()];
            }
            // every 11th flow sends nothing back; every 23rd is all zero
            let out = Counters {
                packets: if i % 23 == 0 { 0 } else { 1 + (i % 9) as u64 },
                bytes: if i % 23 == 0 { 0 } else { 60 * (1 + i as u64) },
            };
            let inbound = if i % 11 == 0 || i % 23 == 0 {
                Counters::default()
            } else {
                Counters {
                    packets: 2,
                    bytes: u64::from(u32::MAX) + i as u64,
                }
            };
            totals[class.index()][0] += out.bytes;
            totals[class.index()][1] += inbound.bytes;
            LabelledFlow {
                observed_at: now - 7200 + (i as i64 * 7) % 3600,
                proto: if i % 5 == 0 {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                },
                class,
                local,
                remote,
                remote_site: RemoteSite::from_text(
                    if class == ConnectionClass::PublicInternet {
                        ""
                    } else {
                        "gcp"
                    },
                    "europe-west3",
                    if class == ConnectionClass::IntraRegion {
                        "gcs"
                    } else {
                        ""
                    },
                ),
                flags: FlagSet::EMPTY,
                out,
                inbound,
            }
        })
        .collect();
    let mut rows = 0;
    for name in ["flows.csv", "flows.parquet"] {
        let mut sink = open_path(&dir.path().join(name), None, schema, &meta).unwrap();
        for chunk in flows.chunks(1000) {
            sink.write_batch(chunk).unwrap();
        }
        rows = sink.finish().unwrap().commit().unwrap();
    }
    let bytes: serde_json::Map<String, serde_json::Value> = ConnectionClass::ALL
        .iter()
        .map(|c| {
            let [o, i] = totals[c.index()];
            (
                c.as_str().to_string(),
                serde_json::json!({"out": o, "in": i}),
            )
        })
        .collect();
    let summary = dir.path().join("summary.json");
    std::fs::write(
        &summary,
        serde_json::json!({"rows": rows, "bytes": bytes}).to_string(),
    )
    .unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    run(&[
        "--files",
        &p("flows.csv"),
        &p("flows.parquet"),
        summary.to_str().unwrap(),
    ]);
}

#[test]
fn demo_output_loads_into_clickhouse() {
    run(&[env!("CARGO_BIN_EXE_kubenetmon")]);
}

/// SPEC §7: the demo's IPv4 rows under `--schema dual` (all IPv4-mapped).
#[test]
fn demo_dual_output_loads_into_clickhouse() {
    run(&[env!("CARGO_BIN_EXE_kubenetmon"), "--", "--schema", "dual"]);
}

/// SPEC §7: the real dual-stack dump's rows, both schemas, into their tables.
#[test]
fn ipv6_dump_loads_into_both_tables() {
    let bin = env!("CARGO_BIN_EXE_kubenetmon");
    run(&[bin, "--ipv6", "--", "--schema", "dual"]);
    run(&[bin, "--ipv6"]);
}
