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
    Label(Box<label::LabelArgs>),
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
/// The I/O error may come wrapped in a JSON or CSV writer's error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
            || e.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe),
            )
    })
}

/// True when the command was started with stdout closed (`>&-`). Rust's
/// runtime then opens /dev/null read-write in its place, so every write
/// "succeeds" and the data is lost: a shell's `>/dev/null` opens it
/// write-only, so a read-write /dev/null on fd 1 is taken as closed.
#[cfg(unix)]
pub fn stdout_closed() -> bool {
    use std::os::fd::BorrowedFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    // SAFETY: F_GETFL only reads the state of fd 1.
    let flags = unsafe { libc::fcntl(1, libc::F_GETFL) };
    if flags == -1 {
        return true;
    }
    if flags & libc::O_ACCMODE != libc::O_RDWR {
        return false;
    }
    // SAFETY: fd 1 is open (F_GETFL succeeded) and only duplicated here.
    let Ok(fd) = unsafe { BorrowedFd::borrow_raw(1) }.try_clone_to_owned() else {
        return true;
    };
    let (Ok(out), Ok(null)) = (
        std::fs::File::from(fd).metadata(),
        std::fs::metadata("/dev/null"),
    ) else {
        return false;
    };
    out.file_type().is_char_device() && out.rdev() == null.rdev()
}

#[cfg(not(unix))]
pub fn stdout_closed() -> bool {
    false
}

/// The error for a command whose results go to a closed stdout.
pub fn check_stdout_open(what: &str) -> anyhow::Result<()> {
    if stdout_closed() {
        anyhow::bail!(
            "<stdout>: stdout is closed, so {what} would be lost; \
             redirect it to a file or a pipe"
        );
    }
    Ok(())
}

/// SIGINT and SIGTERM: remove the temporary files being written (the
/// targets stay as they were) and exit 130 / 143, as a shell reports a
/// process killed by them.
/// A signal the parent set to be ignored (a background job of a
/// non-interactive shell ignores SIGINT) stays ignored, as the GNU coding
/// standards ask.
fn handle_interrupts() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let ignored = |sig: libc::c_int| {
        // SAFETY: a null new action only reads the current one into `old`.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        }
    };
    let wanted: Vec<libc::c_int> = [SIGINT, SIGTERM]
        .into_iter()
        .filter(|&s| !ignored(s))
        .collect();
    let Ok(mut signals) = signal_hook::iterator::Signals::new(wanted) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            kubenetmon::io::remove_temp_files_then(|| {
                messages::set_progress(None);
                err!("interrupted by {name}; unfinished output files removed");
                std::process::exit(128 + sig)
            });
        }
    });
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    handle_interrupts();
    let result = match cli.command {
        Command::Label(args) => label::run(*args),
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
