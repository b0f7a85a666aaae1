//! SPEC §6 end to end: `label` and `classify` with `--subnets`, `--zone`,
//! `--location` and the connection-flag options, on the bundled demo plus
//! the hand-written fixtures in testdata/zones/ (see its README).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{isolated, kubenetmon, require};

const NODE_A: &str = "ip-10-0-1-10.ec2.internal";
/// 2023-11-14T22:13:20Z
const T0: &str = "1700000000";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo(rel: &str) -> String {
    root().join("testdata/demo").join(rel).display().to_string()
}

fn zones(rel: &str) -> String {
    root()
        .join("testdata/zones")
        .join(rel)
        .display()
        .to_string()
}

/// `label` on the demo's two dumps and the extra node-a dump with VPC
/// endpoints that have no pods.
fn label() -> Command {
    let mut c = kubenetmon();
    c.arg("label")
        .args(["--inventory", &demo("inventory.json")])
        .args(["--ranges", &demo("ranges")])
        .args(["--timestamp", T0])
        .arg(demo("dumps"))
        .arg(format!("{NODE_A}={}", zones("node-a-vpc.txt")))
        // a second dump of node A, its own flows: added up on purpose
        .arg("--allow-duplicate-nodes");
    c
}

/// Every §6 option at once.
const ALL_OPTIONS: [&str; 11] = [
    "--nat-gateway",
    "--gateway-endpoint",
    "s3",
    "--flag",
    "NLB=10.0.100.0/24",
    "--location",
    "10.20.0.0/16=aws/eu-west-1",
    "--location",
    "192.168.0.0/16=onprem/dc1",
    "--zone",
    "10.0.3.0/24=us-east-1c",
];

type Row = HashMap<String, String>;

