//! `kubenetmon classify` on the hand-written fixtures in testdata/ranges.
//! Each expected answer cites the fixture lines (and the SPEC §2 rule)
//! that produce it.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{self, Workdir};

const FIXTURES: &str = "testdata/ranges";
const FILES: [&str; 4] = [
    "aws-ip-ranges.json",
    "gcp-cloud.json",
    "google-goog.json",
    "azure-service-tags-public.json",
];

/// `kubenetmon classify` with no ambient configuration and `cache` as the
/// cache, so only what a test passes is used.
fn cmd(cache: &Path) -> Command {
    let mut c = support::kubenetmon();
    c.env("XDG_CACHE_HOME", cache).arg("classify");
    c
}

fn classify(args: &[&str]) -> assert_cmd::assert::Assert {
    let cache = Workdir::new();
    cmd(cache.path())
        .args(["--ranges", FIXTURES])
        .args(args)
        .assert()
}

/// `--json` lines, parsed.
fn json(args: &[&str]) -> (Vec<Value>, i32) {
    let out = classify(&[&["--json"], args].concat()).get_output().clone();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, out.status.code().unwrap())
}

/// (cloud, region, service, prefix) of one address, no local site.
fn lookup(ip: &str) -> [String; 4] {
    let (v, code) = json(&[ip]);
    assert_eq!(code, 0, "{ip}");
    assert!(v[0].get("class").is_none(), "no class without a local site");
    ["cloud", "region", "service", "prefix"].map(|k| v[0][k].as_str().unwrap().to_string())
}

fn s(a: [&str; 4]) -> [String; 4] {
    a.map(str::to_string)
}

/// A ranges dir holding only `keep` of the fixture files.
fn partial_dir(keep: &[&str]) -> Workdir {
    support::ranges_subset(&support::testdata("ranges"), keep)
}

#[test]
fn aws_s3_wins_over_amazon_and_ec2() {
    // 52.216.0.0/15 is listed AMAZON, S3, EC2 in that order.
    assert_eq!(
        lookup("52.216.10.20"),
        s(["aws", "us-east-1", "s3", "52.216.0.0/15"])
    );
}

#[test]
fn aws_other_service_wins_over_amazon_and_names_are_normalised() {
    // 3.5.0.0/16: AMAZON then ROUTE53, region "EU-WEST-1".
    assert_eq!(
        lookup("3.5.1.1"),
        s(["aws", "eu-west-1", "route53", "3.5.0.0/16"])
    );
}

#[test]
fn aws_amazon_wins_over_ec2() {
    // 3.6.0.0/16: EC2 then AMAZON.
    assert_eq!(
        lookup("3.6.1.1"),
        s(["aws", "us-east-1", "amazon", "3.6.0.0/16"])
    );
}

#[test]
fn aws_equal_priority_later_entry_wins() {
    // 3.7.0.0/16: EC2 us-east-1 then EC2 eu-west-1.
    assert_eq!(
        lookup("3.7.1.1"),
        s(["aws", "eu-west-1", "ec2", "3.7.0.0/16"])
    );
}

#[test]
fn gcp_replaces_aws() {
    // 34.64.0.0/24 is EC2 in the AWS file and us-central1 in cloud.json.
    assert_eq!(
        lookup("34.64.0.1"),
        s(["gcp", "us-central1", "googlecloud", "34.64.0.0/24"])
    );
}

#[test]
fn goog_json_replaces_cloud_json() {
    // 34.100.0.0/16 is us-east1 in cloud.json and also in goog.json.
    assert_eq!(
        lookup("34.100.0.1"),
        s(["gcp", "global", "googleservice", "34.100.0.0/16"])
    );
    assert_eq!(
        lookup("8.8.8.8"),
        s(["gcp", "global", "googleservice", "8.8.8.0/24"])
    );
    assert_eq!(
        lookup("35.185.0.1"),
        s(["gcp", "us-east1", "googlecloud", "35.185.0.0/17"])
    );
}

