//! SPEC §2 "Which files are loaded": explicit files, a ranges directory, or
//! the cache, with the missing-file rules.

use std::path::{Path, PathBuf};

use super::{
    default_cache_dir, read_provider_file, Provider, ProviderFile, RangeTable, RangesError,
};
use crate::model::Cloud;

/// Where the range files come from: a directory (None = the cache) and
/// per-provider overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSources {
    pub dir: Option<PathBuf>,
    pub aws: Option<PathBuf>,
    pub gcp: Option<PathBuf>,
    pub google: Option<PathBuf>,
    pub azure: Option<PathBuf>,
}

impl RangeSources {
    /// The explicit file given for `p`, if any.
    pub fn explicit(&self, p: Provider) -> Option<&Path> {
        match p {
            Provider::Aws => self.aws.as_deref(),
            Provider::Gcp => self.gcp.as_deref(),
            Provider::Google => self.google.as_deref(),
            Provider::Azure => self.azure.as_deref(),
        }
    }
}

/// One file that went into the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedFile {
    pub provider: Provider,
    pub path: PathBuf,
    /// `syncToken` / `changeNumber`.
    pub version: String,
    /// `createDate` / `creationTime`; empty for Azure.
    pub created: String,
    pub ipv4: usize,
    pub ipv6: usize,
}

/// The merged table and what went into it.
#[derive(Debug, Clone)]
pub struct LoadedRanges {
    pub table: RangeTable,
    /// In SPEC §2's order.
    pub files: Vec<LoadedFile>,
    /// Providers whose file was absent from the directory.
    pub skipped: Vec<Provider>,
    /// Skipped providers and prefixes with host bits set; for stderr.
    pub warnings: Vec<String>,
}

/// The provider file a cloud's own classification needs (its regions).
pub fn regional_provider(cloud: Cloud) -> Provider {
    match cloud {
        Cloud::Aws => Provider::Aws,
        Cloud::Gcp => Provider::Gcp,
        Cloud::Azure => Provider::Azure,
    }
}

/// Loads and merges the range files. Explicit files must exist and parse;
/// from the directory (None = [`default_cache_dir`]) a missing provider is
/// skipped with a warning, except `local_cloud`'s regional file, whose
/// absence is an error naming it. Loading nothing at all is an error too:
/// an empty table would silently call every address public internet.
pub fn load(
    sources: &RangeSources,
    local_cloud: Option<Cloud>,
) -> Result<LoadedRanges, RangesError> {
    let dir = sources.dir.clone().or_else(default_cache_dir);
    let mut plan: Vec<(Provider, PathBuf)> = Vec::new();
    let mut skipped = Vec::new();
    let mut warnings = Vec::new();
    for p in Provider::ALL {
        if let Some(path) = sources.explicit(p) {
            plan.push((p, path.to_path_buf()));
            continue;
        }
        let candidate = dir.as_ref().map(|d| d.join(p.file_name()));
        match candidate {
            Some(path) if path.is_file() => plan.push((p, path)),
            candidate => {
                let shown = candidate
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(p.file_name()));
                if local_cloud.map(regional_provider) == Some(p) {
                    return Err(RangesError::MissingLocalFile {
                        path: shown,
                        cloud: local_cloud.expect("checked above"),
                        flag: p.name(),
                    });
                }
                warnings.push(format!(
                    "{}: not found; {} ranges skipped",
                    shown.display(),
                    p.name()
                ));
                skipped.push(p);
            }
        }
    }
    if plan.is_empty() {
        return Err(RangesError::NoRangeFiles { dir });
    }
    // The files are independent; parse them in parallel (Azure dominates).
    let parsed: Vec<Result<ProviderFile, RangesError>> = {
        use rayon::prelude::*;
        plan.par_iter()
            .map(|(p, path)| read_provider_file(*p, path))
            .collect()
    };
    let mut files = Vec::with_capacity(parsed.len());
    let mut loaded = Vec::with_capacity(parsed.len());
    for ((p, path), f) in plan.into_iter().zip(parsed) {
        let f = f?;
        warnings.extend(f.warnings.iter().cloned());
        loaded.push(LoadedFile {
            provider: p,
            path,
            version: f.version.clone(),
            created: f.created.clone(),
            ipv4: f.ipv4_count(),
            ipv6: f.ipv6_count(),
        });
        files.push(f);
    }
    Ok(LoadedRanges {
        table: RangeTable::build(&files),
        files: loaded,
        skipped,
        warnings,
    })
}
