//! `kubenetmon label`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::common::{InventoryArgs, LocalArgs, RangeSourceArgs};

#[derive(Debug, Args)]
pub struct LabelArgs {
    /// Conntrack dumps (`-` for stdin, .gz/.zst ok, NODE=PATH, or a directory of per-node dumps)
    #[arg(value_name = "DUMP", required = true)]
    pub dumps: Vec<String>,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub ranges: RangeSourceArgs,
    #[command(flatten)]
    pub local: LocalArgs,
    /// Output file (.csv, .csv.gz, .csv.zst, .parquet); `-` = CSV on stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Parse (and label, given an inventory) but write no output
    #[arg(long)]
    pub dry_run: bool,
    /// Write the run summary as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

pub fn run(_args: LabelArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`kubenetmon label` is not implemented yet")
}
