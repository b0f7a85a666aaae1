//! `label --report FILE`: a [`Sink`] that aggregates the labelled flows
//! as they are written, so the report needs no second pass over the rows.
//! Each flow gives the same two rows the writers write, through the same
//! [`Aggregate::add`] as rows read back from a file.

use super::agg::{Aggregate, Row};
use super::prices::Prices;
use super::sections::{GroupBy, InputFile, Report, ReportOptions};
use super::ReportFormat;
use crate::model::{Direction, FlagId, LabelledFlow, RunMeta};
use crate::output::{Destination, Finished, OutputError, Sink, TimeBucket};

/// Aggregates flows; on `finish`, renders the report into its destination.
pub struct ReportSink {
    agg: Aggregate,
    dest: Destination,
    format: ReportFormat,
    prices: Prices,
    opts: ReportOptions,
    files: Vec<InputFile>,
    interval_seconds: u16,
    cloud: &'static str,
    region: String,
    cross_az: Option<FlagId>,
    nat_gateway: Option<FlagId>,
    last: Option<(i64, i64)>,
}

impl ReportSink {
    /// `inputs` are the dumps' names, for the report's first section.
    pub fn new(
        dest: Destination,
        format: ReportFormat,
        prices: Prices,
        opts: ReportOptions,
        meta: &RunMeta,
        inputs: Vec<String>,
    ) -> ReportSink {
        ReportSink {
            agg: Aggregate::default(),
            dest,
            format,
            prices,
            opts,
            files: inputs
                .into_iter()
                .map(|path| InputFile {
                    path,
                    format: "conntrack",
                    schema: "-",
                    rows: None,
                })
                .collect(),
            interval_seconds: meta.interval_seconds,
            cloud: meta.local.cloud.as_str(),
            region: meta.local.region.clone(),
            cross_az: meta.flag_names.id("CROSS_AZ"),
            nat_gateway: meta.flag_names.id("NAT_GATEWAY"),
            last: None,
        }
    }

    /// The flows' rows added so far.
    pub fn aggregate(&self) -> &Aggregate {
        &self.agg
    }

    fn interval_start(&mut self, observed_at: i64) -> Result<i64, OutputError> {
        if let Some((t, start)) = self.last {
            if t == observed_at {
                return Ok(start);
            }
        }
        let b = TimeBucket::of(observed_at, self.interval_seconds).map_err(|message| {
            OutputError::Value {
                name: self.dest.name(),
                message,
            }
        })?;
        self.last = Some((observed_at, b.interval_start));
        Ok(b.interval_start)
    }

    /// Adds a flow's two rows.
    pub fn add_flow(&mut self, flow: &LabelledFlow<'_>) -> Result<(), OutputError> {
        let interval_start = self.interval_start(flow.observed_at)?;
        let group = match self.opts.by {
            GroupBy::Namespace => flow.local.namespace,
            GroupBy::App => flow.local.app,
            GroupBy::Pod => flow.local.pod,
            GroupBy::Node => flow.local.node,
        };
        let cross_az = self.cross_az.and_then(|id| flow.flags.get(id));
        let nat_gateway = self
            .nat_gateway
            .and_then(|id| flow.flags.get(id))
            .unwrap_or(false);
        for (direction, counters) in [(Direction::Out, flow.out), (Direction::In, flow.inbound)] {
            self.agg.add(&Row {
                interval_start,
                class: flow.class,
                direction,
                cross_az,
                nat_gateway,
                local_cloud: self.cloud,
                local_region: &self.region,
                local_zone: flow.local.availability_zone,
                remote_zone: flow.remote.availability_zone,
                group,
                local_app: flow.local.app,
                remote_app: flow.remote.app,
                remote_cloud: flow.remote_cloud(),
                remote_region: flow.remote_region(),
                remote_service: flow.remote_service(),
                bytes: counters.bytes,
            });
        }
        Ok(())
    }

    /// The report of the flows so far.
    pub fn report(&self) -> Report {
        Report::build(&self.agg, self.files.clone(), &self.prices, &self.opts)
    }
}

impl Sink for ReportSink {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        for f in flows {
            self.add_flow(f)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Finished, OutputError> {
        let text = self.format.render(&self.report());
        let ReportSink { mut dest, agg, .. } = *self;
        let name = dest.name();
        std::io::Write::write_all(&mut dest, text.as_bytes())
            .and_then(|()| dest.finish())
            .map(|pending| Finished {
                rows: agg.rows,
                pending,
            })
            .map_err(|source| OutputError::Write { name, source })
    }
}
