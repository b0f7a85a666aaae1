//! `kubenetmon ranges fetch|show`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RangesCommand {
    /// Download the AWS, GCP, Google and Azure range files into the cache
    Fetch,
    /// Show what the cache holds
    Show,
}

pub fn run(cmd: RangesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RangesCommand::Fetch => anyhow::bail!("`kubenetmon ranges fetch` is not implemented yet"),
        RangesCommand::Show => anyhow::bail!("`kubenetmon ranges show` is not implemented yet"),
    }
}
