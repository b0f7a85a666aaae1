//! Cloud IP range table: the four vendor files merged with SPEC §2's
//! precedence into one longest-prefix-match table.
//!
//! [`load`] finds and reads the files, [`RangeTable::build`] merges them,
//! and the compiled table answers [`RangeTable::lookup`] for IPv4 and IPv6.

mod files;
mod fxhash;
mod load;
mod lpm;
mod merge;
mod prefix_map;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use thiserror::Error;

use crate::model::{normalize, Cloud};
use fxhash::FxHashMap;

pub use files::{parse_provider, read_provider_file, Provider, ProviderFile, RawPrefix};
pub use load::{load, regional_provider, LoadedFile, LoadedRanges, RangeSources};
pub use prefix_map::{parse_cidr, PrefixMap};

#[derive(Debug, Error)]
pub enum RangesError {
    #[error("{path}")]
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
    /// `at`: the line (when the text is found) and the entry, e.g.
    /// `line 7, prefixes[3].ip_prefix`.
    #[error("{path}: {at}: prefix {prefix:?} does not parse")]
    BadPrefix {
        path: String,
        at: String,
        prefix: String,
    },
    #[error(
        "{path}: not found, and it is needed to classify traffic inside the local cloud \
         ({cloud}); run `kubenetmon ranges fetch` or pass --{flag} FILE"
    )]
    MissingLocalFile {
        path: PathBuf,
        cloud: Cloud,
        flag: &'static str,
    },
    #[error(
        "no cloud range files found{}; run `kubenetmon ranges fetch` or pass --ranges DIR",
        match dir { Some(d) => format!(" in {}", d.display()), None => String::new() }
    )]
    NoRangeFiles { dir: Option<PathBuf> },
    #[error(
        "region {region:?} is not among the {cloud} regions of the loaded range files{}",
        list_regions(regions)
    )]
    UnknownRegion {
        cloud: Cloud,
        region: String,
        regions: Vec<String>,
    },
}

