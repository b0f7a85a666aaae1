//! `kubenetmon classify`: look addresses up in the range table (SPEC §5,
//! §5.2), and classify them as §3.9 does when the local cloud and region
//! are known.

use std::io::{self, BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kubenetmon::inventory;
use kubenetmon::label::{classify_located, LocalSite, Locations, PrivateNets};
use kubenetmon::ranges::RangeTable;
use kubenetmon::zones::ZoneMap;
use serde::Serialize;

use super::common::{InventoryArgs, LocalArgs, RangeSourceArgs};
use super::zone_args::ZoneArgs;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kubenetmon classify 52.216.10.20 2600:1f18::1
  kubenetmon classify 52.216.10.20 --cloud aws --region us-east-1
  kubenetmon classify --json --inventory cluster.json < addresses.txt
  kubenetmon classify 8.8.8.8 --ranges ./ranges --aws ./ip-ranges.json
  kubenetmon classify 10.0.40.7 10.20.1.1 --subnets subnets.json --location 10.20.0.0/16=aws/eu-west-1

Without --cloud/--region (or an --inventory to infer them from) only the
range lookup is shown; with them, the connection class too. With --subnets/--zone
the ZONE column (`zone` key) shows the address's zone; with --location the LOCATION
column (`location` key) the location CIDR it is in.")]
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

/// What one input turned into.
enum Answer {
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
    },
    Unparsable {
        input: String,
    },
}

/// §5.2's line, keys in its order.
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
}

fn answer(input: &str, at: &Lookup<'_>) -> Answer {
    let Ok(ip) = input.trim().parse::<IpAddr>() else {
        return Answer::Unparsable {
            input: input.to_string(),
        };
    };
    let zone = at
        .zones
        .map(|z| z.zone_of(ip).unwrap_or_default().to_string());
    let in_location = at.locations.lookup(ip);
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
        },
        None => {
            let m = at.table.lookup(ip);
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
            }
        }
    };
    match at.local {
        None => looked_up(None),
        Some(local) => match classify_located(ip, local, at.locations, at.private, at.table) {
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
            },
            Err(e) => looked_up(Some(e.to_string())),
        },
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
            anyhow::bail!(UsageError(
                "no addresses given: pass them as arguments or on stdin".into()
            ));
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

/// A usage mistake: exit code 2, like clap's own.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn run(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let ips_from_stdin = args.ips.is_empty() || args.ips.iter().any(|a| a == "-");
    if ips_from_stdin
        && args
            .inventory
            .inventory
            .iter()
            .any(|p| p.as_os_str() == "-")
    {
        eprintln!(
            "kubenetmon: error: stdin (`-`) cannot hold both the addresses and the inventory; \
             pass the addresses as arguments or the inventory as a file"
        );
        return Ok(ExitCode::from(2));
    }
    if ips_from_stdin && args.zones.reads_stdin() {
        eprintln!(
            "kubenetmon: error: stdin (`-`) cannot hold both the addresses and --subnets; \
             pass the addresses as arguments or the subnets as a file"
        );
        return Ok(ExitCode::from(2));
    }
    let inputs = match inputs(&args.ips) {
        Ok(i) => i,
        Err(e) if e.is::<UsageError>() => {
            eprintln!("kubenetmon: error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e),
    };
    let inventory = if args.inventory.inventory.is_empty() {
        None
    } else {
        Some(inventory::load(&args.inventory.inventory).context("cannot load the inventory")?)
    };
    crate::cli::messages::set_quiet(args.quiet);
    let (cloud, region) = args.local.cloud_and_region(inventory.as_ref())?;
    let loaded = args.ranges.load(cloud)?;
    let local = args.local.resolve(cloud, region, &loaded.table)?;
    let private = args.local.private_nets();
    let zones = if args.zones.has_zone_map() {
        Some(args.zones.zone_map()?)
    } else {
        None
    };
    let locations = args.zones.locations(&loaded.table)?;
    let at = Lookup {
        table: &loaded.table,
        local: local.as_ref(),
        private: &private,
        zones: zones.as_ref(),
        locations: &locations,
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
fn write_json(out: &mut impl Write, answers: impl Iterator<Item = Answer>) -> io::Result<bool> {
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
}

/// An aligned table (so it needs every answer first); `-` marks empty
/// values. Unparsable inputs are reported on stderr.
fn write_table(
    out: &mut impl Write,
    answers: impl Iterator<Item = Answer>,
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
                if let Some(e) = error {
                    failed = true;
                    eprintln!("kubenetmon: error: {e}");
                }
                rows.push(row);
            }
            Answer::Unparsable { input } => {
                failed = true;
                eprintln!("kubenetmon: error: {}", unparsable_message(&input));
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
