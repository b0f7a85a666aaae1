//! The value of every column for a flow, in one place: each function
//! matches its column enum exhaustively, so a new column cannot be written
//! as an accidental empty string.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::schema::{FlowText, RunText, Side};
use crate::model::{Counters, Direction, Endpoint, LabelledFlow, RunMeta};

/// Largest Unix time a ClickHouse `DateTime` holds (2106-02-07 06:28:15 UTC).
const MAX_DATETIME: i64 = u32::MAX as i64;

/// The two time columns of a flow, computed with the run's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBucket {
    /// Days since 1970-01-01 (UTC) of the observation.
    pub day: i32,
    /// Unix seconds of the interval start.
    pub interval_start: i64,
}

impl TimeBucket {
    /// An error for a time a ClickHouse `DateTime` cannot hold, whatever the
    /// `i64` (`--timestamp` and event timestamps come from users).
    pub fn of(observed_at: i64, interval_seconds: u16) -> Result<TimeBucket, String> {
        let interval = i64::from(interval_seconds.max(1));
        // Checked before the arithmetic: near i64::MIN the subtraction
        // below overflows (a panic in debug builds; release builds wrapped it
        // to a time that passed a check made afterwards).
        if !(0..=MAX_DATETIME).contains(&observed_at) {
            return Err(format!(
                "observation time {observed_at} (Unix seconds) is outside what a ClickHouse \
                 DateTime holds (1970-01-01 00:00:00 to 2106-02-07 06:28:15 UTC)"
            ));
        }
        let interval_start = observed_at - observed_at.rem_euclid(interval);
        Ok(TimeBucket {
            day: observed_at.div_euclid(86_400) as i32,
            interval_start,
        })
    }
}

/// `YYYY-MM-DD` / `YYYY-MM-DD HH:MM:SS` in UTC.
pub(crate) fn utc_text(unix_seconds: i64, with_time: bool) -> String {
    let t = chrono::DateTime::from_timestamp(unix_seconds, 0).unwrap_or_default();
    if with_time {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d").to_string()
    }
}

/// The text of a per-run column.
pub(crate) fn run_text(field: RunText, meta: &RunMeta) -> &str {
    match field {
        RunText::Environment => &meta.environment,
        RunText::LocalCloud => meta.local.cloud.as_str(),
        RunText::LocalRegion => &meta.local.region,
        RunText::LocalCluster => &meta.cluster,
        // SPEC §3.10: the far end's cluster is never known.
        RunText::RemoteCluster => "UNKNOWN",
        // SPEC §4: cells are upstream's and never set.
        RunText::LocalCell | RunText::RemoteCell => "",
    }
}

fn endpoint<'f, 'a>(side: Side, flow: &'f LabelledFlow<'a>) -> &'f Endpoint<'a> {
    match side {
        Side::Local => &flow.local,
        Side::Remote => &flow.remote,
    }
}

/// The text of a per-flow column.
#[inline]
pub(crate) fn flow_text<'a>(field: FlowText, flow: &LabelledFlow<'a>) -> &'a str {
    match field {
        FlowText::Proto => flow.proto.as_str(),
        FlowText::ConnectionClass => flow.class.as_str(),
        FlowText::AvailabilityZone(s) => endpoint(s, flow).availability_zone,
        FlowText::Node(s) => endpoint(s, flow).node,
        FlowText::InstanceId(s) => endpoint(s, flow).instance_id,
        FlowText::Namespace(s) => endpoint(s, flow).namespace,
        FlowText::Pod(s) => endpoint(s, flow).pod,
        FlowText::App(s) => endpoint(s, flow).app,
        FlowText::RemoteCloud => flow.remote_cloud(),
        FlowText::RemoteRegion => flow.remote_region(),
        FlowText::RemoteCloudService => flow.remote_service(),
    }
}

pub(crate) fn side_name(side: Side) -> &'static str {
    match side {
        Side::Local => "local",
        Side::Remote => "remote",
    }
}

/// The address of an `IPv4` column; IPv6 cannot be stored there.
#[inline]
pub(crate) fn flow_ipv4(side: Side, flow: &LabelledFlow<'_>) -> Result<Ipv4Addr, String> {
    match endpoint(side, flow).ip {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(v6) => {
            let side = side_name(side);
            Err(format!(
                "{side} address {v6} is IPv6; the {side}IPv4 column holds IPv4 only \
                 (--schema dual writes IPv6 columns)"
            ))
        }
    }
}

/// The address of an `IPv6` column: IPv4 in its IPv4-mapped form.
#[inline]
pub(crate) fn flow_ipv6(side: Side, flow: &LabelledFlow<'_>) -> Ipv6Addr {
    match endpoint(side, flow).ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

#[inline]
pub(crate) fn flow_port(side: Side, flow: &LabelledFlow<'_>) -> u16 {
    endpoint(side, flow).port
}

/// The counters of one of a flow's two rows.
#[inline]
pub(crate) fn row_counters(direction: Direction, flow: &LabelledFlow<'_>) -> Counters {
    match direction {
        Direction::Out => flow.out,
        Direction::In => flow.inbound,
    }
}

/// Both rows of a flow, in output order.
pub(crate) const ROW_DIRECTIONS: [Direction; 2] = [Direction::Out, Direction::In];
