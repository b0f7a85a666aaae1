//! Cloud IP range table: the four vendor files merged with SPEC §2's
//! precedence into one longest-prefix-match table.

mod files;

use std::net::IpAddr;

use ipnet::IpNet;
use thiserror::Error;

use crate::model::Cloud;

pub use files::{parse_provider, read_provider_file, Provider, ProviderFile, RawPrefix};

#[derive(Debug, Error)]
pub enum RangesError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a valid range file (line {line}, column {column}): {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: prefix {prefix:?} does not parse")]
    BadPrefix { path: String, prefix: String },
}

/// What a prefix says about an address. Names are normalised (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Detail {
    pub cloud: Cloud,
    pub service: String,
    pub region: String,
}

/// The result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a> {
    pub prefix: IpNet,
    pub detail: &'a Detail,
}

/// A compiled, read-only longest-prefix-match table.
#[derive(Debug, Default)]
pub struct RangeTable {
    // Placeholder representation; replaced by the compiled structure.
    entries: Vec<(IpNet, Detail)>,
}

impl RangeTable {
    /// Builds a table from already-merged entries (one per exact prefix;
    /// the last entry for a prefix wins).
    pub fn from_entries(entries: Vec<(IpNet, Detail)>) -> Self {
        let mut out: Vec<(IpNet, Detail)> = Vec::with_capacity(entries.len());
        for (net, d) in entries {
            let net = net.trunc();
            if let Some(slot) = out.iter_mut().find(|(n, _)| *n == net) {
                slot.1 = d;
            } else {
                out.push((net, d));
            }
        }
        RangeTable { entries: out }
    }

    /// Longest-prefix match.
    pub fn lookup(&self, ip: IpAddr) -> Option<Match<'_>> {
        self.entries
            .iter()
            .filter(|(n, _)| n.contains(&ip))
            .max_by_key(|(n, _)| n.prefix_len())
            .map(|(n, d)| Match {
                prefix: *n,
                detail: d,
            })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The cache `ranges fetch` fills and `--ranges` defaults to:
/// `$XDG_CACHE_HOME/kubenetmon/ranges`, else `~/.cache/kubenetmon/ranges`.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(x) if !x.is_empty() && std::path::Path::new(&x).is_absolute() => x.into(),
        _ => std::path::PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?)
            .join(".cache"),
    };
    Some(base.join("kubenetmon").join("ranges"))
}
