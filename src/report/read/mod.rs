//! Reads rows files this tool wrote (CSV, gzip/zstd CSV, Parquet; either
//! schema) into an [`Aggregate`], streaming: no row is kept. Columns are
//! found by name; a file must have every column of one of the schemas.

mod csv;
mod parquet;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::agg::Aggregate;
use super::sections::{GroupBy, InputFile};
use crate::io::{is_stdio, IoError};
use crate::output::Schema;

#[derive(Debug, Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{name}: read error")]
    Read {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: not a kubenetmon rows file: missing column{} {} (of the {schema} schema's {count})",
        if missing.len() == 1 { "" } else { "s" }, missing.join(", "), count = schema.columns().len())]
    Columns {
        name: String,
        schema: Schema,
        missing: Vec<String>,
    },
    #[error("{name}:{line}: {message}")]
    Record {
        name: String,
        line: u64,
        message: String,
    },
    #[error("{name}: row {row}: {message}")]
    Row {
        name: String,
        row: u64,
        message: String,
    },
    #[error("{name}: not a readable Parquet file")]
    Parquet {
        name: String,
        #[source]
        source: ::parquet::errors::ParquetError,
    },
    #[error("{name}: column {column}: {message}")]
    Column {
        name: String,
        column: String,
        message: String,
    },
    #[error("{name}: empty file (no CSV header)")]
    Empty { name: String },
    #[error("<stdin>: Parquet cannot be read from stdin; give the file's path")]
    ParquetStdin,
    #[error("{}: no rows files in it (.csv, .csv.gz, .csv.zst, .parquet)", dir.display())]
    EmptyDir { dir: PathBuf },
    #[error("{}: cannot list the directory", dir.display())]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Told how far reading has got, for a progress bar (the library prints
/// nothing). Called from worker threads.
pub trait Progress: Sync {
    /// `bytes` more of the input files (as stored, compressed or not).
    fn advance(&self, _bytes: u64) {}
}

/// A progress observer that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The columns the report reads, in [`Needed`] order.
pub(crate) const NEEDED: [&str; 14] = [
    "intervalStartTime",
    "connectionClass",
    "connectionFlags",
    "direction",
    "localCloud",
    "localRegion",
    "localAvailabilityZone",
    "remoteAvailabilityZone",
    "localApp",
    "remoteApp",
    "remoteCloud",
    "remoteRegion",
    "remoteCloudService",
    "bytes",
];

/// Positions of [`NEEDED`]'s columns, and of the group column, in a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Needed {
    pub at: [usize; NEEDED.len()],
    pub group: usize,
}

pub(crate) mod col {
    pub const TIME: usize = 0;
    pub const CLASS: usize = 1;
    pub const FLAGS: usize = 2;
    pub const DIRECTION: usize = 3;
    pub const LOCAL_CLOUD: usize = 4;
    pub const LOCAL_REGION: usize = 5;
    pub const LOCAL_ZONE: usize = 6;
    pub const REMOTE_ZONE: usize = 7;
    pub const LOCAL_APP: usize = 8;
    pub const REMOTE_APP: usize = 9;
    pub const REMOTE_CLOUD: usize = 10;
    pub const REMOTE_REGION: usize = 11;
    pub const REMOTE_SERVICE: usize = 12;
    pub const BYTES: usize = 13;
}

/// Which schema a file's column names are, and where the report's columns
/// are; an error naming the missing columns when they are neither.
pub(crate) fn resolve_columns(
    name: &str,
    columns: &[&str],
    by: GroupBy,
) -> Result<(Schema, Needed), ReadError> {
    let has = |c: &str| columns.contains(&c);
    let schema = if has("localIP") || has("remoteIP") {
        Schema::Dual
    } else {
        Schema::Upstream
    };
    let missing: Vec<String> = schema
        .names()
        .filter(|c| !has(c))
        .map(str::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(ReadError::Columns {
            name: name.to_string(),
            schema,
            missing,
        });
    }
    let pos = |c: &str| columns.iter().position(|n| *n == c).expect("checked above");
    Ok((
        schema,
        Needed {
            at: NEEDED.map(pos),
            group: pos(by.column()),
        },
    ))
}