#[test]
fn azure_defaults_for_region_and_service() {
    // AzureCloud (region "", no systemService) → azurecloud/global;
    // AzureFrontDoor.Frontend (no systemService) → azureservice.
    assert_eq!(
        lookup("40.64.0.1"),
        s(["azure", "global", "azurecloud", "40.64.0.0/16"])
    );
    assert_eq!(
        lookup("13.107.246.1"),
        s(["azure", "global", "azureservice", "13.107.246.0/24"])
    );
    // Region "Germany West Central" normalised.
    assert_eq!(
        lookup("51.116.0.1"),
        s(["azure", "germanywestcentral", "azurecloud", "51.116.0.0/18"])
    );
}

#[test]
fn azure_rules_a_and_c() {
    // 13.64.0.0/24: AzureCloud (global) → Sql (AzureSQL, rule a) →
    // Sql.WestEurope (same service, rule c).
    assert_eq!(
        lookup("13.64.0.1"),
        s(["azure", "westeurope", "azuresql", "13.64.0.0/24"])
    );
    // 20.50.0.0/18: AzureCloud (global) → AzureCloud.westeurope (rule c).
    assert_eq!(
        lookup("20.50.0.1"),
        s(["azure", "westeurope", "azurecloud", "20.50.0.0/18"])
    );
}

#[test]
fn azure_rule_b_storage_replaces_even_aws() {
    // 20.60.0.0/24 is EC2 in the AWS file, then Storage.WestEurope.
    assert_eq!(
        lookup("20.60.0.1"),
        s(["azure", "westeurope", "azurestorage", "20.60.0.0/24"])
    );
    // 20.38.0.0/24: AzureCloud → AzureCloud.northeurope (c) → Storage (b);
    // the later AzureMonitor.WestEurope matches no rule and does not replace.
    assert_eq!(
        lookup("20.38.0.1"),
        s(["azure", "westeurope", "azurestorage", "20.38.0.0/24"])
    );
}

#[test]
fn ipv6_longest_prefix_in_every_file() {
    assert_eq!(
        lookup("2600:1f18:4000::1"),
        s(["aws", "us-east-1", "s3", "2600:1f18:4000::/36"])
    );
    assert_eq!(
        lookup("2600:1f18::1"),
        s(["aws", "us-east-1", "ec2", "2600:1f18::/33"])
    );
    assert_eq!(
        lookup("2600:1900::1"),
        s(["gcp", "us-east1", "googlecloud", "2600:1900::/28"])
    );
    assert_eq!(
        lookup("2001:4860::8888"),
        s(["gcp", "global", "googleservice", "2001:4860::/32"])
    );
    assert_eq!(
        lookup("2603:1020::1"),
        s(["azure", "westeurope", "azurecloud", "2603:1020::/47"])
    );
}

#[test]
fn host_bits_are_accepted_with_a_warning() {
    // "52.95.1.4/24" in the AWS file.
    assert_eq!(
        lookup("52.95.1.200"),
        s(["aws", "us-east-1", "amazon", "52.95.1.0/24"])
    );
    classify(&["52.95.1.200"])
        .success()
        .stderr(predicate::str::contains(
            "52.95.1.4/24 has host bits set; using 52.95.1.0/24",
        ));
    classify(&["-q", "52.95.1.200"]).success().stderr("");
}

#[test]
fn misses_and_private_addresses_without_a_local_site() {
    assert_eq!(lookup("1.1.1.1"), s(["", "", "", ""]));
    // Private, but no local site: looked up like any other (and missing).
    assert_eq!(lookup("10.1.2.3"), s(["", "", "", ""]));
}

