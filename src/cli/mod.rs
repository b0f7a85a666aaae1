//! Command-line front end. Each subcommand lives in its own module and only
//! parses options, builds library pieces, and reports.

#[macro_use]
mod messages;
mod classify;
mod common;
mod label;
mod ranges;
mod report;
mod zone_args;

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
kubenetmon report flows.parquet --html cost.html\n  \
kubenetmon completions bash > /etc/bash_completion.d/kubenetmon"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of `label`'s options does not matter.
#[allow(clippy::large_enum_variant)]
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
    /// What the bytes in rows files cost: text, JSON or an HTML page (SPEC §9).
    Report(report::ReportArgs),
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

/// A mistake in how the command was called: exit code 2, like clap's own.
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl From<kubenetmon::dumps::DumpArgError> for UsageError {
    fn from(e: kubenetmon::dumps::DumpArgError) -> Self {
        UsageError(e.to_string())
    }
}

impl From<kubenetmon::output::OutputError> for UsageError {
    fn from(e: kubenetmon::output::OutputError) -> Self {
        UsageError(e.to_string())
    }
}

/// A reader that stopped early (`kubenetmon … | head`) closes the pipe;
/// that is a normal end for a Unix filter, not an error (as in ripgrep).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Label(args) => label::run(args),
        Command::Ranges(cmd) => ranges::run(cmd),
        Command::Classify(args) => classify::run(args),
        Command::Report(args) => report::run(args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "kubenetmon", &mut out);
            std::io::stdout()
                .write_all(&out)
                .map(|()| ExitCode::SUCCESS)
                .map_err(|e| anyhow::Error::new(e).context("<stdout>"))
        }
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = std::io::stdout().flush();
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                err!("{usage}");
                messages::line(format_args!("For more information, try '--help'."));
                return ExitCode::from(2);
            }
            err!("{err:#}");
            ExitCode::from(1)
        }
    }
}
