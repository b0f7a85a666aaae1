//! `kubenetmon label` end to end: the bundled demo (real conntrack dumps)
//! and small hand-written fixtures in testdata/label/.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{self, kubenetmon};

const NODE_A: &str = "ip-10-0-1-10.ec2.internal";
const NODE_B: &str = "ip-10-0-2-20.ec2.internal";
/// 2023-11-14T22:13:20Z
const T0: &str = "1700000000";

fn demo(rel: &str) -> String {
    support::testdata("demo").join(rel).display().to_string()
}

fn fixture(rel: &str) -> String {
    support::testdata("label").join(rel).display().to_string()
}

fn dump_a() -> String {
    demo(&format!("dumps/{NODE_A}.txt"))
}

fn dump_b() -> String {
    demo(&format!("dumps/{NODE_B}.txt"))
}

/// `kubenetmon label` with the demo inventory and ranges.
fn label() -> Command {
    let mut c = kubenetmon();
    c.arg("label")
        .args(["--inventory", &demo("inventory.json")])
        .args(["--ranges", &demo("ranges")]);
    c
}

/// CSV text → header-keyed rows.
fn rows(csv: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The columns that say what a row is about, in a compact form.
fn key(r: &std::collections::HashMap<String, String>) -> String {
    format!(
        "{} {} {} {}:{}/{} -> {}:{}/{} {} {}/{}/{} {} {}",
        r["proto"],
        r["connectionClass"],
        r["direction"],
        r["localIPv4"],
        r["localPort"],
        r["localPod"],
        r["remoteIPv4"],
        r["remotePort"],
        r["remotePod"],
        r["remoteCloudService"],
        r["remoteCloud"],
        r["remoteRegion"],
        r["remoteAvailabilityZone"],
        r["bytes"],
        r["packets"],
    )
}

#[test]
fn demo_directory_gives_every_class_with_exact_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.csv");
    let summary = dir.path().join("summary.json");
    label()
        .arg(demo("dumps"))
        .args(["--timestamp", T0, "--environment", "production"])
        .args(["--cluster", "demo"])
        .arg("-o")
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("16 lines, 16 flows, 0 malformed"));
    let text = fs::read_to_string(&out).unwrap();
    let rows = rows(&text);
    assert_eq!(rows.len(), 24);
    let keys: Vec<String> = rows.iter().map(key).collect();
    // Input order: node a's dump, line by line, then node b's.
    let want = [
        "udp INTRA_VPC out 10.244.1.11:41007/web-7d9f8-abcde -> 10.244.2.53:53/coredns-6f8d9-klmno  aws/us-east-1/us-east-1b 68 1",
        "udp INTRA_VPC in 10.244.1.11:41007/web-7d9f8-abcde -> 10.244.2.53:53/coredns-6f8d9-klmno  aws/us-east-1/us-east-1b 108 1",
        "udp PUBLIC_INTERNET out 10.244.1.12:41008/web-canary-5c6d7-fghij -> 203.0.113.9:9999/  // 48 1",
        "udp PUBLIC_INTERNET in 10.244.1.12:41008/web-canary-5c6d7-fghij -> 203.0.113.9:9999/  // 0 0",
        "tcp PUBLIC_INTERNET out 10.244.1.11:8080/web-7d9f8-abcde -> 198.51.100.7:41010/ googlecloud gcp/us-central1/ 1068 5",
        "tcp PUBLIC_INTERNET in 10.244.1.11:8080/web-7d9f8-abcde -> 198.51.100.7:41010/ googlecloud gcp/us-central1/ 338 5",
        "tcp PUBLIC_INTERNET out 10.244.1.12:41004/web-canary-5c6d7-fghij -> 203.0.113.9:80/  // 318 5",
        "tcp PUBLIC_INTERNET in 10.244.1.12:41004/web-canary-5c6d7-fghij -> 203.0.113.9:80/  // 1768 5",
        "tcp INTER_REGION out 10.244.1.11:41002/web-7d9f8-abcde -> 192.0.2.200:443/ amazon aws/eu-west-1/ 468 5",
        "tcp INTER_REGION in 10.244.1.11:41002/web-7d9f8-abcde -> 192.0.2.200:443/ amazon aws/eu-west-1/ 5268 5",
        "tcp INTRA_REGION out 10.244.1.11:41001/web-7d9f8-abcde -> 192.0.2.10:443/ s3 aws/us-east-1/ 672 7",
        "tcp INTRA_REGION in 10.244.1.11:41001/web-7d9f8-abcde -> 192.0.2.10:443/ s3 aws/us-east-1/ 20372 7",
        "tcp PUBLIC_INTERNET out 10.244.1.12:41003/web-canary-5c6d7-fghij -> 198.51.100.7:443/ googlecloud gcp/us-central1/ 368 5",
        "tcp PUBLIC_INTERNET in 10.244.1.12:41003/web-canary-5c6d7-fghij -> 198.51.100.7:443/ googlecloud gcp/us-central1/ 3268 5",
        "tcp INTRA_VPC out 10.244.1.11:41005/web-7d9f8-abcde -> 10.244.1.12:8080/web-canary-5c6d7-fghij  aws/us-east-1/us-east-1a 388 5",
        "tcp INTRA_VPC in 10.244.1.11:41005/web-7d9f8-abcde -> 10.244.1.12:8080/web-canary-5c6d7-fghij  aws/us-east-1/us-east-1a 868 5",
        "tcp INTRA_VPC out 10.244.1.11:41006/web-7d9f8-abcde -> 10.244.2.12:8080/postgres-0  aws/us-east-1/us-east-1b 470 6",
        "tcp INTRA_VPC in 10.244.1.11:41006/web-7d9f8-abcde -> 10.244.2.12:8080/postgres-0  aws/us-east-1/us-east-1b 4216 4",
        "udp INTRA_VPC out 10.244.2.53:53/coredns-6f8d9-klmno -> 10.244.1.11:41007/web-7d9f8-abcde  aws/us-east-1/us-east-1a 108 1",
        "udp INTRA_VPC in 10.244.2.53:53/coredns-6f8d9-klmno -> 10.244.1.11:41007/web-7d9f8-abcde  aws/us-east-1/us-east-1a 68 1",
        "tcp INTRA_REGION out 10.244.2.12:41009/postgres-0 -> 192.0.2.10:443/ s3 aws/us-east-1/ 824 8",
        "tcp INTRA_REGION in 10.244.2.12:41009/postgres-0 -> 192.0.2.10:443/ s3 aws/us-east-1/ 20320 6",
        "tcp INTRA_VPC out 10.244.2.12:8080/postgres-0 -> 10.244.1.11:41006/web-7d9f8-abcde  aws/us-east-1/us-east-1a 4216 4",
        "tcp INTRA_VPC in 10.244.2.12:8080/postgres-0 -> 10.244.1.11:41006/web-7d9f8-abcde  aws/us-east-1/us-east-1a 470 6",
    ];
    assert_eq!(keys, want);
    // Per-run and per-dump columns.
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["date"], "2023-11-14");
        assert_eq!(r["intervalStartTime"], "2023-11-14 22:13:00");
        assert_eq!(r["intervalSeconds"], "60");
        assert_eq!(r["environment"], "production");
        assert_eq!(r["localCloud"], "aws");
        assert_eq!(r["localRegion"], "us-east-1");
        assert_eq!(r["localCluster"], "demo");
        assert_eq!(r["remoteCluster"], "UNKNOWN");
        // §6.3: CROSS_AZ (on by default) where both zones are known.
        let zones = (
            r["localAvailabilityZone"].as_str(),
            r["remoteAvailabilityZone"].as_str(),
        );
        let flags = match zones {
            ("", _) | (_, "") => "{}",
            (a, b) if a == b => "{'CROSS_AZ':false}",
            _ => "{'CROSS_AZ':true}",
        };
        assert_eq!(r["connectionFlags"], flags, "row {i}");
        let node = if i < 18 { NODE_A } else { NODE_B };
        assert_eq!(r["localNode"], node);
    }
    let flagged = |f: &str| rows.iter().filter(|r| r["connectionFlags"] == f).count();
    // a→b: web-1→coredns, web-1→postgres (on both nodes); a→a: web-1→web-canary.
    assert_eq!(
        (flagged("{'CROSS_AZ':true}"), flagged("{'CROSS_AZ':false}")),
        (8, 2)
    );
    // Pod attributes (§3.8): instance id, app from app.kubernetes.io/name or k8s-app, zone.
    let web = &rows[0];
    assert_eq!(
        (
            web["localNamespace"].as_str(),
            web["localInstanceID"].as_str(),
            web["localApp"].as_str(),
            web["localAvailabilityZone"].as_str()
        ),
        ("shop", "cp-shop-1", "web", "us-east-1a")
    );
    assert_eq!(web["remoteApp"], "kube-dns");
    assert_eq!(web["remoteNamespace"], "kube-system");
    assert_eq!(rows[2]["localApp"], "web-canary");

    let s = read_json(&summary);
    assert_eq!(s["lines"], 16);
    assert_eq!(s["flows"], 16);
    assert_eq!(s["malformed"], 0);
    assert_eq!(s["ignored"]["protocol"], 1);
    assert_eq!(s["ignored"]["loopback"], 1);
    assert_eq!(s["ignored"]["node_flow"], 2);
    for k in ["zero_counters", "udp_ignored", "ipv6", "event_not_final"] {
        assert_eq!(s["ignored"][k], 0, "{k}");
    }
    for k in [
        "unknown_direction",
        "multiple_pods",
        "same_cloud_empty_region",
    ] {
        assert_eq!(s["errors"][k], 0, "{k}");
    }
    assert_eq!(s["labelled"], 12);
    assert_eq!(s["rows"], 24);
    // The summary's bytes equal the sums over the rows.
    for class in [
        "INTRA_VPC",
        "INTRA_REGION",
        "INTER_REGION",
        "PUBLIC_INTERNET",
    ] {
        for dir in ["out", "in"] {
            let sum: u64 = rows
                .iter()
                .filter(|r| r["connectionClass"] == class && r["direction"] == dir)
                .map(|r| r["bytes"].parse::<u64>().unwrap())
                .sum();
            assert_eq!(s["bytes"][class][dir], sum, "{class} {dir}");
        }
    }
    assert_eq!(s["bytes"]["INTRA_REGION"]["in"], 20372 + 20320);
    assert_eq!(s["bytes"]["INTER_REGION"]["out"], 468);
}