fn list_regions(regions: &[String]) -> String {
    if regions.is_empty() {
        " (no prefixes of that cloud are loaded)".to_string()
    } else {
        format!("; known regions: {}", regions.join(", "))
    }
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
///
/// Details are interned (a few hundred distinct ones for ~110k prefixes);
/// each family keeps its exact prefixes plus the flattened interval index.
#[derive(Debug, Clone)]
pub struct RangeTable {
    details: Vec<Detail>,
    v4_nets: Vec<(u32, u8)>,
    v4_detail: Vec<u32>,
    v4: lpm::V4Index,
    v6_nets: Vec<(u128, u8)>,
    v6_detail: Vec<u32>,
    v6: lpm::Intervals<u128>,
}

impl Default for RangeTable {
    fn default() -> Self {
        RangeTable::from_entries(Vec::new())
    }
}

impl RangeTable {
    /// Builds a table from already-merged entries (one per exact prefix;
    /// the last entry for a prefix wins). Host bits are cleared.
    pub fn from_entries(entries: Vec<(IpNet, Detail)>) -> Self {
        let mut interner: FxHashMap<Detail, u32> = FxHashMap::default();
        let mut details = Vec::new();
        let mut slots: FxHashMap<IpNet, u32> =
            FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
        let mut merged: Vec<(IpNet, u32)> = Vec::with_capacity(entries.len());
        for (net, d) in entries {
            let id = *interner.entry(d).or_insert_with_key(|d| {
                details.push(d.clone());
                (details.len() - 1) as u32
            });
            let net = net.trunc();
            match slots.get(&net) {
                Some(&slot) => merged[slot as usize].1 = id,
                None => {
                    slots.insert(net, merged.len() as u32);
                    merged.push((net, id));
                }
            }
        }
        Self::compile(details, merged)
    }

    /// Merges vendor files with SPEC §2's precedence, in the order given
    /// (normally AWS, GCP, Google, Azure), into one table.
    pub fn build(files: &[ProviderFile]) -> RangeTable {
        let (details, merged) = merge::merge(files);
        Self::compile(details, merged)
    }

    /// `details` must all be referenced by `merged`, whose prefixes are
    /// distinct and truncated.
    fn compile(details: Vec<Detail>, merged: Vec<(IpNet, u32)>) -> RangeTable {
        let mut v4_nets = Vec::new();
        let mut v4_detail = Vec::new();
        let mut v6_nets = Vec::new();
        let mut v6_detail = Vec::new();
        for (net, id) in merged {
            match net {
                IpNet::V4(n) => {
                    v4_nets.push((u32::from(n.network()), n.prefix_len()));
                    v4_detail.push(id);
                }
                IpNet::V6(n) => {
                    v6_nets.push((u128::from(n.network()), n.prefix_len()));
                    v6_detail.push(id);
                }
            }
        }
        RangeTable {
            v4: lpm::V4Index::build(&v4_nets),
            v6: lpm::Intervals::build(&v6_nets),
            details,
            v4_nets,
            v4_detail,
            v6_nets,
            v6_detail,
        }
    }

    /// Longest-prefix match.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<Match<'_>> {
        match ip {
            IpAddr::V4(a) => self.lookup_v4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                // `::ffff:a.b.c.d` is an IPv4 address in IPv6 clothing.
                Some(v4) => self.lookup_v4(v4),
                None => self.lookup_v6(a),
            },
        }
    }

    #[inline]
    pub fn lookup_v4(&self, ip: Ipv4Addr) -> Option<Match<'_>> {
        let i = self.v4.get(u32::from(ip));
        if i == lpm::NONE {
            return None;
        }
        let (start, len) = self.v4_nets[i as usize];
        Some(Match {
            prefix: IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(start), len)),
            detail: &self.details[self.v4_detail[i as usize] as usize],
        })
    }

    #[inline]
    pub fn lookup_v6(&self, ip: Ipv6Addr) -> Option<Match<'_>> {
        let i = self.v6.get(u128::from(ip));
        if i == lpm::NONE {
            return None;
        }
        let (start, len) = self.v6_nets[i as usize];
        Some(Match {
            prefix: IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(start), len)),
            detail: &self.details[self.v6_detail[i as usize] as usize],
        })
    }

    /// Number of distinct prefixes (IPv4 + IPv6).
    pub fn len(&self) -> usize {
        self.v4_nets.len() + self.v6_nets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn ipv4_len(&self) -> usize {
        self.v4_nets.len()
    }

    pub fn ipv6_len(&self) -> usize {
        self.v6_nets.len()
    }

    /// Every stored prefix with its detail, IPv4 first, in no useful order.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &Detail)> + '_ {
        let v4 = self
            .v4_nets
            .iter()
            .zip(&self.v4_detail)
            .map(|(&(a, l), &d)| {
                (
                    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(a), l)),
                    &self.details[d as usize],
                )
            });
        let v6 = self
            .v6_nets
            .iter()
            .zip(&self.v6_detail)
            .map(|(&(a, l), &d)| {
                (
                    IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(a), l)),
                    &self.details[d as usize],
                )
            });
        v4.chain(v6)
    }

    /// Normalised, non-empty regions of `cloud`'s prefixes in the table.
    pub fn regions(&self, cloud: Cloud) -> BTreeSet<&str> {
        // Every interned detail is referenced by at least one prefix.
        self.details
            .iter()
            .filter(|d| d.cloud == cloud && !d.region.is_empty())
            .map(|d| d.region.as_str())
            .collect()
    }

    /// Normalised, non-empty service names of `cloud`'s prefixes in the table
    /// (to tell a user that a `--gateway-endpoint` names none of them).
    pub fn services(&self, cloud: Cloud) -> BTreeSet<&str> {
        self.details
            .iter()
            .filter(|d| d.cloud == cloud && !d.service.is_empty())
            .map(|d| d.service.as_str())
            .collect()
    }

    /// Normalises the user's region and checks it appears among `cloud`'s
    /// regions; the error lists them. `global` is a scope, not a place a
    /// cluster runs, so it is refused too.
    ///
    /// Azure's service tags abbreviate some region names (`germanywc` for
    /// the `germanywestcentral` that AKS node labels carry); the full name
    /// is accepted and resolved to the file's spelling, which is what
    /// lookups return.
    pub fn resolve_region(&self, cloud: Cloud, region: &str) -> Result<String, RangesError> {
        let wanted = normalize(region);
        let regions = self.regions(cloud);
        if wanted != "global" && regions.contains(wanted.as_str()) {
            return Ok(wanted);
        }
        if cloud == Cloud::Azure {
            if let Some(&(short, _)) = AZURE_SHORT_REGIONS.iter().find(|(_, long)| *long == wanted)
            {
                if regions.contains(short) {
                    return Ok(short.to_string());
                }
            }
        }
        Err(RangesError::UnknownRegion {
            cloud,
            region: region.to_string(),
            regions: regions
                .into_iter()
                .filter(|r| *r != "global")
                .map(str::to_string)
                .collect(),
        })
    }

    /// Intervals in the compiled IPv4 / IPv6 index (for `ranges show` and docs).
    pub fn interval_counts(&self) -> (usize, usize) {
        (self.v4.interval_count(), self.v6.interval_count())
    }
}

