//! The range table over the vendors' real files in ../shared/ranges
//! (skipped, with a note, when that directory is absent; a failure under
//! CI=true). Each expected answer is justified from the file contents in a
//! comment.

use std::path::{Path, PathBuf};

use kubenetmon::model::Cloud;
use kubenetmon::ranges::{self, RangeSources, RangeTable};

use crate::support::{self, kubenetmon};

/// The real files; `None` (skip) only outside CI.
fn real_dir() -> Option<PathBuf> {
    support::real_ranges()
}

fn table(dir: &Path) -> RangeTable {
    let loaded = ranges::load(
        &RangeSources {
            dir: Some(dir.to_path_buf()),
            ..Default::default()
        },
        Some(Cloud::Aws),
    )
    .unwrap();
    assert_eq!(loaded.files.len(), 4);
    assert!(loaded.skipped.is_empty());
    loaded.table
}

fn answer(t: &RangeTable, ip: &str) -> (String, String, String, String) {
    let m = t
        .lookup(ip.parse().unwrap())
        .unwrap_or_else(|| panic!("{ip} should match"));
    (
        m.detail.cloud.to_string(),
        m.detail.region.clone(),
        m.detail.service.clone(),
        m.prefix.to_string(),
    )
}

fn a(c: &str, r: &str, s: &str, p: &str) -> (String, String, String, String) {
    (c.into(), r.into(), s.into(), p.into())
}

#[test]
fn well_known_addresses() {
    let Some(dir) = real_dir() else { return };
    let t = table(&dir);
    // README counts: 10,666 + 997 + 99 + 68,933 IPv4 entries and
    // 6,160 + 95 + 15 + 24,429 IPv6 before de-duplication by exact prefix.
    assert!(
        t.ipv4_len() > 40_000 && t.ipv6_len() > 10_000,
        "{} {}",
        t.ipv4_len(),
        t.ipv6_len()
    );

    // ip-ranges.json lists 52.216.0.0/15 twice: AMAZON then S3 (us-east-1): s3 wins.
    assert_eq!(
        answer(&t, "52.216.10.20"),
        a("aws", "us-east-1", "s3", "52.216.0.0/15")
    );
    // 3.5.140.0/22 is AMAZON, S3 and EC2 (ap-northeast-2): s3 wins.
    assert_eq!(
        answer(&t, "3.5.140.1"),
        a("aws", "ap-northeast-2", "s3", "3.5.140.0/22")
    );
    // 35.180.0.0/16 is AMAZON and EC2 (eu-west-3): amazon beats ec2 …
    assert_eq!(
        answer(&t, "35.180.1.1"),
        a("aws", "eu-west-3", "amazon", "35.180.0.0/16")
    );
    // … and 35.180.1.16/29 inside it is ROUTE53_RESOLVER: longest prefix wins.
    assert_eq!(
        answer(&t, "35.180.1.20"),
        a("aws", "eu-west-3", "route53_resolver", "35.180.1.16/29")
    );
    // 2600:1f18::/33 is AMAZON and EC2 in ipv6_prefixes: amazon.
    assert_eq!(
        answer(&t, "2600:1f18::1"),
        a("aws", "us-east-1", "amazon", "2600:1f18::/33")
    );

    // cloud.json: 35.185.0.0/17 scope us-east1, 35.185.128.0/19 asia-east1
    // (goog.json's 35.184.0.0/13 is shorter, so the scoped ones win).
    assert_eq!(
        answer(&t, "35.185.0.1"),
        a("gcp", "us-east1", "googlecloud", "35.185.0.0/17")
    );
    assert_eq!(
        answer(&t, "35.185.130.1"),
        a("gcp", "asia-east1", "googlecloud", "35.185.128.0/19")
    );
    // 23.236.48.0/20 is us-central1 in cloud.json and also in goog.json:
    // goog.json's answer wins.
    assert_eq!(
        answer(&t, "23.236.48.1"),
        a("gcp", "global", "googleservice", "23.236.48.0/20")
    );
    // goog.json only: 8.8.8.0/24 and 2001:4860::/32.
    assert_eq!(
        answer(&t, "8.8.8.8"),
        a("gcp", "global", "googleservice", "8.8.8.0/24")
    );
    assert_eq!(
        answer(&t, "2001:4860:4860::8888"),
        a("gcp", "global", "googleservice", "2001:4860::/32")
    );

    // Azure 20.60.0.0/24: Storage.EastUS (AzureStorage, eastus) comes
    // first, then AzureCloud.eastus and AzureCloud (no systemService),
    // which replace nothing: azurestorage/eastus.
    assert_eq!(
        answer(&t, "20.60.0.1"),
        a("azure", "eastus", "azurestorage", "20.60.0.0/24")
    );
    // 4.144.9.0/26: Sql (AzureSQL, region "") then Sql.EastAsia: rule (c).
    assert_eq!(
        answer(&t, "4.144.9.1"),
        a("azure", "eastasia", "azuresql", "4.144.9.0/26")
    );
    // 13.107.246.0/24 is only in AzureFrontDoor.Frontend (no systemService,
    // no region): azureservice/global.
    assert_eq!(
        answer(&t, "13.107.246.1"),
        a("azure", "global", "azureservice", "13.107.246.0/24")
    );
    // 2603:1020::/47: AzureCloud.northeurope, then AzureCloud (global),
    // which does not replace a regional entry.
    assert_eq!(
        answer(&t, "2603:1020::1"),
        a("azure", "northeurope", "azurecloud", "2603:1020::/47")
    );

    // Cloudflare's resolver is in no file.
    assert!(t.lookup("1.1.1.1".parse().unwrap()).is_none());
}

#[test]
fn regions_of_each_cloud() {
    let Some(dir) = real_dir() else { return };
    let t = table(&dir);
    let aws = t.regions(Cloud::Aws);
    assert!(aws.contains("us-east-1") && aws.contains("global") && aws.contains("eu-central-2"));
    assert!(t.regions(Cloud::Gcp).contains("us-east1"));
    // The service tags spell Germany West Central `germanywc`; the name AKS
    // node labels carry resolves to it.
    assert!(t.regions(Cloud::Azure).contains("germanywc"));
    assert!(t.regions(Cloud::Azure).contains("westeurope"));
    assert_eq!(
        t.resolve_region(Cloud::Azure, "Germany West Central")
            .unwrap(),
        "germanywc"
    );
    let err = t
        .resolve_region(Cloud::Aws, "us-east1")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("us-east-1") && err.contains("eu-west-1"),
        "{err}"
    );
}

#[test]
fn classify_binary_on_real_files() {
    let Some(dir) = real_dir() else { return };
    let out = kubenetmon()
        .args([
            "classify",
            "-q",
            "--json",
            "--cloud",
            "aws",
            "--region",
            "us-east-1",
        ])
        .arg("--ranges")
        .arg(&dir)
        .args([
            "52.216.10.20",
            "3.5.140.1",
            "8.8.8.8",
            "10.0.0.1",
            "15.177.0.1",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let classes: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["class"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // 15.177.0.0/18 is ROUTE53_HEALTHCHECKS with region GLOBAL.
    assert_eq!(
        classes,
        [
            "INTRA_REGION",
            "INTER_REGION",
            "PUBLIC_INTERNET",
            "INTRA_VPC",
            "INTRA_REGION"
        ]
    );
}