#[test]
fn output_is_the_same_at_any_thread_count() {
    let run = |threads: &str| {
        stdout_of(label().arg(demo("dumps")).args([
            "--timestamp",
            T0,
            "-o",
            "-",
            "-q",
            "--threads",
            threads,
        ]))
    };
    let one = run("1");
    assert_eq!(one.lines().count(), 25);
    assert_eq!(one, run("4"));
}

#[test]
fn node_is_inferred_when_clear() {
    let out = label()
        .arg(dump_a())
        .args(["--timestamp", T0, "-o", "-"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "taken on node {NODE_A} (inferred: 11 flows mention it)"
        )))
        .get_output()
        .stdout
        .clone();
    let rows = rows(std::str::from_utf8(&out).unwrap());
    assert_eq!(rows.len(), 18);
    assert!(rows.iter().all(|r| r["localNode"] == NODE_A));
}

#[test]
fn node_inference_refuses_a_close_call_and_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.csv");
    // On node b's dump, node b (4 flows) is not twice node a (3 flows).
    label()
        .arg(dump_b())
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{NODE_B} (4 flows) is not clearly ahead of {NODE_A} (3 flows)"
        )))
        .stderr(predicate::str::contains("--node"));
    assert!(!out.exists());
}

#[test]
fn node_equals_path_names_the_node() {
    let out = stdout_of(label().arg(format!("{NODE_B}={}", dump_b())).args([
        "--timestamp",
        T0,
        "-o",
        "-",
        "-q",
    ]));
    let rows = rows(&out);
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["localNode"] == NODE_B));
    // The ClusterIP flow seen on node b: postgres-0 is local, bytes swapped.
    let r = rows
        .iter()
        .find(|r| {
            r["localPod"] == "postgres-0"
                && r["remotePod"] == "web-7d9f8-abcde"
                && r["direction"] == "out"
        })
        .unwrap();
    assert_eq!(r["bytes"], "4216");
}

