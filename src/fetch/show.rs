//! What a ranges directory holds (`ranges show`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{read_meta, sha256_hex, Meta, AZURE_FALLBACK_CHANGE_NUMBER, AZURE_FALLBACK_DATE};
use crate::ranges::{parse_provider, Provider};

/// A cached file older than this earns a warning: the vendors publish
/// changes weekly or more often.
pub const STALE_AFTER_DAYS: i64 = 7;

/// One provider's slot in the directory.
#[derive(Debug, Clone, Serialize)]
pub struct CacheEntry {
    #[serde(serialize_with = "provider_name")]
    pub provider: Provider,
    pub path: PathBuf,
    #[serde(flatten)]
    pub state: EntryState,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EntryState {
    Missing,
    /// Present but unreadable or not a valid range file.
    Broken {
        error: String,
    },
    Present(Box<FileSummary>),
}

#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub size: u64,
    pub sha256: String,
    /// RFC 3339; from the sidecar when it describes this very file, else the mtime.
    pub fetched_at: Option<String>,
    /// Where `fetched_at` came from: `sidecar` or `mtime`.
    pub fetched_from: &'static str,
    pub fetched_age_seconds: Option<i64>,
    /// RFC 3339, UTC: when the vendor made this file ([`vendor_date`]). A
    /// file fetched today may hold months-old data (a stale mirror, Azure's
    /// fallback file), so this, not the fetch, is what ages.
    pub published_at: Option<String>,
    pub published_from: Option<PublishedFrom>,
    /// Age of the data: since `published_at` when known, else since `fetched_at`.
    pub age_seconds: Option<i64>,
    /// What `age_seconds` counts from: `published`, `sidecar` or `mtime`.
    pub age_from: &'static str,
    /// `age_seconds` is over [`STALE_AFTER_DAYS`].
    pub stale: bool,
    pub version: String,
    pub created: String,
    pub ipv4_prefixes: usize,
    pub ipv6_prefixes: usize,
    pub regions: Vec<String>,
    pub services: Vec<String>,
    /// Prefixes with host bits set.
    pub warnings: usize,
    pub meta: Option<Meta>,
    /// Why the sidecar was not used (missing, unreadable, or describes other bytes).
    pub meta_problem: Option<String>,
}

/// Which of the vendor's fields dates a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PublishedFrom {
    /// AWS `createDate`, UTC.
    #[serde(rename = "createDate")]
    CreateDate,
    /// GCP/Google `creationTime`.
    #[serde(rename = "creationTime")]
    CreationTime,
    /// The `YYYYMMDD` of Azure's `ServiceTags_Public_YYYYMMDD.json` (midnight UTC).
    #[serde(rename = "azure_file_name")]
    AzureFileName,
    /// Azure, no file name known: a `changeNumber` at or below that of the
    /// known file of [`AZURE_FALLBACK_DATE`] dates it *no later than* that day.
    #[serde(rename = "changeNumber")]
    ChangeNumber,
}

/// How far Google's zone-less `creationTime` may be from its `syncToken`
/// for the two to be one moment seen from some time zone.
const MAX_ZONE_OFFSET_SECS: i64 = 14 * 3600;

