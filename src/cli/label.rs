//! `kubenetmon label`: conntrack dumps + inventory + ranges → rows.
//!
//! Only option handling and reporting live here; the work is in
//! `kubenetmon::label::pipeline`. Decisions are recorded in docs/label.md.

use std::collections::HashSet;
use std::fs;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use clap::Args;

use kubenetmon::conntrack::Malformed;
use kubenetmon::inventory;
use kubenetmon::io::{is_stdio, open_input};
use kubenetmon::label::pipeline::{count_node_votes, run_dump, NodeGuess, Observer, Options};
use kubenetmon::label::{
    Context, ErrorKind, IgnoreReason, LabelError, LabelIndex, Summary, TimeSource,
};
use kubenetmon::model::{ConnectionClass, RunMeta};
use kubenetmon::output::schema::TTL_DAYS;
use kubenetmon::output::{create_sink, Format, Sink};

use super::common::{InventoryArgs, LocalArgs, RangeSourceArgs};

const EXAMPLES: &str = "\
Examples:
  # The bundled demo: a directory of per-node dumps, named after their nodes
  kubenetmon label testdata/demo/dumps --inventory testdata/demo/inventory.json \\
      --ranges testdata/demo/ranges -o flows.csv

  # One dump; the node is inferred from the inventory, ranges from the cache
  kubenetmon label dump.txt.gz --inventory cluster.json -o flows.parquet

  # Several dumps, each with its node; stdin needs --node
  kubenetmon label ip-10-0-1-5.ec2.internal=a.txt ip-10-0-2-7.ec2.internal=b.txt -i cluster.json -o out.csv
  ssh node conntrack -L | kubenetmon label - --node ip-10-0-1-5.ec2.internal -i cluster.json -o -

  # Check that a dump parses, without an inventory or ranges
  kubenetmon label dump.txt --dry-run --summary-json summary.json

Exit codes: 0 ok (also when flows were ignored or could not be labelled), 1 runtime error,
2 usage error.";

const ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];
/// Malformed lines shown without -v.
const MALFORMED_SHOWN: u64 = 10;

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
    /// Ignore UDP flows (udp_ignored)
    #[arg(long)]
    pub ignore_udp: bool,
    /// Output file (.csv, .csv.gz, .csv.zst, .parquet); `-` = CSV on stdout
    #[arg(long, short = 'o', value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// Output format, when the file name does not tell
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Worker threads [default: all cores]
    #[arg(long, short = 'j', value_name = "N", env = "KUBENETMON_THREADS")]
    pub threads: Option<usize>,
    /// Stop at the first malformed line (exit code 1, no output file)
    #[arg(long)]
    pub strict: bool,
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
}

/// RFC 3339 (`2024-05-01T12:00:00Z`) or Unix seconds (`1714564800`).
fn parse_timestamp(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() {
            return Ok(f.floor() as i64);
        }
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|e| {
            format!("{s:?} is neither RFC 3339 (2024-05-01T12:00:00Z) nor Unix seconds: {e}")
        })
}

/// One dump to label and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DumpInput {
    path: PathBuf,
    /// Name in messages (`-` shows as `<stdin>`).
    display: String,
    node: Option<String>,
}

/// The dump suffixes stripped from a file name to get its node's name.
const DUMP_SUFFIXES: [&str; 5] = [".gz", ".zst", ".txt", ".log", ".conntrack"];

fn node_from_file_name(name: &str) -> String {
    let mut n = name;
    loop {
        let before = n.len();
        for s in DUMP_SUFFIXES {
            if let Some(stripped) = n.strip_suffix(s) {
                if !stripped.is_empty() {
                    n = stripped;
                }
            }
        }
        if n.len() == before {
            return n.to_string();
        }
    }
}

/// Expands the DUMP arguments (§5): `-`, NODE=FILE, directories, files.
fn expand_dumps(args: &[String], default_node: Option<&str>) -> Result<Vec<DumpInput>, String> {
    let mut out = Vec::new();
    let mut stdin_seen = false;
    for arg in args {
        let as_path = Path::new(arg);
        if arg == "-" {
            if stdin_seen {
                return Err("`-` (stdin) can be given only once".into());
            }
            stdin_seen = true;
            out.push(DumpInput {
                path: as_path.to_path_buf(),
                display: "<stdin>".into(),
                node: default_node.map(str::to_string),
            });
        } else if as_path.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(as_path)
                .map_err(|e| format!("{arg}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(format!("{arg}: directory holds no dump files"));
            }
            for p in files {
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| format!("{}: file name is not UTF-8", p.display()))?;
                out.push(DumpInput {
                    display: p.display().to_string(),
                    node: Some(node_from_file_name(name)),
                    path: p,
                });
            }
        } else if let (false, Some((node, file))) = (as_path.exists(), arg.split_once('=')) {
            if node.is_empty() || file.is_empty() {
                return Err(format!("{arg:?}: expected NODE=FILE"));
            }
            if file == "-" {
                if stdin_seen {
                    return Err("`-` (stdin) can be given only once".into());
                }
                stdin_seen = true;
            }
            out.push(DumpInput {
                path: PathBuf::from(file),
                display: if file == "-" {
                    "<stdin>".into()
                } else {
                    file.to_string()
                },
                node: Some(node.to_string()),
            });
        } else {
            out.push(DumpInput {
                path: as_path.to_path_buf(),
                display: arg.clone(),
                node: default_node.map(str::to_string),
            });
        }
    }
    Ok(out)
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("kubenetmon: error: {msg}");
    eprintln!("For more information, try '--help'.");
    ExitCode::from(2)
}

