//! `label`'s options as clap parses them: raw, unvalidated (ripgrep's
//! `lowargs`). [`super::plan`] turns them into a validated plan.

use std::path::PathBuf;

use clap::Args;

use kubenetmon::output::Format;
use kubenetmon::time::parse_timestamp;

use super::baseline::BaselineArgs;
use super::clickhouse_args::ClickHouseArgs;
use crate::cli::common::{InventoryArgs, LocalArgs, RangeSourceArgs};
use crate::cli::zone_args::{FlagArgs, ZoneArgs};

const EXAMPLES: &str = "\
Examples:
  # The bundled demo: a directory of per-node dumps, named after their nodes
  kubenetmon label testdata/demo/dumps --inventory testdata/demo/inventory.json \\
      --ranges testdata/demo/ranges -o flows.csv

  # One dump; the node is inferred from the inventory, ranges from the cache
  kubenetmon label dump.txt.gz --inventory cluster.json -o flows.parquet

  # Several dumps, each with its node; stdin needs --node
  kubenetmon label ip-10-0-1-5.ec2.internal=a.txt ip-10-0-2-7.ec2.internal=b.txt -i cluster.json -o out.csv
  ssh node conntrack -L -z | kubenetmon label - --node ip-10-0-1-5.ec2.internal -i cluster.json -o -

  # Plain snapshots (no -z): this one minus the one taken 5 minutes earlier (SPEC §8)
  kubenetmon label now.txt --baseline prev.txt --node ip-10-0-1-5.ec2.internal -i cluster.json \\
      --interval-seconds 300 -o flows.parquet

  # The rows and what they cost, in one pass
  kubenetmon label dumps/ -i cluster.json -o flows.parquet --report cost.html --period 1h

  # Cross-AZ and NAT-gateway bytes: zones of VPC addresses from the subnets, connections
  # to the internet through a NAT gateway, except S3 through its gateway endpoint
  aws ec2 describe-subnets --filters Name=vpc-id,Values=vpc-0abc --output json > subnets.json
  kubenetmon label dumps/ -i cluster.json --subnets subnets.json --nat-gateway \\
      --gateway-endpoint s3 --flag NLB=10.0.100.0/24 -o flows.parquet

  # Check that a dump parses, without an inventory or ranges
  kubenetmon label dump.txt --dry-run --summary-json summary.json

  # Straight into ClickHouse (idempotent: re-running the same command inserts nothing twice)
  export KUBENETMON_CLICKHOUSE_PASSWORD=...
  kubenetmon label dumps/ -i cluster.json --create-table \\
      --clickhouse https://default@abc.clickhouse.cloud:8443

Exit codes: 0 ok (also when flows were ignored or could not be labelled), 1 runtime error,
2 usage error.";

#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
pub struct LabelArgs {
    /// Conntrack dumps: FILE (`-` = stdin, .gz/.zst ok), NODE=FILE, or a directory whose
    /// files are dumps named after their nodes (.txt .log .conntrack .gz .zst stripped)
    #[arg(value_name = "DUMP", required = true)]
    pub dumps: Vec<String>,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub ranges: RangeSourceArgs,
    #[command(flatten)]
    pub local: LocalArgs,
    #[command(flatten)]
    pub zones: ZoneArgs,
    #[command(flatten)]
    pub flags: FlagArgs,
    /// Deployment environment column: development, staging or production (others are
    /// accepted with a warning)
    #[arg(
        long,
        value_name = "ENV",
        env = "KUBENETMON_ENVIRONMENT",
        default_value = ""
    )]
    pub environment: String,
    /// Cluster name column (localCluster)
    #[arg(
        long,
        value_name = "NAME",
        env = "KUBENETMON_CLUSTER",
        default_value = ""
    )]
    pub cluster: String,
    /// The node the dumps were taken on (for FILE and `-` arguments) [default: inferred from the inventory]
    #[arg(long, value_name = "NODE", env = "KUBENETMON_NODE")]
    pub node: Option<String>,
    /// Observation time of the dumps: RFC 3339 or Unix seconds [default: the dump's event
    /// timestamps, else the file's modification time, else now]
    #[arg(long, value_name = "TIME", value_parser = parse_timestamp)]
    pub timestamp: Option<i64>,
    /// Length of the time buckets (intervalStartTime, intervalSeconds)
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub interval_seconds: u16,
    #[command(flatten)]
    pub baseline: Box<BaselineArgs>,
    /// Ignore UDP flows (udp_ignored)
    #[arg(long)]
    pub ignore_udp: bool,
    /// Output file (.csv, .csv.gz, .csv.zst, .parquet); `-` = CSV on stdout [default: `-`,
    /// or none with --clickhouse]
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format, when the file name does not tell
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Worker threads [default: all cores]
    #[arg(long, short = 'j', value_name = "N", env = "KUBENETMON_THREADS")]
    pub threads: Option<usize>,
    /// Stop at the first malformed line (exit code 1, no output file)
    #[arg(long)]
    pub strict: bool,
    /// Label the lines that parse even when most of a dump's lines are malformed (without it,
    /// more than half malformed, or none parsing, is an error: exit 1, no output)
    #[arg(long, conflicts_with = "strict")]
    pub keep_going: bool,
    /// Accept several dumps of one node and add them up (right for `conntrack -L -z` dumps
    /// taken one after another; plain snapshots need --baseline)
    #[arg(long)]
    pub allow_duplicate_nodes: bool,
    /// Show every malformed line, not only the first ten
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Quieter: no summary, progress, range-file warnings or first-error notes; errors,
    /// malformed lines and warnings that need action (accounting off, old rows) still show
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Write no output. With an inventory: parse, filter and label, and report the rows that
    /// would be written; without one: only parse (no ranges needed)
    #[arg(long)]
    pub dry_run: bool,
    /// Write the run summary as JSON to FILE (`-` = stdout)
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Also write what the rows cost (SPEC §9) to FILE: .txt, .json or .html (`-` = text on
    /// stdout), from the rows in memory
    #[arg(long, value_name = "FILE", help_heading = "Report")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub report_options: Box<crate::cli::report::ReportOptionArgs>,
    #[command(flatten)]
    pub clickhouse: ClickHouseArgs,
}
