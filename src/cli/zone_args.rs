//! SPEC §6's options: the zone map and custom locations ([`ZoneArgs`],
//! shared by `label` and `classify`) and the connection-flag options of
//! `label` ([`FlagArgs`]). Option values are parsed by clap (a malformed
//! one is a usage error, exit code 2); files are read when the plan is
//! built (a bad one is exit code 1).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use kubenetmon::io::is_stdio;
use kubenetmon::label::{FlagConfig, FlagRules, LocalSite, LocationSpec, Locations, UserFlag};
use kubenetmon::model::{Cloud, Owner};
use kubenetmon::ranges::RangeTable;
use kubenetmon::zones::{ZoneMap, ZoneMapBuilder, ZoneSpec};

use crate::cli::UsageError;

fn parse_zone(s: &str) -> Result<ZoneSpec, String> {
    s.parse()
}

fn parse_location(s: &str) -> Result<LocationSpec, String> {
    s.parse()
}

fn parse_flag(s: &str) -> Result<UserFlag, String> {
    s.parse()
}

/// Where addresses are (SPEC §6.1, §6.2).
#[derive(Debug, Clone, Args)]
pub struct ZoneArgs {
    /// `aws ec2 describe-subnets --output json` output: each subnet's CIDRs (IPv4 and IPv6)
    /// give addresses that are no pod their availability zone (repeatable; `-` = stdin)
    #[arg(
        long,
        value_name = "FILE",
        env = "KUBENETMON_SUBNETS",
        value_delimiter = ','
    )]
    pub subnets: Vec<PathBuf>,
    /// An availability zone by hand: CIDR=ZONE, e.g. 10.0.32.0/19=us-east-1b (repeatable)
    #[arg(
        long,
        value_name = "CIDR=ZONE",
        env = "KUBENETMON_ZONE",
        value_delimiter = ',',
        value_parser = parse_zone
    )]
    pub zone: Vec<ZoneSpec>,
    /// A place of your own: CIDR=CLOUD/REGION, e.g. 10.20.0.0/16=aws/eu-west-1 (a peered VPC)
    /// or 192.168.0.0/16=onprem/dc1; checked before the private set and the range files
    /// (repeatable)
    #[arg(
        long,
        value_name = "CIDR=CLOUD/REGION",
        env = "KUBENETMON_LOCATION",
        value_delimiter = ',',
        value_parser = parse_location
    )]
    pub location: Vec<LocationSpec>,
}

impl ZoneArgs {
    /// True when a zone map was asked for.
    pub fn has_zone_map(&self) -> bool {
        !self.subnets.is_empty() || !self.zone.is_empty()
    }

    pub fn reads_stdin(&self) -> bool {
        self.subnets.iter().any(|p| is_stdio(p))
    }

    /// Reads the `--subnets` files and adds the `--zone`s. A CIDR with two
    /// zones is an error naming both (a usage error when both are options).
    pub fn zone_map(&self) -> anyhow::Result<ZoneMap> {
        let mut b = ZoneMapBuilder::new();
        let what = "cannot build the zone map (--subnets, --zone)";
        if self.subnets.iter().filter(|p| is_stdio(p)).count() > 1 {
            return Err(UsageError::new("--subnets - may be given once").into());
        }
        for path in &self.subnets {
            b.add_subnets_file(path).context(what)?;
        }
        for spec in &self.zone {
            if let Err(e) = b.add_spec(spec) {
                if e.is_usage() {
                    return Err(UsageError::new(e.to_string()).into());
                }
                return Err(anyhow::Error::new(e).context(what));
            }
        }
        for w in b.warnings() {
            warn!("{w}");
        }
        Ok(b.build())
    }

    /// The `--location`s. Same-cloud regions that no range file knows are
    /// warned about (a typo would make every byte `INTER_REGION`).
    pub fn locations(&self, table: &RangeTable) -> anyhow::Result<Locations> {
        for spec in &self.location {
            if spec.net.trunc() != spec.net {
                warn!(
                    "--location {}: {} has host bits set; using {}",
                    spec.text,
                    spec.net,
                    spec.net.trunc()
                );
            }
            if let Owner::Cloud(cloud) = Owner::from_text(&spec.cloud) {
                let regions = table.regions(cloud);
                if !regions.is_empty() && !regions.contains(spec.region.as_str()) {
                    warn!(
                        "--location {}: {cloud} has no region {:?} in the range files",
                        spec.text, spec.region
                    );
                }
            }
        }
        Locations::new(&self.location).map_err(|e| UsageError::new(e.to_string()).into())
    }
}

