//! Output sinks: the columns of SPEC §4 (defined once, in `schema`), written
//! as CSV or Parquet to a temporary file that `finish` renames into place.

mod csv;
mod parquet;
pub mod schema;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

use crate::model::{LabelledFlow, RunMeta};
use schema::Field;

pub use self::csv::CsvSink;
pub use self::parquet::ParquetSink;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    #[error("{path}: {message}")]
    Write { path: String, message: String },
    #[error(
        "{}: cannot tell the output format from the file name \
         (use .csv, .csv.gz, .csv.zst or .parquet, or --format csv|parquet)",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    /// A flow that the table cannot hold (an IPv6 address, a time before 1970).
    #[error("{path}: {message}")]
    Value { path: String, message: String },
}

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// `.csv`, `.csv.gz`, `.csv.zst` → CSV; `.parquet`, `.pq` → Parquet
    /// (case-insensitive); anything else → `None`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if [".csv", ".csv.gz", ".csv.zst"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            Some(Format::Csv)
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Some(Format::Parquet)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" | "pq" => Ok(Format::Parquet),
            other => Err(format!(
                "unknown output format {other:?} (expected csv or parquet)"
            )),
        }
    }
}

/// Receives labelled flows in input order; each flow becomes two rows.
pub trait Sink {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError>;
    /// Flushes and renames into place; returns the number of rows written.
    fn finish(self: Box<Self>) -> Result<u64, OutputError>;
}

/// How a CSV file's bytes are compressed (from its extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn from_path(path: &Path) -> Compression {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name.ends_with(".gz") {
            Compression::Gzip
        } else if name.ends_with(".zst") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Opens the sink for `path`: `-` is stdout (CSV unless `format` says
/// Parquet), anything else a temporary file beside `path` that `finish`
/// renames into place, so dropping the sink unfinished leaves any existing
/// file untouched. `.csv.gz` / `.csv.zst` are compressed. With `format`
/// `None` the format comes from the extension.
pub fn create_sink(
    path: &Path,
    format: Option<Format>,
    meta: &RunMeta,
) -> Result<Box<dyn Sink + Send>, OutputError> {
    let stdout = crate::io::is_stdio(path);
    let format = match format {
        Some(f) => f,
        None if stdout => Format::Csv,
        None => Format::from_path(path).ok_or_else(|| OutputError::UnknownFormat {
            path: path.to_path_buf(),
        })?,
    };
    if meta.interval_seconds == 0 {
        return Err(OutputError::Value {
            path: path.display().to_string(),
            message: "interval length must be at least one second".into(),
        });
    }
    Ok(match format {
        Format::Csv => Box::new(CsvSink::create(path, Compression::from_path(path), meta)?),
        Format::Parquet => Box::new(ParquetSink::create(path, meta)?),
    })
}

/// Largest Unix time a ClickHouse `DateTime` holds (2106-02-07 06:28:15 UTC).
const MAX_DATETIME: i64 = u32::MAX as i64;

/// The two time columns of a flow, computed with the run's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeBucket {
    /// Days since 1970-01-01 (UTC) of the observation.
    pub day: i32,
    /// Unix seconds of the interval start.
    pub interval_start: i64,
}

impl TimeBucket {
    pub fn of(observed_at: i64, interval_seconds: u16) -> Result<TimeBucket, String> {
        let interval = i64::from(interval_seconds.max(1));
        let interval_start = observed_at - observed_at.rem_euclid(interval);
        if interval_start < 0 || observed_at > MAX_DATETIME {
            return Err(format!(
                "observation time {observed_at} (Unix seconds) is outside what a ClickHouse \
                 DateTime holds (1970-01-01 00:00:00 to 2106-02-07 06:28:15 UTC)"
            ));
        }
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

/// The text of a per-run string column.
pub(crate) fn run_text(field: Field, meta: &RunMeta) -> &str {
    match field {
        Field::Environment => &meta.environment,
        Field::LocalCloud => &meta.local_cloud,
        Field::LocalRegion => &meta.local_region,
        Field::LocalCluster => &meta.local_cluster,
        // SPEC §3.10: the far end's cluster is never known.
        Field::RemoteCluster => "UNKNOWN",
        _ => "",
    }
}

/// The text of a per-flow string column.
pub(crate) fn flow_text<'a>(field: Field, flow: &LabelledFlow<'a>) -> &'a str {
    let (l, r) = (&flow.local, &flow.remote);
    match field {
        Field::Proto => flow.proto.as_str(),
        Field::ConnectionClass => flow.class.as_str(),
        Field::LocalAvailabilityZone => l.availability_zone,
        Field::LocalNode => l.node,
        Field::LocalInstanceId => l.instance_id,
        Field::LocalNamespace => l.namespace,
        Field::LocalPod => l.pod,
        Field::LocalApp => l.app,
        Field::RemoteCloud => flow.remote_cloud,
        Field::RemoteRegion => flow.remote_region,
        Field::RemoteAvailabilityZone => r.availability_zone,
        Field::RemoteNode => r.node,
        Field::RemoteInstanceId => r.instance_id,
        Field::RemoteNamespace => r.namespace,
        Field::RemotePod => r.pod,
        Field::RemoteApp => r.app,
        Field::RemoteCloudService => flow.remote_service,
        _ => "",
    }
}

