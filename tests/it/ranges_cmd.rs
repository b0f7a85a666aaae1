//! `kubenetmon ranges fetch|show` end to end: the real binary against a
//! loopback HTTP server serving testdata/fetch. No test leaves 127.0.0.1.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use kubenetmon_test_support::http::{Reply, Server};
use predicates::prelude::*;
use serde_json::Value;

use crate::support;

const AWS: &[u8] = include_bytes!("../../testdata/fetch/aws.json");
const GCP: &[u8] = include_bytes!("../../testdata/fetch/gcp.json");
const GOOGLE: &[u8] = include_bytes!("../../testdata/fetch/google.json");
const AZURE: &[u8] = include_bytes!("../../testdata/fetch/azure.json");
const AZURE_TEMPLATE: &str = "/ServiceTags_Public_{date}.json";

/// The binary with no proxy or kubenetmon variables inherited.
fn kubenetmon() -> Command {
    let mut c = support::kubenetmon();
    c.timeout(Duration::from_secs(60));
    c
}

/// A server holding all four fixtures, Azure published on 2026-03-01 only.
fn full_server() -> Server {
    let s = Server::start();
    s.ok("/aws.json", AWS);
    s.ok("/cloud.json", GCP);
    s.ok("/goog.json", GOOGLE);
    s.ok("/ServiceTags_Public_20260301.json", AZURE);
    s
}

/// `ranges fetch` with every URL on `s` (unless `extra` names one), today
/// pinned to 2026-03-03, fast limits (unless `extra` sets them).
fn fetch(s: &Server, dir: &Path, extra: &[&str]) -> Command {
    let mut c = kubenetmon();
    c.args(["ranges", "fetch", "--dir"]).arg(dir).args(extra);
    let defaults = [
        ("--aws-url", s.url("/aws.json")),
        ("--gcp-url", s.url("/cloud.json")),
        ("--google-url", s.url("/goog.json")),
        ("--azure-url", s.url(AZURE_TEMPLATE)),
        ("--timeout", "2".to_string()),
        ("--retries", "0".to_string()),
    ];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            c.args([flag, &value]);
        }
    }
    c.env("KUBENETMON_TODAY", "20260303");
    c
}