#[test]
fn the_node_option_and_the_same_node_by_name_agree() {
    let a = stdout_of(label().arg(dump_b()).args([
        "--node",
        NODE_B,
        "--timestamp",
        T0,
        "-o",
        "-",
        "-q",
    ]));
    let b = stdout_of(label().arg(format!("{NODE_B}={}", dump_b())).args([
        "--timestamp",
        T0,
        "-o",
        "-",
        "-q",
    ]));
    assert_eq!(a, b);
}

#[test]
fn stdin_needs_a_node_and_then_works() {
    let text = fs::read(dump_a()).unwrap();
    label()
        .arg("-")
        .args(["-o", "-"])
        .write_stdin(text.clone())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("stdin"));
    let out = stdout_of(
        label()
            .arg("-")
            .args(["--node", NODE_A, "--timestamp", T0, "-o", "-", "-q"])
            .write_stdin(text),
    );
    assert_eq!(rows(&out).len(), 18);
}

#[test]
fn compressed_dumps_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    fs::create_dir(&dumps).unwrap();
    let a = fs::read(dump_a()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &a).unwrap();
    fs::write(dumps.join(format!("{NODE_A}.txt.gz")), gz.finish().unwrap()).unwrap();
    let b = fs::read(dump_b()).unwrap();
    fs::write(
        dumps.join(format!("{NODE_B}.conntrack.zst")),
        zstd::encode_all(&b[..], 1).unwrap(),
    )
    .unwrap();
    let compressed = stdout_of(
        label()
            .arg(&dumps)
            .args(["--timestamp", T0, "-o", "-", "-q"]),
    );
    let plain = stdout_of(
        label()
            .arg(demo("dumps"))
            .args(["--timestamp", T0, "-o", "-", "-q"]),
    );
    assert_eq!(compressed, plain);
}

