//! `kubenetmon classify`: look addresses up in the range table (SPEC §5,
//! §5.2), and classify them as §3.9 does when the local cloud and region
//! are known.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kubenetmon::classify::{answer, tokens, Answer, Owner, Pods};
use kubenetmon::inventory;
use kubenetmon::label::LabelIndex;
use serde::Serialize;

use super::common::{InventoryArgs, LocalArgs, RangeSourceArgs};
use crate::cli::UsageError;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kubenetmon classify 52.216.10.20 2600:1f18::1
  kubenetmon classify 52.216.10.20 --cloud aws --region us-east-1
  kubenetmon classify --json --inventory cluster.json < addresses.txt
  kubenetmon classify 8.8.8.8 --ranges ./ranges --aws ./ip-ranges.json

Without --cloud/--region (or an --inventory to infer them from) only the
range lookup is shown; with them, the connection class too. With --inventory,
an address that is a pod's (SPEC §3.5) or a node's InternalIP also gets that
pod (namespace/name) and node: POD and NODE columns, or \"pod\"/\"node\" keys
in --json.")]
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
    /// One JSON object per line, per address, in input order
    #[arg(long)]
    pub json: bool,
    /// Do not print range-file warnings
    #[arg(long, short = 'q')]
    pub quiet: bool,
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

/// The inputs in order: arguments, with `-` (or no arguments and a piped
/// stdin) standing for stdin's whitespace-separated tokens.
fn inputs(args: &[String]) -> anyhow::Result<Vec<String>> {
    let read_stdin = |out: &mut Vec<String>| -> anyhow::Result<()> {
        for line in io::stdin().lock().lines() {
            let line = line.context("cannot read addresses from stdin")?;
            out.extend(tokens(&line).map(str::to_string));
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
    let private = args.local.private_nets();
    let pods: Pods<'_> = inventory.as_ref().map(|inv| (inv, LabelIndex::new(inv)));

    let answers = inputs
        .iter()
        .map(|i| answer(i, &loaded.table, local.as_ref(), &private, &pods));
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = if args.json {
        write_json(&mut out, answers)
    } else {
        write_table(&mut out, answers, local.is_some(), pods.is_some())
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

/// An aligned table (so it needs every answer first); `-` marks empty
/// values. Unparsable inputs are reported on stderr.
fn write_table<'a>(
    out: &mut impl Write,
    answers: impl Iterator<Item = Answer<'a>>,
    with_class: bool,
    with_pods: bool,
) -> io::Result<bool> {
    let mut header = vec!["IP", "CLOUD", "REGION", "SERVICE", "PREFIX"];
    if with_class {
        header.push("CLASS");
    }
    if with_pods {
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
                if with_class {
                    row.push(class.unwrap_or("-").to_string());
                }
                if with_pods {
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