#[test]
fn every_class_from_aws_us_east_1() {
    let ips = [
        "10.1.2.3",     // private → INTRA_VPC with local cloud/region
        "52.216.10.20", // aws us-east-1
        "15.177.0.5",   // aws GLOBAL
        "3.7.1.1",      // aws eu-west-1
        "2a05:d000::1", // aws eu-west-1 (IPv6)
        "34.64.0.1",    // gcp
        "20.60.0.1",    // azure
        "1.1.1.1",      // no match
        "169.254.169.254",
    ];
    let (v, code) = json(&[&["--cloud", "AWS", "--region", "US-East-1"], &ips[..]].concat());
    assert_eq!(code, 0);
    let classes: Vec<&str> = v.iter().map(|o| o["class"].as_str().unwrap()).collect();
    assert_eq!(
        classes,
        [
            "INTRA_VPC",
            "INTRA_REGION",
            "INTRA_REGION",
            "INTER_REGION",
            "INTER_REGION",
            "PUBLIC_INTERNET",
            "PUBLIC_INTERNET",
            "PUBLIC_INTERNET",
            "INTRA_VPC"
        ]
    );
    // §5.2: a private address gets the local cloud and region, no lookup.
    assert_eq!(
        v[0],
        serde_json::json!({"ip": "10.1.2.3", "cloud": "aws", "region": "us-east-1",
                           "service": "", "prefix": "", "class": "INTRA_VPC"})
    );
}

#[test]
fn azure_local_site_with_a_spaced_region() {
    let (v, code) = json(&[
        "--cloud",
        "azure",
        "--region",
        "Germany West Central",
        "51.116.0.1",
        "20.60.0.1",
        "40.64.0.1",
        "52.216.10.20",
    ]);
    assert_eq!(code, 0);
    let classes: Vec<&str> = v.iter().map(|o| o["class"].as_str().unwrap()).collect();
    assert_eq!(
        classes,
        [
            "INTRA_REGION",
            "INTER_REGION",
            "INTRA_REGION",
            "PUBLIC_INTERNET"
        ]
    );
}

#[test]
fn private_cidr_makes_an_address_intra_vpc() {
    // 100.70.0.0/16 is an aws eu-west-1 prefix in the fixture.
    let (v, _) = json(&["--cloud", "aws", "--region", "us-east-1", "100.70.0.1"]);
    assert_eq!(v[0]["class"], "INTER_REGION");
    let (v, _) = json(&[
        "--cloud",
        "aws",
        "--region",
        "us-east-1",
        "--private-cidr",
        "100.64.0.0/10",
        "100.70.0.1",
    ]);
    assert_eq!(v[0]["class"], "INTRA_VPC");
    assert_eq!(v[0]["prefix"], "");
}

#[test]
fn same_cloud_prefix_without_region_is_an_error_line() {
    // 16.0.0.0/16 has region "" in the AWS fixture.
    let (v, code) = json(&[
        "--cloud",
        "aws",
        "--region",
        "us-east-1",
        "16.0.0.1",
        "52.216.10.20",
    ]);
    assert_eq!(code, 1);
    assert!(v[0].get("class").is_none());
    assert!(
        v[0]["error"].as_str().unwrap().contains("no region"),
        "{}",
        v[0]
    );
    assert_eq!(v[0]["prefix"], "16.0.0.0/16");
    assert_eq!(v[1]["class"], "INTRA_REGION");
}

#[test]
fn json_output_is_exactly_spec_5_2() {
    let out = classify(&[
        "--json",
        "--cloud",
        "aws",
        "--region",
        "us-east-1",
        "52.216.10.20",
    ])
    .success()
    .get_output()
    .stdout
    .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"ip\":\"52.216.10.20\",\"cloud\":\"aws\",\"region\":\"us-east-1\",\"service\":\"s3\",\
         \"prefix\":\"52.216.0.0/15\",\"class\":\"INTRA_REGION\"}\n"
    );
}

#[test]
fn unparsable_addresses_in_json_mode() {
    let (v, code) = json(&["8.8.8.8", "not-an-ip", "1.2.3.4/32", "2600:1f18::1"]);
    assert_eq!(code, 1);
    assert_eq!(v.len(), 4);
    assert_eq!(v[0]["cloud"], "gcp");
    assert_eq!(v[1]["ip"], "not-an-ip");
    assert!(v[1]["error"]
        .as_str()
        .unwrap()
        .contains("not an IPv4 or IPv6 address"));
    assert_eq!(v[1].as_object().unwrap().len(), 2);
    assert_eq!(v[2]["ip"], "1.2.3.4/32");
    assert!(v[2].get("error").is_some());
    assert_eq!(v[3]["cloud"], "aws");
}