#[test]
fn timestamps_rfc3339_unix_and_file_time() {
    let interval = |extra: &[&str], dump: &str| {
        let out = stdout_of(
            label()
                .arg(format!("{NODE_A}={dump}"))
                .args(["-o", "-", "-q"])
                .args(extra),
        );
        let r = rows(&out);
        (r[0]["date"].clone(), r[0]["intervalStartTime"].clone())
    };
    let want = ("2023-11-14".to_string(), "2023-11-14 22:13:00".to_string());
    assert_eq!(interval(&["--timestamp", "1700000000"], &dump_a()), want);
    assert_eq!(
        interval(&["--timestamp", "2023-11-14T23:13:59+01:00"], &dump_a()),
        want
    );
    assert_eq!(
        interval(
            &["--timestamp", T0, "--interval-seconds", "3600"],
            &dump_a()
        ),
        ("2023-11-14".to_string(), "2023-11-14 22:00:00".to_string())
    );
    // Without --timestamp: the file's modification time.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dump.txt");
    fs::copy(dump_a(), &copy).unwrap();
    let f = fs::File::options().write(true).open(&copy).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000))
        .unwrap();
    drop(f);
    assert_eq!(
        interval(&[], copy.to_str().unwrap()),
        ("2020-09-13".to_string(), "2020-09-13 12:26:00".to_string())
    );
    label()
        .arg(dump_a())
        .args(["--timestamp", "yesterday"])
        .assert()
        .code(2);
}

#[test]
fn events_use_their_own_timestamps_and_only_destroy_counts() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    let out = stdout_of(
        label()
            .arg(format!("{NODE_A}={}", fixture("events.txt")))
            .args(["-o", "-", "-q", "--summary-json"])
            .arg(&summary),
    );
    let rows = rows(&out);
    let times: Vec<&str> = rows
        .iter()
        .map(|r| r["intervalStartTime"].as_str())
        .collect();
    // [1700000065.3] and [1700000130.0] DESTROY events.
    assert_eq!(
        times,
        [
            "2023-11-14 22:14:00",
            "2023-11-14 22:14:00",
            "2023-11-14 22:15:00",
            "2023-11-14 22:15:00"
        ]
    );
    assert_eq!(rows[1]["bytes"], "30000");
    let s = read_json(&summary);
    assert_eq!(s["ignored"]["event_not_final"], 2);
    assert_eq!(s["labelled"], 2);
    // --timestamp overrides event times.
    let out = stdout_of(
        label()
            .arg(format!("{NODE_A}={}", fixture("events.txt")))
            .args(["-o", "-", "-q", "--timestamp", "1600000000"]),
    );
    assert!(rows_of(&out).all(|r| r["intervalStartTime"] == "2020-09-13 12:26:00"));
}

