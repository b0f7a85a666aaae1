//! `kubenetmon ranges fetch|show`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use kubenetmon::fetch::{
    self, CacheEntry, EntryState, FetchError, FetchOptions, FileSummary, Limits, NoProgress,
    Progress, PublishedFrom, Urls, AZURE_FALLBACK_CHANGE_NUMBER, AZURE_FALLBACK_DATE,
    STALE_AFTER_DAYS,
};
use kubenetmon::ranges::{default_cache_dir, Provider};

#[derive(Debug, Subcommand)]
pub enum RangesCommand {
    /// Download the AWS, GCP, Google and Azure range files into the cache
    #[command(after_help = FETCH_EXAMPLES)]
    Fetch(FetchArgs),
    /// Show what the cache holds: versions, ages, prefix counts, sources
    #[command(after_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
}

const FETCH_EXAMPLES: &str = "\
A download replaces the cached file only after it parsed and held at least one prefix;
otherwise the previous file is kept. Each file gets a sidecar <file>.meta.json (source URL,
time, sha256, version). HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY are honoured.
Exit code 1 when any provider failed.

Examples:
  kubenetmon ranges fetch
  kubenetmon ranges fetch --provider aws,azure --dir ./ranges
  kubenetmon ranges fetch --azure-url 'https://mirror.example/ServiceTags_Public_{date}.json'
  HTTPS_PROXY=http://proxy:3128 kubenetmon ranges fetch --timeout 300";

const SHOW_EXAMPLES: &str = "\
Examples:
  kubenetmon ranges show
  kubenetmon ranges show --dir ./ranges --json | jq '.[] | {provider, status, version}'";

/// The ranges directory; `--ranges` is the same option, as on `label`.
#[derive(Debug, Clone, Args)]
pub struct DirArg {
    /// Ranges directory [default: the cache, $XDG_CACHE_HOME/kubenetmon/ranges]
    #[arg(
        long = "dir",
        visible_alias = "ranges",
        value_name = "DIR",
        env = "KUBENETMON_RANGES"
    )]
    pub dir: Option<PathBuf>,
}

impl DirArg {
    fn resolve(&self) -> anyhow::Result<PathBuf> {
        match &self.dir {
            Some(d) => Ok(d.clone()),
            None => default_cache_dir().context(
                "no cache directory: neither XDG_CACHE_HOME nor HOME is set; pass --dir DIR",
            ),
        }
    }
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Providers to download, comma-separated [default: all four]
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = parse_provider_name
    )]
    pub provider: Vec<Provider>,
    /// Give up on a download after this many seconds (whole request, body included)
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Give up connecting after this many seconds
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub connect_timeout: Duration,
    /// Largest file accepted, e.g. 64M, 512K or a byte count
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = fetch::parse_size)]
    pub max_size: u64,
    /// Extra attempts after a transient failure (5xx, 408, 429, timeout, connection
    /// error; never 404); `--retries 0` fails fast, at the first error
    ///
    /// The pause before each retry starts at 1 s and doubles: 1 s, 2 s, 4 s with the
    /// default 3, so an unreachable host costs four attempts (each up to
    /// --connect-timeout to connect) and 7 s of pauses before the provider fails —
    /// about 19 s on "no route to host". With `--retries 0` it fails after one attempt,
    /// with no pause. A failure other than 404 also ends the Azure walk-back.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// First pause before a retry, in milliseconds; doubled each time
    #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
    pub retry_delay_ms: u64,
    /// AWS ip-ranges.json URL
    #[arg(long, value_name = "URL", env = "KUBENETMON_AWS_URL")]
    pub aws_url: Option<String>,
    /// GCP cloud.json URL
    #[arg(long, value_name = "URL", env = "KUBENETMON_GCP_URL")]
    pub gcp_url: Option<String>,
    /// Google goog.json URL
    #[arg(long, value_name = "URL", env = "KUBENETMON_GOOGLE_URL")]
    pub google_url: Option<String>,
    /// Azure service tags URL; `{date}` becomes YYYYMMDD, walking back from today
    /// up to 90 days, then the known file of 20251028 (no `{date}`: used as is)
    #[arg(long, value_name = "URL", env = "KUBENETMON_AZURE_URL")]
    pub azure_url: Option<String>,
    /// Pretend today is this UTC day (YYYYMMDD) for the Azure walk-back; for tests
    #[arg(long, value_name = "YYYYMMDD", env = "KUBENETMON_TODAY", hide = true, value_parser = fetch::parse_day)]
    pub today: Option<chrono::NaiveDate>,
    /// Ignore HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and connect directly
    #[arg(long)]
    pub no_proxy: bool,
    /// No progress bars, and no lines for providers that succeeded
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// One JSON array on stdout instead of text
    #[arg(long)]
    pub json: bool,
}