/// The address of an `IPv4` column; IPv6 cannot be stored in the table.
pub(crate) fn flow_ipv4(field: Field, flow: &LabelledFlow<'_>) -> Result<Ipv4Addr, String> {
    let (ip, side) = match field {
        Field::LocalIpv4 => (flow.local.ip, "local"),
        _ => (flow.remote.ip, "remote"),
    };
    match ip {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(v6) => Err(format!(
            "{side} address {v6} is IPv6; the {side}IPv4 column holds IPv4 only"
        )),
    }
}

pub(crate) fn flow_port(field: Field, flow: &LabelledFlow<'_>) -> u16 {
    match field {
        Field::LocalPort => flow.local.port,
        _ => flow.remote.port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        let f = |p: &str| Format::from_path(Path::new(p));
        assert_eq!(f("out.csv"), Some(Format::Csv));
        assert_eq!(f("dir/OUT.CSV.GZ"), Some(Format::Csv));
        assert_eq!(f("out.csv.zst"), Some(Format::Csv));
        assert_eq!(f("out.parquet"), Some(Format::Parquet));
        assert_eq!(f("out.pq"), Some(Format::Parquet));
        assert_eq!(f("out.json"), None);
        assert_eq!(f("out.gz"), None);
        assert_eq!(f("csv"), None);
        assert_eq!(f("-"), None);
    }

    #[test]
    fn format_from_str() {
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
        assert_eq!("Parquet".parse::<Format>(), Ok(Format::Parquet));
        assert!("json".parse::<Format>().unwrap_err().contains("json"));
    }

    #[test]
    fn interval_start_is_truncated_to_a_multiple_of_the_interval() {
        // 2023-11-14 22:13:20 UTC
        let t = 1_700_000_000;
        let b = TimeBucket::of(t, 60).unwrap();
        assert_eq!(b.interval_start, 1_699_999_980);
        assert_eq!(utc_text(b.interval_start, true), "2023-11-14 22:13:00");
        assert_eq!(b.day, 19_675);
        assert_eq!(utc_text(i64::from(b.day) * 86_400, false), "2023-11-14");
        assert_eq!(
            TimeBucket::of(t, 300).unwrap().interval_start,
            1_699_999_800
        );
        assert_eq!(TimeBucket::of(t, 1).unwrap().interval_start, t);
        // exactly on a boundary stays put
        assert_eq!(
            TimeBucket::of(1_699_999_980, 60).unwrap().interval_start,
            1_699_999_980
        );
    }

    #[test]
    fn date_is_the_day_of_the_observation_not_of_the_interval() {
        // 00:00:05 on 2023-11-15 with a 7 s interval: starts at 23:59:59 the day before
        let t = 1_700_006_400 + 5;
        let b = TimeBucket::of(t, 7).unwrap();
        assert_eq!(utc_text(i64::from(b.day) * 86_400, false), "2023-11-15");
        assert_eq!(utc_text(b.interval_start, true), "2023-11-14 23:59:59");
    }

    #[test]
    fn times_clickhouse_cannot_hold_are_rejected() {
        assert!(TimeBucket::of(-1, 60).unwrap_err().contains("1970-01-01"));
        assert!(TimeBucket::of(MAX_DATETIME + 1, 60).is_err());
        assert!(TimeBucket::of(MAX_DATETIME, 60).is_ok());
        assert!(TimeBucket::of(0, 60).is_ok());
    }
}