fn rows_of(csv: &str) -> impl Iterator<Item = std::collections::HashMap<String, String>> {
    rows(csv).into_iter()
}

#[test]
fn dry_run_without_inventory_only_parses() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    kubenetmon()
        .current_dir(dir.path())
        .args([
            "label",
            "--dry-run",
            &fixture("malformed.txt"),
            // 12 of 16 lines malformed: an error without it
            "--keep-going",
            "--summary-json",
        ])
        .arg(&summary)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("16 lines, 2 flows, 12 malformed"));
    let s = read_json(&summary);
    assert_eq!(
        (&s["lines"], &s["flows"], &s["malformed"]),
        (&16.into(), &2.into(), &12.into())
    );
    assert_eq!(s["labelled"], 0);
    assert_eq!(s["rows"], 0);
    assert_eq!(s["ignored"]["protocol"], 0);
    // Nothing but the summary was written.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["s.json"]);
}

#[test]
fn dry_run_with_inventory_labels_but_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.csv");
    let summary = dir.path().join("s.json");
    label()
        .arg(demo("dumps"))
        .args(["--dry-run", "-o"])
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("24 rows (dry run: not written)"));
    assert!(!out.exists());
    let s = read_json(&summary);
    assert_eq!(s["rows"], 24);
    assert_eq!(s["labelled"], 12);
}

#[test]
fn malformed_lines_first_ten_then_all_with_verbose() {
    let file = fixture("malformed.txt");
    let run = |verbose: bool| {
        let mut c = label();
        c.arg(format!("{NODE_A}={file}"))
            .args(["-o", "-", "--keep-going"]);
        if verbose {
            c.arg("-v");
        }
        let out = c.assert().success().get_output().stderr.clone();
        String::from_utf8(out).unwrap()
    };
    let quiet = run(false);
    let shown = quiet
        .lines()
        .filter(|l| l.contains("malformed.txt:"))
        .count();
    assert_eq!(shown, 10, "{quiet}");
    assert!(quiet.contains(&format!("{file}:3: ")), "{quiet}");
    assert!(
        quiet.contains("2 more malformed lines not shown"),
        "{quiet}"
    );
    let verbose = run(true);
    assert_eq!(
        verbose
            .lines()
            .filter(|l| l.contains("malformed.txt:"))
            .count(),
        12
    );
    assert!(verbose.contains(&format!("{file}:14: ")), "{verbose}");
}

#[test]
fn strict_stops_at_the_first_malformed_line_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.csv");
    fs::write(&out, "previous good file\n").unwrap();
    let file = fixture("malformed.txt");
    label()
        .arg(format!("{NODE_A}={file}"))
        .arg("--strict")
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{file}:3: malformed line (--strict): unknown protocol"
        )));
    assert_eq!(fs::read_to_string(&out).unwrap(), "previous good file\n");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    // Without the malformed lines --strict is happy.
    label()
        .arg(dump_a())
        .args(["--strict", "--dry-run", "-q"])
        .assert()
        .success();
}

#[test]
fn accounting_off_is_a_loud_warning_not_an_error() {
    label()
        .arg(format!("{NODE_A}={}", fixture("noacct.txt")))
        .args(["-o", "-"])
        .assert()
        .success()
        .stderr(predicate::str::contains("accounting is off"))
        .stderr(predicate::str::contains(
            "sysctl -w net.netfilter.nf_conntrack_acct=1",
        ))
        .stderr(predicate::str::contains("zero_counters 2"));
    // Also in a parse-only dry run.
    kubenetmon()
        .args(["label", "--dry-run", &fixture("noacct.txt")])
        .assert()
        .success()
        .stderr(predicate::str::contains("accounting is off"));
}

