//! Downloading the vendors' range files into the cache (`ranges fetch`) and
//! describing what the cache holds (`ranges show`).
//!
//! A download replaces a cached file only after it parsed and held at least
//! one prefix, so a bad or partial download never costs a good cache.

mod http;
mod show;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::io::{write_atomic, IoError};
use crate::ranges::{parse_provider, Provider, RangesError};

pub use http::{NoProgress, Progress};
pub use show::{
    azure_file_date, inspect, vendor_date, CacheEntry, EntryState, FileSummary, PublishedFrom,
    STALE_AFTER_DAYS,
};

/// Where AWS publishes `ip-ranges.json`.
pub const AWS_URL: &str = "https://ip-ranges.amazonaws.com/ip-ranges.json";
/// Google Cloud's regional ranges.
pub const GCP_URL: &str = "https://www.gstatic.com/ipranges/cloud.json";
/// All of Google's ranges (the `googleservice`/`global` file).
pub const GOOGLE_URL: &str = "https://www.gstatic.com/ipranges/goog.json";
/// Microsoft's dated service-tags file; `{date}` is replaced by `YYYYMMDD`.
pub const AZURE_URL: &str = "https://download.microsoft.com/download/7/1/D/71D86715-5596-4529-9B13-DA13A5DE5B63/ServiceTags_Public_{date}.json";
/// A date Microsoft is known to have published a file for (changeNumber 375),
/// used when no file of the last [`AZURE_WALK_BACK_DAYS`] days is found.
pub const AZURE_FALLBACK_DATE: &str = "20251028";
/// The `changeNumber` of the file of [`AZURE_FALLBACK_DATE`]; change numbers
/// only grow, so a file at or below it is no newer than that date. Bump the
/// two together.
pub const AZURE_FALLBACK_CHANGE_NUMBER: u64 = 375;
/// How many days before today the Azure walk-back tries (today included
/// besides), at one request per day.
pub const AZURE_WALK_BACK_DAYS: u32 = 90;
/// Default size cap per download; the biggest file (Azure) is about 4 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;

/// How long and how large a download may be, and how often it is retried.
#[derive(Debug, Clone)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    pub max_bytes: u64,
    /// Extra attempts after a transient failure.
    pub retries: u32,
    /// First retry delay; doubled for each further retry.
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            max_bytes: DEFAULT_MAX_BYTES,
            retries: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Per-provider URL overrides (mirrors, tests). For Azure, `{date}` in the
/// URL is replaced by the day being tried; without it there is no walk-back.
#[derive(Debug, Clone, Default)]
pub struct Urls {
    pub aws: Option<String>,
    pub gcp: Option<String>,
    pub google: Option<String>,
    pub azure: Option<String>,
}

impl Urls {
    /// The URL (Azure: the template) used for `provider`.
    pub fn get(&self, provider: Provider) -> &str {
        let (over, default) = match provider {
            Provider::Aws => (&self.aws, AWS_URL),
            Provider::Gcp => (&self.gcp, GCP_URL),
            Provider::Google => (&self.google, GOOGLE_URL),
            Provider::Azure => (&self.azure, AZURE_URL),
        };
        over.as_deref().unwrap_or(default)
    }
}

/// Everything `fetch_all` needs.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub dir: PathBuf,
    pub providers: Vec<Provider>,
    pub urls: Urls,
    pub limits: Limits,
    /// First day of the Azure walk-back (UTC today, unless a test pins it).
    pub today: NaiveDate,
    /// Honour the `*_PROXY` environment variables (`--no-proxy` turns it off).
    pub system_proxy: bool,
}