/// The connection flags of `label` (SPEC §6.3).
#[derive(Debug, Clone, Args)]
pub struct FlagArgs {
    /// The nodes reach addresses outside the VPC through a NAT gateway: flag the connections
    /// they open to such addresses NAT_GATEWAY
    #[arg(long, env = "KUBENETMON_NAT_GATEWAY")]
    pub nat_gateway: bool,
    /// A service a gateway endpoint carries past the NAT gateway in the local region, e.g.
    /// s3, dynamodb (repeatable; with --nat-gateway)
    #[arg(
        long,
        value_name = "SERVICE",
        env = "KUBENETMON_GATEWAY_ENDPOINT",
        value_delimiter = ','
    )]
    pub gateway_endpoint: Vec<String>,
    /// A flag of your own: NAME=CIDR, true when the remote address is inside CIDR, e.g.
    /// NLB=10.0.100.0/24 (repeatable; NAME is [A-Z][A-Z0-9_]*)
    #[arg(
        long = "flag",
        value_name = "NAME=CIDR",
        env = "KUBENETMON_FLAG",
        value_delimiter = ',',
        value_parser = parse_flag
    )]
    pub flag: Vec<UserFlag>,
    /// No connection flags: connectionFlags stays {} as upstream writes it (zones and
    /// locations still apply when given)
    #[arg(long, env = "KUBENETMON_NO_FLAGS")]
    pub no_flags: bool,
}

impl FlagArgs {
    /// Compiles the flag options. `--no-flags` with a flag option, or
    /// `--gateway-endpoint` without `--nat-gateway`, is a usage error.
    pub fn rules(&self, table: &RangeTable, local: &LocalSite) -> anyhow::Result<FlagRules> {
        if self.no_flags {
            let mut given = Vec::new();
            if self.nat_gateway {
                given.push("--nat-gateway");
            }
            if !self.gateway_endpoint.is_empty() {
                given.push("--gateway-endpoint");
            }
            if !self.flag.is_empty() {
                given.push("--flag");
            }
            if !given.is_empty() {
                return Err(UsageError::new(format!(
                    "--no-flags leaves connectionFlags empty; it cannot be combined with {}",
                    given.join(", ")
                ))
                .into());
            }
            return Ok(FlagRules::none());
        }
        if !self.gateway_endpoint.is_empty() && !self.nat_gateway {
            return Err(UsageError::new(
                "--gateway-endpoint only says which traffic bypasses the NAT gateway; \
                 give --nat-gateway too",
            )
            .into());
        }
        let services = table.services(local.cloud);
        for service in &self.gateway_endpoint {
            if service.trim().is_empty() {
                return Err(UsageError::new("--gateway-endpoint: empty service name").into());
            }
            let name = kubenetmon::model::normalize(service);
            if !services.is_empty() && !services.contains(name.as_str()) {
                warn!(
                    "--gateway-endpoint {service}: no {} prefix has service {name:?} in the \
                     range files{}",
                    local.cloud,
                    if local.cloud == Cloud::Aws {
                        " (AWS gateway endpoints exist for s3 and dynamodb)"
                    } else {
                        ""
                    }
                );
            }
        }
        let rules = FlagRules::new(&FlagConfig {
            cross_az: true,
            nat_gateway: self.nat_gateway,
            gateway_endpoints: self.gateway_endpoint.clone(),
            user: self.flag.clone(),
        })
        .map_err(|e| UsageError::new(e.to_string()))?;
        for f in &self.flag {
            if f.net.trunc() != f.net {
                warn!(
                    "--flag {}={}: host bits set; using {}",
                    f.name,
                    f.net,
                    f.net.trunc()
                );
            }
        }
        Ok(rules)
    }
}
