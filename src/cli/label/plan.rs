//! `label`'s validated plan (ripgrep's `hiargs`): every option checked,
//! every input resolved to a node and a time, the inventory, range table
//! and local site loaded, the outputs named — before any row is written.
//! [`super::run`] only executes it.

use std::path::PathBuf;

use anyhow::Context as _;

use kubenetmon::dumps::{self, DumpInput};
use kubenetmon::inventory::{self, Inventory};
use kubenetmon::io::{is_stdio, open_input};
use kubenetmon::label::node::infer_node;
use kubenetmon::label::pipeline::Options;
use kubenetmon::label::{FlagRules, LocalSite, Locations, PrivateNets, TimeSource};
use kubenetmon::model::RunMeta;
use kubenetmon::output::{OutputSpec, Schema};
use kubenetmon::ranges::RangeTable;
use kubenetmon::report::{Prices, ReportFormat, ReportOptions};
use kubenetmon::time::{file_mtime, now};
use kubenetmon::zones::ZoneMap;

use super::args::LabelArgs;
use super::baseline::BaselinePlan;
use super::clickhouse::ClickHousePlan;
use crate::cli::messages::printable;
use crate::cli::UsageError;

const ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

/// One dump, with the node it was taken on and its observation time.
pub struct Input {
    pub dump: DumpInput,
    /// `None` only when parsing without an inventory.
    pub node: Option<String>,
    pub time: TimeSource,
    /// `--baseline`: the earlier snapshot to subtract (SPEC §8).
    pub baseline: Option<BaselinePlan>,
}

/// Everything labelling needs beyond the dumps (SPEC §3, §6).
pub struct Labelling {
    pub inventory: Inventory,
    pub table: RangeTable,
    pub local: LocalSite,
    pub private: PrivateNets,
    /// §6.1 (empty without --subnets/--zone).
    pub zones: ZoneMap,
    /// §6.2 (empty without --location).
    pub locations: Locations,
    pub flags: FlagRules,
    pub ignore_udp: bool,
    pub schema: Schema,
    /// The per-run columns of every row.
    pub meta: RunMeta,
}

/// `--report FILE`: the cost report of the labelled rows (SPEC §9).
pub struct ReportPlan {
    pub path: PathBuf,
    pub format: ReportFormat,
    pub prices: Prices,
    pub options: ReportOptions,
}

/// What `label` will do.
pub struct LabelPlan {
    pub inputs: Vec<Input>,
    /// `None`: only parse (`--dry-run` without an inventory).
    pub labelling: Option<Labelling>,
    /// The rows file; `None` in a dry run.
    pub rows: Option<OutputSpec>,
    pub summary_json: Option<PathBuf>,
    pub report: Option<ReportPlan>,
    pub pool: rayon::ThreadPool,
    pub opts: Options,
    pub verbose: bool,
    pub dry_run: bool,
    /// `--keep-going`: a dump of mostly malformed lines is not an error.
    pub keep_going: bool,
    /// Range providers whose file was absent (named in the summary).
    pub skipped_providers: Vec<String>,
    /// `--schema` (SPEC §7), also named in the summary JSON.
    pub schema: Schema,
    /// `--clickhouse`: rows go into a ClickHouse table too (SPEC §10).
    pub clickhouse: Option<ClickHousePlan>,
    /// `--interval-seconds` (also for `--baseline`'s gap warning).
    pub interval_seconds: u16,
}