impl FetchOptions {
    /// All four providers, default URLs and limits, today's UTC date.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FetchOptions {
            dir: dir.into(),
            providers: Provider::ALL.to_vec(),
            urls: Urls::default(),
            limits: Limits::default(),
            today: Utc::now().date_naive(),
            system_proxy: true,
        }
    }
}

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error("{url}: not found (HTTP 404)")]
    NotFound { url: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: larger than the {limit}-byte cap (raise it with --max-size)")]
    TooLarge { url: String, limit: u64 },
    #[error("downloaded file rejected: {0}")]
    Invalid(#[from] RangesError),
    #[error("{url}: downloaded file holds no prefixes (is it this provider's file?)")]
    Empty { url: String },
    #[error("no Azure file found for {newest} back to {oldest}, nor the fallback {fallback} (all HTTP 404)")]
    AzureNotFound {
        newest: String,
        oldest: String,
        fallback: String,
    },
    #[error(transparent)]
    Write(#[from] IoError),
    /// The new file is in place; only its sidecar could not be written.
    #[error("saved the new file but not its sidecar: {0}")]
    Sidecar(IoError),
    #[error("{path}: cannot create the ranges directory")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FetchError {
    /// Worth another try after a pause: server trouble and the network,
    /// never a 404 or a file that downloaded fine but is wrong.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Transport { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }
}

/// The sidecar written beside each cached file (`<file>.meta.json`): where
/// and when it came from, so `ranges show` can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub provider: String,
    pub url: String,
    /// RFC 3339, UTC.
    pub fetched_at: String,
    pub sha256: String,
    pub size: u64,
    /// `syncToken` or Azure `changeNumber`.
    pub version: String,
    /// `createDate` / `creationTime`; empty for Azure.
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub ipv4_prefixes: usize,
    #[serde(default)]
    pub ipv6_prefixes: usize,
    /// The `YYYYMMDD` of the Azure file that was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_date: Option<String>,
    #[serde(default)]
    pub fetched_by: String,
}

/// `aws-ip-ranges.json` → `aws-ip-ranges.json.meta.json`.
pub fn meta_path(data: &Path) -> PathBuf {
    let mut name = data.file_name().unwrap_or_default().to_os_string();
    name.push(".meta.json");
    data.with_file_name(name)
}

/// Reads a sidecar; `Ok(None)` when there is none.
pub fn read_meta(data: &Path) -> Result<Option<Meta>, String> {
    let path = meta_path(data);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A provider's file that was downloaded, checked and saved.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: PathBuf,
    pub meta: Meta,
    /// Prefixes with host bits set (accepted as their network).
    pub warnings: usize,
}

/// What happened to one provider.
#[derive(Debug)]
pub struct Report {
    pub provider: Provider,
    pub path: PathBuf,
    pub result: Result<Fetched, FetchError>,
    /// On failure: whether an earlier file is still in place.
    pub kept_previous: bool,
}

/// Downloads every requested provider (in parallel), each independently:
/// one failing never stops the others. `Err` only when nothing could start.
pub fn fetch_all(
    opts: &FetchOptions,
    progress: &(dyn Fn(Provider) -> Box<dyn Progress + Send> + Sync),
) -> Result<Vec<Report>, FetchError> {
    std::fs::create_dir_all(&opts.dir).map_err(|source| FetchError::Dir {
        path: opts.dir.clone(),
        source,
    })?;
    let client = http::client(&opts.limits, opts.system_proxy)?;
    let mut providers = opts.providers.clone();
    providers.sort();
    providers.dedup();
    let reports = std::thread::scope(|s| {
        let handles: Vec<_> = providers
            .iter()
            .map(|&p| {
                let client = &client;
                let bar = progress(p);
                s.spawn(move || fetch_one(client, opts, p, bar.as_ref()))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("fetch thread panicked"))
            .collect()
    });
    Ok(reports)
}

/// Downloads, validates and saves one provider's file.
pub fn fetch_provider(
    opts: &FetchOptions,
    provider: Provider,
    progress: &dyn Progress,
) -> Result<Report, FetchError> {
    std::fs::create_dir_all(&opts.dir).map_err(|source| FetchError::Dir {
        path: opts.dir.clone(),
        source,
    })?;
    let client = http::client(&opts.limits, opts.system_proxy)?;
    Ok(fetch_one(&client, opts, provider, progress))
}

fn fetch_one(
    client: &reqwest::blocking::Client,
    opts: &FetchOptions,
    provider: Provider,
    progress: &dyn Progress,
) -> Report {
    let path = opts.dir.join(provider.file_name());
    let result =
        download_checked(client, opts, provider, progress).and_then(|v| save(&path, provider, v));
    Report {
        provider,
        kept_previous: matches!(&result, Err(e) if !matches!(e, FetchError::Sidecar(_)))
            && path.is_file(),
        path,
        result,
    }
}

/// (url, azure date, body) of a successful download.
type Checked = (String, Option<String>, Vec<u8>);

/// A download that passed validation.
struct Valid {
    url: String,
    azure_date: Option<String>,
    bytes: Vec<u8>,
    parsed: crate::ranges::ProviderFile,
}

fn download_checked(
    client: &reqwest::blocking::Client,
    opts: &FetchOptions,
    provider: Provider,
    progress: &dyn Progress,
) -> Result<Valid, FetchError> {
    let template = opts.urls.get(provider);
    let (url, date, bytes) = if provider == Provider::Azure && template.contains("{date}") {
        azure_walk(client, opts, template, progress)?
    } else {
        let bytes = http::download(client, template, &opts.limits, progress)?;
        (template.to_string(), None, bytes)
    };
    let parsed = parse_provider(provider, &bytes, &url)?;
    if parsed.prefixes.is_empty() {
        return Err(FetchError::Empty { url });
    }
    Ok(Valid {
        url,
        azure_date: date,
        bytes,
        parsed,
    })
}

/// Today, then one day earlier at a time on 404, then the fallback date.
/// Any other failure ends the walk: it is the network, not a missing day.
fn azure_walk(
    client: &reqwest::blocking::Client,
    opts: &FetchOptions,
    template: &str,
    progress: &dyn Progress,
) -> Result<Checked, FetchError> {
    let days = azure_dates(opts.today);
    for date in &days {
        let url = template.replace("{date}", date);
        match http::download(client, &url, &opts.limits, progress) {
            Ok(bytes) => return Ok((url, Some(date.clone()), bytes)),
            Err(FetchError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    let fallback = template.replace("{date}", AZURE_FALLBACK_DATE);
    let not_found = || FetchError::AzureNotFound {
        newest: days.first().cloned().unwrap_or_default(),
        oldest: days.last().cloned().unwrap_or_default(),
        fallback: fallback.clone(),
    };
    if days.iter().any(|d| d == AZURE_FALLBACK_DATE) {
        return Err(not_found());
    }
    match http::download(client, &fallback, &opts.limits, progress) {
        Ok(bytes) => Ok((
            fallback.clone(),
            Some(AZURE_FALLBACK_DATE.to_string()),
            bytes,
        )),
        Err(FetchError::NotFound { .. }) => Err(not_found()),
        Err(e) => Err(e),
    }
}

/// `YYYYMMDD` for today and each of the [`AZURE_WALK_BACK_DAYS`] days before.
pub fn azure_dates(today: NaiveDate) -> Vec<String> {
    (0..=AZURE_WALK_BACK_DAYS)
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(back.into())))
        .map(|d| d.format("%Y%m%d").to_string())
        .collect()
}

/// Parses a `YYYYMMDD` day (the hidden `--today` / `KUBENETMON_TODAY`).
pub fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y%m%d")
        .map_err(|e| format!("{s:?} is not a YYYYMMDD date: {e}"))
}

/// Replaces the cached file, then its sidecar; both atomically.
fn save(path: &Path, provider: Provider, v: Valid) -> Result<Fetched, FetchError> {
    let Valid {
        url,
        azure_date,
        bytes,
        parsed,
    } = v;
    let meta = Meta {
        provider: provider.name().to_string(),
        url,
        fetched_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        sha256: sha256_hex(&bytes),
        size: bytes.len() as u64,
        version: parsed.version.clone(),
        created: parsed.created.clone(),
        ipv4_prefixes: parsed.ipv4_count(),
        ipv6_prefixes: parsed.ipv6_count(),
        azure_date,
        fetched_by: concat!("kubenetmon ", env!("CARGO_PKG_VERSION")).to_string(),
    };
    write_atomic(path, &bytes)?;
    let mut json = serde_json::to_vec_pretty(&meta).expect("Meta serialises");
    json.push(b'\n');
    write_atomic(&meta_path(path), &json).map_err(FetchError::Sidecar)?;
    Ok(Fetched {
        path: path.to_path_buf(),
        meta,
        warnings: parsed.warnings.len(),
    })
}

/// Parses `65536`, `512K`, `64M`, `1G` (binary units; `KiB`/`MiB`/`GiB`
/// and a trailing `B` are accepted too).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 65536, 512K, 64M)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "{s:?}: unknown size unit {other:?} (use K, M or G)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests;
