//! `kubenetmon label`: conntrack dumps + inventory + ranges → rows.
//!
//! [`args`] is what clap parses, [`plan`] validates it into a
//! [`plan::LabelPlan`], [`run`] executes the plan with the library's
//! pipeline, and [`report`] tells the user what happened. Decisions are
//! recorded in docs/label.md.

mod args;
mod plan;
mod report;

use std::process::ExitCode;

use kubenetmon::io::open_input;
use kubenetmon::label::pipeline::run_dump;
use kubenetmon::label::{Context, LabelIndex, Summary};
use kubenetmon::output::{create_sink, Destination, Pending, Sink, Tee};
use kubenetmon::report::ReportSink;

pub use args::LabelArgs;
use plan::LabelPlan;
use report::Reporter;

pub fn run(args: LabelArgs) -> anyhow::Result<ExitCode> {
    crate::cli::messages::set_quiet(args.quiet);
    let plan = LabelPlan::new(args)?;
    let mut reporter = Reporter::new(plan.verbose);
    let outcome = execute(&plan, &mut reporter);
    reporter.finish_progress();
    let (total, pending) = outcome?;
    report::finish(&plan, &total, &reporter, pending)
}

/// Reads, labels and writes every input; returns the run's totals and the
/// outputs still to commit.
fn execute(plan: &LabelPlan, reporter: &mut Reporter) -> anyhow::Result<(Summary, Pending)> {
    let mut total = Summary::default();
    let Some(lab) = &plan.labelling else {
        // --dry-run without an inventory: parse only, no ranges needed.
        for input in &plan.inputs {
            let d = &input.dump;
            let reader = open_input(&d.path)?;
            let s = plan
                .pool
                .install(|| run_dump(reader, &d.display, None, None, plan.opts, reporter))?;
            reporter.dump_done(input, &s);
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
    let mut sink: Option<Box<dyn Sink>> = match sinks.len() {
        0 | 1 => sinks.pop(),
        _ => Some(Box::new(Tee(sinks))),
    };
    for input in &plan.inputs {
        let d = &input.dump;
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
        let reader = open_input(&d.path)?;
        let sink_ref: Option<&mut dyn Sink> = match sink.as_mut() {
            Some(s) => Some(s.as_mut()),
            None => None,
        };
        let s = plan.pool.install(|| {
            run_dump(
                reader,
                &d.display,
                Some(&ctx),
                sink_ref,
                plan.opts,
                reporter,
            )
        })?;
        reporter.dump_done(input, &s);
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
