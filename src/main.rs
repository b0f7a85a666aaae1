//! The `kubenetmon` binary: parses the command line and hands each
//! subcommand to its module in `cli/`. Exit codes: 0 ok, 1 runtime error,
//! 2 usage error (clap's own).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
