//! `kubenetmon report`: what the bytes in rows files cost (SPEC §9), and the
//! report options `label --report` shares.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use kubenetmon::io::{is_stdio, write_atomic};
use kubenetmon::report::{
    parse_period, read, read_files, GroupBy, Prices, Progress, ReportFormat, ReportOptions,
};

use crate::cli::messages;
use crate::cli::UsageError;

const EXAMPLES: &str = "\
Examples:
  # What the rows of a label run cost, as text
  kubenetmon report flows.parquet

  # A directory of rows files, by app, with a monthly projection of one hour of traffic
  kubenetmon report out/ --by app --period 1h

  # JSON for scripts, and a page to share (self-contained HTML with charts)
  kubenetmon report flows.csv.gz --json > cost.json
  kubenetmon report flows.parquet --html cost.html

  # Your own prices (any subset of the table), and the table in effect
  kubenetmon report --print-prices --prices negotiated.json
  kubenetmon report flows.parquet --prices negotiated.json

  # Straight from label, without writing the rows twice
  kubenetmon label dumps/ -i cluster.json -o flows.parquet --report cost.html

Prices are flat first-tier list prices per GiB (docs/prices.md); volume tiers and free
allowances are per account and month, which a dump cannot know.

Exit codes: 0 ok, 1 runtime error (unreadable or foreign file, bad price file), 2 usage error.";

/// The options that cut a report; `label --report` takes them too.
#[derive(Debug, Clone, Args)]
pub struct ReportOptionArgs {
    /// Price table overrides: JSON of the `--print-prices` shape, any subset of its keys
    #[arg(
        long,
        value_name = "FILE",
        env = "KUBENETMON_PRICES",
        help_heading = "Report"
    )]
    pub prices: Option<PathBuf>,
    /// Rows of the top-groups and cross-AZ tables
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Report",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub top: u64,
    /// Group the top table by the local side's namespace, app, pod or node
    #[arg(long, value_name = "GROUP", default_value = "namespace", help_heading = "Report",
          value_parser = parse_group)]
    pub by: GroupBy,
    /// Time the inputs cover (e.g. 5m, 1h, 1d): adds a 30-day-month projection
    #[arg(long, value_name = "DURATION", value_parser = parse_period, help_heading = "Report")]
    pub period: Option<u64>,
}

fn parse_group(s: &str) -> Result<GroupBy, String> {
    s.parse()
}

impl ReportOptionArgs {
    pub fn options(&self) -> ReportOptions {
        ReportOptions {
            by: self.by,
            top: usize::try_from(self.top).unwrap_or(usize::MAX),
            period_seconds: self.period,
        }
    }

    /// The built-in table, with `--prices` over it.
    pub fn prices(&self) -> anyhow::Result<Prices> {
        let Some(path) = &self.prices else {
            return Ok(Prices::built_in());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the price file", path.display()))?;
        Ok(Prices::with_overrides(&path.display().to_string(), &text)?)
    }
}

#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
pub struct ReportArgs {
    /// Rows files kubenetmon wrote: .csv, .csv.gz, .csv.zst, .parquet, a directory of them,
    /// or `-` (CSV on stdin)
    #[arg(value_name = "FLOWS", required_unless_present = "print_prices")]
    pub flows: Vec<PathBuf>,
    #[command(flatten)]
    pub options: ReportOptionArgs,
    /// Print the report as JSON on stdout (schema: docs/report.md)
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML page to FILE (`-` = stdout)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the price table in effect (built-in, with --prices over it) and exit
    #[arg(long)]
    pub print_prices: bool,
    /// No progress bar or notes; warnings that need action still show
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// A progress bar over the input bytes, on a terminal only.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

/// Inputs smaller than this read too fast for a bar to help.
const BAR_FROM_BYTES: u64 = 64 << 20;

fn progress_bar(files: &[PathBuf]) -> Option<Bar> {
    if messages::quiet() || !std::io::stderr().is_terminal() {
        return None;
    }
    let stdin = files.iter().any(|p| is_stdio(p));
    let total: u64 = files
        .iter()
        .filter(|p| !is_stdio(p))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if !stdin && total < BAR_FROM_BYTES {
        return None;
    }
    let bar = if stdin {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::new(total)
    };
    let style = if stdin {
        indicatif::ProgressStyle::with_template("{spinner} {bytes} read ({bytes_per_sec})")
    } else {
        indicatif::ProgressStyle::with_template(
            "{wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
    };
    if let Ok(style) = style {
        bar.set_style(style);
    }
    messages::set_progress(Some(bar.clone()));
    Some(Bar(bar))
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    messages::set_quiet(args.quiet);
    let prices = args.options.prices()?;
    if args.print_prices {
        let mut out = std::io::stdout().lock();
        out.write_all(prices.to_json().as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| anyhow::Error::new(e).context("<stdout>"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let html_to_stdout = args.html.as_deref().is_some_and(is_stdio);
    if html_to_stdout && args.json {
        return Err(UsageError::new(
            "--json and --html - would both write to stdout; send the page to a file",
        )
        .into());
    }
    if args.flows.iter().filter(|p| is_stdio(p)).count() > 1 {
        return Err(UsageError::new("stdin (`-`) can be read only once").into());
    }
    if let Some(h) = &args.html {
        if !html_to_stdout && ReportFormat::from_path(h) != Some(ReportFormat::Html) {
            warn!(
                "{}: the page is HTML whatever the file is called",
                h.display()
            );
        }
    }
    let opts = args.options.options();
    let files = read::expand(&args.flows)?;
    let bar = progress_bar(&files);
    let observer: &dyn Progress = match &bar {
        Some(b) => b,
        None => &kubenetmon::report::NoProgress,
    };
    let result = read_files(&files, opts.by, observer);
    messages::set_progress(None);
    let (agg, inputs) = result?;
    for (cloud, rows) in &agg.unpriced {
        warn_loud!(
            "{rows} rows have localCloud {}, which is not in the price table (aws, gcp, azure); \
             they cost 0 in this report",
            if cloud.is_empty() {
                "\"\" (empty)".to_string()
            } else {
                format!("{:?}", messages::printable(cloud))
            }
        );
    }
    let report = kubenetmon::report::Report::build(&agg, inputs, &prices, &opts);
    if let Some(path) = &args.html {
        let page = ReportFormat::Html.render(&report);
        if html_to_stdout {
            write_stdout(&page)?;
            return Ok(ExitCode::SUCCESS);
        }
        crate::cli::common::warn_leftover_temps(path);
        write_atomic(path, page.as_bytes())?;
        note!("wrote {}", path.display());
    }
    let text = if args.json {
        ReportFormat::Json.render(&report)
    } else {
        ReportFormat::Text.render(&report)
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::Error::new(e).context("<stdout>"))
}

/// `label --report FILE`: the format from the extension.
pub fn report_format(path: &Path) -> Result<ReportFormat, UsageError> {
    ReportFormat::from_path(path).ok_or_else(|| {
        UsageError::new(format!(
            "--report {}: cannot tell the report format from the name (use .txt, .json or .html, \
             or - for text on stdout)",
            path.display()
        ))
    })
}
