use std::time::{Duration, Instant};

use super::*;
use kubenetmon_test_support::http::{Reply, Server};

const AWS: &[u8] = include_bytes!("../../testdata/fetch/aws.json");
const AZURE: &[u8] = include_bytes!("../../testdata/fetch/azure.json");

fn fast_limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_millis(700),
        max_bytes: 1 << 20,
        retries: 0,
        backoff: Duration::from_millis(10),
    }
}

fn opts(dir: &Path, server: &Server) -> FetchOptions {
    FetchOptions {
        dir: dir.to_path_buf(),
        providers: vec![Provider::Aws],
        urls: Urls {
            aws: Some(server.url("/aws.json")),
            gcp: Some(server.url("/gcp.json")),
            google: Some(server.url("/goog.json")),
            azure: Some(server.url("/ServiceTags_Public_{date}.json")),
        },
        limits: fast_limits(),
        today: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        // Loopback only, whatever the environment says.
        system_proxy: false,
    }
}

fn get(server: &Server, path: &str, limits: &Limits) -> Result<Vec<u8>, FetchError> {
    let client = http::client(limits, false).unwrap();
    http::download(&client, &server.url(path), limits, &NoProgress)
}

#[test]
fn azure_dates_walk_back_ninety_days_across_months() {
    let days = azure_dates(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    assert_eq!(days.len(), 91);
    assert_eq!(&days[..4], ["20260302", "20260301", "20260228", "20260227"]);
    assert_eq!(days.last().unwrap(), "20251202");
}

#[test]
fn parse_size_units() {
    assert_eq!(parse_size("65536"), Ok(65536));
    assert_eq!(parse_size("512K"), Ok(512 << 10));
    assert_eq!(parse_size("64MiB"), Ok(64 << 20));
    assert_eq!(parse_size("1g"), Ok(1 << 30));
    assert!(parse_size("12parsecs").is_err());
    assert!(parse_size("M").is_err());
}

#[test]
fn parse_day_reads_yyyymmdd_only() {
    assert_eq!(
        parse_day("20251028"),
        Ok(NaiveDate::from_ymd_opt(2025, 10, 28).unwrap())
    );
    assert!(parse_day("2025-10-28").is_err());
}

#[test]
fn sidecar_name_and_sha256() {
    assert_eq!(
        meta_path(Path::new("/c/aws-ip-ranges.json")),
        Path::new("/c/aws-ip-ranges.json.meta.json")
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn transient_errors_are_server_and_network_trouble_only() {
    let status = |s| FetchError::Status {
        url: String::new(),
        status: s,
    };
    assert!(status(503).is_transient());
    assert!(status(429).is_transient());
    assert!(!status(403).is_transient());
    assert!(!FetchError::NotFound { url: String::new() }.is_transient());
    assert!(!FetchError::TooLarge {
        url: String::new(),
        limit: 1
    }
    .is_transient());
}

#[test]
fn download_returns_the_body() {
    let s = Server::start();
    s.ok("/a", AWS);
    assert_eq!(get(&s, "/a", &fast_limits()).unwrap(), AWS);
}

#[test]
fn not_found_is_not_retried() {
    let s = Server::start();
    let limits = Limits {
        retries: 3,
        ..fast_limits()
    };
    let err = get(&s, "/missing", &limits).unwrap_err();
    assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
    assert_eq!(s.hits("/missing"), 1);
}

#[test]
fn server_errors_are_retried_with_backoff() {
    let s = Server::start();
    s.route(
        "/a",
        vec![
            Reply::Status(503),
            Reply::Status(500),
            Reply::Ok(AWS.to_vec()),
        ],
    );
    let limits = Limits {
        retries: 2,
        backoff: Duration::from_millis(50),
        ..fast_limits()
    };
    let t = Instant::now();
    assert_eq!(get(&s, "/a", &limits).unwrap(), AWS);
    assert_eq!(s.hits("/a"), 3);
    // 50 ms, then 100 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn retries_run_out() {
    let s = Server::start();
    s.route("/a", vec![Reply::Status(502)]);
    let limits = Limits {
        retries: 1,
        ..fast_limits()
    };
    let err = get(&s, "/a", &limits).unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 502, .. }),
        "{err}"
    );
    assert_eq!(s.hits("/a"), 2);
}