impl LabelPlan {
    pub fn new(args: LabelArgs) -> anyhow::Result<LabelPlan> {
        let dumps = dumps::expand(&args.dumps, args.node.as_deref()).map_err(UsageError::from)?;
        let inventory_stdin = args.inventory.inventory.iter().any(|p| is_stdio(p));
        let dump_stdin = dumps.iter().any(|d| d.is_stdin());
        if inventory_stdin && dump_stdin {
            return Err(
                UsageError::new("stdin (`-`) cannot be both a dump and the inventory").into(),
            );
        }
        if args.zones.reads_stdin() && (inventory_stdin || dump_stdin) {
            return Err(UsageError::new(
                "stdin (`-`) can hold only one of the dump, the inventory and --subnets",
            )
            .into());
        }
        let baselines = dumps::expand_baselines(&args.baseline.baseline, &dumps)
            .map_err(|e| UsageError::new(e.to_string()))?;
        let stdin_baseline = baselines
            .file
            .iter()
            .chain(&baselines.by_node)
            .any(|b| b.is_stdin());
        if stdin_baseline {
            if args.inventory.inventory.iter().any(|p| is_stdio(p)) {
                return Err(UsageError::new(
                    "stdin (`-`) cannot be both a baseline and the inventory",
                )
                .into());
            }
            if args.baseline.baseline_timestamp.is_none() {
                return Err(UsageError::new(
                    "a baseline read from stdin has no time of its own; give --baseline-timestamp",
                )
                .into());
            }
        }
        // Dumps whose node the arguments name: a missing baseline is told
        // before any node is inferred.
        for d in dumps.iter().filter(|d| d.node.is_some()) {
            baselines
                .of(d, d.node.as_deref())
                .map_err(|e| UsageError::new(e.to_string()))?;
        }
        let baseline_of = |d: &DumpInput, node: Option<&str>| -> anyhow::Result<_> {
            Ok(baselines
                .of(d, node)
                .map_err(|e| UsageError::new(e.to_string()))?
                .map(|prev| BaselinePlan {
                    prev: prev.clone(),
                    time: args.baseline.baseline_timestamp,
                }))
        };
        let mut clickhouse = ClickHousePlan::new(&args.clickhouse)?;
        // Without -o, rows go to stdout, unless they go to ClickHouse.
        let output = match (&args.output, &clickhouse) {
            (Some(p), _) => Some(p.clone()),
            (None, None) => Some(PathBuf::from("-")),
            (None, Some(_)) => None,
        };
        let rows = match output {
            Some(path) if !args.dry_run => {
                Some(OutputSpec::new(&path, args.format).map_err(UsageError::from)?)
            }
            _ => None,
        };
        if rows.as_ref().is_some_and(|r| is_stdio(&r.path))
            && args.summary_json.as_deref().is_some_and(is_stdio)
        {
            return Err(UsageError::new(
                "--summary-json - and -o - would both write to stdout; send one of them to a file",
            )
            .into());
        }
        let report = match &args.report {
            None => None,
            Some(_) if args.dry_run => {
                return Err(UsageError::new(
                    "--dry-run writes no files, --report included; drop --dry-run \
                     (or run `kubenetmon report` on the rows later)",
                )
                .into())
            }
            Some(path) => {
                let on_stdout = |p: Option<&std::path::Path>| p.is_some_and(is_stdio);
                if is_stdio(path)
                    && (on_stdout(rows.as_ref().map(|r| r.path.as_path()))
                        || on_stdout(args.summary_json.as_deref()))
                {
                    return Err(UsageError::new(
                        "--report - would share stdout with the rows or the summary; \
                         send one of them to a file",
                    )
                    .into());
                }
                Some(ReportPlan {
                    path: path.clone(),
                    format: crate::cli::report::report_format(path)?,
                    prices: args.report_options.prices()?,
                    options: args.report_options.options(),
                })
            }
        };
        let on_stdout = rows.as_ref().is_some_and(|r| is_stdio(&r.path))
            || report.as_ref().is_some_and(|r| is_stdio(&r.path))
            || args.summary_json.as_deref().is_some_and(is_stdio);
        if on_stdout {
            crate::cli::check_stdout_open("the output")?;
        }
        let outputs = rows.iter().map(|r| &r.path);
        for path in outputs
            .chain(&args.summary_json)
            .chain(report.iter().map(|r| &r.path))
        {
            crate::cli::common::warn_leftover_temps(path);
        }
        let have_inventory = !args.inventory.inventory.is_empty();
        if !have_inventory && !args.dry_run {
            return Err(UsageError::new(
                "--inventory is required to label flows (use --dry-run to only check that dumps parse)",
            )
            .into());
        }
        if !args.environment.is_empty() && !ENVIRONMENTS.contains(&args.environment.as_str()) {
            warn!(
                "environment {:?} is none of development, staging, production; using it anyway",
                args.environment
            );
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads.unwrap_or(0))
            .build()
            .context("cannot start worker threads")?;
        let opts = Options {
            strict: args.strict,
            ..Options::for_threads(pool.current_num_threads())
        };
        let started = now();
        if let Some(ch) = clickhouse.as_mut() {
            if args.timestamp.is_none() && dumps.iter().any(|d| d.is_stdin()) {
                ch.rerun_note = Some(format!(
                    "Unless the dump on stdin carries event timestamps, its rows were dated \
                     {started} (now): give the re-run --timestamp {started} so that they are the same."
                ));
            }
        }
        let time_of = |d: &DumpInput| match args.timestamp {
            Some(t) => TimeSource::Fixed(t),
            None if d.is_stdin() => TimeSource::EventOr(started),
            None => TimeSource::EventOr(file_mtime(&d.path).unwrap_or_else(now)),
        };

        let mut plan = LabelPlan {
            inputs: Vec::with_capacity(dumps.len()),
            labelling: None,
            rows,
            summary_json: args.summary_json.clone(),
            report,
            pool,
            opts,
            verbose: args.verbose,
            dry_run: args.dry_run,
            keep_going: args.keep_going,
            skipped_providers: Vec::new(),
            schema: args.schema,
            clickhouse,
            interval_seconds: args.interval_seconds,
        };
        if !have_inventory {
            for dump in dumps {
                plan.inputs.push(Input {
                    time: time_of(&dump),
                    baseline: baseline_of(&dump, dump.node.as_deref())?,
                    node: None,
                    dump,
                });
            }
            warn_unused_baselines(&baselines, &plan.inputs);
            check_duplicate_nodes(&plan.inputs, args.allow_duplicate_nodes)?;
            return Ok(plan);
        }

        // §6.1: the zone map's files are read before the larger inputs.
        let zones = args.zones.zone_map()?;
        // The two large inputs are independent until the cloud is known
        // (it only decides which range file must exist): read them at once.
        let (inventory, early_ranges) = std::thread::scope(|s| {
            let ranges = s.spawn(|| args.ranges.load_early());
            let inventory = inventory::load(&args.inventory.inventory);
            (
                inventory,
                ranges.join().expect("loading the range files panicked"),
            )
        });
        let inventory = inventory?;
        let (local_cloud, local_region) = args.local.cloud_and_region(Some(&inventory))?;
        let loaded = args.ranges.finish_load(early_ranges, local_cloud)?;
        plan.skipped_providers = loaded
            .skipped
            .iter()
            .map(|p| p.name().to_string())
            .collect();
        let Some(local) = args
            .local
            .resolve(local_cloud, local_region, &loaded.table)?
        else {
            anyhow::bail!(
                "cannot tell the cluster's cloud and region from the inventory \
                 (no node has a providerID and a topology.kubernetes.io/region label); \
                 give --cloud and --region"
            );
        };
        // §6.2, §6.3
        let locations = args.zones.locations(&loaded.table)?;
        let flags = args.flags.rules(&loaded.table, &local)?;
        for dump in dumps {
            let node = plan.node_of(&dump, &inventory)?;
            plan.inputs.push(Input {
                time: time_of(&dump),
                baseline: baseline_of(&dump, Some(&node))?,
                node: Some(node),
                dump,
            });
        }
        check_duplicate_nodes(&plan.inputs, args.allow_duplicate_nodes)?;
        warn_unused_baselines(&baselines, &plan.inputs);
        let meta = RunMeta {
            environment: args.environment.clone(),
            local: local.clone(),
            cluster: args.cluster.clone(),
            interval_seconds: args.interval_seconds,
            flag_names: flags.names().clone(),
        };
        plan.labelling = Some(Labelling {
            inventory,
            table: loaded.table,
            local,
            // SPEC §7: the IPv6 CIDRs of --subnets are private too.
            private: args
                .local
                .private_nets()
                .and(zones.subnet_ipv6().iter().copied()),
            zones,
            locations,
            flags,
            ignore_udp: args.ignore_udp,
            schema: args.schema,
            meta,
        });
        Ok(plan)
    }

