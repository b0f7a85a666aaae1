//! `kubenetmon label`: conntrack dumps + inventory + ranges → rows.
//!
//! [`args`] is what clap parses, [`plan`] validates it into a
//! [`plan::LabelPlan`], [`run`] executes the plan with the library's
//! pipeline, and [`report`] tells the user what happened. Decisions are
//! recorded in docs/label.md.

mod args;
mod baseline;
mod clickhouse;
mod clickhouse_args;
mod plan;
mod report;

use std::process::ExitCode;

use kubenetmon::inventory::Inventory;
use kubenetmon::io::open_input;
use kubenetmon::label::pipeline::run_dump_against;
use kubenetmon::label::{Context, LabelIndex, Summary};
use kubenetmon::output::{create_sink, Destination, Pending, Schema, Sink, Tee};
use kubenetmon::report::ReportSink;

pub use args::LabelArgs;
use clickhouse::Target;
use plan::{Input, LabelPlan};
use report::Reporter;

pub fn run(args: LabelArgs) -> anyhow::Result<ExitCode> {
    crate::cli::messages::set_quiet(args.quiet);
    let plan = LabelPlan::new(args)?;
    // The table is checked (or created) before any row is labelled.
    let mut target = match &plan.clickhouse {
        Some(ch) => {
            let schema = plan
                .labelling
                .as_ref()
                .map_or(Schema::default(), |l| l.schema);
            Some(Target::connect(ch, schema, plan.dry_run)?)
        }
        None => None,
    };
    let mut reporter = Reporter::new(plan.verbose);
    let outcome = execute(&plan, target.as_mut(), &mut reporter);
    reporter.finish_progress();
    let (total, pending) = match (outcome, &target) {
        (Ok(done), _) => done,
        (Err(e), Some(t)) => return Err(t.explain_failure(e)),
        (Err(e), None) => return Err(e),
    };
    if let Some(t) = &target {
        reporter.add_section("clickhouse", t.json(), t.summary_line());
    }
    report::finish(&plan, &total, &reporter, pending)
}

/// Reads, labels and writes every input; returns the run's totals and the
/// outputs still to commit.
fn execute(
    plan: &LabelPlan,
    target: Option<&mut Target>,
    reporter: &mut Reporter,
) -> anyhow::Result<(Summary, Pending)> {
    let mut total = Summary::default();
    let Some(lab) = &plan.labelling else {
        // --dry-run without an inventory: parse only, no ranges needed.
        for input in &plan.inputs {
            let s = one_dump(plan, input, None, None, None, reporter)?;
            total.merge(&s);
        }
        return Ok((total, Pending::none()));
    };
    let index = LabelIndex::new(&lab.inventory);
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(spec) = &plan.rows {
        sinks.push(create_sink(spec, lab.schema, &lab.meta)?);
    }
    if let Some(r) = &plan.report {
        let dumps = plan.inputs.iter().map(|i| i.dump.display.clone()).collect();
        sinks.push(Box::new(ReportSink::new(
            Destination::open(&r.path)?,
            r.format,
            r.prices.clone(),
            r.options,
            &lab.meta,
            dumps,
        )));
    }
    if let Some(t) = target.filter(|_| !plan.dry_run) {
        sinks.push(t.sink(&lab.meta, plan.verbose)?);
    }
    let mut sink: Option<Box<dyn Sink>> = match sinks.len() {
        0 | 1 => sinks.pop(),
        _ => Some(Box::new(Tee(sinks))),
    };
    for input in &plan.inputs {
        let ctx = Context {
            node: input.node.as_deref().unwrap_or_default(),
            index: &index,
            table: &lab.table,
            local: &lab.local,
            private: &lab.private,
            zones: &lab.zones,
            locations: &lab.locations,
            flags: &lab.flags,
            ignore_udp: lab.ignore_udp,
            time: input.time,
        };
        let sink_ref: Option<&mut dyn Sink> = match sink.as_mut() {
            Some(s) => Some(s.as_mut()),
            None => None,
        };
        let s = one_dump(
            plan,
            input,
            Some(&ctx),
            Some(&lab.inventory),
            sink_ref,
            reporter,
        )?;
        total.merge(&s);
    }
    let mut pending = Pending::none();
    if let Some(sink) = sink {
        let finished = sink.finish()?;
        debug_assert_eq!(finished.rows, total.rows);
        total.rows = finished.rows;
        pending = finished.pending;
    }
    Ok((total, pending))
}

/// One dump through the pipeline, with its baseline (SPEC §8) read and
/// checked first when it has one, and freed when the dump is done.
fn one_dump(
    plan: &LabelPlan,
    input: &Input,
    ctx: Option<&Context<'_>>,
    inventory: Option<&Inventory>,
    sink: Option<&mut dyn Sink>,
    reporter: &mut Reporter,
) -> anyhow::Result<Summary> {
    let d = &input.dump;
    let loaded = match &input.baseline {
        Some(b) => Some(baseline::load(
            input, b, inventory, &plan.pool, plan.opts, reporter,
        )?),
        None => None,
    };
    let (prev, prev_time) = loaded.map(baseline::Loaded::into_parts).unzip();
    let reader = open_input(&d.path)?;
    let s = plan
        .pool
        .install(|| run_dump_against(reader, &d.display, ctx, prev, sink, plan.opts, reporter))?;
    if let (Some(b), Some(t)) = (&input.baseline, prev_time) {
        baseline::after_pass(input, &b.prev, t, &s, plan.interval_seconds)?;
    }
    reporter.dump_done(input, &s);
    check_malformed(plan, input, &s)?;
    Ok(s)
}

/// A dump most of whose lines are malformed is not a dump (an inventory
/// given as one, random bytes): an error before any output is committed,
/// unless `--keep-going`.
fn check_malformed(plan: &LabelPlan, input: &Input, s: &Summary) -> anyhow::Result<()> {
    if plan.keep_going || s.malformed == 0 || (s.flows > 0 && s.malformed * 2 <= s.lines) {
        return Ok(());
    }
    anyhow::bail!(
        "{}: {} of {} lines are malformed{}: is it a conntrack dump? Stopping without \
         writing the output (--keep-going labels the lines that parse)",
        crate::cli::messages::printable(&input.dump.display),
        s.malformed,
        s.lines,
        if s.flows == 0 { ", none parses" } else { "" }
    )
}