#[test]
fn slow_response_times_out() {
    let s = Server::start();
    s.route(
        "/slow",
        vec![Reply::Slow(Duration::from_secs(3), AWS.to_vec())],
    );
    let t = Instant::now();
    let err = get(&s, "/slow", &fast_limits()).unwrap_err();
    assert!(matches!(err, FetchError::Transport { .. }), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn truncated_body_is_an_error() {
    let s = Server::start();
    s.route(
        "/t",
        vec![Reply::Truncated {
            claimed: AWS.len() + 100,
            body: AWS.to_vec(),
        }],
    );
    let err = get(&s, "/t", &fast_limits()).unwrap_err();
    assert!(matches!(err, FetchError::Transport { .. }), "{err}");
}

#[test]
fn size_cap_by_announced_length_and_while_reading() {
    let s = Server::start();
    let big = vec![b' '; 5000];
    s.ok("/announced", big.clone());
    s.route("/unsized", vec![Reply::Unsized(big)]);
    let limits = Limits {
        max_bytes: 4096,
        ..fast_limits()
    };
    for path in ["/announced", "/unsized"] {
        let err = get(&s, path, &limits).unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 4096, .. }),
            "{path}: {err}"
        );
    }
    // Exactly at the cap is fine.
    s.ok("/exact", vec![b' '; 4096]);
    assert_eq!(get(&s, "/exact", &limits).unwrap().len(), 4096);
}

#[test]
fn fetch_saves_file_and_sidecar() {
    let s = Server::start();
    s.ok("/aws.json", AWS);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), &s);
    let report = fetch_provider(&o, Provider::Aws, &NoProgress).unwrap();
    let got = report.result.unwrap();
    let path = dir.path().join("aws-ip-ranges.json");
    assert_eq!(got.path, path);
    assert_eq!(std::fs::read(&path).unwrap(), AWS);
    let meta = read_meta(&path).unwrap().unwrap();
    assert_eq!(meta, got.meta);
    assert_eq!(meta.provider, "aws");
    assert_eq!(meta.url, s.url("/aws.json"));
    assert_eq!(meta.sha256, sha256_hex(AWS));
    assert_eq!(meta.size, AWS.len() as u64);
    assert_eq!(meta.version, "1787416625");
    assert_eq!(meta.created, "2026-08-22-16-37-05");
    assert_eq!((meta.ipv4_prefixes, meta.ipv6_prefixes), (4, 1));
    assert_eq!(meta.azure_date, None);
    let at = chrono::DateTime::parse_from_rfc3339(&meta.fetched_at).unwrap();
    assert!((Utc::now() - at.with_timezone(&Utc)).num_seconds().abs() < 60);
    // Only the two files: no temp files left behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["aws-ip-ranges.json", "aws-ip-ranges.json.meta.json"]
    );
}

#[test]
fn azure_walks_back_over_404s() {
    let s = Server::start();
    s.ok("/ServiceTags_Public_20260227.json", AZURE);
    s.ok("/ServiceTags_Public_20260220.json", AZURE);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), &s);
    let got = fetch_provider(&o, Provider::Azure, &NoProgress)
        .unwrap()
        .result
        .unwrap();
    assert_eq!(got.meta.azure_date.as_deref(), Some("20260227"));
    assert_eq!(got.meta.url, s.url("/ServiceTags_Public_20260227.json"));
    assert_eq!(got.meta.version, "375");
    assert_eq!(
        s.requests(),
        [
            "/ServiceTags_Public_20260302.json",
            "/ServiceTags_Public_20260301.json",
            "/ServiceTags_Public_20260228.json",
            "/ServiceTags_Public_20260227.json",
        ]
    );
}