#[test]
fn unknown_direction_is_counted_and_warned_once() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    let assert = label()
        .arg(format!("{NODE_A}={}", fixture("unknown.txt")))
        .args(["-o", "-", "--summary-json"])
        .arg(&summary)
        .assert()
        .success();
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(err.matches("(unknown_direction)").count(), 1, "{err}");
    assert!(err.contains("unknown.txt:1:"), "{err}");
    let s = read_json(&summary);
    assert_eq!(s["errors"]["unknown_direction"], 2);
    assert_eq!(s["labelled"], 1);
}

#[test]
fn ignore_udp_and_private_cidr() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    label()
        .arg(demo("dumps"))
        .args(["--dry-run", "-q", "--ignore-udp", "--summary-json"])
        .arg(&summary)
        .assert()
        .success();
    let s = read_json(&summary);
    assert_eq!(s["ignored"]["udp_ignored"], 3);
    assert_eq!(s["labelled"], 9);
    // Treat the "internet" documentation block as part of the VPC.
    let out = stdout_of(label().arg(format!("{NODE_A}={}", dump_a())).args([
        "-o",
        "-",
        "-q",
        "--private-cidr",
        "203.0.113.0/24",
    ]));
    let r: Vec<_> = rows(&out)
        .into_iter()
        .filter(|r| r["remoteIPv4"] == "203.0.113.9")
        .collect();
    assert_eq!(r.len(), 4);
    assert!(r.iter().all(|r| r["connectionClass"] == "INTRA_VPC"
        && r["remoteCloud"] == "aws"
        && r["remoteRegion"] == "us-east-1"));
}

#[test]
fn explicit_cloud_and_region_change_the_classes() {
    // Seen from AWS eu-west-1, S3 us-east-1 is inter-region and 192.0.2.200 intra-region.
    let out = stdout_of(label().arg(format!("{NODE_A}={}", dump_a())).args([
        "-o",
        "-",
        "-q",
        "--cloud",
        "aws",
        "--region",
        "EU-West-1",
    ]));
    let rows = rows(&out);
    let class_of = |ip: &str| {
        rows.iter()
            .find(|r| r["remoteIPv4"] == ip)
            .map(|r| r["connectionClass"].clone())
            .unwrap()
    };
    assert_eq!(class_of("192.0.2.10"), "INTER_REGION");
    assert_eq!(class_of("192.0.2.200"), "INTRA_REGION");
    assert!(rows.iter().all(|r| r["localRegion"] == "eu-west-1"));
}

#[test]
fn parquet_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.parquet");
    label()
        .arg(demo("dumps"))
        .args(["--timestamp", T0, "-q", "-o"])
        .arg(&out)
        .assert()
        .success();
    let bytes = fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
}

