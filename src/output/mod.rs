//! Output: labelled flows → rows → bytes → somewhere.
//!
//! Three separate concerns, as hyperfine splits an exporter from its target:
//! - [`schema`]: which columns, defined once ([`Schema`] is a value);
//! - a *format* turns flows into bytes: [`CsvWriter`] or [`ParquetWriter`],
//!   generic over any `Write`;
//! - a *destination* says where the bytes go: [`Destination`] (stdout, or a
//!   temporary file renamed into place on commit), or anything else that
//!   takes bytes (an HTTP body is a `Vec<u8>`).
//!
//! [`Sink`] is what the label pipeline writes to; [`create_sink`] builds one
//! from an [`OutputSpec`]. `finish` does not commit: it hands back a
//! [`Pending`] so a run can commit all its outputs at the end, or none.

pub(crate) mod cells;
mod csv;
mod dest;
mod parquet;
mod parquet_dict;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

use crate::model::{LabelledFlow, RunMeta};

#[cfg(test)]
use cells::utc_text;
pub use cells::TimeBucket;
pub use dest::{Destination, Pending};
pub use schema::Schema;

pub use self::csv::CsvWriter;
pub use self::parquet::ParquetWriter;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    #[error("{name}: write error")]
    Write {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: Parquet encoding failed")]
    Parquet {
        name: String,
        #[source]
        source: ::parquet::errors::ParquetError,
    },
    #[error(
        "{}: cannot tell the output format from the file name \
         (use .csv, .csv.gz, .csv.zst or .parquet, or --format csv|parquet)",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("{name}: refusing to write Parquet to a terminal; redirect stdout or use -o FILE")]
    ParquetToTerminal { name: String },
    /// A destination that is not a file (e.g. ClickHouse) failed; `name`
    /// says which, the source why.
    #[error("{name}")]
    Destination {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A flow that the table cannot hold (an IPv6 address in an IPv4
    /// column, a time before 1970).
    #[error("{name}: {message}")]
    Value { name: String, message: String },
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

/// How CSV bytes are compressed (from the file's extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn from_path(path: &Path) -> Compression {
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

/// A rows file to write: where, in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    /// `-` is stdout.
    pub path: PathBuf,
    pub format: Format,
    /// CSV only (Parquet compresses its pages itself).
    pub compression: Compression,
}

impl OutputSpec {
    /// `-o PATH [--format F]`: the format from `format`, else the
    /// extension, else (stdout) CSV.
    pub fn new(path: &Path, format: Option<Format>) -> Result<OutputSpec, OutputError> {
        let stdout = crate::io::is_stdio(path);
        let format = match format {
            Some(f) => f,
            None if stdout => Format::Csv,
            None => Format::from_path(path).ok_or_else(|| OutputError::UnknownFormat {
                path: path.to_path_buf(),
            })?,
        };
        let compression = match format {
            Format::Csv if !stdout => Compression::from_path(path),
            _ => Compression::None,
        };
        Ok(OutputSpec {
            path: path.to_path_buf(),
            format,
            compression,
        })
    }
}

/// What a finished sink wrote, and its output still to commit.
#[derive(Debug)]
pub struct Finished {
    pub rows: u64,
    pub pending: Pending,
}

impl Finished {
    /// Commits the output; returns the rows written.
    pub fn commit(self) -> Result<u64, OutputError> {
        self.pending.commit()?;
        Ok(self.rows)
    }
}

/// Receives labelled flows in input order; each flow becomes two rows.
pub trait Sink: Send {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError>;
    /// Flushes everything; the output appears at its destination only when
    /// the returned [`Pending`] is committed.
    fn finish(self: Box<Self>) -> Result<Finished, OutputError>;
}

/// Opens the destination of `spec` and a writer of its format over it.
/// Nothing appears at the path until the finished sink's [`Pending`] is
/// committed; dropping the sink unfinished leaves any existing file as it was.
pub fn create_sink(
    spec: &OutputSpec,
    schema: Schema,
    meta: &RunMeta,
) -> Result<Box<dyn Sink>, OutputError> {
    if meta.interval_seconds == 0 {
        return Err(OutputError::Value {
            name: spec.path.display().to_string(),
            message: "interval length must be at least one second".into(),
        });
    }
    let dest = Destination::open(&spec.path)?;
    Ok(match spec.format {
        Format::Csv => Box::new(CsvWriter::new(dest, spec.compression, schema, meta)?),
        Format::Parquet => {
            if dest.is_terminal() {
                return Err(OutputError::ParquetToTerminal {
                    name: dest.name().to_string(),
                });
            }
            Box::new(ParquetWriter::new(dest, schema, meta)?)
        }
    })
}

/// [`create_sink`] for `-o PATH [--format F]` (see [`OutputSpec::new`]).
pub fn open_path(
    path: &Path,
    format: Option<Format>,
    schema: Schema,
    meta: &RunMeta,
) -> Result<Box<dyn Sink>, OutputError> {
    create_sink(&OutputSpec::new(path, format)?, schema, meta)
}

/// Several sinks fed the same flows (e.g. a file and a report).
pub struct Tee(pub Vec<Box<dyn Sink>>);

impl Sink for Tee {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        for s in &mut self.0 {
            s.write_batch(flows)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Finished, OutputError> {
        let mut rows = 0;
        let mut pending = Pending::none();
        for s in self.0 {
            let f = s.finish()?;
            rows = rows.max(f.rows);
            pending.join(f.pending);
        }
        Ok(Finished { rows, pending })
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
        assert!(TimeBucket::of(u32::MAX as i64 + 1, 60).is_err());
        assert!(TimeBucket::of(u32::MAX as i64, 60).is_ok());
        assert!(TimeBucket::of(0, 60).is_ok());
        // `--timestamp=-9223372036854775808` (found writing the timestamp fuzz
        // target): the interval start overflowed; release builds wrapped it
        // and wrote rows dated 1970-01-01.
        for t in [i64::MIN, i64::MIN + 1, i64::MAX] {
            for interval in [0, 1, 7, 60, u16::MAX] {
                assert!(TimeBucket::of(t, interval).is_err(), "{t} {interval}");
            }
        }
    }
}
