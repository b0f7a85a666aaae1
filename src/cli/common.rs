//! Options shared by several subcommands, so one name works everywhere.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kubenetmon::inventory::Inventory;
use kubenetmon::label::{LocalSite, PrivateNets};
use kubenetmon::model::Cloud;
use kubenetmon::ranges::{self, RangeTable};

/// Where the cloud range files come from.
#[derive(Debug, Clone, Args)]
pub struct RangeSourceArgs {
    /// Directory holding aws-ip-ranges.json, gcp-cloud.json, google-goog.json and
    /// azure-service-tags-public.json [default: the cache `ranges fetch` fills]
    #[arg(
        long = "ranges",
        visible_alias = "dir",
        value_name = "DIR",
        env = "KUBENETMON_RANGES"
    )]
    pub ranges: Option<PathBuf>,
    /// AWS ip-ranges.json (overrides the one in --ranges)
    #[arg(long, value_name = "FILE")]
    pub aws: Option<PathBuf>,
    /// GCP cloud.json (overrides the one in --ranges)
    #[arg(long, value_name = "FILE")]
    pub gcp: Option<PathBuf>,
    /// Google goog.json (overrides the one in --ranges)
    #[arg(long, value_name = "FILE")]
    pub google: Option<PathBuf>,
    /// Azure ServiceTags_Public_*.json (overrides the one in --ranges)
    #[arg(long, value_name = "FILE")]
    pub azure: Option<PathBuf>,
}

/// The local side: cloud, region and extra private CIDRs.
#[derive(Debug, Clone, Args)]
pub struct LocalArgs {
    /// Cloud the cluster runs in: aws, gcp or azure [default: inferred from the nodes' providerID]
    // Parsed by clap so a wrong name is a usage error (exit code 2).
    #[arg(long, value_name = "CLOUD", env = "KUBENETMON_CLOUD")]
    pub cloud: Option<Cloud>,
    /// Region the cluster runs in, e.g. us-east-1 [default: inferred from the nodes' labels]
    #[arg(long, value_name = "REGION", env = "KUBENETMON_REGION")]
    pub region: Option<String>,
    /// Extra CIDR to treat as private / intra-VPC, e.g. 100.64.0.0/10 (repeatable)
    #[arg(long = "private-cidr", value_name = "CIDR")]
    pub private_cidr: Vec<ipnet::IpNet>,
}

/// Kubernetes inventory snapshots.
#[derive(Debug, Clone, Args)]
pub struct InventoryArgs {
    /// `kubectl get pods,nodes,services -A -o json` output; repeatable, `-` for stdin
    #[arg(long, short = 'i', value_name = "FILE")]
    pub inventory: Vec<PathBuf>,
}

impl RangeSourceArgs {
    pub fn sources(&self) -> ranges::RangeSources {
        ranges::RangeSources {
            dir: self.ranges.clone(),
            aws: self.aws.clone(),
            gcp: self.gcp.clone(),
            google: self.google.clone(),
            azure: self.azure.clone(),
        }
    }

    /// Loads and merges the range files (SPEC §2), printing warnings on
    /// stderr. `local_cloud` makes its regional file required.
    pub fn load(&self, local_cloud: Option<Cloud>) -> anyhow::Result<ranges::LoadedRanges> {
        let loaded = ranges::load(&self.sources(), local_cloud)
            .context("cannot load the cloud IP range files")?;
        print_warnings(&loaded.warnings);
        Ok(loaded)
    }

    /// [`Self::load`] before the local cloud is known, printing nothing;
    /// [`Self::finish_load`] completes it.
    pub fn load_early(&self) -> Result<ranges::LoadedRanges, ranges::RangesError> {
        ranges::load(&self.sources(), None)
    }

    /// What [`Self::load`] with `local_cloud` gives, from an early load: a
    /// failed one, or one that skipped the local cloud's file, is redone
    /// knowing the cloud so its error is the one [`Self::load`] reports.
    pub fn finish_load(
        &self,
        early: Result<ranges::LoadedRanges, ranges::RangesError>,
        local_cloud: Option<Cloud>,
    ) -> anyhow::Result<ranges::LoadedRanges> {
        match early {
            Ok(loaded)
                if !local_cloud
                    .is_some_and(|c| loaded.skipped.contains(&ranges::regional_provider(c))) =>
            {
                print_warnings(&loaded.warnings);
                Ok(loaded)
            }
            _ => self.load(local_cloud),
        }
    }
}

