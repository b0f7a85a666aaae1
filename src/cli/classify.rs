//! `kubenetmon classify`.

use std::process::ExitCode;

use clap::Args;

use super::common::{InventoryArgs, LocalArgs, RangeSourceArgs};

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// IP addresses to look up; read from stdin, one per line, when none or `-`
    #[arg(value_name = "IP")]
    pub ips: Vec<String>,
    #[command(flatten)]
    pub ranges: RangeSourceArgs,
    #[command(flatten)]
    pub local: LocalArgs,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`kubenetmon classify` is not implemented yet")
}
