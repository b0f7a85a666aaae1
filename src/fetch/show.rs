//! What a ranges directory holds (`ranges show`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{read_meta, sha256_hex, Meta};
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
    pub age_seconds: Option<i64>,
    /// Where `fetched_at` came from: `sidecar` or `mtime`.
    pub age_from: &'static str,
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
    let from_meta = meta
        .as_ref()
        .filter(|_| meta_problem.is_none())
        .and_then(|m| DateTime::parse_from_rfc3339(&m.fetched_at).ok())
        .map(|d| d.with_timezone(&Utc));
    let age_from = if from_meta.is_some() {
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
    let age_seconds = fetched_at.map(|t| (now - t).num_seconds());
    let fetched_at = fetched_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    EntryState::Present(Box::new(FileSummary {
        size: bytes.len() as u64,
        sha256,
        fetched_at,
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