#[test]
fn usage_and_runtime_errors_have_their_exit_codes() {
    // No inventory and no --dry-run: usage error.
    kubenetmon()
        .args(["label", &dump_a()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--inventory"));
    // Unknown option: clap's usage error.
    label().arg(dump_a()).arg("--bogus").assert().code(2);
    // A missing dump: runtime error naming it.
    label()
        .arg(format!("{NODE_A}=/nonexistent/dump.txt"))
        .args(["-o", "-"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/dump.txt"));
    // stdin cannot be both a dump and the inventory.
    kubenetmon()
        .args([
            "label",
            "-",
            "--node",
            NODE_A,
            "--inventory",
            "-",
            "--dry-run",
        ])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("both a dump and the inventory"));
    // Rows and summary cannot both go to stdout.
    label()
        .arg(dump_a())
        .args(["-o", "-", "--summary-json", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("both write to stdout"));
    // An interval of zero is refused by the parser.
    label()
        .arg(dump_a())
        .args(["--interval-seconds", "0"])
        .assert()
        .code(2);
    // An unknown cloud name is refused by the parser too.
    label()
        .arg(dump_a())
        .args(["--cloud", "ibm", "--region", "us-east-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown cloud"));
}

#[test]
fn unexpected_environment_is_accepted_with_a_warning() {
    let out = label()
        .arg(format!("{NODE_A}={}", dump_a()))
        .args(["-o", "-", "--environment", "qa"])
        .assert()
        .success()
        .stderr(predicate::str::contains("environment \"qa\""))
        .get_output()
        .stdout
        .clone();
    assert!(rows(std::str::from_utf8(&out).unwrap())
        .iter()
        .all(|r| r["environment"] == "qa"));
}

#[test]
fn help_has_examples() {
    kubenetmon()
        .args(["label", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("testdata/demo/dumps"));
}

#[test]
fn stdin_without_timestamp_uses_the_current_time() {
    let day = |t: std::time::SystemTime| {
        let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    let before = day(std::time::SystemTime::now());
    let out = stdout_of(
        label()
            .arg(format!("{NODE_A}=-"))
            .args(["-o", "-", "-q"])
            .write_stdin(fs::read(dump_a()).unwrap()),
    );
    let after = day(std::time::SystemTime::now());
    let r = rows(&out);
    assert_eq!(r.len(), 18);
    assert!(
        r.iter().all(|r| r["date"] == before || r["date"] == after),
        "{} is not today",
        r[0]["date"]
    );
}

#[test]
fn rows_older_than_the_ttl_are_warned_about() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let run = |t: u64| {
        let out = label()
            .arg(format!("{NODE_A}={}", dump_a()))
            .args(["-o", "-", "-q", "--timestamp", &t.to_string()])
            .assert()
            .success()
            .get_output()
            .stderr
            .clone();
        String::from_utf8(out).unwrap()
    };
    // 91 days ago: the 90-day TTL would delete the rows; say so, even with -q.
    let old = run(now - 91 * 86_400);
    assert!(old.contains("90-day TTL"), "{old}");
    // Yesterday: no warning.
    let recent = run(now - 86_400);
    assert!(!recent.contains("TTL"), "{recent}");
}

#[test]
fn compressed_csv_outputs_and_format_option() {
    let dir = tempfile::tempdir().unwrap();
    let plain = stdout_of(
        label()
            .arg(demo("dumps"))
            .args(["--timestamp", T0, "-q", "-o", "-"]),
    );
    assert_eq!(rows(&plain).len(), 24);
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        label()
            .arg(demo("dumps"))
            .args(["--timestamp", T0, "-q", "-o"])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        fs::read(out).unwrap()
    };
    // `.csv.gz` and `.csv.zst` compress the same CSV text.
    let gz = run("flows.csv.gz", &[]);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut text)
        .unwrap();
    assert_eq!(text, plain);
    let zst = run("flows.csv.zst", &[]);
    assert_eq!(zstd::decode_all(&zst[..]).unwrap(), plain.as_bytes());
    // `--format` decides when the extension does not tell.
    assert_eq!(run("flows.out", &["--format", "csv"]), plain.as_bytes());
    assert_eq!(&run("flows.out2", &["--format", "parquet"])[..4], b"PAR1");
    // `-` is CSV unless --format says otherwise.
    let out = label()
        .arg(demo("dumps"))
        .args(["--timestamp", T0, "-q", "-o", "-", "--format", "parquet"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        (&out[..4], &out[out.len() - 4..]),
        (&b"PAR1"[..], &b"PAR1"[..])
    );
}

#[test]
fn summary_on_stderr_has_every_part_and_quiet_hides_it() {
    let stderr = |extra: &[&str]| {
        let out = label()
            .arg(demo("dumps"))
            .args(["--timestamp", T0, "-o", "-"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stderr
            .clone();
        // Columns are padded: compare with whitespace collapsed.
        String::from_utf8(out)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let s = stderr(&[]);
    for part in [
        "16 lines, 16 flows, 0 malformed",
        "ignored: 4 (protocol 1, loopback 1, node_flow 2)",
        "errors: 0 (none)",
        "labelled: 12 flows, 24 rows written",
        // 5250 and 5730 bytes of 65048: KiB, and each class's share
        "INTRA_VPC 5.1 KiB out 5.6 KiB in 16.6 %",
        "INTRA_REGION 1.5 KiB out 39.7 KiB in 63.8 %",
        "INTER_REGION 468 B out 5.1 KiB in 8.7 %",
        "PUBLIC_INTERNET 1.8 KiB out 5.2 KiB in 10.9 %",
        "total 8.8 KiB out 55.7 KiB in 100.0 %",
    ] {
        assert!(s.contains(part), "{part:?} missing from: {s}");
    }
    let q = stderr(&["-q"]);
    assert!(!q.contains("lines,"), "{q}");
    assert!(!q.contains("KiB out"), "{q}");
    // -q keeps warnings: accounting off is still said.
    label()
        .arg(format!("{NODE_A}={}", fixture("noacct.txt")))
        .args(["-o", "-", "-q"])
        .assert()
        .success()
        .stderr(predicate::str::contains("accounting is off"))
        .stderr(predicate::str::contains("lines,").not());
    // -q drops the once-per-kind error note; the error is still counted.
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    label()
        .arg(format!("{NODE_A}={}", fixture("unknown.txt")))
        .args(["-o", "-", "-q", "--timestamp", T0, "--summary-json"])
        .arg(&summary)
        .assert()
        .success()
        .stderr(predicate::str::contains("unknown_direction").not());
    assert!(read_json(&summary)["errors"]["unknown_direction"].as_u64() > Some(0));
}

#[test]
fn new_and_update_events_alone_do_not_mean_accounting_is_off() {
    // [NEW]/[UPDATE] events never carry counters, accounting on or off.
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.txt");
    let text: String = fs::read_to_string(fixture("events.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("[DESTROY]"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(text.contains("[NEW]") && text.contains("[UPDATE]"));
    fs::write(&events, text).unwrap();
    for dry in [false, true] {
        let mut c = label();
        c.arg(format!("{NODE_A}={}", events.display()))
            .args(["-o", "-", "--timestamp", T0]);
        if dry {
            c.arg("--dry-run");
        }
        c.assert()
            .success()
            .stderr(predicate::str::contains("accounting is off").not());
    }
    // A [DESTROY] event without counters does mean it.
    let destroy = dir.path().join("destroy.txt");
    fs::write(
        &destroy,
        "[DESTROY] tcp      6 src=10.244.1.11 dst=192.0.2.10 sport=42001 dport=443 \
         src=192.0.2.10 dst=10.0.1.10 sport=443 dport=42001 [ASSURED]\n",
    )
    .unwrap();
    label()
        .arg(format!("{NODE_A}={}", destroy.display()))
        .args(["-o", "-", "--timestamp", T0])
        .assert()
        .success()
        .stderr(predicate::str::contains("accounting is off"));
}

/// A ranges directory with the demo's files except `missing`.
fn ranges_without(missing: &str) -> support::Workdir {
    let keep: Vec<&str> = [
        "aws-ip-ranges.json",
        "azure-service-tags-public.json",
        "gcp-cloud.json",
        "google-goog.json",
    ]
    .into_iter()
    .filter(|f| *f != missing)
    .collect();
    support::ranges_subset(&support::testdata("demo").join("ranges"), &keep)
}

fn label_with_ranges(ranges: &Path) -> Command {
    let mut c = kubenetmon();
    c.arg("label")
        .args(["--inventory", &demo("inventory.json")])
        .arg("--ranges")
        .arg(ranges)
        .args(["--dry-run", &dump_a()]);
    c
}

// The range files are read while the inventory loads, before the cloud is
// known: the local cloud's missing file is still the error it was.
#[test]
fn the_local_clouds_missing_range_file_is_an_error_naming_it() {
    let dir = ranges_without("aws-ip-ranges.json");
    label_with_ranges(dir.path()).assert().code(1).stderr(
        predicate::str::contains("aws-ip-ranges.json: not found")
            .and(predicate::str::contains("inside the local cloud (aws)"))
            .and(predicate::str::contains("--aws FILE")),
    );
}

#[test]
fn another_providers_missing_range_file_is_a_warning() {
    let dir = ranges_without("gcp-cloud.json");
    label_with_ranges(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "gcp-cloud.json: not found; gcp ranges skipped",
        ));
}

#[test]
fn a_bad_inventory_is_reported_before_bad_ranges() {
    let empty = tempfile::tempdir().unwrap();
    let inv = empty.path().join("inv.json");
    fs::write(&inv, "{\"kind\":").unwrap();
    kubenetmon()
        .arg("label")
        .arg("--inventory")
        .arg(&inv)
        .arg("--ranges")
        .arg(empty.path())
        .args(["--dry-run", &dump_a()])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("inv.json")
                .and(predicate::str::contains("no cloud range files found").not()),
        );
}