#[test]
fn table_output_and_unparsable_address_on_stderr() {
    let out = classify(&["8.8.8.8", "bogus", "1.1.1.1"])
        .code(1)
        .stderr(predicate::str::contains(
            "\"bogus\" is not an IPv4 or IPv6 address",
        ))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["IP", "CLOUD", "REGION", "SERVICE", "PREFIX"]);
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["8.8.8.8", "gcp", "global", "googleservice", "8.8.8.0/24"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["1.1.1.1", "-", "-", "-", "-"]
    );
    // Aligned: every column starts at the same offset on every line.
    let col = lines[0].find("CLOUD").unwrap();
    assert_eq!(&lines[1][col..col + 3], "gcp");
    assert_eq!(&lines[2][col..col + 1], "-");
}

#[test]
fn table_has_a_class_column_with_a_local_site() {
    let out = classify(&["--cloud", "aws", "--region", "us-east-1", "52.216.10.20"])
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0].last(), Some(&"CLASS"));
    assert_eq!(lines[1].last(), Some(&"INTRA_REGION"));
}

#[test]
fn addresses_from_stdin_in_order() {
    let cache = tempfile::tempdir().unwrap();
    let out = cmd(cache.path())
        .args(["--ranges", FIXTURES, "--json"])
        .write_stdin("8.8.8.8\n\n  52.216.10.20 2600:1f18::1  # comment\nnope\n")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let ips: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["ip"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ips, ["8.8.8.8", "52.216.10.20", "2600:1f18::1", "nope"]);
}

/// Issue 17: one line of stdin that is not UTF-8 is reported with its
/// number; the lines before and after it are answered; exit 1.
#[test]
fn a_stdin_line_that_is_not_utf8_is_reported_and_the_rest_answered() {
    let cache = tempfile::tempdir().unwrap();
    let stdin = b"8.8.8.8\n52.216.10.20 \xff 2600:1f18::1\n\n2600:1f18::1\n".to_vec();
    // Table mode: the message on stderr, the two good lines on stdout.
    let out = cmd(cache.path())
        .args(["--ranges", FIXTURES])
        .write_stdin(stdin.clone())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "stdin line 2 is not UTF-8 text (byte 0xff at column 14 is not UTF-8); \
             its addresses are not answered",
        ))
        .get_output()
        .stdout
        .clone();
    let first: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(first, ["IP", "8.8.8.8", "2600:1f18::1"]);
    // --json: an error object for the line, in its place.
    let out = cmd(cache.path())
        .args(["--ranges", FIXTURES, "--json"])
        .write_stdin(stdin)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["ip"], "8.8.8.8");
    assert_eq!(v[1]["line"], 2);
    assert_eq!(v[1]["ip"], "52.216.10.20 \u{fffd} 2600:1f18::1");
    assert!(v[1]["error"]
        .as_str()
        .unwrap()
        .contains("stdin line 2 is not UTF-8"));
    assert_eq!(v[2]["ip"], "2600:1f18::1");
    assert_eq!(v[2]["cloud"], "aws");
}

#[test]
fn stdin_cannot_hold_both_addresses_and_inventory() {
    let cache = tempfile::tempdir().unwrap();
    let inv = std::fs::read("testdata/inventory/aws-cluster.json").unwrap();
    for ips in [&[][..], &["8.8.8.8", "-"][..]] {
        cmd(cache.path())
            .args(["--ranges", FIXTURES, "--inventory", "-"])
            .args(ips)
            .write_stdin(inv.clone())
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "both the addresses and the inventory",
            ));
    }
    // The inventory on stdin with addresses as arguments is fine.
    cmd(cache.path())
        .args([
            "--ranges",
            FIXTURES,
            "--inventory",
            "-",
            "--json",
            "10.1.2.3",
        ])
        .write_stdin(inv)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"class\":\"INTRA_VPC\""));
}