/// When the vendor made a file, from its own fields: AWS `createDate`
/// (`2026-08-22-16-37-05`, UTC); GCP/Google `creationTime`
/// (`2026-08-22T07:04:30.974055`), which carries no zone and is Google's
/// local (US Pacific) time, so the instant is taken from `syncToken` (Unix
/// milliseconds) when the two agree up to a zone offset, else creationTime
/// is read as UTC; Azure files carry no date, so `azure_file` is the
/// `YYYYMMDD` of the file name they were fetched under, when known, else an
/// old enough `changeNumber` gives an upper bound ([`PublishedFrom::ChangeNumber`]).
pub fn vendor_date(
    provider: Provider,
    version: &str,
    created: &str,
    azure_file: Option<NaiveDate>,
) -> Option<(DateTime<Utc>, PublishedFrom)> {
    match provider {
        Provider::Aws => NaiveDateTime::parse_from_str(created.trim(), "%Y-%m-%d-%H-%M-%S")
            .ok()
            .map(|t| (t.and_utc(), PublishedFrom::CreateDate)),
        Provider::Gcp | Provider::Google => {
            let naive = NaiveDateTime::parse_from_str(created.trim(), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()?
                .and_utc();
            let from_token = version
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .filter(|t| (*t - naive).num_seconds().abs() <= MAX_ZONE_OFFSET_SECS);
            Some((from_token.unwrap_or(naive), PublishedFrom::CreationTime))
        }
        Provider::Azure => {
            let midnight =
                |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
            if let Some(d) = azure_file {
                return Some((midnight(d), PublishedFrom::AzureFileName));
            }
            let change: u64 = version.trim().parse().ok()?;
            let known = NaiveDate::parse_from_str(AZURE_FALLBACK_DATE, "%Y%m%d").ok()?;
            (change <= AZURE_FALLBACK_CHANGE_NUMBER)
                .then(|| (midnight(known), PublishedFrom::ChangeNumber))
        }
    }
}

/// The date in `…/ServiceTags_Public_YYYYMMDD.json` (a URL or a file name).
pub fn azure_file_date(name: &str) -> Option<NaiveDate> {
    let path = name.split(['?', '#']).next().unwrap_or("");
    let file = path.rsplit(['/', '\\']).next().unwrap_or("");
    let lower = file.to_ascii_lowercase();
    let digits = lower
        .strip_prefix("servicetags_public_")?
        .strip_suffix(".json")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

/// Describes each provider's file in `dir`, ages measured against `now`.
pub fn inspect(dir: &Path, now: DateTime<Utc>) -> Vec<CacheEntry> {
    Provider::ALL
        .iter()
        .map(|&provider| {
            let path = dir.join(provider.file_name());
            let state = inspect_file(provider, &path, now);
            CacheEntry {
                provider,
                path,
                state,
            }
        })
        .collect()
}

fn inspect_file(provider: Provider, path: &Path, now: DateTime<Utc>) -> EntryState {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return EntryState::Missing,
        Err(e) => {
            return EntryState::Broken {
                error: format!("{}: {e}", path.display()),
            }
        }
    };
    let parsed = match parse_provider(provider, &bytes, &path.display().to_string()) {
        Ok(p) => p,
        Err(e) => {
            return EntryState::Broken {
                error: e.to_string(),
            }
        }
    };
    let sha256 = sha256_hex(&bytes);
    let (meta, meta_problem) = match read_meta(path) {
        Ok(Some(m)) if m.sha256 == sha256 => (Some(m), None),
        Ok(Some(m)) => (
            Some(m),
            Some("sidecar describes other bytes (file changed after the fetch)".to_string()),
        ),
        Ok(None) => (
            None,
            Some("no sidecar; not written by ranges fetch".to_string()),
        ),
        Err(e) => (None, Some(format!("unreadable sidecar: {e}"))),
    };
    // A sidecar only speaks for the bytes it describes.
    let trusted = meta.as_ref().filter(|_| meta_problem.is_none());
    let from_meta = trusted
        .and_then(|m| DateTime::parse_from_rfc3339(&m.fetched_at).ok())
        .map(|d| d.with_timezone(&Utc));
    let fetched_from = if from_meta.is_some() {
        "sidecar"
    } else {
        "mtime"
    };
    let fetched_at = from_meta.or_else(|| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(DateTime::<Utc>::from)
    });
    let azure_file = trusted.and_then(|m| {
        m.azure_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            .or_else(|| azure_file_date(&m.url))
    });
    let published = vendor_date(provider, &parsed.version, &parsed.created, azure_file);
    let fetched_age_seconds = fetched_at.map(|t| (now - t).num_seconds());
    let (age_seconds, age_from) = match published {
        Some((at, _)) => (Some((now - at).num_seconds()), "published"),
        None => (fetched_age_seconds, fetched_from),
    };
    let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    EntryState::Present(Box::new(FileSummary {
        size: bytes.len() as u64,
        sha256,
        fetched_at: fetched_at.map(rfc3339),
        fetched_from,
        fetched_age_seconds,
        published_at: published.map(|(at, _)| rfc3339(at)),
        published_from: published.map(|(_, from)| from),
        age_seconds,
        age_from,
        stale: age_seconds.is_some_and(|a| a > STALE_AFTER_DAYS * 86_400),
        version: parsed.version.clone(),
        created: parsed.created.clone(),
        ipv4_prefixes: parsed.ipv4_count(),
        ipv6_prefixes: parsed.ipv6_count(),
        regions: parsed.regions().into_iter().collect(),
        services: parsed.services().into_iter().collect(),
        warnings: parsed.warnings.len(),
        meta,
        meta_problem,
    }))
}

fn provider_name<S: serde::Serializer>(p: &Provider, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.name())
}
