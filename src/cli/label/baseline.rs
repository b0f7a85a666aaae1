//! `label --baseline` (SPEC §8) on the command line: the options, and what
//! runs around the library's comparison — reading PREV, checking that it
//! is the same node's and earlier than DUMP, and the warnings. The
//! comparison itself is `kubenetmon::label::baseline`.

use anyhow::{bail, Context as _};
use clap::Args;

use kubenetmon::dumps::DumpInput;
use kubenetmon::inventory::Inventory;
use kubenetmon::io::open_input;
use kubenetmon::label::baseline::{self, Baseline};
use kubenetmon::label::node::NodeGuess;
use kubenetmon::label::pipeline::Options;
use kubenetmon::label::{Summary, TimeSource};
use kubenetmon::time::{file_mtime, parse_timestamp, rfc3339};

use super::plan::Input;
use super::report::Reporter;

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Subtract an earlier snapshot: counters become DUMP − PREV (SPEC §8)
    ///
    /// For plain `conntrack -L` snapshots (lifetime counters), not for `-z` dumps, which are
    /// deltas already. PREV is a dump file (the baseline of the one DUMP), a directory of
    /// earlier dumps named after their nodes (for a DUMP directory), or NODE=PREV
    /// (repeatable). Entries of PREV gone from DUMP ended in between: their last bytes are lost
    #[arg(long, value_name = "PREV", help_heading = "Baseline")]
    pub baseline: Vec<String>,
    /// Observation time of the baselines (RFC 3339 or Unix seconds), earlier than the dump's
    ///
    /// Default: their event timestamps, else the file's modification time. A gap between
    /// baseline and dump that differs from --interval-seconds by more than 10 % is warned about
    #[arg(long, value_name = "TIME", value_parser = parse_timestamp, requires = "baseline",
          help_heading = "Baseline")]
    pub baseline_timestamp: Option<i64>,
}

/// One dump's baseline, as the plan resolved it.
pub struct BaselinePlan {
    /// Its `node` is set when the argument named it (`NODE=PREV`, a
    /// directory entry); a plain file is checked by inference instead.
    pub prev: DumpInput,
    /// `--baseline-timestamp`.
    pub time: Option<i64>,
}

/// A time and where it came from, for messages.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    at: i64,
    from: &'static str,
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", rfc3339(self.at), self.from)
    }
}

/// PREV, read and checked, ready for DUMP's pass.
pub struct Loaded {
    pub baseline: Baseline,
    prev: Stamp,
}

/// DUMP's time before its pass: `--timestamp`, else the file's
/// modification time (or, stdin, the start of the run).
fn dump_stamp(input: &Input) -> Stamp {
    match input.time {
        TimeSource::Fixed(at) => Stamp {
            at,
            from: "--timestamp",
        },
        TimeSource::EventOr(at) if input.dump.is_stdin() => Stamp {
            at,
            from: "read from stdin now",
        },
        TimeSource::EventOr(at) => Stamp {
            at,
            from: "its modification time",
        },
    }
}

/// Reads `input`'s baseline, checks that it is the same node's (when its
/// node can be inferred) and earlier than DUMP (exit 1 otherwise).
pub fn load(
    input: &Input,
    plan: &BaselinePlan,
    inventory: Option<&Inventory>,
    pool: &rayon::ThreadPool,
    opts: Options,
    reporter: &mut Reporter,
) -> anyhow::Result<Loaded> {
    let prev = &plan.prev;
    let reader = open_input(&prev.path)?;
    // A plain file says nothing about its node: infer it in the same pass.
    let votes_from = inventory.filter(|_| prev.node.is_none());
    let baseline =
        pool.install(|| baseline::load(reader, &prev.display, votes_from, opts, reporter))?;
    let read = &baseline.read;
    if read.flows == 0 && read.lines > 0 {
        warn_loud!(
            "{}: the baseline holds no conntrack flow ({} lines, {} malformed): nothing is \
             subtracted, every entry of {} counts in full",
            prev.display,
            read.lines,
            read.malformed,
            input.dump.display
        );
    }
    if let (Some(votes), Some(node)) = (&read.votes, &input.node) {
        if let NodeGuess::Node(other) = votes.decide() {
            if &other != node {
                bail!(
                    "{}: this baseline is a dump of node {other} ({} flows mention it), but \
                     {} is node {node}'s; give the earlier snapshot of {node} \
                     (if it is {node}'s after all: --baseline {node}={})",
                    prev.display,
                    votes.counts.get(&other).copied().unwrap_or(0),
                    input.dump.display,
                    prev.display
                );
            }
        }
    }
    let at = match (plan.time, read.latest_event) {
        (Some(at), _) => Stamp {
            at,
            from: "--baseline-timestamp",
        },
        (None, Some(at)) => Stamp {
            at,
            from: "its latest event timestamp",
        },
        (None, None) => Stamp {
            at: file_mtime(&prev.path).with_context(|| {
                format!(
                    "{}: cannot read its modification time; give --baseline-timestamp",
                    prev.display
                )
            })?,
            from: "its modification time",
        },
    };
    check_order(prev, at, &input.dump, dump_stamp(input))?;
    Ok(Loaded { baseline, prev: at })
}

fn check_order(prev: &DumpInput, p: Stamp, dump: &DumpInput, d: Stamp) -> anyhow::Result<()> {
    if p.at < d.at {
        return Ok(());
    }
    bail!(
        "the baseline {} is not earlier than {}: the baseline was taken at {p}, the dump at {d}. \
         A baseline is an earlier snapshot of the same node; if these times are wrong, give \
         --baseline-timestamp and --timestamp",
        prev.display,
        dump.display
    )
}

/// After DUMP's pass: an event stream dated by its events is checked
/// again with its earliest one; then the warning when the gap between the
/// snapshots is not the interval the rows claim.
pub fn after_pass(
    input: &Input,
    prev: &DumpInput,
    loaded_prev: PrevTime,
    s: &Summary,
    interval_seconds: u16,
) -> anyhow::Result<()> {
    let mut d = dump_stamp(input);
    if let (TimeSource::EventOr(_), Some(at)) = (input.time, s.earliest_event) {
        d = Stamp {
            at,
            from: "its earliest event timestamp",
        };
        check_order(prev, loaded_prev.0, &input.dump, d)?;
    }
    let p = loaded_prev.0;
    let gap = d.at - p.at;
    let interval = i64::from(interval_seconds);
    if 10 * (gap - interval).abs() > interval {
        let hint = if gap <= i64::from(u16::MAX) {
            format!("pass --interval-seconds {gap}, or take the snapshots every {interval} s")
        } else {
            format!("take the snapshots every {interval} s")
        };
        // Shown with -q too: the rows would say the wrong thing.
        warn_loud!(
            "{} and its baseline {} are {gap} s apart ({d} and {p}), but --interval-seconds is \
             {interval}: rows of {gap} s of bytes tagged as {interval}-s intervals mislead \
             per-interval queries; {hint}",
            input.dump.display,
            prev.display
        );
    }
    Ok(())
}

/// PREV's observation time, kept from [`load`] for [`after_pass`].
#[derive(Debug, Clone, Copy)]
pub struct PrevTime(Stamp);

impl Loaded {
    pub fn into_parts(self) -> (Baseline, PrevTime) {
        (self.baseline, PrevTime(self.prev))
    }
}