#[test]
fn dash_reads_stdin_between_arguments() {
    let cache = tempfile::tempdir().unwrap();
    let out = cmd(cache.path())
        .args(["--ranges", FIXTURES, "--json", "1.1.1.1", "-", "8.8.8.8"])
        .write_stdin("52.216.10.20\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ips: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["ip"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ips, ["1.1.1.1", "52.216.10.20", "8.8.8.8"]);
}

#[test]
fn unknown_region_lists_the_clouds_regions() {
    classify(&["--cloud", "aws", "--region", "us-east1", "8.8.8.8"])
        .code(1)
        .stdout("")
        .stderr(
            predicate::str::contains("\"us-east1\" is not among the aws regions")
                .and(predicate::str::contains("eu-west-1, us-east-1, us-west-2")),
        );
    // `global` is a scope, not a region a cluster runs in.
    classify(&["--cloud", "aws", "--region", "global", "8.8.8.8"]).code(1);
}

#[test]
fn cloud_without_region_is_an_error() {
    classify(&["--cloud", "aws", "8.8.8.8"])
        .code(1)
        .stderr(predicate::str::contains("pass --region"));
    classify(&["--region", "us-east-1", "8.8.8.8"])
        .code(1)
        .stderr(predicate::str::contains("pass --cloud"));
    // A cloud name clap cannot parse is a usage error (exit code 2).
    classify(&["--cloud", "ibm", "--region", "x", "8.8.8.8"])
        .code(2)
        .stderr(predicate::str::contains("unknown cloud"));
}

#[test]
fn missing_provider_in_dir_is_skipped_with_a_warning() {
    let dir = partial_dir(&[
        "aws-ip-ranges.json",
        "gcp-cloud.json",
        "azure-service-tags-public.json",
    ]);
    let cache = tempfile::tempdir().unwrap();
    cmd(cache.path())
        .arg("--ranges")
        .arg(dir.path())
        .args(["--json", "8.8.8.8", "34.100.0.1"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "google-goog.json: not found; google ranges skipped",
        ))
        // Without goog.json, cloud.json's answer stands.
        .stdout(predicate::str::contains(
            "\"ip\":\"8.8.8.8\",\"cloud\":\"\"",
        ))
        .stdout(predicate::str::contains("\"region\":\"us-east1\""));
}

#[test]
fn missing_local_regional_file_is_an_error_naming_it() {
    for (cloud, region, file) in [
        ("aws", "us-east-1", "aws-ip-ranges.json"),
        ("gcp", "us-east1", "gcp-cloud.json"),
        ("azure", "westeurope", "azure-service-tags-public.json"),
    ] {
        let keep: Vec<&str> = FILES.iter().copied().filter(|f| *f != file).collect();
        let dir = partial_dir(&keep);
        let cache = tempfile::tempdir().unwrap();
        cmd(cache.path())
            .arg("--ranges")
            .arg(dir.path())
            .args(["--cloud", cloud, "--region", region, "8.8.8.8"])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains(file).and(predicate::str::contains("not found")));
        // Another cloud's file may be missing.
        let other = if cloud == "aws" {
            ("gcp", "us-east1")
        } else {
            ("aws", "us-east-1")
        };
        cmd(cache.path())
            .arg("--ranges")
            .arg(dir.path())
            .args(["--cloud", other.0, "--region", other.1, "8.8.8.8"])
            .assert()
            .success()
            .stderr(predicate::str::contains(file));
    }
}

#[test]
fn explicit_file_overrides_the_dir_and_must_exist() {
    // Only AWS in the dir; GCP given explicitly.
    let dir = partial_dir(&["aws-ip-ranges.json"]);
    let cache = tempfile::tempdir().unwrap();
    cmd(cache.path())
        .arg("--ranges")
        .arg(dir.path())
        .args([
            "--gcp",
            "testdata/ranges/gcp-cloud.json",
            "--json",
            "35.185.0.1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"region\":\"us-east1\""));
    cmd(cache.path())
        .arg("--ranges")
        .arg(dir.path())
        .args(["--gcp", "testdata/ranges/no-such-file.json", "8.8.8.8"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no-such-file.json"));
}

#[test]
fn broken_file_is_an_error_naming_file_and_line() {
    let dir = partial_dir(&["aws-ip-ranges.json"]);
    let bad = dir.path().join("broken.json");
    std::fs::write(
        &bad,
        "{\n  \"prefixes\": [\n    {\"ipv4Prefix\": \"34.1.208.0/20\",}\n  ]\n}\n",
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    cmd(cache.path())
        .arg("--ranges")
        .arg(dir.path())
        .arg("--gcp")
        .arg(&bad)
        .arg("8.8.8.8")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("broken.json").and(predicate::str::contains("line 3")));
    std::fs::write(&bad, "{\"prefixes\": [{\"ipv4Prefix\": \"34.1.208/20\"}]}").unwrap();
    cmd(cache.path())
        .arg("--ranges")
        .arg(dir.path())
        .arg("--gcp")
        .arg(&bad)
        .arg("8.8.8.8")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "prefix \"34.1.208/20\" does not parse",
        ));
}

