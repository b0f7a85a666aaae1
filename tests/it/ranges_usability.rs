//! Issue 16 ("what a new user trips over") for `ranges fetch|show`: the
//! `--retries` help, and ages measured from the vendors' own dates.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use kubenetmon_test_support::http::Server;
use serde_json::Value;

use assert_cmd::Command;

use crate::support::kubenetmon;

#[test]
fn retries_help_says_how_to_fail_fast_and_the_backoff() {
    let long = kubenetmon()
        .args(["ranges", "fetch", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let long = String::from_utf8(long).unwrap();
    let retries = &long[long.find("--retries <N>").expect("--retries listed")..];
    let retries = &retries[..retries.find("--aws-url").unwrap()];
    let flat = retries.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("`--retries 0` fails fast"), "{flat}");
    assert!(flat.contains("1 s, 2 s, 4 s"), "{flat}");
    assert!(flat.contains("[default: 3]"), "{flat}");
    // The short help keeps the part that matters.
    let short = kubenetmon()
        .args(["ranges", "fetch", "-h"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let short = String::from_utf8(short).unwrap();
    let flat = short.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("`--retries 0` fails fast"), "{flat}");
}

// ---- `ranges show`: the vendor's date, not the copy's, is what ages ----

const AWS: &[u8] = include_bytes!("../../testdata/fetch/aws.json");
const GCP: &[u8] = include_bytes!("../../testdata/fetch/gcp.json");
const GOOGLE: &[u8] = include_bytes!("../../testdata/fetch/google.json");
const AZURE: &[u8] = include_bytes!("../../testdata/fetch/azure.json");
const DAY: i64 = 86_400;

/// `kubenetmon` with no proxy or URL variables inherited.
fn clean() -> Command {
    let mut c = kubenetmon();
    for v in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "KUBENETMON_AWS_URL",
        "KUBENETMON_GCP_URL",
        "KUBENETMON_GOOGLE_URL",
        "KUBENETMON_AZURE_URL",
        "KUBENETMON_TODAY",
    ] {
        c.env_remove(v);
    }
    c.timeout(Duration::from_secs(60));
    c
}

fn utc(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

/// `ranges show` as text and as JSON (one object per provider, SPEC order).
fn show(dir: &Path) -> (String, Vec<Value>) {
    let text = clean()
        .args(["ranges", "show", "--dir"])
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = clean()
        .args(["ranges", "show", "--json", "--dir"])
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: Value = serde_json::from_slice(&json).unwrap();
    (
        String::from_utf8(text).unwrap(),
        json.as_array().unwrap().clone(),
    )
}

/// The lines of `provider`'s block in `ranges show`'s text.
fn block<'a>(text: &'a str, provider: &str) -> &'a str {
    let start = text
        .find(&format!("\n{provider}: "))
        .unwrap_or_else(|| panic!("no {provider} block in\n{text}"));
    let rest = &text[start + 1..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// "N days ago" for `t`, allowing for a day boundary passed since the command ran.
fn days_ago_phrases(t: DateTime<Utc>) -> [String; 2] {
    let d = (Utc::now() - t).num_days();
    [format!("({d} days ago"), format!("({} days ago", d - 1)]
}

fn has_any(text: &str, phrases: &[String]) -> bool {
    phrases.iter().any(|p| text.contains(p.as_str()))
}

fn age_of(file: &Path, days: u64) {
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(days * DAY as u64))
        .unwrap();
}

#[test]
fn fresh_copies_of_old_files_are_aged_by_the_vendor_date() {
    let s = Server::start();
    s.ok("/aws.json", AWS);
    s.ok("/cloud.json", GCP);
    s.ok("/goog.json", GOOGLE);
    s.ok("/ServiceTags_Public_20260301.json", AZURE);
    let tmp = tempfile::tempdir().unwrap();
    clean()
        .args(["ranges", "fetch", "--retries", "0", "--dir"])
        .arg(tmp.path())
        .args(["--aws-url", &s.url("/aws.json")])
        .args(["--gcp-url", &s.url("/cloud.json")])
        .args(["--google-url", &s.url("/goog.json")])
        .args(["--azure-url", &s.url("/ServiceTags_Public_{date}.json")])
        .env("KUBENETMON_TODAY", "20260303")
        .assert()
        .success();
    let (text, json) = show(tmp.path());
    // The fixtures' own dates: AWS createDate 2026-08-22-16-37-05 (UTC);
    // GCP/Google creationTime 2026-08-22T07:04:30.974055 is Google's Pacific
    // time, the instant is their syncToken 1787407470974 ms; Azure the date of
    // the ServiceTags_Public_20260301.json the walk-back found.
    let sync_token = DateTime::<Utc>::from_timestamp_millis(1_787_407_470_974).unwrap();
    let expected = [
        ("aws", utc("2026-08-22T16:37:05Z"), "createDate"),
        ("gcp", sync_token, "creationTime"),
        ("google", sync_token, "creationTime"),
        ("azure", utc("2026-03-01T00:00:00Z"), "azure_file_name"),
    ];
    for ((provider, at, from), e) in expected.iter().zip(&json) {
        assert_eq!(e["provider"], *provider);
        let rfc = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(e["published_at"], rfc, "{provider}");
        assert_eq!(e["published_from"], *from, "{provider}");
        assert_eq!(e["age_from"], "published", "{provider}");
        assert_eq!(e["fetched_from"], "sidecar", "{provider}");
        assert_eq!(e["stale"], true, "{provider}");
        let age = e["age_seconds"].as_i64().unwrap();
        let want = (Utc::now() - *at).num_seconds();
        assert!(
            (want - 60..=want).contains(&age),
            "{provider}: {age} vs {want}"
        );
        assert!(
            e["fetched_age_seconds"].as_i64().unwrap() < 600,
            "{provider}"
        );
        // Text: both dates, the vendor's first; the warning says the source is old.
        let b = block(&text, provider);
        let published = b.lines().find(|l| l.starts_with("  published: ")).unwrap();
        assert!(published.contains(&rfc), "{b}");
        assert!(has_any(published, &days_ago_phrases(*at)), "{b}");
        let fetched = b.lines().find(|l| l.starts_with("  fetched:   ")).unwrap();
        assert!(fetched.contains("seconds ago"), "{b}");
        assert!(
            b.contains("warning:   older than 7 days (published ")
                && b.contains("although fetched")
                && b.contains("source is behind"),
            "{b}"
        );
    }
}

/// `body` with one JSON string field replaced.
fn with_field(body: &[u8], key: &str, value: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    v[key] = value;
    serde_json::to_vec_pretty(&v).unwrap()
}

#[test]
fn recent_vendor_dates_are_fresh_even_in_an_old_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let aws_at = now - chrono::Duration::hours(2);
    let aws = with_field(
        AWS,
        "createDate",
        Value::from(aws_at.format("%Y-%m-%d-%H-%M-%S").to_string()),
    );
    // Google's creationTime seven hours behind UTC (Pacific daylight time), its
    // syncToken the same moment in Unix milliseconds.
    let gcp_at = now - chrono::Duration::days(6);
    let pacific = gcp_at - chrono::Duration::hours(7);
    let gcp = with_field(
        &with_field(
            GCP,
            "creationTime",
            Value::from(pacific.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        ),
        "syncToken",
        Value::from(gcp_at.timestamp_millis().to_string()),
    );
    std::fs::write(tmp.path().join("aws-ip-ranges.json"), aws).unwrap();
    std::fs::write(tmp.path().join("gcp-cloud.json"), gcp).unwrap();
    // Copies made a month ago (no sidecar): the mtime says stale, the data does not.
    age_of(&tmp.path().join("aws-ip-ranges.json"), 30);
    age_of(&tmp.path().join("gcp-cloud.json"), 30);
    let (text, json) = show(tmp.path());
    for (e, at) in json.iter().zip([aws_at, gcp_at]) {
        let p = e["provider"].as_str().unwrap();
        assert_eq!(e["stale"], false, "{p}");
        assert_eq!(e["age_from"], "published", "{p}");
        assert_eq!(e["fetched_from"], "mtime", "{p}");
        let age = e["age_seconds"].as_i64().unwrap();
        let want = (Utc::now() - at).num_seconds();
        assert!(
            (want - 60..=want + 1).contains(&age),
            "{p}: {age} vs {want}"
        );
        let fetched = e["fetched_age_seconds"].as_i64().unwrap();
        assert!((30 * DAY - 60..=30 * DAY + 60).contains(&fetched), "{p}");
    }
    let aws = block(&text, "aws");
    assert!(aws.contains("(2 hours ago)"), "{aws}");
    assert!(
        aws.contains("modified:") && aws.contains("(30 days ago)"),
        "{aws}"
    );
    assert!(block(&text, "gcp").contains("(6 days ago)"), "{text}");
    assert!(!text.contains("warning"), "{text}");
    // A week and a day: stale, whatever the copy's age.
    let gcp_at = now - chrono::Duration::days(8);
    let gcp = with_field(
        GCP,
        "syncToken",
        Value::from(gcp_at.timestamp_millis().to_string()),
    );
    let gcp = with_field(
        &gcp,
        "creationTime",
        Value::from(gcp_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
    );
    std::fs::write(tmp.path().join("gcp-cloud.json"), gcp).unwrap();
    let (text, json) = show(tmp.path());
    assert_eq!(json[1]["stale"], true);
    assert!(
        block(&text, "gcp").contains("older than 7 days (published 8 days ago); refresh"),
        "{text}"
    );
}

#[test]
fn google_creation_time_without_a_matching_sync_token_is_read_as_utc() {
    let tmp = tempfile::tempdir().unwrap();
    let google = with_field(GOOGLE, "syncToken", Value::from("12345"));
    std::fs::write(tmp.path().join("google-goog.json"), google).unwrap();
    let (_, json) = show(tmp.path());
    // testdata/fetch/google.json: "creationTime": "2026-08-22T07:04:30.974055"
    assert_eq!(json[2]["published_at"], "2026-08-22T07:04:30Z");
    assert_eq!(json[2]["published_from"], "creationTime");
}

/// Fetches Azure from `path` on a server holding `body` there, into a fresh dir.
fn fetch_azure(path: &str, body: &[u8]) -> tempfile::TempDir {
    let s = Server::start();
    s.ok(path, body.to_vec());
    let tmp = tempfile::tempdir().unwrap();
    clean()
        .args(["ranges", "fetch", "--provider", "azure", "--retries", "0"])
        .args(["--azure-url", &s.url(path), "--dir"])
        .arg(tmp.path())
        .assert()
        .success();
    tmp
}

#[test]
fn azure_is_dated_by_its_file_name_else_bounded_by_its_change_number() {
    // A mirror URL without {date}, but with Microsoft's file name: its date.
    let tmp = fetch_azure("/mirror/ServiceTags_Public_20260210.json", AZURE);
    let (text, json) = show(tmp.path());
    assert_eq!(json[3]["published_at"], "2026-02-10T00:00:00Z");
    assert_eq!(json[3]["published_from"], "azure_file_name");
    assert!(
        block(&text, "azure").contains("published: 2026-02-10T00:00:00Z ("),
        "{text}"
    );

    // No name to go by, changeNumber 375: that is ServiceTags_Public_20251028.json.
    let tmp = fetch_azure("/mirror/azure-latest.json", AZURE);
    let (text, json) = show(tmp.path());
    assert_eq!(json[3]["published_at"], "2025-10-28T00:00:00Z");
    assert_eq!(json[3]["published_from"], "changeNumber");
    assert_eq!(json[3]["stale"], true);
    let b = block(&text, "azure");
    assert!(
        b.contains("published: 2025-10-28T00:00:00Z (")
            && b.contains("changeNumber 375 is that of ServiceTags_Public_20251028.json"),
        "{b}"
    );

    // An older changeNumber: no later than that day.
    let old = with_field(AZURE, "changeNumber", Value::from(300));
    let tmp = fetch_azure("/mirror/azure-latest.json", &old);
    let (text, json) = show(tmp.path());
    assert_eq!(json[3]["published_at"], "2025-10-28T00:00:00Z");
    let b = block(&text, "azure");
    assert!(
        b.contains("published: 2025-10-28T00:00:00Z or earlier (")
            && b.contains("days ago or more: changeNumber 300 is below 375")
            && b.contains("(published ")
            && b.contains("days ago or more) although fetched"),
        "{b}"
    );

    // A newer one, no name: unknown, so the copy's own age is all there is.
    let newer = with_field(AZURE, "changeNumber", Value::from(380));
    let tmp = fetch_azure("/mirror/azure-latest.json", &newer);
    let (text, json) = show(tmp.path());
    assert_eq!(json[3]["published_at"], Value::Null);
    assert_eq!(json[3]["age_from"], "sidecar");
    assert_eq!(json[3]["stale"], false);
    assert!(
        block(&text, "azure").contains("published: unknown (changeNumber 380;"),
        "{text}"
    );
    let file = tmp.path().join("azure-service-tags-public.json");
    std::fs::remove_file(tmp.path().join("azure-service-tags-public.json.meta.json")).unwrap();
    age_of(&file, 9);
    let (text, json) = show(tmp.path());
    assert_eq!(json[3]["age_from"], "mtime");
    assert_eq!(json[3]["stale"], true);
    assert!(
        block(&text, "azure").contains(
            "older than 7 days (this copy is from 9 days ago; the vendor's date is unknown)"
        ),
        "{text}"
    );
}

/// `../shared/ranges` (the real vendor files), or None — which fails under CI.
fn real_ranges() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ranges");
    let there = dir.join("aws-ip-ranges.json").is_file();
    crate::support::require("the real range files in ../shared/ranges", there).then_some(dir)
}

#[test]
fn real_vendor_files_are_aged_by_their_own_dates() {
    let Some(dir) = real_ranges() else { return };
    // ../shared/ranges/README.md: AWS createDate 2026-08-22-16-37-05;
    // GCP and Google syncToken 1787407470974 (creationTime
    // 2026-08-22T07:04:30.974055, Pacific); Azure changeNumber 375, the file
    // ServiceTags_Public_20251028.json. The copies there carry no sidecar.
    let (text, json) = show(&dir);
    let expected = [
        ("aws", "2026-08-22T16:37:05Z", "createDate"),
        ("gcp", "2026-08-22T14:04:30Z", "creationTime"),
        ("google", "2026-08-22T14:04:30Z", "creationTime"),
        ("azure", "2025-10-28T00:00:00Z", "changeNumber"),
    ];
    for ((provider, at, from), e) in expected.iter().zip(&json) {
        assert_eq!(e["provider"], *provider);
        assert_eq!(e["published_at"], *at, "{provider}");
        assert_eq!(e["published_from"], *from, "{provider}");
        assert_eq!(e["age_from"], "published", "{provider}");
        let stale = Utc::now() - utc(at) > chrono::Duration::days(7);
        assert_eq!(e["stale"], stale, "{provider}");
        let b = block(&text, provider);
        assert!(b.contains(&format!("published: {at} (")), "{b}");
        assert!(has_any(b, &days_ago_phrases(utc(at))), "{b}");
        assert!(b.contains("modified:"), "{b}");
    }
}
