//! What `label` tells the user: malformed lines and first label errors as
//! they come, a progress spinner, and at the end the summary, the warnings
//! that need action and `--summary-json`.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use kubenetmon::conntrack::Malformed;
use kubenetmon::io::is_stdio;
use kubenetmon::label::pipeline::Observer;
use kubenetmon::label::{ErrorKind, FlagRules, IgnoreReason, LabelError, Summary};
use kubenetmon::model::ConnectionClass;
use kubenetmon::output::schema::TTL_DAYS;
use kubenetmon::output::{Destination, Pending};
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
    /// More for the end of the run: a `--summary-json` key, its value, and a
    /// line for the summary (e.g. what went into ClickHouse).
    sections: Vec<(&'static str, serde_json::Value, String)>,
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
            sections: Vec::new(),
        }
    }

    /// Adds `key: json` to `--summary-json` and `line` to the summary.
    pub fn add_section(&mut self, key: &'static str, json: serde_json::Value, line: String) {
        self.sections.push((key, json, line));
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
            "{}:{line}: skipped a flow: {e} ({}); {} (only the first such flow is shown)",
            printable(file),
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
        let mut value = serde_json::to_value(s)?;
        if let Some(map) = value.as_object_mut() {
            for (key, json, _) in &reporter.sections {
                map.insert(key.to_string(), json.clone());
            }
        }
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        if is_stdio(path) {
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, text.as_bytes())
                .and_then(|()| std::io::Write::flush(&mut out))
                .map_err(|e| anyhow::Error::new(e).context("<stdout>"))?;
        } else {
            let mut dest = Destination::open(path)?;
            std::io::Write::write_all(&mut dest, text.as_bytes())
                .and_then(|()| dest.finish().map(|p| pending.join(p)))
                .map_err(|e| anyhow::Error::new(e).context(path.display().to_string()))?;
        }
    }
    pending.commit()?;
    // Dumps' and baselines' malformed lines share the first ten.
    let malformed = s.malformed + s.baseline.map_or(0, |b| b.malformed);
    if malformed > MALFORMED_SHOWN && !plan.verbose {
        messages::line(format_args!(
            "kubenetmon: {} more malformed lines not shown (use -v to see all)",
            malformed - MALFORMED_SHOWN
        ));
    }
    if !messages::quiet() {
        let flags = plan.labelling.as_ref().map(|l| &l.flags);
        eprint!(
            "{}",
            summary_text(s, plan.dry_run, &plan.skipped_providers, flags)
        );
        for (_, _, line) in &reporter.sections {
            eprintln!("{line}");
        }
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
    if let Some(b) = &s.baseline {
        let _ = writeln!(
            o,
            "  baseline: {} entries ({} lines, {} malformed): {} matched, {} reset, {} ended, \
             {} duplicate; {} new in the dump{}",
            b.entries,
            b.lines,
            b.malformed,
            b.matched,
            b.reset,
            b.ended,
            b.duplicate,
            b.new,
            match (b.dumps_keyed_by_id, b.dumps) {
                (0, _) => String::new(),
                (k, n) if k == n => "; matched with conntrack ids".to_string(),
                (k, n) => format!("; {k} of {n} dumps matched with conntrack ids"),
            }
        );
        if b.ended > 0 {
            let _ = writeln!(
                o,
                "  note: {} connections of the baseline ended before the dump: the bytes they \
                 carried after the baseline are lost (snapshots cannot show them); dumps taken \
                 with `conntrack -L -z`, or `conntrack -E` [DESTROY] events, avoid it",
                b.ended
            );
        }
    }
    // Bytes in binary units, each class's share of all bytes, and a total;
    // --summary-json keeps the exact numbers.
    let (mut all_out, mut all_in) = (0u64, 0u64);
    for c in ConnectionClass::ALL {
        let (out, inb) = s.bytes(c);
        all_out += out;
        all_in += inb;
    }
    let share = |b: u64| 100.0 * b as f64 / (all_out + all_in).max(1) as f64;
    for c in ConnectionClass::ALL {
        let (out, inb) = s.bytes(c);
        if out + inb > 0 {
            let _ = writeln!(
                o,
                "  {:<16} {:>10} out {:>10} in  {:>5.1} %",
                c.as_str(),
                human_bytes(out),
                human_bytes(inb),
                share(out + inb)
            );
        }
    }
    if all_out + all_in > 0 {
        let _ = writeln!(
            o,
            "  {:<16} {:>10} out {:>10} in  100.0 %",
            "total",
            human_bytes(all_out),
            human_bytes(all_in)
        );
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
            "  {name:<16} {:>10} out {:>10} in  ({note})",
            human_bytes(out),
            human_bytes(inb)
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

/// `n` bytes for a reader: `512 B`, `5.1 KiB`, `1.8 TiB` (powers of 1024).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1023.95 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(5250), "5.1 KiB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_bytes(1_952_520_527_542), "1.8 TiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }
}