fn meta(dir: &Path, file: &str) -> Value {
    let bytes = std::fs::read(dir.join(format!("{file}.meta.json"))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    kubenetmon::fetch::sha256_hex(bytes)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn fetches_all_four_with_sidecars() {
    let s = full_server();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let out = fetch(&s, &dir, &[]).assert().success().get_output().clone();
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    // Piped: one line per provider, no progress bar.
    assert_eq!(err.lines().count(), 4, "{err}");
    assert!(err.contains("aws: saved"), "{err}");
    assert!(err.contains("4 IPv4 + 1 IPv6 prefixes, syncToken 1787416625"));
    assert!(err.contains("changeNumber 375, dated 20260301"), "{err}");
    assert!(!err.contains('\r'));

    for (file, body) in [
        ("aws-ip-ranges.json", AWS),
        ("gcp-cloud.json", GCP),
        ("google-goog.json", GOOGLE),
        ("azure-service-tags-public.json", AZURE),
    ] {
        assert_eq!(std::fs::read(dir.join(file)).unwrap(), body, "{file}");
        let m = meta(&dir, file);
        assert_eq!(m["sha256"], sha256(body), "{file}");
        assert_eq!(m["size"], body.len() as u64, "{file}");
        let at = m["fetched_at"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(at).unwrap();
    }
    let aws = meta(&dir, "aws-ip-ranges.json");
    assert_eq!(aws["provider"], "aws");
    assert_eq!(aws["url"], s.url("/aws.json"));
    assert_eq!(aws["version"], "1787416625");
    assert_eq!(aws["created"], "2026-08-22-16-37-05");
    assert_eq!(aws["ipv4_prefixes"], 4);
    assert_eq!(aws["ipv6_prefixes"], 1);
    assert!(aws.get("azure_date").is_none());
    let az = meta(&dir, "azure-service-tags-public.json");
    assert_eq!(az["url"], s.url("/ServiceTags_Public_20260301.json"));
    assert_eq!(az["azure_date"], "20260301");
    assert_eq!(az["version"], "375");
    assert_eq!(
        names(&dir).len(),
        8,
        "no temp files left: {:?}",
        names(&dir)
    );
    // Walk-back: today (03-03), 03-02 were 404, 03-01 found.
    assert_eq!(s.hits("/ServiceTags_Public_20260303.json"), 1);
    assert_eq!(s.hits("/ServiceTags_Public_20260302.json"), 1);
    assert_eq!(s.hits("/ServiceTags_Public_20260228.json"), 0);
}

#[test]
fn azure_falls_back_to_the_known_file_when_ninety_days_are_missing() {
    let s = Server::start();
    s.ok("/ServiceTags_Public_20251028.json", AZURE);
    let tmp = tempfile::tempdir().unwrap();
    fetch(&s, tmp.path(), &["--provider", "azure"])
        .env("KUBENETMON_TODAY", "20260615")
        .assert()
        .success()
        .stderr(predicate::str::contains("dated 20251028"));
    let az = meta(tmp.path(), "azure-service-tags-public.json");
    assert_eq!(az["url"], s.url("/ServiceTags_Public_20251028.json"));
    assert_eq!(az["azure_date"], "20251028");
    // 91 days walked (20260615 back to 20260317), then the fallback.
    let reqs = s.requests();
    assert_eq!(reqs.len(), 92);
    assert_eq!(reqs[0], "/ServiceTags_Public_20260615.json");
    assert_eq!(reqs[90], "/ServiceTags_Public_20260317.json");
    assert_eq!(reqs[91], "/ServiceTags_Public_20251028.json");
}

#[test]
fn azure_url_from_env_without_date_is_fetched_as_is() {
    let s = Server::start();
    s.ok("/mirror/azure-latest.json", AZURE);
    let tmp = tempfile::tempdir().unwrap();
    kubenetmon()
        .args(["ranges", "fetch", "--provider", "azure", "--ranges"])
        .arg(tmp.path())
        .env("KUBENETMON_AZURE_URL", s.url("/mirror/azure-latest.json"))
        .assert()
        .success();
    assert_eq!(s.requests(), ["/mirror/azure-latest.json"]);
    let az = meta(tmp.path(), "azure-service-tags-public.json");
    assert!(az.get("azure_date").is_none());
}

#[test]
fn url_env_vars_and_ranges_env_pick_source_and_directory() {
    let s = full_server();
    let tmp = tempfile::tempdir().unwrap();
    kubenetmon()
        .args(["ranges", "fetch", "--provider", "aws,google"])
        .env("KUBENETMON_RANGES", tmp.path())
        .env("KUBENETMON_AWS_URL", s.url("/aws.json"))
        .env("KUBENETMON_GOOGLE_URL", s.url("/goog.json"))
        .env("KUBENETMON_GCP_URL", s.url("/never"))
        .env("KUBENETMON_AZURE_URL", s.url("/never"))
        .assert()
        .success();
    assert_eq!(
        names(tmp.path()),
        [
            "aws-ip-ranges.json",
            "aws-ip-ranges.json.meta.json",
            "google-goog.json",
            "google-goog.json.meta.json"
        ]
    );
    assert_eq!(s.hits("/never"), 0);
}

#[test]
fn default_directory_is_the_xdg_cache() {
    let s = full_server();
    let tmp = tempfile::tempdir().unwrap();
    kubenetmon()
        .args(["ranges", "fetch", "--provider", "gcp"])
        .args(["--gcp-url", &s.url("/cloud.json")])
        .env("XDG_CACHE_HOME", tmp.path())
        .assert()
        .success();
    let file = tmp.path().join("kubenetmon/ranges/gcp-cloud.json");
    assert_eq!(std::fs::read(file).unwrap(), GCP);
}

/// Seeds `dir` with an old AWS file + sidecar, then refreshes against `reply`.
fn failed_refresh(reply: Reply, extra: &[&str]) -> (PathBuf, String, tempfile::TempDir) {
    let s = full_server();
    s.route("/aws.json", vec![reply]);
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("aws-ip-ranges.json");
    std::fs::write(&old, AWS).unwrap();
    std::fs::write(tmp.path().join("aws-ip-ranges.json.meta.json"), b"{}").unwrap();
    let out = fetch(&s, tmp.path(), extra)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    // The old file survives byte for byte, its sidecar too.
    assert_eq!(std::fs::read(&old).unwrap(), AWS);
    assert_eq!(
        std::fs::read(tmp.path().join("aws-ip-ranges.json.meta.json")).unwrap(),
        b"{}"
    );
    assert!(err.contains("aws: FAILED"), "{err}");
    assert!(err.contains("kept the previous"), "{err}");
    assert!(err.contains("1 of 4 providers failed"), "{err}");
    // The others were still fetched.
    assert_eq!(
        std::fs::read(tmp.path().join("gcp-cloud.json")).unwrap(),
        GCP
    );
    assert_eq!(names(tmp.path()).len(), 8, "{:?}", names(tmp.path()));
    (old, err, tmp)
}

#[test]
fn invalid_json_keeps_the_cache() {
    let (_, err, _t) = failed_refresh(
        Reply::Ok(include_bytes!("../../testdata/fetch/aws-invalid.json").to_vec()),
        &[],
    );
    assert!(err.contains("not a valid range file (line 3"), "{err}");
}

#[test]
fn empty_prefix_file_keeps_the_cache() {
    let (_, err, _t) = failed_refresh(
        Reply::Ok(include_bytes!("../../testdata/fetch/aws-empty.json").to_vec()),
        &[],
    );
    assert!(err.contains("holds no prefixes"), "{err}");
}

#[test]
fn not_found_keeps_the_cache() {
    let (_, err, _t) = failed_refresh(Reply::Status(404), &[]);
    assert!(err.contains("HTTP 404"), "{err}");
}

#[test]
fn truncated_body_keeps_the_cache() {
    let (_, err, _t) = failed_refresh(
        Reply::Truncated {
            claimed: 10_000,
            body: AWS[..200].to_vec(),
        },
        &[],
    );
    assert!(err.contains("/aws.json"), "{err}");
}

#[test]
fn oversized_body_keeps_the_cache() {
    let (_, err, _t) = failed_refresh(Reply::Unsized(vec![b' '; 4096]), &["--max-size", "1K"]);
    assert!(err.contains("larger than the 1024-byte cap"), "{err}");
}

#[test]
fn slow_server_times_out() {
    let t = Instant::now();
    let (_, err, _t) = failed_refresh(
        Reply::Slow(Duration::from_secs(5), AWS.to_vec()),
        &["--timeout", "0.5"],
    );
    assert!(err.contains("timed out"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

#[test]
fn server_errors_are_retried() {
    let s = full_server();
    s.route(
        "/aws.json",
        vec![
            Reply::Status(503),
            Reply::Status(502),
            Reply::Ok(AWS.to_vec()),
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    fetch(
        &s,
        tmp.path(),
        &[
            "--provider",
            "aws",
            "--retries",
            "2",
            "--retry-delay-ms",
            "10",
        ],
    )
    .assert()
    .success();
    assert_eq!(s.hits("/aws.json"), 3);
    assert_eq!(
        std::fs::read(tmp.path().join("aws-ip-ranges.json")).unwrap(),
        AWS
    );
}

#[test]
fn quiet_prints_failures_only() {
    let s = full_server();
    let tmp = tempfile::tempdir().unwrap();
    fetch(&s, tmp.path(), &["-q", "--gcp-url", &s.url("/gone")])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("gcp: FAILED")
                .and(predicate::str::contains("no "))
                .and(predicate::str::contains("aws:").not()),
        );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--provider", "aws,oracle"][..],
        &["--timeout", "0"],
        &["--timeout", "soon"],
        &["--max-size", "12parsecs"],
    ] {
        kubenetmon()
            .args(["ranges", "fetch", "--dir", "/nonexistent/never-written"])
            .args(args)
            .env("KUBENETMON_TODAY", "20260303")
            .assert()
            .code(2);
    }
    kubenetmon()
        .args(["ranges", "fetch", "--dir", "/tmp"])
        .env("KUBENETMON_TODAY", "2026-03-03")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("YYYYMMDD"));
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn http_proxy_variable_is_honoured() {
    // The "proxy" is our loopback server; it answers absolute-form requests
    // for a host that never gets resolved.
    let proxy = full_server();
    let tmp = tempfile::tempdir().unwrap();
    kubenetmon()
        .args([
            "ranges",
            "fetch",
            "--provider",
            "aws",
            "--retries",
            "0",
            "--dir",
        ])
        .arg(tmp.path())
        .args(["--aws-url", "http://ranges.invalid/aws.json"])
        .env("HTTP_PROXY", proxy.url(""))
        .assert()
        .success();
    assert_eq!(proxy.requests(), ["http://ranges.invalid/aws.json"]);
    assert_eq!(
        meta(tmp.path(), "aws-ip-ranges.json")["url"],
        "http://ranges.invalid/aws.json"
    );
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let s = full_server();
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let tmp = tempfile::tempdir().unwrap();
    // Through a dead proxy: fails, which shows the proxy is in the path.
    fetch(&s, tmp.path(), &["--provider", "aws"])
        .env("HTTP_PROXY", &dead)
        .assert()
        .code(1);
    assert_eq!(s.hits("/aws.json"), 0);
    fetch(&s, tmp.path(), &["--provider", "aws"])
        .env("HTTP_PROXY", &dead)
        .env("NO_PROXY", "127.0.0.1")
        .assert()
        .success();
    assert_eq!(s.hits("/aws.json"), 1);
    // --no-proxy ignores the variables altogether.
    fetch(&s, tmp.path(), &["--provider", "aws", "--no-proxy"])
        .env("HTTP_PROXY", &dead)
        .assert()
        .success();
    assert_eq!(s.hits("/aws.json"), 2);
}

#[test]
fn show_describes_fetched_files() {
    let s = full_server();
    let tmp = tempfile::tempdir().unwrap();
    fetch(&s, tmp.path(), &["--provider", "aws,azure"])
        .assert()
        .success();
    let out = kubenetmon()
        .args(["ranges", "show", "--ranges"])
        .arg(tmp.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("aws: aws-ip-ranges.json"), "{text}");
    assert!(text.contains("syncToken 1787416625, created 2026-08-22-16-37-05"));
    assert!(text.contains("prefixes:  4 IPv4, 1 IPv6"), "{text}");
    assert!(text.contains("regions:   3 (ap-northeast-2, eu-west-1, us-east-1)"));
    assert!(text.contains("services:  3 (amazon, ec2, s3)"), "{text}");
    assert!(text.contains(&format!("source:    {}", s.url("/aws.json"))));
    assert!(
        text.contains("changeNumber 375, file dated 20260301"),
        "{text}"
    );
    assert!(text.contains("gcp: MISSING gcp-cloud.json"), "{text}");
    assert!(text.contains("google: MISSING google-goog.json"), "{text}");
    // Fresh copies of old data (createDate 2026-08-22, Azure file of 2026-03-01).
    assert_eq!(
        text.matches("warning:   older than 7 days").count(),
        2,
        "{text}"
    );
    assert!(text.contains("seconds ago"), "{text}");
}

#[test]
fn show_warns_about_old_files() {
    let s = full_server();
    let tmp = tempfile::tempdir().unwrap();
    fetch(&s, tmp.path(), &["--provider", "google"])
        .assert()
        .success();
    // Backdate the sidecar's fetch time by ten days.
    let side = tmp.path().join("google-goog.json.meta.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
    let old = chrono::Utc::now() - chrono::Duration::days(10);
    m["fetched_at"] = Value::String(old.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    std::fs::write(&side, serde_json::to_vec(&m).unwrap()).unwrap();
    kubenetmon()
        .args(["ranges", "show", "--dir"])
        .arg(tmp.path())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("(10 days ago)")
                .and(predicate::str::contains("older than 7 days")),
        );
    // Without a sidecar, the file's mtime is the age.
    std::fs::remove_file(&side).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(tmp.path().join("google-goog.json"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(9 * 86_400))
        .unwrap();
    kubenetmon()
        .args(["ranges", "show", "--dir"])
        .arg(tmp.path())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("modified:")
                .and(predicate::str::contains("(9 days ago)"))
                .and(predicate::str::contains("older than 7 days"))
                .and(predicate::str::contains("no sidecar")),
        );
}

#[test]
fn show_json_and_broken_files() {
    let s = full_server();
    let tmp = tempfile::tempdir().unwrap();
    fetch(&s, tmp.path(), &["--provider", "aws"])
        .assert()
        .success();
    std::fs::write(tmp.path().join("gcp-cloud.json"), b"{\"prefixes\": 7}").unwrap();
    let out = kubenetmon()
        .args(["ranges", "show", "--json", "--dir"])
        .arg(tmp.path())
        .assert()
        .code(1)
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 4);
    assert_eq!(arr[0]["provider"], "aws");
    assert_eq!(arr[0]["status"], "present");
    assert_eq!(arr[0]["ipv4_prefixes"], 4);
    assert_eq!(arr[0]["version"], "1787416625");
    assert_eq!(arr[0]["sha256"], sha256(AWS));
    assert_eq!(arr[0]["meta"]["url"], s.url("/aws.json"));
    assert_eq!(arr[0]["stale"], true, "createDate 2026-08-22");
    assert_eq!(arr[1]["status"], "broken");
    assert!(arr[1]["error"].as_str().unwrap().contains("gcp-cloud.json"));
    assert_eq!(arr[2]["status"], "missing");
    assert_eq!(arr[3]["provider"], "azure");
}

#[test]
fn show_reads_the_real_vendor_files() {
    let Some(real) = support::real_ranges() else {
        return;
    };
    let out = kubenetmon()
        .args(["ranges", "show", "--json", "--dir"])
        .arg(&real)
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts: Vec<(u64, u64, usize)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["ipv4_prefixes"].as_u64().unwrap(),
                e["ipv6_prefixes"].as_u64().unwrap(),
                e["regions"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            (10666, 6160, 43),
            (997, 95, 48),
            (99, 15, 0),
            (68933, 24429, 71)
        ]
    );
}

#[test]
fn help_has_examples() {
    for sub in ["fetch", "show"] {
        kubenetmon()
            .args(["ranges", sub, "--help"])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("Examples:")
                    .and(predicate::str::contains(format!("kubenetmon ranges {sub}")))
                    .and(predicate::str::contains("--ranges")),
            );
    }
}