fn warn(msg: impl std::fmt::Display) {
    eprintln!("kubenetmon: warning: {msg}");
}

/// Reports malformed lines and first label errors on stderr as they come,
/// and drives the progress bar.
struct Reporter {
    verbose: bool,
    quiet: bool,
    malformed_seen: u64,
    errors_warned: HashSet<ErrorKind>,
    progress: Option<indicatif::ProgressBar>,
    /// Totals of the dumps already finished (progress shows run totals).
    base: Summary,
}

impl Observer for Reporter {
    fn malformed(&mut self, file: &str, m: &Malformed) {
        self.malformed_seen += 1;
        if self.verbose || self.malformed_seen <= MALFORMED_SHOWN {
            let msg = format!("{file}:{}: {}: {}", m.line, m.reason, m.text);
            match &self.progress {
                Some(p) => p.println(msg),
                None => eprintln!("{msg}"),
            }
        }
    }

    fn first_label_error(&mut self, file: &str, line: u64, e: &LabelError) {
        if self.quiet || !self.errors_warned.insert(e.kind()) {
            return;
        }
        let msg = format!(
            "kubenetmon: warning: {file}:{line}: {} ({}); {}. Only the first is shown.",
            e,
            e.kind(),
            e.kind().hint()
        );
        match &self.progress {
            Some(p) => p.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    fn progress(&mut self, so_far: &Summary) {
        if let Some(p) = &self.progress {
            let lines = self.base.lines + so_far.lines;
            let labelled = self.base.labelled + so_far.labelled;
            p.set_message(format!("{lines} lines, {labelled} flows labelled"));
        }
    }
}

fn file_time(path: &Path) -> Option<i64> {
    let t = fs::metadata(path).ok()?.modified().ok()?;
    Some(match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    })
}

/// `YYYY-MM-DD` (UTC) of a Unix time, for messages.
fn day_of(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn run(args: LabelArgs) -> anyhow::Result<ExitCode> {
    let dumps = match expand_dumps(&args.dumps, args.node.as_deref()) {
        Ok(d) => d,
        Err(msg) => return Ok(usage_error(msg)),
    };
    let have_inventory = !args.inventory.inventory.is_empty();
    if args.inventory.inventory.iter().any(|p| is_stdio(p))
        && dumps.iter().any(|d| is_stdio(&d.path))
    {
        return Ok(usage_error(
            "stdin (`-`) cannot be both a dump and the inventory",
        ));
    }
    let rows_to_stdout = !args.dry_run && is_stdio(&args.output);
    if rows_to_stdout && args.summary_json.as_deref().is_some_and(is_stdio) {
        return Ok(usage_error(
            "--summary-json - and -o - would both write to stdout; send one of them to a file",
        ));
    }
    if !have_inventory && !args.dry_run {
        return Ok(usage_error(
            "--inventory is required to label flows (use --dry-run to only check that dumps parse)",
        ));
    }
    if !args.environment.is_empty() && !ENVIRONMENTS.contains(&args.environment.as_str()) {
        warn(format_args!(
            "environment {:?} is none of development, staging, production; using it anyway",
            args.environment
        ));
    }
    let threads = args.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let progress = (!args.quiet && io::stderr().is_terminal()).then(|| {
        let p = indicatif::ProgressBar::new_spinner();
        p.enable_steady_tick(Duration::from_millis(120));
        p
    });
    let mut reporter = Reporter {
        verbose: args.verbose,
        quiet: args.quiet,
        malformed_seen: 0,
        errors_warned: HashSet::new(),
        progress,
        base: Summary::default(),
    };
    let opts = Options {
        strict: args.strict,
        ..pool.install(Options::default)
    };
    let time_of = |d: &DumpInput| match args.timestamp {
        Some(t) => TimeSource::Fixed(t),
        None if is_stdio(&d.path) => TimeSource::EventOr(now()),
        None => TimeSource::EventOr(file_time(&d.path).unwrap_or_else(now)),
    };

    let mut total = Summary::default();
    let mut accounting_off: Vec<String> = Vec::new();

    if !have_inventory {
        // --dry-run without an inventory: parse only, no ranges needed.
        for d in &dumps {
            let input = open_input(&d.path)?;
            let s =
                pool.install(|| run_dump(input, &d.display, None, None, opts, &mut reporter))?;
            if s.final_flows > 0 && s.flows_with_counters == 0 {
                accounting_off.push(d.display.clone());
            }
            reporter.base.merge(&s);
            total.merge(&s);
        }
        finish_progress(&reporter);
        return report(&args, &total, &accounting_off, &[]);
    }

    let inv = inventory::load(&args.inventory.inventory)?;
    let local_cloud = args.local.cloud(Some(&inv))?;
    let loaded = args.ranges.load(local_cloud, args.quiet)?;
    let skipped: Vec<String> = loaded
        .skipped
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    let Some(local) = args.local.resolve(Some(&inv), &loaded.table)? else {
        bail!(
            "cannot tell the cluster's cloud and region from the inventory \
             (no node has a providerID and a topology.kubernetes.io/region label); \
             give --cloud and --region"
        );
    };
    let private = args.local.private_nets();

    // Which node each dump was taken on.
    let mut nodes = Vec::with_capacity(dumps.len());
    for d in &dumps {
        let node =
            match &d.node {
                Some(n) => n.clone(),
                None if is_stdio(&d.path) => return Ok(usage_error(
                    "cannot infer the node of a dump read from stdin; give --node NODE or NODE=-",
                )),
                None => {
                    let input = open_input(&d.path)?;
                    let votes = pool.install(|| count_node_votes(input, &d.display, &inv, opts))?;
                    match votes.decide() {
                        NodeGuess::Node(n) => {
                            if !args.quiet {
                                eprintln!(
                                "kubenetmon: {}: taken on node {n} (inferred: {} flows mention it)",
                                d.display, votes.counts[&n]
                            );
                            }
                            n
                        }
                        NodeGuess::Nothing => bail!(
                            "{}: cannot infer the node: no flow mentions a pod or InternalIP of \
                         a node in the inventory; give --node NODE or NODE={}",
                            d.display,
                            d.display
                        ),
                        NodeGuess::Ambiguous { first, second } => bail!(
                            "{}: cannot infer the node: {} ({} flows) is not clearly ahead of {} \
                         ({} flows); give --node NODE or NODE={}",
                            d.display,
                            first.0,
                            first.1,
                            second.0,
                            second.1,
                            d.display
                        ),
                    }
                }
            };
        if inv.node_by_name(&node).is_none() && !inv.pods().iter().any(|p| p.node_name == node) {
            warn(format_args!(
                "{}: node {node:?} is not in the inventory and no pod runs on it; \
                 most flows will have an unknown direction",
                d.display
            ));
        }
        nodes.push(node);
    }

    let meta = RunMeta {
        environment: args.environment.clone(),
        local_cloud: local.cloud.as_str().to_string(),
        local_region: local.region.clone(),
        local_cluster: args.cluster.clone(),
        interval_seconds: args.interval_seconds,
    };
    let index = LabelIndex::new(&inv);
    let mut sink: Option<Box<dyn Sink + Send>> = if args.dry_run {
        None
    } else {
        Some(create_sink(&args.output, args.format, &meta)?)
    };
    for (d, node) in dumps.iter().zip(&nodes) {
        let ctx = Context {
            node,
            index: &index,
            table: &loaded.table,
            local: &local,
            private: &private,
            ignore_udp: args.ignore_udp,
            time: time_of(d),
        };
        let input = open_input(&d.path)?;
        let sink_ref: Option<&mut (dyn Sink + Send)> = match sink.as_mut() {
            Some(s) => Some(s.as_mut()),
            None => None,
        };
        let s = pool
            .install(|| run_dump(input, &d.display, Some(&ctx), sink_ref, opts, &mut reporter))?;
        if s.final_flows > 0 && s.flows_with_counters == 0 {
            accounting_off.push(format!("{} (node {node})", d.display));
        }
        reporter.base.merge(&s);
        total.merge(&s);
    }
    if let Some(sink) = sink {
        let written = sink.finish()?;
        debug_assert_eq!(written, total.rows);
        total.rows = written;
    }
    finish_progress(&reporter);
    report(&args, &total, &accounting_off, &skipped)
}

fn finish_progress(r: &Reporter) {
    if let Some(p) = &r.progress {
        p.finish_and_clear();
    }
}

/// The end-of-run summary on stderr, the accounting warning, and --summary-json.
fn report(
    args: &LabelArgs,
    s: &Summary,
    accounting_off: &[String],
    skipped: &[String],
) -> anyhow::Result<ExitCode> {
    if s.malformed > MALFORMED_SHOWN && !args.verbose {
        eprintln!(
            "kubenetmon: {} more malformed lines not shown (use -v to see all)",
            s.malformed - MALFORMED_SHOWN
        );
    }
    if !args.quiet {
        eprint!("{}", format_summary(s, args.dry_run, skipped));
    }
    for d in accounting_off {
        eprintln!(
            "kubenetmon: WARNING: {d}: no flow carries byte counters: conntrack accounting is off \
             on that node, so there is nothing to measure. Turn it on with \
             `sysctl -w net.netfilter.nf_conntrack_acct=1` and take the dump again."
        );
    }
    if let Some(oldest) = s.oldest_observation {
        let limit = now() - i64::from(TTL_DAYS) * 86_400;
        if oldest < limit {
            eprintln!(
                "kubenetmon: warning: some rows are dated {}, more than {TTL_DAYS} days ago: \
                 network_flows_0 has a {TTL_DAYS}-day TTL on intervalStartTime, so ClickHouse \
                 deletes them at its next merge (see docs/schema.md; --timestamp sets the time)",
                day_of(oldest)
            );
        }
    }
    if let Some(path) = &args.summary_json {
        let mut text = serde_json::to_string_pretty(s)?;
        text.push('\n');
        if is_stdio(path) {
            print!("{text}");
        } else {
            kubenetmon::io::write_atomic(path, text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn format_summary(s: &Summary, dry_run: bool, skipped: &[String]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "kubenetmon: {} lines, {} flows, {} malformed",
        s.lines, s.flows, s.malformed
    );
    let list = |pairs: Vec<(&str, u64)>| {
        let v: Vec<String> = pairs
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(
        o,
        "  ignored: {} ({})",
        s.total_ignored(),
        list(
            IgnoreReason::ALL
                .iter()
                .map(|r| (r.as_str(), s.ignored(*r)))
                .collect()
        )
    );
    let _ = writeln!(
        o,
        "  errors:  {} ({})",
        s.total_errors(),
        list(
            ErrorKind::ALL
                .iter()
                .map(|k| (k.as_str(), s.errors(*k)))
                .collect()
        )
    );
    let _ = writeln!(
        o,
        "  labelled: {} flows, {} rows {}",
        s.labelled,
        s.rows,
        if dry_run {
            "(dry run: not written)"
        } else {
            "written"
        }
    );
    for c in ConnectionClass::ALL {
        let (out, inb) = s.bytes(c);
        if out + inb > 0 {
            let _ = writeln!(
                o,
                "  {:<16} {:>14} bytes out {:>14} bytes in",
                c.as_str(),
                out,
                inb
            );
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            o,
            "  range providers skipped (file absent): {}",
            skipped.join(", ")
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_lose_dump_suffixes() {
        assert_eq!(
            node_from_file_name("ip-10-0-1-5.ec2.internal.txt.gz"),
            "ip-10-0-1-5.ec2.internal"
        );
        assert_eq!(node_from_file_name("node-a.conntrack.zst"), "node-a");
        assert_eq!(node_from_file_name("node-a.log"), "node-a");
        assert_eq!(node_from_file_name("node-a"), "node-a");
        // Only the listed suffixes.
        assert_eq!(node_from_file_name("node-a.json"), "node-a.json");
        assert_eq!(node_from_file_name(".txt"), ".txt");
    }

    #[test]
    fn timestamps_parse_as_rfc3339_or_unix_seconds() {
        assert_eq!(parse_timestamp("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_timestamp("1700000000.9"), Ok(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(
            parse_timestamp("2023-11-14T23:13:20+01:00"),
            Ok(1_700_000_000)
        );
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn dump_arguments_expand() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.example.txt.gz"), "").unwrap();
        fs::write(dir.path().join("a.example.log"), "").unwrap();
        fs::write(dir.path().join(".hidden"), "").unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let got = expand_dumps(
            &[d.clone(), "n1=x.txt".into(), "-".into(), "plain.txt".into()],
            Some("dflt"),
        )
        .unwrap();
        let summary: Vec<(String, Option<String>)> = got
            .iter()
            .map(|d| {
                (
                    d.path.file_name().unwrap().to_string_lossy().into_owned(),
                    d.node.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a.example.log".into(), Some("a.example".into())),
                ("b.example.txt.gz".into(), Some("b.example".into())),
                ("x.txt".into(), Some("n1".into())),
                ("-".into(), Some("dflt".into())),
                ("plain.txt".into(), Some("dflt".into())),
            ]
        );
        assert!(expand_dumps(&["-".into(), "n=-".into()], None).is_err());
        assert!(expand_dumps(&["=x".into()], None).is_err());
        let empty = tempfile::tempdir().unwrap();
        assert!(expand_dumps(&[empty.path().to_str().unwrap().into()], None).is_err());
    }
}