fn parse_provider_name(s: &str) -> Result<Provider, String> {
    s.parse()
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("{s:?}: must be more than 0 seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

pub fn run(cmd: RangesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RangesCommand::Fetch(args) => run_fetch(args),
        RangesCommand::Show(args) => run_show(args),
    }
}

/// One indicatif bar, driven from a download thread.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn request(&self, url: &str) {
        self.0.set_position(0);
        self.0.set_message(url.to_string());
    }
    fn length(&self, len: Option<u64>) {
        match len {
            Some(n) => self.0.set_length(n),
            None => self.0.unset_length(),
        }
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

fn run_fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.resolve()?;
    let mut opts = FetchOptions::new(&dir);
    if !args.provider.is_empty() {
        opts.providers = args.provider.clone();
    }
    opts.urls = Urls {
        aws: args.aws_url,
        gcp: args.gcp_url,
        google: args.google_url,
        azure: args.azure_url,
    };
    opts.limits = Limits {
        connect_timeout: args.connect_timeout,
        timeout: args.timeout,
        max_bytes: args.max_size,
        retries: args.retries,
        backoff: Duration::from_millis(args.retry_delay_ms),
    };
    opts.system_proxy = !args.no_proxy;
    if let Some(today) = args.today {
        opts.today = today;
    }

    let multi = (!args.quiet && std::io::stderr().is_terminal())
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let style = ProgressStyle::with_template(
        "{prefix:>7} [{bar:30}] {bytes:>10}/{total_bytes:<10} {wide_msg}",
    )
    .expect("valid template")
    .progress_chars("=> ");
    let bars: std::sync::Mutex<Vec<ProgressBar>> = Default::default();
    let make = |p: Provider| -> Box<dyn Progress + Send> {
        match &multi {
            Some(m) => {
                let bar = m.add(ProgressBar::no_length().with_style(style.clone()));
                bar.set_prefix(p.name());
                bars.lock().unwrap().push(bar.clone());
                Box::new(Bar(bar))
            }
            None => Box::new(NoProgress),
        }
    };
    let reports = fetch::fetch_all(&opts, &make)?;
    for bar in bars.into_inner().unwrap() {
        bar.finish_and_clear();
    }

    let mut stderr = std::io::stderr().lock();
    let mut failed = 0;
    for r in &reports {
        match &r.result {
            Ok(f) => {
                if !args.quiet {
                    let m = &f.meta;
                    let date = m
                        .azure_date
                        .as_deref()
                        .map(|d| format!(", dated {d}"))
                        .unwrap_or_default();
                    writeln!(
                        stderr,
                        "{}: saved {} ({} bytes, {} IPv4 + {} IPv6 prefixes, {} {}{date}) from {}",
                        r.provider,
                        r.path.display(),
                        m.size,
                        m.ipv4_prefixes,
                        m.ipv6_prefixes,
                        version_label(r.provider),
                        m.version,
                        m.url
                    )?;
                    if f.warnings > 0 {
                        writeln!(
                            stderr,
                            "{}: warning: {} prefixes have host bits set (read as their network)",
                            r.provider, f.warnings
                        )?;
                    }
                }
            }
            Err(e) => {
                failed += 1;
                let kept = if matches!(e, FetchError::Sidecar(_)) {
                    "the new file is in place".to_string()
                } else if r.kept_previous {
                    format!("kept the previous {}", r.path.display())
                } else {
                    format!("no {} cached", r.path.display())
                };
                writeln!(stderr, "{}: FAILED: {e:#}; {kept}", r.provider)?;
            }
        }
    }
    if failed > 0 {
        writeln!(
            stderr,
            "kubenetmon: error: {failed} of {} providers failed",
            reports.len()
        )?;
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn version_label(p: Provider) -> &'static str {
    match p {
        Provider::Azure => "changeNumber",
        _ => "syncToken",
    }
}

fn run_show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.resolve()?;
    let entries = fetch::inspect(&dir, chrono::Utc::now());
    let broken = entries
        .iter()
        .any(|e| matches!(e.state, EntryState::Broken { .. }));
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &entries)?;
        writeln!(out)?;
    } else {
        let note = if dir.is_dir() {
            ""
        } else {
            " (does not exist; `kubenetmon ranges fetch` creates it)"
        };
        writeln!(out, "ranges directory: {}{note}", dir.display())?;
        for e in &entries {
            write_entry(&mut out, e)?;
        }
    }
    out.flush()?;
    Ok(if broken {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// How many names a list shows before "…".
const SHORT_LIST: usize = 6;

fn counted(names: &[String]) -> String {
    if names.is_empty() {
        return "0".to_string();
    }
    format!("{} ({})", names.len(), short_list(names))
}

fn short_list(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(SHORT_LIST)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHORT_LIST {
        s.push_str(", …");
    }
    s
}

fn human_age(secs: i64) -> String {
    match secs {
        s if s < 0 => "in the future".to_string(),
        s if s < 120 => format!("{s} seconds ago"),
        s if s < 7200 => format!("{} minutes ago", s / 60),
        s if s < 172_800 => format!("{} hours ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// Azure's changeNumber is the one of the known dated file: that date exactly.
fn is_known_azure_file(s: &FileSummary) -> bool {
    s.version.trim().parse() == Ok(AZURE_FALLBACK_CHANGE_NUMBER)
}

/// "102 days ago"; "400 days ago or more" when the date is only an upper bound.
fn published_age(s: &FileSummary) -> String {
    let age = human_age(s.age_seconds.unwrap_or_default());
    if s.published_from == Some(PublishedFrom::ChangeNumber) && !is_known_azure_file(s) {
        format!("{age} or more")
    } else {
        age
    }
}

/// A fetch this recent that still holds old data points at its source.
const RECENT_FETCH_SECS: i64 = 86_400;

fn stale_warning(s: &FileSummary) -> String {
    let refresh = "refresh with `kubenetmon ranges fetch`";
    if s.published_at.is_none() {
        return format!(
            "older than {STALE_AFTER_DAYS} days (this copy is from {}; the vendor's date \
             is unknown); {refresh}",
            human_age(s.age_seconds.unwrap_or_default())
        );
    }
    let age = published_age(s);
    match s.fetched_age_seconds {
        Some(f) if s.fetched_from == "sidecar" && (0..RECENT_FETCH_SECS).contains(&f) => format!(
            "older than {STALE_AFTER_DAYS} days (published {age}) although fetched {}: its \
             source is behind (a stale mirror, or Azure's fallback file?)",
            human_age(f)
        ),
        _ => format!("older than {STALE_AFTER_DAYS} days (published {age}); {refresh}"),
    }
}

fn write_entry(out: &mut impl Write, e: &CacheEntry) -> std::io::Result<()> {
    let name = e.provider.file_name();
    match &e.state {
        EntryState::Missing => writeln!(
            out,
            "\n{}: MISSING {name} (run `kubenetmon ranges fetch --provider {}`)",
            e.provider, e.provider
        ),
        EntryState::Broken { error } => writeln!(out, "\n{}: BROKEN {name}: {error}", e.provider),
        EntryState::Present(s) => {
            writeln!(out, "\n{}: {name} ({} bytes)", e.provider, s.size)?;
            let published = match (&s.published_at, s.age_seconds) {
                (Some(at), Some(_)) if s.published_from == Some(PublishedFrom::ChangeNumber) => {
                    let (bound, relation) = if is_known_azure_file(s) {
                        ("", "is that".to_string())
                    } else {
                        (
                            " or earlier",
                            format!("is below {AZURE_FALLBACK_CHANGE_NUMBER}, that"),
                        )
                    };
                    format!(
                        "{at}{bound} ({}: changeNumber {} {relation} of \
                         ServiceTags_Public_{AZURE_FALLBACK_DATE}.json; the file itself carries no date)",
                        published_age(s),
                        s.version
                    )
                }
                (Some(at), Some(age)) => format!("{at} ({})", human_age(age)),
                _ if e.provider == Provider::Azure => format!(
                    "unknown (changeNumber {}; Azure files carry no date, and no sidecar \
                     names the ServiceTags_Public_YYYYMMDD.json it came from)",
                    s.version
                ),
                _ if s.created.is_empty() => "unknown (the file carries no date)".to_string(),
                _ => format!("unknown (cannot read the date {:?})", s.created),
            };
            writeln!(out, "  published: {published}")?;
            let copied = match (&s.fetched_at, s.fetched_age_seconds) {
                (Some(at), Some(age)) => format!("{at} ({})", human_age(age)),
                _ => "unknown".to_string(),
            };
            if s.fetched_from == "sidecar" {
                writeln!(out, "  fetched:   {copied}")?;
            } else {
                writeln!(out, "  modified:  {copied}")?;
            }
            let mut version = format!("{} {}", version_label(e.provider), s.version);
            if !s.created.is_empty() {
                version.push_str(&format!(", created {}", s.created));
            }
            if let Some(d) = s.meta.as_ref().and_then(|m| m.azure_date.as_deref()) {
                version.push_str(&format!(", file dated {d}"));
            }
            writeln!(out, "  version:   {version}")?;
            writeln!(
                out,
                "  prefixes:  {} IPv4, {} IPv6",
                s.ipv4_prefixes, s.ipv6_prefixes
            )?;
            writeln!(out, "  regions:   {}", counted(&s.regions))?;
            writeln!(out, "  services:  {}", counted(&s.services))?;
            match (&s.meta, &s.meta_problem) {
                (Some(m), None) => writeln!(out, "  source:    {}", m.url)?,
                (Some(m), Some(p)) => writeln!(out, "  source:    {} ({p})", m.url)?,
                (None, Some(p)) => writeln!(out, "  source:    unknown ({p})")?,
                (None, None) => writeln!(out, "  source:    unknown")?,
            }
            if s.stale {
                writeln!(out, "  warning:   {}", stale_warning(s))?;
            }
            Ok(())
        }
    }
}
