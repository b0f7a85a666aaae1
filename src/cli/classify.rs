//! `kubenetmon classify`: look addresses up in the range table (SPEC §5,
//! §5.2), and classify them as §3.9 does when the local cloud and region
//! are known.

use std::io::{self, BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kubenetmon::inventory::{self, Inventory};
use kubenetmon::label::{
    canonical, classified_as, classify_located, Basis, LabelIndex, LocalSite, Locations, PodSlot,
    PrivateNets, RemoteClass,
};
use kubenetmon::ranges::RangeTable;
use kubenetmon::zones::ZoneMap;
use serde::Serialize;

use super::common::{InventoryArgs, LocalArgs, RangeSourceArgs};
use super::zone_args::ZoneArgs;
use crate::cli::UsageError;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kubenetmon classify 52.216.10.20 2600:1f18::1
  kubenetmon classify 52.216.10.20 --cloud aws --region us-east-1
  kubenetmon classify --json --inventory cluster.json < addresses.txt
  kubenetmon classify 8.8.8.8 --ranges ./ranges --aws ./ip-ranges.json
  kubenetmon classify 10.0.40.7 10.20.1.1 --subnets subnets.json --location 10.20.0.0/16=aws/eu-west-1

Without --cloud/--region (or an --inventory to infer them from) only the
range lookup is shown; with them, the connection class too. With --inventory,
an address that is a pod's (SPEC §3.5) or a node's InternalIP also gets that
pod (namespace/name) and node: POD and NODE columns, or \"pod\"/\"node\" keys
in --json; a pod's address is INTRA_VPC whatever its range. With --subnets/--zone
the ZONE column (`zone` key) shows the address's zone (its pod's or node's zone
first); with --location the LOCATION column (`location` key) the location CIDR
it is in.")]
pub struct ClassifyArgs {
    /// IP addresses to look up; read from stdin (whitespace-separated) for
    /// `-`, or when none are given and stdin is not a terminal
    #[arg(value_name = "IP")]
    pub ips: Vec<String>,
    #[command(flatten)]
    pub ranges: RangeSourceArgs,
    #[command(flatten)]
    pub local: LocalArgs,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub zones: ZoneArgs,
    /// One JSON object per line, per address, in input order
    #[arg(long)]
    pub json: bool,
    /// Do not print range-file warnings
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// What one input turned into. (Unboxed: nearly every answer is `Found`.)
#[allow(clippy::large_enum_variant)]
enum Answer<'a> {
    Found {
        ip: IpAddr,
        cloud: String,
        region: String,
        service: String,
        prefix: String,
        class: Option<&'static str>,
        /// §6.1: the zone map's answer (`None` without a zone map).
        zone: Option<String>,
        /// §6.2: the `--location` CIDR holding the address (`None` without
        /// locations).
        location: Option<String>,
        /// §3.9 refused to classify (a same-cloud prefix with no region).
        error: Option<String>,
        /// Who has the address in the inventory, when one was given.
        owner: Option<Owner<'a>>,
    },
    Unparsable {
        input: String,
    },
}

/// An address's holder in the inventory: a node's InternalIP comes first
/// (hostNetwork pods share it, so no pod is named), then §3.5's pod choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner<'a> {
    Node(&'a kubenetmon::inventory::Node),
    Pod {
        namespace: &'a str,
        name: &'a str,
        /// `spec.nodeName`; empty when unscheduled.
        node: &'a str,
        /// That node's zone; empty when unknown.
        zone: &'a str,
    },
    /// Several pods that are neither Succeeded nor Failed (§3.5's `multiple_pods`).
    MultiplePods(usize),
}

/// Who has `ip` in `inv`; IPv4-mapped IPv6 counts as its IPv4 address.
fn owner<'a>(ip: IpAddr, inv: &'a Inventory, pods: &LabelIndex<'a>) -> Option<Owner<'a>> {
    let ip = ip.to_canonical();
    if let Some(node) = inv.node_by_internal_ip(ip) {
        return Some(Owner::Node(node));
    }
    Some(match *pods.pod(ip)? {
        PodSlot::One(p) => Owner::Pod {
            namespace: p.namespace,
            name: p.name,
            node: p.node,
            zone: p.zone,
        },
        PodSlot::Multiple(n) => Owner::MultiplePods(n),
    })
}

