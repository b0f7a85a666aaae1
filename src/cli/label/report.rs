//! What `label` tells the user: malformed lines and first label errors as
//! they come, a progress spinner, and at the end the summary, the warnings
//! that need action and `--summary-json`.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use kubenetmon::conntrack::Malformed;
use kubenetmon::io::{is_stdio, AtomicFile};
use kubenetmon::label::pipeline::Observer;
use kubenetmon::label::{ErrorKind, FlagRules, IgnoreReason, LabelError, Summary};
use kubenetmon::model::ConnectionClass;
use kubenetmon::output::schema::TTL_DAYS;
use kubenetmon::output::Pending;
use kubenetmon::time::{day_of, now};

use super::plan::{Input, LabelPlan};
use crate::cli::messages::{self, printable};

/// Malformed lines shown without -v.
const MALFORMED_SHOWN: u64 = 10;

/// Reports as the run goes, and collects what the end of the run reports.
pub struct Reporter {
    verbose: bool,
    malformed_seen: u64,
    errors_warned: HashSet<ErrorKind>,
    progress: Option<indicatif::ProgressBar>,
    /// Totals of the dumps already finished (progress shows run totals).
    base: Summary,
    /// Dumps in which no flow carries counters.
    accounting_off: Vec<String>,
}

impl Reporter {
    pub fn new(verbose: bool) -> Reporter {
        let progress = (!messages::quiet() && std::io::stderr().is_terminal()).then(|| {
            let p = indicatif::ProgressBar::new_spinner();
            p.enable_steady_tick(Duration::from_millis(120));
            p
        });
        messages::set_progress(progress.clone());
        Reporter {
            verbose,
            malformed_seen: 0,
            errors_warned: HashSet::new(),
            progress,
            base: Summary::default(),
            accounting_off: Vec::new(),
        }
    }

    /// After each dump: its totals count towards the progress line, and
    /// a dump whose flows carry no counters is remembered for a warning.
    pub fn dump_done(&mut self, input: &Input, s: &Summary) {
        if s.final_flows > 0 && s.flows_with_counters == 0 {
            self.accounting_off.push(match &input.node {
                Some(node) => format!("{} (node {node})", input.dump.display),
                None => input.dump.display.clone(),
            });
        }
        self.base.merge(s);
    }

    pub fn finish_progress(&mut self) {
        self.progress = None;
        messages::set_progress(None);
    }
}

impl Observer for Reporter {
    fn malformed(&mut self, file: &str, m: &Malformed) {
        self.malformed_seen += 1;
        if self.verbose || self.malformed_seen <= MALFORMED_SHOWN {
            let msg = format!("{file}:{}: {}: {}", m.line, m.reason, m.text);
            messages::line(format_args!("{}", printable(&msg)));
        }
    }

    fn first_label_error(&mut self, file: &str, line: u64, e: &LabelError) {
        if !self.errors_warned.insert(e.kind()) {
            return;
        }
        warn!(
            "{file}:{line}: {e} ({}); {}. Only the first is shown.",
            e.kind(),
            e.kind().hint()
        );
    }

    fn progress(&mut self, so_far: &Summary) {
        if let Some(p) = &self.progress {
            let lines = self.base.lines + so_far.lines;
            let labelled = self.base.labelled + so_far.labelled;
            p.set_message(format!("{lines} lines, {labelled} flows labelled"));
        }
    }
}

/// The end of a run: `--summary-json` is written beside the rows, both are
/// committed together, then the summary and the warnings that need action
/// go to stderr.
pub fn finish(
    plan: &LabelPlan,
    s: &Summary,
    reporter: &Reporter,
    mut pending: Pending,
) -> anyhow::Result<ExitCode> {
    if let Some(path) = &plan.summary_json {
        let mut text = serde_json::to_string_pretty(s)?;
        text.push('\n');
        if is_stdio(path) {
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, text.as_bytes())
                .and_then(|()| std::io::Write::flush(&mut out))
                .map_err(|e| anyhow::Error::new(e).context("<stdout>"))?;
        } else {
            let mut file = AtomicFile::create(path)?;
            std::io::Write::write_all(&mut file, text.as_bytes())
                .map_err(|e| anyhow::Error::new(e).context(path.display().to_string()))?;
            pending.join(Pending::file(file));
        }
    }
    pending.commit()?;
    if s.malformed > MALFORMED_SHOWN && !plan.verbose {
        messages::line(format_args!(
            "kubenetmon: {} more malformed lines not shown (use -v to see all)",
            s.malformed - MALFORMED_SHOWN
        ));
    }
    if !messages::quiet() {
        let flags = plan.labelling.as_ref().map(|l| &l.flags);
        eprint!(
            "{}",
            summary_text(s, plan.dry_run, &plan.skipped_providers, flags)
        );
    }
    for d in &reporter.accounting_off {
        warn_loud!(
            "{d}: no flow carries byte counters: conntrack accounting is off \
             on that node, so there is nothing to measure. Turn it on with \
             `sysctl -w net.netfilter.nf_conntrack_acct=1` and take the dump again."
        );
    }
    if let Some(oldest) = s.oldest_observation {
        let limit = now() - i64::from(TTL_DAYS) * 86_400;
        if oldest < limit {
            messages::line(format_args!(
                "kubenetmon: warning: some rows are dated {}, more than {TTL_DAYS} days ago: \
                 network_flows_0 has a {TTL_DAYS}-day TTL on intervalStartTime, so ClickHouse \
                 deletes them at its next merge (see docs/schema.md; --timestamp sets the time)",
                day_of(oldest)
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The end-of-run summary on stderr.
pub fn summary_text(
    s: &Summary,
    dry_run: bool,
    skipped: &[String],
    flags: Option<&FlagRules>,
) -> String {
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
    if let Some(rules) = flags.filter(|_| s.labelled > 0) {
        o.push_str(&flag_lines(s, rules));
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

/// SPEC §6.3 in the summary: the bytes each built-in flag marks, and their
/// share, so the cross-AZ part needs no SQL.
fn flag_lines(s: &Summary, rules: &FlagRules) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let total: u64 = ConnectionClass::ALL
        .iter()
        .map(|&c| {
            let (out, inb) = s.bytes(c);
            out + inb
        })
        .sum();
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    };
    let mut line = |name: &str, (out, inb): (u64, u64), note: String| {
        let _ = writeln!(
            o,
            "  {name:<16} {out:>14} bytes out {inb:>14} bytes in  ({note})"
        );
    };
    if rules.cross_az() {
        let yes = s.cross_az_bytes(Some(true));
        let no = s.cross_az_bytes(Some(false));
        let unknown = s.cross_az_bytes(None);
        let known = yes.0 + yes.1 + no.0 + no.1;
        line(
            "CROSS_AZ=true",
            yes,
            format!(
                "{:.1} % of the bytes whose zones are known",
                pct(yes.0 + yes.1, known)
            ),
        );
        line(
            "CROSS_AZ=false",
            no,
            format!("{:.1} %", pct(no.0 + no.1, known)),
        );
        line(
            "CROSS_AZ unknown",
            unknown,
            format!(
                "{:.1} % of all bytes: an end whose zone is unknown",
                pct(unknown.0 + unknown.1, total)
            ),
        );
    }
    if rules.nat_gateway() {
        let nat = s.nat_gateway_bytes();
        line(
            "NAT_GATEWAY=true",
            nat,
            format!("{:.1} % of all bytes", pct(nat.0 + nat.1, total)),
        );
    }
    o
}