/// What a rows argument names: the files themselves, a directory's rows
/// files (sorted by name), or `-`.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, ReadError> {
    let mut out = Vec::new();
    for a in args {
        if !is_stdio(a) && a.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(a)
                .map_err(|source| ReadError::Dir {
                    dir: a.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_rows_file(p))
                .collect();
            if files.is_empty() {
                return Err(ReadError::EmptyDir { dir: a.clone() });
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

fn is_rows_file(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    !name.starts_with('.')
        && [".csv", ".csv.gz", ".csv.zst", ".parquet", ".pq"]
            .iter()
            .any(|e| name.ends_with(e))
}

const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Reads one file (or `-`) into `agg`; returns what section 1 says of it.
pub fn read_file(
    path: &Path,
    by: GroupBy,
    agg: &mut Aggregate,
    progress: &dyn Progress,
) -> Result<InputFile, ReadError> {
    let name = if is_stdio(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let is_parquet = if is_stdio(path) {
        false
    } else {
        let mut head = [0u8; 4];
        let mut f = File::open(path).map_err(|source| IoError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let n = read_up_to(&mut f, &mut head).map_err(|source| ReadError::Read {
            name: name.clone(),
            source,
        })?;
        &head[..n] == PARQUET_MAGIC
    };
    let before = agg.rows;
    let schema = if is_parquet {
        parquet::read(path, &name, by, agg, progress)?
    } else {
        csv::read(path, &name, by, agg, progress)?
    };
    Ok(InputFile {
        path: name,
        format: if is_parquet { "parquet" } else { "csv" },
        schema: schema.as_str(),
        rows: Some(agg.rows - before),
    })
}

/// [`read_file`] for a file's bytes already in memory, `name` naming it in
/// errors: Parquet when they start with `PAR1`, else CSV (plain, gzip or
/// zstd). The same readers as for files; for tests and fuzzing.
pub fn read_bytes(
    data: &[u8],
    name: &str,
    by: GroupBy,
    agg: &mut Aggregate,
) -> Result<InputFile, ReadError> {
    let is_parquet = data.starts_with(PARQUET_MAGIC);
    let before = agg.rows;
    let schema = if is_parquet {
        let data = bytes::Bytes::copy_from_slice(data);
        parquet::read_from(|| Ok(data.clone()), name, by, agg, &NoProgress)?
    } else {
        let raw = Box::new(std::io::Cursor::new(data.to_vec()));
        csv::read_from(raw, Path::new(name), name, by, agg, &NoProgress)?
    };
    Ok(InputFile {
        path: name.to_string(),
        format: if is_parquet { "parquet" } else { "csv" },
        schema: schema.as_str(),
        rows: Some(agg.rows - before),
    })
}

/// Reads every file, in order, into one aggregate.
pub fn read_files(
    paths: &[PathBuf],
    by: GroupBy,
    progress: &dyn Progress,
) -> Result<(Aggregate, Vec<InputFile>), ReadError> {
    let mut agg = Aggregate::default();
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        files.push(read_file(p, by, &mut agg, progress)?);
    }
    Ok((agg, files))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC, as the CSV writer and ClickHouse print a
/// DateTime) → Unix seconds.
pub(crate) fn parse_datetime(s: &[u8]) -> Option<i64> {
    let s = match s.len() {
        19 => s,
        20 if s[19] == b'Z' => &s[..19],
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut n = 0i64;
        for &b in &s[r] {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(b - b'0');
        }
        Some(n)
    };
    if s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b' ' | b'T')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)?;
    let days = i64::from(date.num_days_from_ce()) - 719_163;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

use chrono::Datelike as _;

/// The `connectionFlags` text of a CSV cell: `{}` or
/// `{'CROSS_AZ':true,'NAT_GATEWAY':false}` → (CROSS_AZ, NAT_GATEWAY is true).
pub(crate) fn parse_flags(s: &[u8]) -> Result<(Option<bool>, bool), String> {
    let bad = || {
        format!(
            "connectionFlags {:?} is not a map like {{'CROSS_AZ':true}}",
            String::from_utf8_lossy(s)
        )
    };
    let inner = s
        .trim_ascii()
        .strip_prefix(b"{")
        .and_then(|r| r.strip_suffix(b"}"))
        .ok_or_else(bad)?
        .trim_ascii();
    let mut cross_az = None;
    let mut nat = false;
    if inner.is_empty() {
        return Ok((cross_az, nat));
    }
    for entry in inner.split(|&b| b == b',') {
        let mut kv = entry.splitn(2, |&b| b == b':');
        let key = kv.next().ok_or_else(bad)?.trim_ascii();
        let value = kv.next().ok_or_else(bad)?.trim_ascii();
        let key = key
            .strip_prefix(b"'")
            .and_then(|k| k.strip_suffix(b"'"))
            .or_else(|| key.strip_prefix(b"\"").and_then(|k| k.strip_suffix(b"\"")))
            .ok_or_else(bad)?;
        let value = match value {
            b"true" | b"1" => true,
            b"false" | b"0" => false,
            _ => return Err(bad()),
        };
        match key {
            b"CROSS_AZ" => cross_az = Some(value),
            b"NAT_GATEWAY" => nat = value,
            _ => {}
        }
    }
    Ok((cross_az, nat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime(b"2023-11-14 22:13:00"), Some(1_699_999_980));
        assert_eq!(parse_datetime(b"1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_datetime(b"2023-11-14T22:13:00Z"), Some(1_699_999_980));
        assert_eq!(parse_datetime(b"2024-02-29 00:00:01"), Some(1_709_164_801));
        assert_eq!(parse_datetime(b"2023-02-29 00:00:00"), None);
        assert_eq!(parse_datetime(b"2023-11-14"), None);
        assert_eq!(parse_datetime(b"2023-11-14 25:00:00"), None);
        assert_eq!(parse_datetime(b"2023/11/14 22:13:00"), None);
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flags(b"{}"), Ok((None, false)));
        assert_eq!(parse_flags(b"{'CROSS_AZ':true}"), Ok((Some(true), false)));
        assert_eq!(
            parse_flags(b"{'CROSS_AZ':false,'NAT_GATEWAY':true,'NLB':true}"),
            Ok((Some(false), true))
        );
        assert_eq!(parse_flags(b"{ 'NAT_GATEWAY' : false }"), Ok((None, false)));
        assert!(parse_flags(b"CROSS_AZ").is_err());
        assert!(parse_flags(b"{'CROSS_AZ':yes}")
            .unwrap_err()
            .contains("CROSS_AZ"));
        assert!(parse_flags(b"{CROSS_AZ:true}").is_err());
    }

    #[test]
    fn columns_of_either_schema_and_the_missing_ones_named() {
        let up: Vec<&str> = Schema::Upstream.names().collect();
        let (s, n) = resolve_columns("f", &up, GroupBy::Pod).unwrap();
        assert_eq!(s, Schema::Upstream);
        assert_eq!(up[n.group], "localPod");
        assert_eq!(up[n.at[col::BYTES]], "bytes");
        let dual: Vec<&str> = Schema::Dual.names().collect();
        assert_eq!(
            resolve_columns("f", &dual, GroupBy::App).unwrap().0,
            Schema::Dual
        );
        // shuffled and with extra columns is fine
        let mut odd = up.clone();
        odd.reverse();
        odd.push("extra");
        let (_, n) = resolve_columns("f", &odd, GroupBy::Node).unwrap();
        assert_eq!(odd[n.group], "localNode");
        let some: Vec<&str> = up
            .iter()
            .copied()
            .filter(|c| *c != "bytes" && *c != "localPod")
            .collect();
        let err = resolve_columns("f.csv", &some, GroupBy::Namespace).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.csv: not a kubenetmon rows file: missing columns localPod, bytes \
             (of the upstream schema's 35)"
        );
    }
}