#[test]
fn azure_falls_back_after_ninety_days_of_404() {
    let s = Server::start();
    s.ok("/ServiceTags_Public_20251028.json", AZURE);
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), &s);
    o.today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let got = fetch_provider(&o, Provider::Azure, &NoProgress)
        .unwrap()
        .result
        .unwrap();
    assert_eq!(got.meta.azure_date.as_deref(), Some(AZURE_FALLBACK_DATE));
    assert_eq!(got.meta.url, s.url("/ServiceTags_Public_20251028.json"));
    let reqs = s.requests();
    assert_eq!(reqs.len(), 92);
    assert_eq!(reqs[90], "/ServiceTags_Public_20260303.json");
}

#[test]
fn azure_all_missing_names_the_range_and_keeps_nothing() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), &s);
    let report = fetch_provider(&o, Provider::Azure, &NoProgress).unwrap();
    let err = report.result.unwrap_err().to_string();
    assert!(
        err.contains("20260302") && err.contains("20251202") && err.contains("20251028"),
        "{err}"
    );
    assert!(!report.kept_previous);
    assert!(!report.path.exists());
}

#[test]
fn azure_walk_stops_on_server_error() {
    let s = Server::start();
    s.route(
        "/ServiceTags_Public_20260301.json",
        vec![Reply::Status(500)],
    );
    s.ok("/ServiceTags_Public_20260228.json", AZURE);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), &s);
    let err = fetch_provider(&o, Provider::Azure, &NoProgress)
        .unwrap()
        .result
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 500, .. }),
        "{err}"
    );
    assert_eq!(s.requests().len(), 2);
}

#[test]
fn azure_url_without_date_is_used_as_is() {
    let s = Server::start();
    s.ok("/mirror/azure.json", AZURE);
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), &s);
    o.urls.azure = Some(s.url("/mirror/azure.json"));
    let got = fetch_provider(&o, Provider::Azure, &NoProgress)
        .unwrap()
        .result
        .unwrap();
    assert_eq!(got.meta.azure_date, None);
    assert_eq!(s.requests(), ["/mirror/azure.json"]);
}