/// Azure service-tag region spellings that differ from the region names
/// Azure (and AKS's `topology.kubernetes.io/region`) use elsewhere.
const AZURE_SHORT_REGIONS: [(&str, &str); 11] = [
    ("brazilne", "brazilnortheast"),
    ("brazilse", "brazilsoutheast"),
    ("centralfrance", "francecentral"),
    ("chilec", "chilecentral"),
    ("germanyn", "germanynorth"),
    ("germanywc", "germanywestcentral"),
    ("norwaye", "norwayeast"),
    ("norwayw", "norwaywest"),
    ("southfrance", "francesouth"),
    ("switzerlandn", "switzerlandnorth"),
    ("switzerlandw", "switzerlandwest"),
];

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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(cloud: Cloud, service: &str, region: &str) -> Detail {
        Detail {
            cloud,
            service: service.into(),
            region: region.into(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn from_entries_last_entry_for_a_prefix_wins() {
        let t = RangeTable::from_entries(vec![
            ("1.2.3.0/24".parse().unwrap(), d(Cloud::Aws, "ec2", "a")),
            ("1.2.3.9/24".parse().unwrap(), d(Cloud::Aws, "s3", "b")),
        ]);
        assert_eq!(t.len(), 1);
        let m = t.lookup(ip("1.2.3.4")).unwrap();
        assert_eq!(m.detail, &d(Cloud::Aws, "s3", "b"));
        assert_eq!(m.prefix.to_string(), "1.2.3.0/24");
    }

    #[test]
    fn longest_prefix_wins_in_both_families() {
        let t = RangeTable::from_entries(vec![
            ("52.0.0.0/8".parse().unwrap(), d(Cloud::Aws, "amazon", "x")),
            ("52.216.0.0/15".parse().unwrap(), d(Cloud::Aws, "s3", "y")),
            (
                "2600:1f00::/24".parse().unwrap(),
                d(Cloud::Aws, "amazon", "x"),
            ),
            ("2600:1f18::/33".parse().unwrap(), d(Cloud::Aws, "ec2", "y")),
        ]);
        assert_eq!(t.lookup(ip("52.217.1.1")).unwrap().detail.service, "s3");
        assert_eq!(t.lookup(ip("52.218.1.1")).unwrap().detail.service, "amazon");
        assert!(t.lookup(ip("53.0.0.1")).is_none());
        let m = t.lookup(ip("2600:1f18::1")).unwrap();
        assert_eq!(
            (m.detail.service.as_str(), m.prefix.to_string()),
            ("ec2", "2600:1f18::/33".into())
        );
        assert_eq!(
            t.lookup(ip("2600:1f19:8000::1")).unwrap().detail.service,
            "amazon"
        );
        assert!(t.lookup(ip("2a00::1")).is_none());
        // IPv4-mapped IPv6 is looked up as IPv4.
        assert_eq!(
            t.lookup(ip("::ffff:52.216.1.1")).unwrap().detail.service,
            "s3"
        );
        assert_eq!((t.ipv4_len(), t.ipv6_len()), (2, 2));
    }

    #[test]
    fn regions_are_per_cloud_and_non_empty() {
        let t = RangeTable::from_entries(vec![
            (
                "1.0.0.0/8".parse().unwrap(),
                d(Cloud::Aws, "ec2", "us-east-1"),
            ),
            ("2.0.0.0/8".parse().unwrap(), d(Cloud::Aws, "ec2", "")),
            (
                "3.0.0.0/8".parse().unwrap(),
                d(Cloud::Aws, "amazon", "global"),
            ),
            ("4.0.0.0/8".parse().unwrap(), d(Cloud::Gcp, "x", "us-east1")),
        ]);
        assert_eq!(
            t.regions(Cloud::Aws).into_iter().collect::<Vec<_>>(),
            ["global", "us-east-1"]
        );
        assert!(t.regions(Cloud::Azure).is_empty());
        assert_eq!(
            t.services(Cloud::Aws).into_iter().collect::<Vec<_>>(),
            ["amazon", "ec2"]
        );
        assert_eq!(
            t.services(Cloud::Gcp).into_iter().collect::<Vec<_>>(),
            ["x"]
        );
        assert_eq!(
            t.resolve_region(Cloud::Aws, " US-East-1").unwrap(),
            "us-east-1"
        );
        let err = t
            .resolve_region(Cloud::Aws, "us-east1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"us-east1\"") && err.contains("known regions: us-east-1"),
            "{err}"
        );
        assert!(t.resolve_region(Cloud::Aws, "global").is_err());
        let err = t
            .resolve_region(Cloud::Azure, "westeurope")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no prefixes of that cloud"), "{err}");
    }

    #[test]
    fn azure_full_region_names_resolve_to_the_tag_spelling() {
        let t = RangeTable::from_entries(vec![(
            "1.0.0.0/8".parse().unwrap(),
            d(Cloud::Azure, "azurecloud", "germanywc"),
        )]);
        assert_eq!(
            t.resolve_region(Cloud::Azure, "germanywestcentral")
                .unwrap(),
            "germanywc"
        );
        assert_eq!(
            t.resolve_region(Cloud::Azure, "GermanyWC").unwrap(),
            "germanywc"
        );
        assert!(t.resolve_region(Cloud::Azure, "norwayeast").is_err());
    }
}