#[test]
fn no_range_files_at_all_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    cmd(empty.path())
        .arg("--ranges")
        .arg(empty.path())
        .arg("8.8.8.8")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no cloud range files found")
                .and(predicate::str::contains("ranges fetch")),
        );
}

#[test]
fn default_dir_is_the_cache_and_env_var_sets_the_dir() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("kubenetmon").join("ranges");
    std::fs::create_dir_all(&dir).unwrap();
    for f in FILES {
        std::fs::copy(Path::new(FIXTURES).join(f), dir.join(f)).unwrap();
    }
    cmd(cache.path())
        .args(["-q", "--json", "52.216.10.20"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"service\":\"s3\""));
    let other = tempfile::tempdir().unwrap();
    cmd(other.path())
        .env("KUBENETMON_RANGES", FIXTURES)
        .args(["-q", "--json", "52.216.10.20"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"service\":\"s3\""));
}

#[test]
fn local_site_inferred_from_the_inventory() {
    // aws-cluster.json: nodes with providerID aws:///us-east-1a/... and
    // topology.kubernetes.io/region us-east-1.
    let (v, code) = json(&[
        "--inventory",
        "testdata/inventory/aws-cluster.json",
        "52.216.10.20",
        "3.7.1.1",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v[0]["class"], "INTRA_REGION");
    assert_eq!(v[1]["class"], "INTER_REGION");
    // --cloud/--region win over the inventory.
    let (v, _) = json(&[
        "--inventory",
        "testdata/inventory/aws-cluster.json",
        "--cloud",
        "gcp",
        "--region",
        "us-east1",
        "52.216.10.20",
        "35.185.0.1",
    ]);
    assert_eq!(v[0]["class"], "PUBLIC_INTERNET");
    assert_eq!(v[1]["class"], "INTRA_REGION");
}

#[test]
fn inventories_that_disagree_ask_for_cloud() {
    classify(&[
        "--inventory",
        "testdata/inventory/aws-cluster.json",
        "--inventory",
        "testdata/inventory/gcp-node.json",
        "8.8.8.8",
    ])
    .code(1)
    .stderr(predicate::str::contains("disagree").and(predicate::str::contains("--cloud")));
    // Given explicitly, nothing needs inferring.
    classify(&[
        "--inventory",
        "testdata/inventory/aws-cluster.json",
        "--inventory",
        "testdata/inventory/gcp-node.json",
        "--cloud",
        "aws",
        "--region",
        "us-east-1",
        "8.8.8.8",
    ])
    .success();
}

#[test]
fn env_vars_set_cloud_and_region() {
    let cache = tempfile::tempdir().unwrap();
    cmd(cache.path())
        .env("KUBENETMON_CLOUD", "aws")
        .env("KUBENETMON_REGION", "us-east-1")
        .args(["--ranges", FIXTURES, "-q", "--json", "52.216.10.20"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"class\":\"INTRA_REGION\""));
}

#[test]
fn help_has_examples() {
    let cache = tempfile::tempdir().unwrap();
    cmd(cache.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:").and(predicate::str::contains("--json")));
}

#[test]
fn empty_stdin_prints_nothing() {
    let cache = tempfile::tempdir().unwrap();
    cmd(cache.path())
        .args(["--ranges", FIXTURES, "-q"])
        .write_stdin("\n  \n")
        .assert()
        .success()
        .stdout("");
    // Only unparsable input: no table header either, exit 1.
    classify(&["-q", "x.y"]).code(1).stdout("");
}
