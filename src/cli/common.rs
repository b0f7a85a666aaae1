//! Options shared by several subcommands, so one name works everywhere.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

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
    #[arg(long, value_name = "CLOUD", env = "KUBENETMON_CLOUD")]
    pub cloud: Option<String>,
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

#[allow(dead_code)]
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim().parse().ok()
}