/// At most this many warnings of one run are printed; the rest are counted.
const MAX_WARNINGS: usize = 10;

fn print_warnings(warnings: &[String]) {
    for w in warnings.iter().take(MAX_WARNINGS) {
        warn!("{w}");
    }
    if warnings.len() > MAX_WARNINGS {
        warn!(
            "... and {} more range-file warnings",
            warnings.len() - MAX_WARNINGS
        );
    }
}

impl LocalArgs {
    /// `--cloud` and `--region`, each else inferred from the inventory's
    /// nodes (once). The cloud is needed before the ranges are loaded (it
    /// decides which range file must exist); the region is checked against
    /// the table afterwards, in [`Self::resolve`].
    pub fn cloud_and_region(
        &self,
        inventory: Option<&Inventory>,
    ) -> anyhow::Result<(Option<Cloud>, Option<String>)> {
        let cloud = match (self.cloud, inventory) {
            (Some(c), Some(inv)) => {
                if let Some(nodes) = inv.infer_cloud().ok().flatten().filter(|n| *n != c) {
                    warn!(
                        "--cloud {c} contradicts the inventory, whose nodes' providerIDs all say \
                         {nodes}; using {c} (drop --cloud to use the inventory's)"
                    );
                }
                Some(c)
            }
            (Some(c), None) => Some(c),
            (None, Some(inv)) => inv
                .infer_cloud()
                .context("cannot infer the local cloud from the inventory")?,
            (None, None) => None,
        };
        let region = match (&self.region, inventory) {
            (Some(r), _) => Some(r.clone()),
            (None, Some(inv)) => inv
                .infer_region()
                .context("cannot infer the local region from the inventory")?,
            (None, None) => None,
        };
        Ok((cloud, region))
    }

    /// The local site from [`Self::cloud_and_region`]'s answer: the region
    /// normalised and checked against the table's regions of that cloud.
    /// `Ok(None)` when neither is known; an error when only one of the two is.
    pub fn resolve(
        &self,
        cloud: Option<Cloud>,
        region: Option<String>,
        table: &RangeTable,
    ) -> anyhow::Result<Option<LocalSite>> {
        match (cloud, region) {
            (None, None) => Ok(None),
            (Some(cloud), Some(region)) => {
                let region = table.resolve_region(cloud, &region)?;
                Ok(Some(LocalSite { cloud, region }))
            }
            (Some(cloud), None) => anyhow::bail!(
                "the local cloud is {cloud} but the region is unknown; pass --region \
                 (or an inventory whose nodes carry topology.kubernetes.io/region)"
            ),
            (None, Some(region)) => anyhow::bail!(
                "the local region is {region:?} but the cloud is unknown; pass --cloud \
                 (or an inventory whose nodes carry spec.providerID)"
            ),
        }
    }

    pub fn private_nets(&self) -> PrivateNets {
        PrivateNets::with_extra(self.private_cidr.iter().copied())
    }
}

/// Before writing `path`: names the `.NAME.*.tmp` files beside it that a
/// killed run left (SIGKILL gives no chance to remove them). They may
/// also belong to another run writing there right now, so they are only
/// named, never deleted.
pub fn warn_leftover_temps(path: &std::path::Path) {
    if kubenetmon::io::is_stdio(path) {
        return;
    }
    let found = kubenetmon::io::leftover_temps(path);
    if found.is_empty() {
        return;
    }
    let names: Vec<String> = found
        .iter()
        .map(|p| crate::cli::messages::printable(&p.display().to_string()).into_owned())
        .collect();
    warn!(
        "{}: found {} unfinished temporary file(s) of an earlier run that was killed: {}; \
         delete them unless another kubenetmon is writing {0} right now",
        crate::cli::messages::printable(&path.display().to_string()),
        found.len(),
        names.join(", ")
    );
}
