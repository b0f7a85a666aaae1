//! Command-line front end. Each subcommand lives in its own module and only
//! parses options, builds library pieces, and reports.

mod classify;
mod common;
mod label;
mod ranges;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kubenetmon",
    version,
    about = "Where your Kubernetes network bytes go, and what they cost — offline.",
    long_about = "Reads Linux conntrack dumps taken on cluster nodes, joins every flow with a \
kubectl inventory snapshot, classifies the far end against the cloud providers' published IP \
ranges, and writes CSV or Parquet rows for ClickHouse's network_flows_0 table.",
    after_help = "Examples:\n  \
kubenetmon label dump.txt --inventory pods.json -o flows.parquet\n  \
kubenetmon ranges fetch\n  \
kubenetmon classify 52.216.10.20 --cloud aws --region us-east-1\n  \
kubenetmon completions bash > /etc/bash_completion.d/kubenetmon"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Label conntrack flows and write CSV or Parquet rows.
    Label(label::LabelArgs),
    /// Download or inspect the cloud providers' IP range files.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
kubenetmon ranges fetch\n  \
kubenetmon ranges fetch --dir ./ranges --provider aws,azure\n  \
kubenetmon ranges show --dir ./ranges"
    )]
    Ranges(ranges::RangesCommand),
    /// Look up IP addresses in the cloud range table.
    Classify(classify::ClassifyArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
kubenetmon completions bash > /etc/bash_completion.d/kubenetmon\n  \
kubenetmon completions zsh > \"${fpath[1]}/_kubenetmon\"\n  \
kubenetmon completions fish > ~/.config/fish/completions/kubenetmon.fish")]
    Completions {
        /// Shell to generate for.
        shell: clap_complete::Shell,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Label(args) => label::run(args),
        Command::Ranges(cmd) => ranges::run(cmd),
        Command::Classify(args) => classify::run(args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "kubenetmon", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            let _ = std::io::stdout().flush();
            eprintln!("kubenetmon: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