    /// The node a dump was taken on: named by its argument, else inferred
    /// from the inventory (SPEC §5), which reads the dump once more.
    fn node_of(&self, dump: &DumpInput, inv: &Inventory) -> anyhow::Result<String> {
        let node =
            match &dump.node {
                Some(n) => n.clone(),
                None if dump.is_stdin() => return Err(UsageError::new(
                    "cannot infer the node of a dump read from stdin; give --node NODE or NODE=-",
                )
                .into()),
                None => {
                    let input = open_input(&dump.path)?;
                    let inferred = self
                        .pool
                        .install(|| infer_node(input, &dump.display, inv, self.opts))??;
                    note!(
                        "{}: taken on node {} (inferred: {} flows mention it)",
                        dump.display,
                        inferred.node,
                        inferred.flows
                    );
                    inferred.node
                }
            };
        if inv.node_by_name(&node).is_none() && !inv.pods().iter().any(|p| p.node_name == node) {
            warn!(
                "{}: node {node:?} is not in the inventory and no pod runs on it; \
                 most flows will have an unknown direction",
                dump.display
            );
        }
        Ok(node)
    }
}

/// Two inputs of one node would count its bytes twice (`X.txt` beside
/// `X.txt.gz`): an error naming both, unless `--allow-duplicate-nodes`,
/// which still warns that plain snapshots must not be summed (SPEC §1.4).
fn check_duplicate_nodes(inputs: &[Input], allowed: bool) -> anyhow::Result<()> {
    let mut by_node: Vec<(&str, Vec<&str>)> = Vec::new();
    for i in inputs {
        let node = i.node.as_deref().or(i.dump.node.as_deref());
        let Some(node) = node else { continue };
        match by_node.iter_mut().find(|(n, _)| *n == node) {
            Some((_, files)) => files.push(&i.dump.display),
            None => by_node.push((node, vec![&i.dump.display])),
        }
    }
    for (node, files) in by_node.iter().filter(|(_, f)| f.len() > 1) {
        let node = printable(node);
        let list = printable(&files.join(", ")).into_owned();
        if !allowed {
            return Err(UsageError::new(format!(
                "node {node} has {} inputs ({list}), so its bytes would be counted more than \
                 once; give each node one dump, or --allow-duplicate-nodes to add up \
                 `conntrack -L -z` dumps taken one after another",
                files.len()
            ))
            .into());
        }
        warn!(
            "node {node} has {} dumps ({list}), added up: right for `conntrack -L -z` dumps, \
             but plain `conntrack -L` snapshots repeat the same bytes, so label only the \
             latest with --baseline set to the one before",
            files.len()
        );
    }
    Ok(())
}

/// Baselines named for a node that has no dump in this run (a node gone
/// since the earlier snapshot, or a misspelt `NODE=`) are not used.
fn warn_unused_baselines(baselines: &dumps::Baselines, inputs: &[Input]) {
    let nodes: Vec<&str> = inputs
        .iter()
        .filter_map(|i| i.node.as_deref().or(i.dump.node.as_deref()))
        .collect();
    for b in baselines.unused(&nodes) {
        warn!(
            "baseline {} is for node {}, which has no dump here; not used",
            b.display,
            b.node.as_deref().unwrap_or_default()
        );
    }
}