fn rows(csv: &[u8]) -> Vec<Row> {
    let mut r = csv::Reader::from_reader(csv);
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

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// `remoteIP:port` of a row, to find a flow.
fn remote(r: &Row) -> String {
    format!("{}:{}", r["remoteIPv4"], r["remotePort"])
}

/// The demo with subnets and every flag option: each flow's zones, class
/// and flags, worked out by hand from SPEC §6 (not copied from a run).
#[test]
fn demo_with_subnets_and_every_flag_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.csv");
    let summary = dir.path().join("summary.json");
    let assert = label()
        .args(["--subnets", &zones("demo-subnets.json")])
        .args(ALL_OPTIONS)
        .arg("-o")
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let rows = rows(&fs::read(&out).unwrap());
    assert_eq!(rows.len(), 32);
    // (local pod, remote ip:port) → local zone, remote zone, class,
    // remote cloud/region, flags.
    let want: [(&str, &str, &str, &str, &str, &str, &str); 16] = [
        // node a: pod to pod, zones from the nodes
        (
            "web-7d9f8-abcde",
            "10.244.2.53:53",
            "us-east-1a",
            "us-east-1b",
            "INTRA_VPC",
            "aws/us-east-1",
            "{'CROSS_AZ':true}",
        ),
        (
            "web-7d9f8-abcde",
            "10.244.1.12:8080",
            "us-east-1a",
            "us-east-1a",
            "INTRA_VPC",
            "aws/us-east-1",
            "{'CROSS_AZ':false}",
        ),
        (
            "web-7d9f8-abcde",
            "10.244.2.12:8080",
            "us-east-1a",
            "us-east-1b",
            "INTRA_VPC",
            "aws/us-east-1",
            "{'CROSS_AZ':true}",
        ),
        // node a: opened by the pods, out through the NAT gateway
        (
            "web-canary-5c6d7-fghij",
            "203.0.113.9:9999",
            "us-east-1a",
            "",
            "PUBLIC_INTERNET",
            "/",
            "{'NAT_GATEWAY':true}",
        ),
        (
            "web-canary-5c6d7-fghij",
            "203.0.113.9:80",
            "us-east-1a",
            "",
            "PUBLIC_INTERNET",
            "/",
            "{'NAT_GATEWAY':true}",
        ),
        (
            "web-canary-5c6d7-fghij",
            "198.51.100.7:443",
            "us-east-1a",
            "",
            "PUBLIC_INTERNET",
            "gcp/us-central1",
            "{'NAT_GATEWAY':true}",
        ),
        (
            "web-7d9f8-abcde",
            "192.0.2.200:443",
            "us-east-1a",
            "",
            "INTER_REGION",
            "aws/eu-west-1",
            "{'NAT_GATEWAY':true}",
        ),
        // S3 in the local region: the gateway endpoint, not the NAT gateway
        (
            "web-7d9f8-abcde",
            "192.0.2.10:443",
            "us-east-1a",
            "",
            "INTRA_REGION",
            "aws/us-east-1",
            "{}",
        ),
        // opened from the internet (NodePort): no NAT gateway
        (
            "web-7d9f8-abcde",
            "198.51.100.7:41010",
            "us-east-1a",
            "",
            "PUBLIC_INTERNET",
            "gcp/us-central1",
            "{}",
        ),
        // node b
        (
            "coredns-6f8d9-klmno",
            "10.244.1.11:41007",
            "us-east-1b",
            "us-east-1a",
            "INTRA_VPC",
            "aws/us-east-1",
            "{'CROSS_AZ':true}",
        ),
        (
            "postgres-0",
            "192.0.2.10:443",
            "us-east-1b",
            "",
            "INTRA_REGION",
            "aws/us-east-1",
            "{}",
        ),
        (
            "postgres-0",
            "10.244.1.11:41006",
            "us-east-1b",
            "us-east-1a",
            "INTRA_VPC",
            "aws/us-east-1",
            "{'CROSS_AZ':true}",
        ),
        // node a, VPC endpoints without pods: zones from the subnets
        (
            "web-7d9f8-abcde",
            "10.0.3.40:5432",
            "us-east-1a",
            "us-east-1c",
            "INTRA_VPC",
            "aws/us-east-1",
            "{'CROSS_AZ':true}",
        ),
        (
            "web-7d9f8-abcde",
            "10.0.100.5:52000",
            "us-east-1a",
            "us-east-1a",
            "INTRA_VPC",
            "aws/us-east-1",
            "{'CROSS_AZ':false,'NLB':true}",
        ),
        // locations: before the private set, never through the NAT gateway
        (
            "web-7d9f8-abcde",
            "10.20.5.5:443",
            "us-east-1a",
            "",
            "INTER_REGION",
            "aws/eu-west-1",
            "{}",
        ),
        (
            "web-canary-5c6d7-fghij",
            "192.168.50.10:443",
            "us-east-1a",
            "",
            "PUBLIC_INTERNET",
            "onprem/dc1",
            "{}",
        ),
    ];
    for (pod, rem, lz, rz, class, site, flags) in want {
        let found: Vec<&Row> = rows
            .iter()
            .filter(|r| r["localPod"] == pod && remote(r) == rem)
            .collect();
        assert_eq!(found.len(), 2, "{pod} -> {rem}: an out and an in row");
        for r in found {
            let got = (
                r["localAvailabilityZone"].as_str(),
                r["remoteAvailabilityZone"].as_str(),
                r["connectionClass"].as_str(),
                format!("{}/{}", r["remoteCloud"], r["remoteRegion"]),
                r["connectionFlags"].as_str(),
            );
            assert_eq!(
                got,
                (lz, rz, class, site.to_string(), flags),
                "{pod} -> {rem} {}",
                r["direction"]
            );
        }
    }
    // the 16 flows above are all of them
    let lines: u64 = 16 + 4;
    let s = read_json(&summary);
    assert_eq!(
        (s["lines"].as_u64(), s["labelled"].as_u64()),
        (Some(lines), Some(16))
    );
    // Summary (§5.1 + "flags"): sums over the rows, and the NAT bytes by hand
    // from the demo's README table (flows 2, 3, 4, 8).
    let sum = |pred: &dyn Fn(&Row) -> bool, dir: &str| -> u64 {
        rows.iter()
            .filter(|r| r["direction"] == dir && pred(r))
            .map(|r| r["bytes"].parse::<u64>().unwrap())
            .sum()
    };
    for (key, needle) in [
        ("true", Some("'CROSS_AZ':true")),
        ("false", Some("'CROSS_AZ':false")),
        ("unknown", None),
    ] {
        for dir in ["out", "in"] {
            let want = sum(
                &|r| match needle {
                    Some(n) => r["connectionFlags"].contains(n),
                    None => !r["connectionFlags"].contains("CROSS_AZ"),
                },
                dir,
            );
            assert_eq!(
                s["flags"]["CROSS_AZ"][key][dir], want,
                "CROSS_AZ {key} {dir}"
            );
        }
    }
    assert_eq!(
        s["flags"]["NAT_GATEWAY"]["true"]["out"],
        48 + 318 + 468 + 368
    );
    assert_eq!(s["flags"]["NAT_GATEWAY"]["true"]["in"], 1768 + 5268 + 3268);
    // CROSS_AZ true: coredns 68+108 (twice), postgres 470+4216 (twice), RDS 1840+9120.
    let cross = 2 * (68 + 108) + 2 * (470 + 4216) + 1840 + 9120;
    let got = s["flags"]["CROSS_AZ"]["true"]["out"].as_u64().unwrap()
        + s["flags"]["CROSS_AZ"]["true"]["in"].as_u64().unwrap();
    assert_eq!(got, cross);
    // The stderr summary shows the same bytes and the share.
    let out_true = s["flags"]["CROSS_AZ"]["true"]["out"].as_u64().unwrap();
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("CROSS_AZ=true"))
        .unwrap_or_else(|| panic!("no CROSS_AZ line in:\n{stderr}"));
    // in KiB on stderr (the exact number is the JSON's)
    assert!(out_true >= 1024, "{out_true}");
    let kib = format!(" {:.1} KiB out", out_true as f64 / 1024.0);
    assert!(line.contains(&kib), "{line} / {kib}");
    assert!(
        line.contains("% of the bytes whose zones are known"),
        "{line}"
    );
    for l in ["CROSS_AZ=false", "CROSS_AZ unknown", "NAT_GATEWAY=true"] {
        assert!(stderr.contains(l), "{l} missing:\n{stderr}");
    }
}