fn refresh_fails_and_keeps_old(reply: Reply, expect: &str) {
    let s = Server::start();
    s.route("/aws.json", vec![reply]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aws-ip-ranges.json");
    let old = b"{\"syncToken\":\"old\",\"prefixes\":[{\"ip_prefix\":\"1.0.0.0/8\"}]}\n";
    std::fs::write(&path, old).unwrap();
    std::fs::write(meta_path(&path), b"{\"old\":true}").unwrap();
    let report = fetch_provider(&opts(dir.path(), &s), Provider::Aws, &NoProgress).unwrap();
    let err = report.result.unwrap_err().to_string();
    assert!(err.contains(expect), "{err}");
    assert!(report.kept_previous);
    assert_eq!(std::fs::read(&path).unwrap(), old);
    assert_eq!(std::fs::read(meta_path(&path)).unwrap(), b"{\"old\":true}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn invalid_json_keeps_previous_file() {
    refresh_fails_and_keeps_old(
        Reply::Ok(include_bytes!("../../testdata/fetch/aws-invalid.json").to_vec()),
        "not a valid range file",
    );
}

#[test]
fn empty_prefix_list_keeps_previous_file() {
    refresh_fails_and_keeps_old(
        Reply::Ok(include_bytes!("../../testdata/fetch/aws-empty.json").to_vec()),
        "holds no prefixes",
    );
}

#[test]
fn wrong_format_keeps_previous_file() {
    // A GCP file where the AWS one is expected: `prefixes[].ip_prefix` is missing.
    refresh_fails_and_keeps_old(
        Reply::Ok(include_bytes!("../../testdata/fetch/gcp.json").to_vec()),
        "missing field",
    );
}

#[test]
fn truncated_download_keeps_previous_file() {
    refresh_fails_and_keeps_old(
        Reply::Truncated {
            claimed: AWS.len() * 2,
            body: AWS[..AWS.len() / 2].to_vec(),
        },
        "aws.json",
    );
}

#[test]
fn fetch_all_reports_each_provider_in_order() {
    let s = Server::start();
    s.ok("/aws.json", AWS);
    s.ok(
        "/goog.json",
        include_bytes!("../../testdata/fetch/google.json").to_vec(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), &s);
    o.providers = vec![
        Provider::Google,
        Provider::Gcp,
        Provider::Aws,
        Provider::Aws,
    ];
    let reports = fetch_all(&o, &|_| Box::new(NoProgress)).unwrap();
    let summary: Vec<_> = reports
        .iter()
        .map(|r| (r.provider, r.result.is_ok()))
        .collect();
    assert_eq!(
        summary,
        [
            (Provider::Aws, true),
            (Provider::Gcp, false),
            (Provider::Google, true)
        ]
    );
    assert!(dir.path().join("google-goog.json").is_file());
    assert!(!dir.path().join("gcp-cloud.json").exists());
}

#[test]
fn inspect_reports_missing_broken_and_present() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aws-ip-ranges.json"), AWS).unwrap();
    std::fs::write(dir.path().join("gcp-cloud.json"), b"{").unwrap();
    let entries = inspect(dir.path(), Utc::now());
    assert_eq!(entries.len(), 4);
    let EntryState::Present(aws) = &entries[0].state else {
        panic!("{:?}", entries[0].state)
    };
    assert_eq!(aws.version, "1787416625");
    assert_eq!((aws.ipv4_prefixes, aws.ipv6_prefixes), (4, 1));
    assert_eq!(aws.regions, ["ap-northeast-2", "eu-west-1", "us-east-1"]);
    assert_eq!(aws.services, ["amazon", "ec2", "s3"]);
    assert!(aws.meta.is_none());
    assert!(aws.meta_problem.as_deref().unwrap().contains("no sidecar"));
    // Aged by its createDate, not by the file written a moment ago.
    assert_eq!(aws.published_at.as_deref(), Some("2026-08-22T16:37:05Z"));
    assert_eq!((aws.age_from, aws.fetched_from), ("published", "mtime"));
    assert!(aws.fetched_age_seconds.unwrap() < 3600);
    assert!(aws.stale);
    assert!(
        matches!(&entries[1].state, EntryState::Broken { error } if error.contains("gcp-cloud.json"))
    );
    assert!(matches!(entries[2].state, EntryState::Missing));
    assert!(matches!(entries[3].state, EntryState::Missing));
}

#[test]
fn inspect_ages_by_sidecar_and_flags_stale() {
    let s = Server::start();
    s.ok("/aws.json", AWS);
    let dir = tempfile::tempdir().unwrap();
    fetch_provider(&opts(dir.path(), &s), Provider::Aws, &NoProgress)
        .unwrap()
        .result
        .unwrap();
    let now = Utc::now();
    // testdata/fetch/aws.json: "createDate": "2026-08-22-16-37-05" (UTC).
    let published = chrono::DateTime::parse_from_rfc3339("2026-08-22T16:37:05Z")
        .unwrap()
        .with_timezone(&Utc);
    let at = |t| match &inspect(dir.path(), t)[0].state {
        EntryState::Present(f) => f.clone(),
        other => panic!("{other:?}"),
    };
    let fresh = at(published + chrono::Duration::days(7));
    assert!(fresh.meta_problem.is_none());
    assert_eq!(fresh.meta.as_ref().unwrap().url, s.url("/aws.json"));
    assert_eq!(
        (fresh.age_from, fresh.fetched_from),
        ("published", "sidecar")
    );
    assert_eq!(fresh.age_seconds, Some(7 * 86_400));
    assert!(!fresh.stale);
    let old = at(published + chrono::Duration::days(7) + chrono::Duration::seconds(1));
    assert!(old.stale);
    // The fetch itself is aged by the sidecar's time.
    let fetched = at(now + chrono::Duration::days(8))
        .fetched_age_seconds
        .unwrap();
    assert!(
        (8 * 86_400 - 60..=8 * 86_400).contains(&fetched),
        "{fetched}"
    );
    // Edited after the fetch: the sidecar no longer speaks for it.
    let path = dir.path().join("aws-ip-ranges.json");
    let mut edited = AWS.to_vec();
    edited.push(b'\n');
    std::fs::write(&path, edited).unwrap();
    let EntryState::Present(changed) = &inspect(dir.path(), now)[0].state else {
        panic!()
    };
    assert!(changed
        .meta_problem
        .as_deref()
        .unwrap()
        .contains("other bytes"));
}

#[test]
fn sidecar_failure_is_reported_after_the_file_is_replaced() {
    let s = Server::start();
    s.ok("/aws.json", AWS);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aws-ip-ranges.json");
    std::fs::write(&path, b"old").unwrap();
    // A directory where the sidecar goes: the rename onto it fails.
    std::fs::create_dir(meta_path(&path)).unwrap();
    let report = fetch_provider(&opts(dir.path(), &s), Provider::Aws, &NoProgress).unwrap();
    let err = report.result.unwrap_err();
    assert!(matches!(err, FetchError::Sidecar(_)), "{err}");
    assert!(
        err.to_string().contains("aws-ip-ranges.json.meta.json"),
        "{err}"
    );
    assert!(!report.kept_previous);
    assert_eq!(std::fs::read(&path).unwrap(), AWS);
}

#[test]
fn vendor_dates_from_each_providers_fields() {
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(
        vendor_date(Provider::Aws, "1787416625", "2026-08-22-16-37-05", None),
        Some((t("2026-08-22T16:37:05Z"), PublishedFrom::CreateDate))
    );
    assert_eq!(vendor_date(Provider::Aws, "1", "2026-08-22", None), None);
    assert_eq!(vendor_date(Provider::Aws, "1", "", None), None);
    // creationTime is Pacific time; the syncToken (ms) is the instant.
    let google = vendor_date(
        Provider::Google,
        "1787407470974",
        "2026-08-22T07:04:30.974055",
        None,
    );
    assert_eq!(
        google,
        Some((t("2026-08-22T14:04:30.974Z"), PublishedFrom::CreationTime))
    );
    // A token more than 14 hours off is not this moment: creationTime as UTC.
    let far = t("2026-08-22T21:04:31Z").timestamp_millis().to_string();
    assert_eq!(
        vendor_date(Provider::Gcp, &far, "2026-08-22T07:04:30", None),
        Some((t("2026-08-22T07:04:30Z"), PublishedFrom::CreationTime))
    );
    assert_eq!(vendor_date(Provider::Gcp, "1787407470974", "", None), None);
    // Azure: the file name's date, else changeNumber against the known file.
    let feb = NaiveDate::from_ymd_opt(2026, 2, 10);
    assert_eq!(
        vendor_date(Provider::Azure, "375", "", feb),
        Some((t("2026-02-10T00:00:00Z"), PublishedFrom::AzureFileName))
    );
    for n in ["375", "12"] {
        assert_eq!(
            vendor_date(Provider::Azure, n, "", None),
            Some((t("2025-10-28T00:00:00Z"), PublishedFrom::ChangeNumber)),
            "{n}"
        );
    }
    assert_eq!(vendor_date(Provider::Azure, "376", "", None), None);
    assert_eq!(vendor_date(Provider::Azure, "", "", None), None);
}

#[test]
fn azure_file_dates_from_names_and_urls() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
    assert_eq!(
        azure_file_date("https://download.microsoft.com/x/ServiceTags_Public_20251028.json"),
        d(2025, 10, 28)
    );
    assert_eq!(
        azure_file_date("http://m/servicetags_public_20260210.JSON?sig=1#a"),
        d(2026, 2, 10)
    );
    assert_eq!(
        azure_file_date(r"C:\dl\ServiceTags_Public_20260101.json"),
        d(2026, 1, 1)
    );
    for bad in [
        "ServiceTags_Public_2026021.json",
        "ServiceTags_Public_20261340.json",
        "ServiceTags_Public_2026O210.json",
        "ServiceTags_AzureGovernment_20260210.json",
        "https://m/ServiceTags_Public_20260210.json/latest",
        "azure-latest.json",
        "",
    ] {
        assert_eq!(azure_file_date(bad), None, "{bad}");
    }
}
