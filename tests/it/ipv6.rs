//! SPEC §7 end to end: `label --schema upstream|dual` and `classify` on the
//! real dual-stack dumps of testdata/ipv6/ (see its README), with the exact
//! rows each must give.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

use crate::support::{kubenetmon, Workdir};

const NODE: &str = "ip-10-0-1-10.ec2.internal";
/// 2023-11-14T22:13:20Z
const T0: &str = "1700000000";

fn v6(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/ipv6")
        .join(rel)
        .display()
        .to_string()
}

type Row = HashMap<String, String>;

fn rows(csv: &[u8]) -> (Vec<String>, Vec<Row>) {
    let mut r = csv::Reader::from_reader(csv);
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            headers
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect();
    (headers, rows)
}

/// `label DUMP` as node NODE with the fixture's inventory and ranges.
fn label(dump: &str, extra: &[&str]) -> (Vec<String>, Vec<Row>, Value, String) {
    let w = Workdir::new();
    let summary = w.join("summary.json");
    let out = kubenetmon()
        .arg("label")
        .arg(format!("{NODE}={}", v6(dump)))
        .args(["-i", &v6("inventory.json"), "--ranges", &v6("ranges")])
        .args(["--timestamp", T0, "-o", "-"])
        .arg("--summary-json")
        .arg(&summary)
        .args(extra)
        .assert()
        .success()
        .get_output()
        .clone();
    let (headers, rows) = rows(&out.stdout);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (
        headers,
        rows,
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The columns §7 is about, one line per row, sorted.
fn digest(rows: &[Row], ip: &str) -> Vec<String> {
    let mut v: Vec<String> = rows
        .iter()
        .map(|r| {
            let c = |k: &str| r.get(k).unwrap_or_else(|| panic!("no column {k}")).as_str();
            format!(
                "{} {} {} [{}]:{} -> [{}]:{} pod={} zone={} {}/{}/{} {}b {}p",
                c("direction"),
                c("connectionClass"),
                c("localPod"),
                c(&format!("local{ip}")),
                c("localPort"),
                c(&format!("remote{ip}")),
                c("remotePort"),
                c("remotePod"),
                c("remoteAvailabilityZone"),
                c("remoteCloud"),
                c("remoteRegion"),
                c("remoteCloudService"),
                c("bytes"),
                c("packets"),
            )
        })
        .collect();
    v.sort();
    v
}

const WEB: &str = "2001:db8:4a1:c701::11";
const API: &str = "2001:db8:4a1:c702::12";

fn dual_rows(vpc_host: (&str, &str, &str)) -> Vec<String> {
    let (class, zone, service) = vpc_host;
    let web = "web-7d9f8-abcde";
    let api = "api-5c6d7-fghij";
    let eu = "aws/eu-west-1/ec2";
    let mut want = vec![
        // 1. pod to pod, global addresses inside the AWS prefix: INTRA_VPC by the pod
        format!("out INTRA_VPC {web} [{WEB}]:41001 -> [{API}]:8080 pod={api} zone=us-east-1a aws/us-east-1/ 445b 6p"),
        format!("in INTRA_VPC {web} [{WEB}]:41001 -> [{API}]:8080 pod={api} zone=us-east-1a aws/us-east-1/ 868b 5p"),
        // 2. an eu-west-1 host
        format!("out INTER_REGION {web} [{WEB}]:41002 -> [2001:db8:e0::20]:8443 pod= zone= {eu} 373b 5p"),
        format!("in INTER_REGION {web} [{WEB}]:41002 -> [2001:db8:e0::20]:8443 pod= zone= {eu} 1368b 5p"),
        // 3. ULA: the IPv6 private set
        format!("out INTRA_VPC {web} [{WEB}]:41003 -> [fd00:100::20]:8443 pod= zone= aws/us-east-1/ 373b 5p"),
        format!("in INTRA_VPC {web} [{WEB}]:41003 -> [fd00:100::20]:8443 pod= zone= aws/us-east-1/ 1368b 5p"),
        // 4. NAT64 of an S3 address: classified by 192.0.2.10, written as is
        format!("out INTRA_REGION {web} [{WEB}]:41004 -> [64:ff9b::c000:20a]:8443 pod= zone= aws/us-east-1/s3 373b 5p"),
        format!("in INTRA_REGION {web} [{WEB}]:41004 -> [64:ff9b::c000:20a]:8443 pod= zone= aws/us-east-1/s3 1368b 5p"),
        // 5. a non-pod VPC host
        format!("out {class} {web} [{WEB}]:41005 -> [2001:db8:4a1:c7ff::50]:8443 pod= zone={zone} aws/us-east-1/{service} 373b 5p"),
        format!("in {class} {web} [{WEB}]:41005 -> [2001:db8:4a1:c7ff::50]:8443 pod= zone={zone} aws/us-east-1/{service} 1368b 5p"),
        // 6. IPv4, IPv4-mapped in the IPv6 columns
        format!("out INTRA_REGION {web} [::ffff:10.244.1.11]:41006 -> [::ffff:192.0.2.10]:8443 pod= zone= aws/us-east-1/s3 273b 5p"),
        format!("in INTRA_REGION {web} [::ffff:10.244.1.11]:41006 -> [::ffff:192.0.2.10]:8443 pod= zone= aws/us-east-1/s3 1268b 5p"),
        // 7. the IPv6-only pod
        format!("out INTER_REGION {api} [{API}]:41007 -> [2001:db8:e0::20]:8443 pod= zone= {eu} 373b 5p"),
        format!("in INTER_REGION {api} [{API}]:41007 -> [2001:db8:e0::20]:8443 pod= zone= {eu} 1368b 5p"),
    ];
    want.sort();
    want
}

/// §7: `--schema dual` labels the IPv6 flows of a real dump through §3,
/// with the rows of testdata/ipv6/README.md; the node's IPv6 InternalIP is
/// a node flow. The three real formats (default, extended, and
/// /proc/net/nf_conntrack's full-form addresses) give the same rows.
#[test]
fn dual_labels_the_real_ipv6_dump_exactly() {
    for dump in [
        "dumps/list-default.txt",
        "dumps/list-extended.txt",
        "dumps/proc-nf_conntrack.txt",
    ] {
        let (headers, rows, summary, stderr) = label(dump, &["--schema", "dual"]);
        assert_eq!(headers[17], "localIP", "{dump}");
        assert_eq!(headers[29], "remoteIP", "{dump}");
        assert_eq!(
            digest(&rows, "IP"),
            dual_rows(("INTRA_REGION", "", "amazon")),
            "{dump}"
        );
        assert_eq!(summary["ignored"]["ipv6"], 0, "{dump}");
        assert_eq!(summary["ignored"]["node_flow"], 1, "{dump}");
        assert_eq!(summary["labelled"], 7);
        assert_eq!(summary["schema"], "dual");
        assert!(summary.get("hints").is_none(), "{summary}");
        assert!(!stderr.contains("--schema dual"), "{stderr}");
    }
}

/// §7 + §6.1: the IPv6 CIDRs of --subnets are private: the VPC host
/// without a pod is INTRA_VPC, with its subnet's zone, and no lookup.
#[test]
fn subnets_ipv6_cidrs_are_private_under_dual() {
    let (_, rows, _, _) = label(
        "dumps/list-default.txt",
        &["--schema", "dual", "--subnets", &v6("subnets.json")],
    );
    let mut want = dual_rows(("INTRA_VPC", "us-east-1c", ""));
    // the pod's zone comes first; the subnets say nothing new about the others
    want.sort();
    assert_eq!(digest(&rows, "IP"), want);
    // --private-cidr with an IPv6 CIDR does the same without zones
    let (_, rows, _, _) = label(
        "dumps/list-default.txt",
        &[
            "--schema",
            "dual",
            "--private-cidr",
            "2001:db8:4a1:c7ff::/64",
        ],
    );
    assert_eq!(digest(&rows, "IP"), dual_rows(("INTRA_VPC", "", "")));
}

/// §7: under the default `--schema upstream` IPv6 flows are ignored, and
/// the summary (text and JSON) says how many and names `--schema dual`.
#[test]
fn upstream_ignores_ipv6_and_says_how_to_keep_them() {
    let (headers, rows, summary, stderr) = label("dumps/list-default.txt", &[]);
    assert_eq!(headers[17], "localIPv4");
    let web = "web-7d9f8-abcde";
    assert_eq!(
        digest(&rows, "IPv4"),
        [
            format!("in INTRA_REGION {web} [10.244.1.11]:41006 -> [192.0.2.10]:8443 pod= zone= aws/us-east-1/s3 1268b 5p"),
            format!("out INTRA_REGION {web} [10.244.1.11]:41006 -> [192.0.2.10]:8443 pod= zone= aws/us-east-1/s3 273b 5p"),
        ]
    );
    assert_eq!(summary["ignored"]["ipv6"], 7);
    assert_eq!(summary["ignored"]["node_flow"], 0);
    assert_eq!(summary["schema"], "upstream");
    let hint = summary["hints"][0].as_str().unwrap();
    assert!(hint.starts_with("7 IPv6 flows were ignored"), "{hint}");
    assert!(hint.contains("--schema dual"), "{hint}");
    assert!(
        stderr.contains("note: 7 IPv6 flows were ignored") && stderr.contains("--schema dual"),
        "{stderr}"
    );
}

/// `KUBENETMON_SCHEMA` sets the schema; `--schema` wins over it.
#[test]
fn schema_from_the_environment() {
    let run = |env: &str, args: &[&str]| {
        let out = kubenetmon()
            .env("KUBENETMON_SCHEMA", env)
            .arg("label")
            .arg(format!("{NODE}={}", v6("dumps/list-default.txt")))
            .args(["-i", &v6("inventory.json"), "--ranges", &v6("ranges")])
            .args(["--timestamp", T0, "-q", "-o", "-"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let (headers, rows) = rows(&out);
        (headers[17].clone(), rows.len())
    };
    assert_eq!(run("dual", &[]), ("localIP".to_string(), 14));
    assert_eq!(
        run("dual", &["--schema", "upstream"]),
        ("localIPv4".to_string(), 2)
    );
}

/// An unknown `--schema` (or KUBENETMON_SCHEMA) is a usage error (exit 2)
/// that lists the choices.
#[test]
fn unknown_schema_is_a_usage_error_listing_the_choices() {
    for (env, args) in [(None, vec!["--schema", "ipv6"]), (Some("v6"), vec![])] {
        let mut c = kubenetmon();
        if let Some(e) = env {
            c.env("KUBENETMON_SCHEMA", e);
        }
        let out = c
            .arg("label")
            .arg(v6("dumps/list-default.txt"))
            .args(["-i", &v6("inventory.json")])
            .args(args)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--schema"), "{err}");
        assert!(err.contains("[possible values: upstream, dual]"), "{err}");
    }
}

/// §7: IPv4-mapped addresses are IPv4 (pod, node, range lookup; an IPv4
/// row under upstream); NAT64 is classified by its embedded IPv4.
#[test]
fn mapped_addresses_and_nat64_in_a_dump() {
    let (_, rows, summary, _) = label("handwritten/mapped-and-nat64.txt", &[]);
    let web = "web-7d9f8-abcde";
    assert_eq!(
        digest(&rows, "IPv4"),
        [
            format!("in INTRA_REGION {web} [10.244.1.11]:42001 -> [192.0.2.10]:443 pod= zone= aws/us-east-1/s3 900b 3p"),
            format!("out INTRA_REGION {web} [10.244.1.11]:42001 -> [192.0.2.10]:443 pod= zone= aws/us-east-1/s3 300b 4p"),
        ]
    );
    assert_eq!(summary["ignored"]["node_flow"], 1);
    assert_eq!(summary["ignored"]["ipv6"], 2);
    let (_, rows, summary, _) = label("handwritten/mapped-and-nat64.txt", &["--schema", "dual"]);
    let api = "api-5c6d7-fghij";
    let mut want = vec![
        format!("in INTRA_REGION {web} [::ffff:10.244.1.11]:42001 -> [::ffff:192.0.2.10]:443 pod= zone= aws/us-east-1/s3 900b 3p"),
        format!("out INTRA_REGION {web} [::ffff:10.244.1.11]:42001 -> [::ffff:192.0.2.10]:443 pod= zone= aws/us-east-1/s3 300b 4p"),
        // 198.51.100.7: in no range
        format!("in PUBLIC_INTERNET {api} [{API}]:42003 -> [64:ff9b::c633:6407]:443 pod= zone= // 600b 2p"),
        format!("out PUBLIC_INTERNET {api} [{API}]:42003 -> [64:ff9b::c633:6407]:443 pod= zone= // 200b 2p"),
        // 10.0.3.5: private
        format!("in INTRA_VPC {api} [{API}]:42004 -> [64:ff9b::a00:305]:5432 pod= zone= aws/us-east-1/ 50b 1p"),
        format!("out INTRA_VPC {api} [{API}]:42004 -> [64:ff9b::a00:305]:5432 pod= zone= aws/us-east-1/ 100b 1p"),
    ];
    want.sort();
    assert_eq!(digest(&rows, "IP"), want);
    assert_eq!(summary["ignored"]["node_flow"], 1);
}

/// §7 in `classify`: the same rules as `label` (pods' IPv6 addresses,
/// NAT64, IPv4-mapped, --subnets' IPv6 CIDRs, the IPv6 private set).
#[test]
fn classify_applies_the_ipv6_rules() {
    let out = kubenetmon()
        .args([
            "classify",
            "--json",
            "--cloud",
            "aws",
            "--region",
            "us-east-1",
        ])
        .args(["--ranges", &v6("ranges"), "-i", &v6("inventory.json")])
        .args(["--subnets", &v6("subnets.json")])
        .args([
            API,
            "64:ff9b::c000:20a",
            "::ffff:192.0.2.10",
            "2001:db8:4a1:c7ff::50",
            "2001:db8:4a1:1234::1",
            "2001:db8:e0::20",
            "fd00::1",
            "64:ff9b::c633:6407",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let answers: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<String> = answers
        .iter()
        .map(|a| {
            format!(
                "{} {} {}/{}/{} {}",
                a["ip"].as_str().unwrap(),
                a["class"].as_str().unwrap(),
                a["cloud"].as_str().unwrap(),
                a["region"].as_str().unwrap(),
                a["service"].as_str().unwrap(),
                a["prefix"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            format!("{API} INTRA_VPC aws/us-east-1/ "),
            "64:ff9b::c000:20a INTRA_REGION aws/us-east-1/s3 192.0.2.0/25".to_string(),
            "::ffff:192.0.2.10 INTRA_REGION aws/us-east-1/s3 192.0.2.0/25".to_string(),
            "2001:db8:4a1:c7ff::50 INTRA_VPC aws/us-east-1/ ".to_string(),
            "2001:db8:4a1:1234::1 INTRA_REGION aws/us-east-1/amazon 2001:db8:4a1::/48".to_string(),
            "2001:db8:e0::20 INTER_REGION aws/eu-west-1/ec2 2001:db8:e0::/48".to_string(),
            "fd00::1 INTRA_VPC aws/us-east-1/ ".to_string(),
            "64:ff9b::c633:6407 PUBLIC_INTERNET // ".to_string(),
        ]
    );
}