/// `--no-flags`: with no zone or location option the rows are upstream's
/// (SPEC §4): the default run's rows with `{}` flags; zones still apply
/// when asked for.
#[test]
fn no_flags_gives_upstream_rows() {
    let run = |extra: &[&str]| {
        let out = label()
            .args(extra)
            .args(["-o", "-", "-q"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        rows(&out)
    };
    let default = run(&[]);
    let bare = run(&["--no-flags"]);
    assert_eq!(default.len(), bare.len());
    let mut flagged = 0;
    for (d, b) in default.iter().zip(&bare) {
        assert_eq!(b["connectionFlags"], "{}");
        flagged += usize::from(d["connectionFlags"] != "{}");
        let mut d = d.clone();
        d.insert("connectionFlags".into(), "{}".into());
        assert_eq!(&d, b);
    }
    assert_eq!(flagged, 10, "CROSS_AZ is on by default");
    // Without --subnets a VPC address has no zone; with it, it does, and
    // --no-flags still leaves the map empty.
    let rds = |rows: &[Row]| {
        rows.iter()
            .find(|r| remote(r) == "10.0.3.40:5432")
            .map(|r| {
                (
                    r["remoteAvailabilityZone"].clone(),
                    r["connectionFlags"].clone(),
                )
            })
            .unwrap()
    };
    assert_eq!(rds(&bare), ("".into(), "{}".into()));
    let zoned = run(&["--no-flags", "--subnets", &zones("demo-subnets.json")]);
    assert_eq!(rds(&zoned), ("us-east-1c".into(), "{}".into()));
}

#[test]
fn env_vars_set_the_options_of_a_cron_job() {
    let run = |envs: &[(&str, &str)]| {
        let mut c = label();
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c
            .args(["-o", "-", "-q"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        rows(&out)
    };
    let flags_of = |rows: &[Row], rem: &str| {
        rows.iter()
            .find(|r| remote(r) == rem)
            .map(|r| r["connectionFlags"].clone())
            .unwrap()
    };
    let subnets = zones("demo-subnets.json");
    let r = run(&[
        ("KUBENETMON_SUBNETS", &subnets),
        ("KUBENETMON_NAT_GATEWAY", "true"),
        ("KUBENETMON_GATEWAY_ENDPOINT", "s3,dynamodb"),
        ("KUBENETMON_FLAG", "NLB=10.0.100.0/24,DATA=10.0.3.0/24"),
        ("KUBENETMON_LOCATION", "10.20.0.0/16=aws/eu-west-1"),
    ]);
    assert_eq!(
        flags_of(&r, "10.0.3.40:5432"),
        "{'CROSS_AZ':true,'DATA':true}"
    );
    assert_eq!(flags_of(&r, "203.0.113.9:80"), "{'NAT_GATEWAY':true}");
    assert_eq!(flags_of(&r, "192.0.2.10:443"), "{}");
    let peered = r.iter().find(|r| remote(r) == "10.20.5.5:443").unwrap();
    assert_eq!(peered["remoteRegion"], "eu-west-1");
    let r = run(&[("KUBENETMON_NAT_GATEWAY", "false")]);
    assert_eq!(flags_of(&r, "203.0.113.9:80"), "{}");
    let r = run(&[("KUBENETMON_NO_FLAGS", "true")]);
    assert!(r.iter().all(|r| r["connectionFlags"] == "{}"));
    let r = run(&[("KUBENETMON_ZONE", "10.0.3.0/24=zone-x,10.0.100.0/24=zone-y")]);
    let rds = r.iter().find(|r| remote(r) == "10.0.3.40:5432").unwrap();
    assert_eq!(rds["remoteAvailabilityZone"], "zone-x");
}

/// Bad option values: clap usage errors naming the option (exit 2), and
/// nothing is written.
#[test]
fn malformed_option_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.csv");
    fs::write(&out, "keep me").unwrap();
    for (args, needle) in [
        (vec!["--zone", "10.0.0.0/16"], "--zone"),
        (vec!["--zone", "10.0.0.0/33=us-east-1a"], "--zone"),
        (vec!["--zone", "10.0.0.0/16="], "--zone"),
        (vec!["--location", "10.20.0.0/16=aws"], "--location"),
        (vec!["--location", "ten=aws/eu-west-1"], "--location"),
        (vec!["--flag", "nlb=10.0.100.0/24"], "[A-Z][A-Z0-9_]*"),
        (vec!["--flag", "NLB"], "--flag"),
        (vec!["--flag", "CROSS_AZ=10.0.0.0/8"], "built-in"),
        (vec!["--flag", "NAT_GATEWAY=10.0.0.0/8"], "built-in"),
        (vec!["--no-flags", "--nat-gateway"], "--no-flags"),
        (
            vec!["--no-flags", "--flag", "NLB=10.0.100.0/24"],
            "--no-flags",
        ),
        (vec!["--gateway-endpoint", "s3"], "--nat-gateway"),
        (
            vec![
                "--location",
                "10.20.0.0/16=aws/eu-west-1",
                "--location",
                "10.20.0.0/16=onprem/dc1",
            ],
            "10.20.0.0/16=onprem/dc1",
        ),
        (
            vec![
                "--zone",
                "10.0.3.0/24=us-east-1c",
                "--zone",
                "10.0.3.0/24=us-east-1a",
            ],
            "10.0.3.0/24=us-east-1a",
        ),
    ] {
        label()
            .args(&args)
            .arg("-o")
            .arg(&out)
            .arg("-q")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(needle));
        assert_eq!(fs::read_to_string(&out).unwrap(), "keep me", "{args:?}");
    }
}

/// Bad `--subnets` files: exit 1, naming the file and the entry; nothing is
/// written.
#[test]
fn bad_subnets_files_name_the_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.csv");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let ok = r#"{"AvailabilityZone": "us-east-1a", "CidrBlock": "10.0.1.0/24"}"#;
    for (path, needles) in [
        (
            write("text.json", "not json at all"),
            vec!["text.json", "not valid JSON (line 1, column 2)"],
        ),
        (
            write("vpcs.json", r#"{"Vpcs": []}"#),
            vec!["vpcs.json", "describe-subnets", "no \"Subnets\" key"],
        ),
        (
            write(
                "cidr.json",
                &format!(
                    r#"{{"Subnets": [{ok}, {ok}, {ok}, {{"AvailabilityZone": "us-east-1b", "CidrBlock": "10.0.2.0/33"}}]}}"#
                ),
            ),
            vec!["cidr.json", "Subnets[3].CidrBlock", "10.0.2.0/33"],
        ),
        (
            write("nozone.json", r#"[{"CidrBlock": "10.0.1.0/24"}]"#),
            vec!["nozone.json", "[0]", "AvailabilityZone"],
        ),
        (
            write(
                "conflict.json",
                r#"[{"AvailabilityZone": "us-east-1c", "CidrBlock": "10.0.1.0/24", "SubnetId": "subnet-x"}]"#,
            ),
            // The same CIDR as demo-subnets.json's first subnet, another zone.
            vec![
                "10.0.1.0/24",
                "us-east-1a",
                "demo-subnets.json: Subnets[0].CidrBlock (subnet-0a1d0e0000000a001)",
                "us-east-1c",
                "conflict.json: [0].CidrBlock (subnet-x)",
            ],
        ),
        (
            dir.path().join("missing.json").display().to_string(),
            vec!["missing.json", "cannot read"],
        ),
    ] {
        let a = label()
            .args(["--subnets", &zones("demo-subnets.json"), "--subnets", &path])
            .arg("-o")
            .arg(&out)
            .assert()
            .code(1);
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        for n in needles {
            assert!(err.contains(n), "{path}: {n:?} not in {err}");
        }
        assert!(!out.exists(), "{path}: an output was written");
    }
    // A file and a --zone that disagree: the file is involved, exit 1.
    label()
        .args([
            "--subnets",
            &zones("demo-subnets.json"),
            "--zone",
            "10.0.3.0/24=us-east-1a",
        ])
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("Subnets[2].CidrBlock")
                .and(predicate::str::contains("--zone 10.0.3.0/24=us-east-1a")),
        );
}

/// The real describe-subnets shape: IPv4 and IPv6 blocks, a disassociated
/// block skipped, an IPv6-only subnet; `classify` shows zone and location.
#[test]
fn classify_shows_zone_and_location() {
    let ips = [
        "10.10.40.1",          // private b /19
        "10.10.97.200",        // public b /24
        "10.10.102.9",         // intra c /26
        "2001:db8:1000:1::7",  // IPv6 of private b
        "2001:db8:1000:20::5", // the IPv6-only subnet (c)
        "2001:db8:1000:f1::1", // disassociated: no zone
        "10.20.1.1",           // a location
        "10.99.0.1",           // nothing
    ];
    let out = kubenetmon()
        .args(["classify", "--json", "--ranges", &demo("ranges")])
        .args(["--cloud", "aws", "--region", "us-east-1"])
        .args(["--subnets", &zones("describe-subnets.json")])
        .args(["--location", "10.20.0.0/16=aws/eu-west-1"])
        .args(ips)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let raw = String::from_utf8(out).unwrap();
    let lines: Vec<Value> = raw
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let zone: Vec<&str> = lines.iter().map(|v| v["zone"].as_str().unwrap()).collect();
    assert_eq!(
        zone,
        [
            "eu-west-1b",
            "eu-west-1b",
            "eu-west-1c",
            "eu-west-1b",
            "eu-west-1c",
            "",
            "",
            ""
        ]
    );
    let location: Vec<&str> = lines
        .iter()
        .map(|v| v["location"].as_str().unwrap())
        .collect();
    assert_eq!(location, ["", "", "", "", "", "", "10.20.0.0/16", ""]);
    assert_eq!(lines[6]["cloud"], "aws");
    assert_eq!(lines[6]["region"], "eu-west-1");
    assert_eq!(lines[6]["class"], "INTER_REGION");
    assert_eq!(lines[6]["prefix"], "");
    // Keys: §5.2's, then zone and location.
    assert_eq!(
        raw.lines().next().unwrap(),
        r#"{"ip":"10.10.40.1","cloud":"aws","region":"us-east-1","service":"","prefix":"","class":"INTRA_VPC","zone":"eu-west-1b","location":""}"#
    );
    // Text table: ZONE and LOCATION columns, `-` when empty.
    let out = kubenetmon()
        .args(["classify", "--ranges", &demo("ranges")])
        .args(["--subnets", &zones("describe-subnets.json")])
        .args(["--location", "10.20.0.0/16=aws/eu-west-1"])
        .args(["10.10.40.1", "10.20.1.1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let t: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        t[0],
        ["IP", "CLOUD", "REGION", "SERVICE", "PREFIX", "ZONE", "LOCATION"]
    );
    assert_eq!(t[1], ["10.10.40.1", "-", "-", "-", "-", "eu-west-1b", "-"]);
    // Without a local site the location still gives the place (no class).
    assert_eq!(
        t[2],
        [
            "10.20.1.1",
            "aws",
            "eu-west-1",
            "-",
            "-",
            "-",
            "10.20.0.0/16"
        ]
    );
    // Without the options, §5.2's output is unchanged: no zone key.
    let out = kubenetmon()
        .args([
            "classify",
            "--json",
            "--ranges",
            &demo("ranges"),
            "10.10.40.1",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(
        v.get("zone").is_none() && v.get("location").is_none(),
        "{v}"
    );
}

#[test]
fn help_names_the_options_and_env_vars() {
    let out = kubenetmon()
        .args(["label", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(out).unwrap();
    for s in [
        "--subnets",
        "--zone",
        "--location",
        "--nat-gateway",
        "--gateway-endpoint",
        "--flag",
        "--no-flags",
        "KUBENETMON_SUBNETS",
        "KUBENETMON_NAT_GATEWAY",
        "describe-subnets",
    ] {
        assert!(help.contains(s), "{s} not in label --help");
    }
}

/// SPEC §6.3 with ClickHouse: the flagged rows (CSV and Parquet) load into
/// the upstream table, and flags answer `connectionFlags['CROSS_AZ']`.
#[test]
fn flagged_rows_load_into_clickhouse_and_answer_flag_queries() {
    let py_ok = isolated("python3")
        .args(["-c", "import chdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !require("python3 with the chdb package (pip install chdb)", py_ok) {
        return;
    }
    let extra = format!("{NODE_A}={}", zones("node-a-vpc.txt"));
    let subnets = zones("demo-subnets.json");
    let out = isolated("python3")
        .arg(root().join("tests/clickhouse_compat.py"))
        .arg(env!("CARGO_BIN_EXE_kubenetmon"))
        .arg("--")
        .arg(&extra)
        .arg("--allow-duplicate-nodes")
        .args(["--subnets", &subnets])
        .args(ALL_OPTIONS)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "clickhouse_compat.py failed:\n{text}");
    for s in [
        "PASSED",
        "flags in the rows: ['CROSS_AZ', 'NAT_GATEWAY', 'NLB']",
        "k.plain_pq: WHERE connectionFlags['CROSS_AZ'] sums",
        "k.plain_pq: bytes with NLB=true",
        "summary flags.NAT_GATEWAY.true",
    ] {
        assert!(text.contains(s), "{s:?} not in:\n{text}");
    }
}

/// §6.1 in `classify`: an address of a pod or a node takes its node's zone
/// before the zone map's; other addresses the zone map's.
#[test]
fn classify_prefers_the_pods_zone_to_the_zone_map() {
    let out = kubenetmon()
        .args(["classify", "--json", "--ranges", &demo("ranges")])
        .args(["--inventory", &demo("inventory.json")])
        .args(["--zone", "10.0.0.0/8=us-east-1z"])
        // a pod on node a, node b's InternalIP, an address of no pod
        .args(["10.244.1.11", "10.0.2.20", "10.9.9.9"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str)> = lines
        .iter()
        .map(|v| (v["zone"].as_str().unwrap(), v["class"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("us-east-1a", "INTRA_VPC"),
            ("us-east-1b", "INTRA_VPC"),
            ("us-east-1z", "INTRA_VPC")
        ]
    );
}