impl<'a> Owner<'a> {
    /// `namespace/name`.
    fn pod(&self) -> Option<String> {
        match self {
            Owner::Pod {
                namespace, name, ..
            } => Some(format!("{namespace}/{name}")),
            _ => None,
        }
    }

    fn node(&self) -> Option<&str> {
        match *self {
            Owner::Node(n) => Some(n.name.as_str()),
            Owner::Pod { node: n, .. } => Some(n).filter(|n| !n.is_empty()),
            Owner::MultiplePods(_) => None,
        }
    }

    fn zone(&self) -> &'a str {
        match *self {
            Owner::Node(n) => n.zone(),
            Owner::Pod { zone, .. } => zone,
            Owner::MultiplePods(_) => "",
        }
    }

    fn multiple(&self) -> Option<usize> {
        match *self {
            Owner::MultiplePods(n) => Some(n),
            _ => None,
        }
    }
}

/// §5.2's line, keys in its order; the inventory's keys after them, only when known.
#[derive(Serialize)]
struct JsonFound<'a> {
    ip: String,
    cloud: &'a str,
    region: &'a str,
    service: &'a str,
    prefix: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    /// `namespace/name` of the pod with this IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<String>,
    /// The pod's node, or the node whose InternalIP this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
    /// How many live pods claim this IP when no single one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    multiple_pods: Option<usize>,
}

#[derive(Serialize)]
struct JsonError<'a> {
    ip: &'a str,
    error: String,
}

fn unparsable_message(input: &str) -> String {
    format!("{input:?} is not an IPv4 or IPv6 address")
}

/// What `classify` looks addresses up in.
struct Lookup<'a> {
    table: &'a RangeTable,
    local: Option<&'a LocalSite>,
    private: &'a PrivateNets,
    /// `None` without --subnets/--zone.
    zones: Option<&'a ZoneMap>,
    locations: &'a Locations,
    /// The inventory and its pod index, when `--inventory` was given.
    pods: Option<(&'a Inventory, LabelIndex<'a>)>,
}

fn answer<'a>(input: &str, at: &Lookup<'a>) -> Answer<'a> {
    let Ok(ip) = input.trim().parse::<IpAddr>() else {
        return Answer::Unparsable {
            input: input.to_string(),
        };
    };
    // SPEC §7: an IPv4-mapped address is its IPv4 address everywhere; a
    // NAT64 address is classified (locations, private set, ranges) by the
    // IPv4 address in its last 32 bits. `ip` stays as written.
    let host = canonical(ip);
    let by = classified_as(ip);
    let owner = at
        .pods
        .as_ref()
        .and_then(|(inv, idx)| owner(host, inv, idx));
    // §6.1: the pod's (or node's) zone first, then the zone map.
    let zone = at.zones.map(|z| {
        owner
            .map(|o| o.zone())
            .filter(|z| !z.is_empty())
            .or_else(|| z.zone_of(host))
            .unwrap_or_default()
            .to_string()
    });
    let in_location = at.locations.lookup(by);
    let location = (!at.locations.is_empty())
        .then(|| in_location.map_or(String::new(), |(net, _, _)| net.to_string()));
    let looked_up = |error: Option<String>| match in_location {
        // §6.2 without a local site: the location's place, no class.
        Some((_, cloud, region)) => Answer::Found {
            ip,
            cloud: cloud.to_string(),
            region: region.to_string(),
            service: String::new(),
            prefix: String::new(),
            class: None,
            zone: zone.clone(),
            location: location.clone(),
            error,
            owner,
        },
        None => {
            let m = at.table.lookup(by);
            Answer::Found {
                ip,
                cloud: m.map_or("", |m| m.detail.cloud.as_str()).to_string(),
                region: m.map_or("", |m| m.detail.region.as_str()).to_string(),
                service: m.map_or("", |m| m.detail.service.as_str()).to_string(),
                prefix: m.map_or(String::new(), |m| m.prefix.to_string()),
                class: None,
                zone: zone.clone(),
                location: location.clone(),
                error,
                owner,
            }
        }
    };
    match at.local {
        None => looked_up(None),
        Some(local) => match classified(ip, local, owner.as_ref(), at) {
            Ok(r) => Answer::Found {
                ip,
                cloud: r.site.map_or("", |s| s.owner.as_str()).to_string(),
                region: r.site.map_or("", |s| s.region.as_str()).to_string(),
                service: r.site.map_or("", |s| s.service).to_string(),
                prefix: r.basis.prefix().map_or(String::new(), |p| p.to_string()),
                class: Some(r.class.as_str()),
                zone,
                location,
                error: None,
                owner,
            },
            Err(e) => looked_up(Some(e.to_string())),
        },
    }
}

