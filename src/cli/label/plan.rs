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
use crate::cli::UsageError;

const ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

/// One dump, with the node it was taken on and its observation time.
pub struct Input {
    pub dump: DumpInput,
    /// `None` only when parsing without an inventory.
    pub node: Option<String>,
    pub time: TimeSource,
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
    /// Range providers whose file was absent (named in the summary).
    pub skipped_providers: Vec<String>,
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
        let rows = if args.dry_run {
            None
        } else {
            Some(OutputSpec::new(&args.output, args.format).map_err(UsageError::from)?)
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
        let time_of = |d: &DumpInput| match args.timestamp {
            Some(t) => TimeSource::Fixed(t),
            None if d.is_stdin() => TimeSource::EventOr(now()),
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
            skipped_providers: Vec::new(),
        };
        if !have_inventory {
            plan.inputs = dumps
                .into_iter()
                .map(|dump| Input {
                    time: time_of(&dump),
                    node: None,
                    dump,
                })
                .collect();
            return Ok(plan);
        }

        // §6.1: the zone map's files are read before the larger inputs.
        let zones = args.zones.zone_map()?;
        let inventory = inventory::load(&args.inventory.inventory)?;
        let (local_cloud, local_region) = args.local.cloud_and_region(Some(&inventory))?;
        let loaded = args.ranges.load(local_cloud)?;
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
                node: Some(node),
                dump,
            });
        }
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
            private: args.local.private_nets(),
            zones,
            locations,
            flags,
            ignore_udp: args.ignore_udp,
            schema: Schema::Upstream,
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