/// §3.9 after §6.2's locations, as `label` does: a pod's address is
/// `INTRA_VPC` whatever its range (§7: EKS IPv6 pods have public addresses).
fn classified<'a>(
    ip: IpAddr,
    local: &'a LocalSite,
    owner: Option<&Owner<'_>>,
    at: &Lookup<'a>,
) -> Result<RemoteClass<'a>, kubenetmon::label::SameCloudEmptyRegion> {
    match owner {
        Some(Owner::Pod { .. }) => Ok(RemoteClass::intra_vpc(local, Basis::Pod)),
        _ => classify_located(ip, local, at.locations, at.private, at.table),
    }
}

/// The inputs in order: arguments, with `-` (or no arguments and a piped
/// stdin) standing for stdin's whitespace-separated tokens.
fn inputs(args: &[String]) -> anyhow::Result<Vec<String>> {
    let read_stdin = |out: &mut Vec<String>| -> anyhow::Result<()> {
        for line in io::stdin().lock().lines() {
            let line = line.context("cannot read addresses from stdin")?;
            let line = line.split('#').next().unwrap_or("");
            out.extend(line.split_whitespace().map(str::to_string));
        }
        Ok(())
    };
    let mut out = Vec::new();
    if args.is_empty() {
        if io::stdin().is_terminal() {
            return Err(
                UsageError::new("no addresses given: pass them as arguments or on stdin").into(),
            );
        }
        read_stdin(&mut out)?;
        return Ok(out);
    }
    let mut stdin_done = false;
    for a in args {
        if a == "-" {
            if !stdin_done {
                read_stdin(&mut out)?;
                stdin_done = true;
            }
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

pub fn run(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let ips_from_stdin = args.ips.is_empty() || args.ips.iter().any(|a| a == "-");
    if ips_from_stdin
        && args
            .inventory
            .inventory
            .iter()
            .any(|p| p.as_os_str() == "-")
    {
        return Err(UsageError::new(
            "stdin (`-`) cannot hold both the addresses and the inventory; \
             pass the addresses as arguments or the inventory as a file",
        )
        .into());
    }
    if ips_from_stdin && args.zones.reads_stdin() {
        return Err(UsageError::new(
            "stdin (`-`) cannot hold both the addresses and --subnets; \
             pass the addresses as arguments or the subnets as a file",
        )
        .into());
    }
    crate::cli::check_stdout_open("the answers")?;
    let inputs = inputs(&args.ips)?;
    let inventory = if args.inventory.inventory.is_empty() {
        None
    } else {
        Some(inventory::load(&args.inventory.inventory).context("cannot load the inventory")?)
    };
    crate::cli::messages::set_quiet(args.quiet);
    let (cloud, region) = args.local.cloud_and_region(inventory.as_ref())?;
    let loaded = args.ranges.load(cloud)?;
    let local = args.local.resolve(cloud, region, &loaded.table)?;
    let zones = if args.zones.has_zone_map() {
        Some(args.zones.zone_map()?)
    } else {
        None
    };
    // SPEC §7: the IPv6 CIDRs of --subnets are private too.
    let private = args
        .local
        .private_nets()
        .and(zones.iter().flat_map(|z| z.subnet_ipv6().iter().copied()));
    let locations = args.zones.locations(&loaded.table)?;
    let at = Lookup {
        table: &loaded.table,
        local: local.as_ref(),
        private: &private,
        zones: zones.as_ref(),
        locations: &locations,
        pods: inventory.as_ref().map(|inv| (inv, LabelIndex::new(inv))),
    };

    let answers = inputs.iter().map(|i| answer(i, &at));
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = if args.json {
        write_json(&mut out, answers)
    } else {
        write_table(
            &mut out,
            answers,
            Columns {
                class: local.is_some(),
                zone: zones.is_some(),
                location: !locations.is_empty(),
                pods: at.pods.is_some(),
            },
        )
    }
    .and_then(|failed| out.flush().map(|()| failed));
    match result {
        Ok(failed) => Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }),
        // A closed pipe (`| head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Writes one line per answer; true when some input failed.
fn write_json<'a>(
    out: &mut impl Write,
    answers: impl Iterator<Item = Answer<'a>>,
) -> io::Result<bool> {
    let mut failed = false;
    for a in answers {
        match a {
            Answer::Found {
                ip,
                cloud,
                region,
                service,
                prefix,
                class,
                zone,
                location,
                error,
                owner,
            } => {
                failed |= error.is_some();
                let line = JsonFound {
                    ip: ip.to_string(),
                    cloud: &cloud,
                    region: &region,
                    service: &service,
                    prefix: &prefix,
                    class,
                    zone: zone.as_deref(),
                    location: location.as_deref(),
                    error: error.as_deref(),
                    pod: owner.and_then(|o| o.pod()),
                    node: owner.as_ref().and_then(Owner::node),
                    multiple_pods: owner.and_then(|o| o.multiple()),
                };
                serde_json::to_writer(&mut *out, &line)?;
            }
            Answer::Unparsable { input } => {
                failed = true;
                let line = JsonError {
                    ip: &input,
                    error: unparsable_message(&input),
                };
                serde_json::to_writer(&mut *out, &line)?;
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(failed)
}

/// The optional columns of the table.
struct Columns {
    class: bool,
    zone: bool,
    location: bool,
    pods: bool,
}

/// An aligned table (so it needs every answer first); `-` marks empty
/// values. Unparsable inputs are reported on stderr.
fn write_table<'a>(
    out: &mut impl Write,
    answers: impl Iterator<Item = Answer<'a>>,
    with: Columns,
) -> io::Result<bool> {
    let mut header = vec!["IP", "CLOUD", "REGION", "SERVICE", "PREFIX"];
    if with.class {
        header.push("CLASS");
    }
    if with.zone {
        header.push("ZONE");
    }
    if with.location {
        header.push("LOCATION");
    }
    if with.pods {
        header.extend(["POD", "NODE"]);
    }
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let mut failed = false;
    for a in answers {
        match a {
            Answer::Found {
                ip,
                cloud,
                region,
                service,
                prefix,
                class,
                zone,
                location,
                error,
                owner,
            } => {
                let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
                let mut row = vec![
                    ip.to_string(),
                    dash(cloud),
                    dash(region),
                    dash(service),
                    dash(prefix),
                ];
                if with.class {
                    row.push(class.unwrap_or("-").to_string());
                }
                if with.zone {
                    row.push(dash(zone.unwrap_or_default()));
                }
                if with.location {
                    row.push(dash(location.unwrap_or_default()));
                }
                if with.pods {
                    let pod = match owner {
                        Some(Owner::MultiplePods(n)) => format!("{n} pods"),
                        o => dash(o.and_then(|o| o.pod()).unwrap_or_default()),
                    };
                    let node = owner.as_ref().and_then(Owner::node).unwrap_or("-");
                    row.extend([pod, node.to_string()]);
                }
                if let Some(e) = error {
                    failed = true;
                    err!("{e}");
                }
                rows.push(row);
            }
            Answer::Unparsable { input } => {
                failed = true;
                err!("{}", unparsable_message(&input));
            }
        }
    }
    if rows.len() == 1 {
        // No address answered (empty input, or only unparsable ones).
        return Ok(failed);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == columns {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(failed)
}
