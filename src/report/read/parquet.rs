//! Parquet rows → aggregate. Only the report's columns are decoded
//! (projection); row groups are read in parallel, each into a partial
//! aggregate, merged in file order. Strings are read through the file's
//! dictionaries where it has them (ours always does), so a row costs a
//! key lookup per column.

use std::fs::File;
use std::path::Path;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, GenericStringArray, MapArray,
    StringViewArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimeUnit, UInt64Type};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;
use rayon::prelude::*;

use super::csv::{parse_class, parse_direction};
use super::{col, resolve_columns, Progress, ReadError, NEEDED};
use crate::io::IoError;
use crate::output::Schema;
use crate::report::agg::{Aggregate, Row};
use crate::report::sections::GroupBy;

const BATCH_ROWS: usize = 64 * 1024;

pub(super) fn read(
    path: &Path,
    name: &str,
    by: GroupBy,
    agg: &mut Aggregate,
    progress: &dyn Progress,
) -> Result<Schema, ReadError> {
    let open = || {
        File::open(path).map_err(|source| {
            ReadError::Io(IoError::Open {
                path: path.to_path_buf(),
                source,
            })
        })
    };
    read_from(open, name, by, agg, progress)
}

/// [`read`] of any Parquet source: `open` gives a handle on it, once for
/// the footer and once per row group (each read on its own thread).
pub(super) fn read_from<T: ChunkReader + 'static>(
    open: impl Fn() -> Result<T, ReadError> + Sync,
    name: &str,
    by: GroupBy,
    agg: &mut Aggregate,
    progress: &dyn Progress,
) -> Result<Schema, ReadError> {
    let perr = |source| ReadError::Parquet {
        name: name.to_string(),
        source,
    };
    let meta = no_panic(name, || {
        ArrowReaderMetadata::load(&open()?, Default::default()).map_err(perr)
    })?;
    let names: Vec<&str> = meta
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let (schema, needed) = resolve_columns(name, &names, by)?;
    let mut roots: Vec<usize> = needed.at.to_vec();
    roots.push(needed.group);
    roots.sort_unstable();
    roots.dedup();
    let mask = ProjectionMask::roots(meta.metadata().file_metadata().schema_descr(), roots);
    let group_names: Vec<&str> = NEEDED.to_vec();
    let group_col = names[needed.group];
    let groups = meta.metadata().num_row_groups();
    // The file's row number of each row group's first row, for messages.
    let first_rows: Vec<u64> = (0..groups)
        .scan(0u64, |n, rg| {
            let first = *n;
            *n += u64::try_from(meta.metadata().row_group(rg).num_rows()).unwrap_or(0);
            Some(first)
        })
        .collect();
    let partials: Vec<Result<Aggregate, ReadError>> = (0..groups)
        .into_par_iter()
        .map(|rg| {
            no_panic(name, || {
                let reader =
                    ParquetRecordBatchReaderBuilder::new_with_metadata(open()?, meta.clone())
                        .with_projection(mask.clone())
                        .with_row_groups(vec![rg])
                        .with_batch_size(BATCH_ROWS)
                        .build()
                        .map_err(perr)?;
                let mut part = Aggregate::default();
                let mut first_row = first_rows[rg];
                for batch in reader {
                    let batch = batch.map_err(|e| perr(e.into()))?;
                    add_batch(&batch, name, first_row, &group_names, group_col, &mut part)?;
                    first_row += batch.num_rows() as u64;
                }
                let size = meta.metadata().row_group(rg).compressed_size();
                progress.advance(u64::try_from(size).unwrap_or(0));
                Ok(part)
            })
        })
        .collect();
    for p in partials {
        agg.merge(p?);
    }
    Ok(schema)
}

/// `f()`, a panic inside it (the parquet crate unwraps on some corrupt
/// files: "Not all children array length are the same!" in its map reader,
/// found by the report_parquet fuzz target) turned into the file's error.
fn no_panic<R>(name: &str, f: impl FnOnce() -> Result<R, ReadError>) -> Result<R, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(ReadError::Parquet {
            name: name.to_string(),
            source: ::parquet::errors::ParquetError::General(format!(
                "the Parquet reader failed on it: {why}"
            )),
        })
    })
}

/// A text column of a batch, whatever its encoding.
enum Text<'a> {
    Dict(&'a DictionaryArray<Int32Type>, &'a GenericStringArray<i32>),
    Utf8(&'a GenericStringArray<i32>),
    Large(&'a GenericStringArray<i64>),
    View(&'a StringViewArray),
}

impl<'a> Text<'a> {
    #[inline]
    fn get(&self, i: usize) -> &'a str {
        match self {
            Text::Dict(d, v) => {
                if d.is_null(i) {
                    ""
                } else {
                    v.value(d.keys().value(i) as usize)
                }
            }
            Text::Utf8(a) => {
                if a.is_null(i) {
                    ""
                } else {
                    a.value(i)
                }
            }
            Text::Large(a) => {
                if a.is_null(i) {
                    ""
                } else {
                    a.value(i)
                }
            }
            Text::View(a) => {
                if a.is_null(i) {
                    ""
                } else {
                    a.value(i)
                }
            }
        }
    }
}

/// Arrays converted to a form [`Text`] reads (kept alive for the batch).
fn text_array(a: &ArrayRef) -> Result<ArrayRef, String> {
    match a.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(a.clone()),
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            Ok(a.clone())
        }
        DataType::Dictionary(_, _) => cast(
            a,
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        )
        .map_err(|e| e.to_string()),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            cast(a, &DataType::Utf8).map_err(|e| e.to_string())
        }
        other => Err(format!("type {other} is not text")),
    }
}

fn text_of(a: &ArrayRef) -> Text<'_> {
    match a.data_type() {
        DataType::Utf8 => Text::Utf8(a.as_string::<i32>()),
        DataType::LargeUtf8 => Text::Large(a.as_string::<i64>()),
        DataType::Utf8View => Text::View(a.as_string_view()),
        _ => {
            let d = a.as_dictionary::<Int32Type>();
            Text::Dict(d, d.values().as_string::<i32>())
        }
    }
}

/// Seconds since the epoch from a timestamp or integer column.
fn seconds(a: &ArrayRef) -> Result<Vec<i64>, String> {
    let div = match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => 1,
        DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000_000,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => 1_000_000_000,
        DataType::Int32 | DataType::Int64 | DataType::UInt32 | DataType::UInt64 => 1,
        other => return Err(format!("type {other} is not a time")),
    };
    let ints = cast(a, &DataType::Int64).map_err(|e| e.to_string())?;
    let ints = ints.as_primitive::<Int64Type>();
    Ok(ints.values().iter().map(|v| v.div_euclid(div)).collect())
}

fn counts(a: &ArrayRef) -> Result<ArrayRef, String> {
    match a.data_type() {
        DataType::UInt64 => Ok(a.clone()),
        DataType::UInt32
        | DataType::UInt16
        | DataType::UInt8
        | DataType::Int64
        | DataType::Int32 => cast(a, &DataType::UInt64).map_err(|e| e.to_string()),
        other => Err(format!("type {other} is not a count")),
    }
}

/// `(CROSS_AZ, NAT_GATEWAY is true)` of every row of a map column.
fn flags(a: &ArrayRef) -> Result<Vec<(Option<bool>, bool)>, String> {
    let DataType::Map(_, _) = a.data_type() else {
        return Err(format!("type {} is not a map", a.data_type()));
    };
    let map: &MapArray = a.as_map();
    let keys = text_array(map.keys())?;
    let keys = text_of(&keys);
    let values: &BooleanArray = map
        .values()
        .as_boolean_opt()
        .ok_or_else(|| format!("map values are {}, not Bool", map.values().data_type()))?;
    let offsets = map.value_offsets();
    let mut out = Vec::with_capacity(map.len());
    for i in 0..map.len() {
        let mut cross = None;
        let mut nat = false;
        if !map.is_null(i) {
            for j in offsets[i] as usize..offsets[i + 1] as usize {
                if values.is_null(j) {
                    continue;
                }
                match keys.get(j) {
                    "CROSS_AZ" => cross = Some(values.value(j)),
                    "NAT_GATEWAY" => nat = values.value(j),
                    _ => {}
                }
            }
        }
        out.push((cross, nat));
    }
    Ok(out)
}

fn add_batch(
    batch: &RecordBatch,
    name: &str,
    first_row: u64,
    needed: &[&str],
    group_col: &str,
    agg: &mut Aggregate,
) -> Result<(), ReadError> {
    let column = |c: &str| -> Result<&ArrayRef, ReadError> {
        batch.column_by_name(c).ok_or_else(|| ReadError::Column {
            name: name.to_string(),
            column: c.to_string(),
            message: "not in the projected batch".into(),
        })
    };
    let bad = |c: &str, message: String| ReadError::Column {
        name: name.to_string(),
        column: c.to_string(),
        message,
    };
    let mut texts: Vec<ArrayRef> = Vec::with_capacity(needed.len() + 1);
    // Text columns, in `col` order; the others are placeholders.
    for (i, c) in needed.iter().enumerate() {
        let a = column(c)?;
        if matches!(i, col::TIME | col::FLAGS | col::BYTES) {
            texts.push(a.clone());
        } else {
            texts.push(text_array(a).map_err(|m| bad(c, m))?);
        }
    }
    let group = text_array(column(group_col)?).map_err(|m| bad(group_col, m))?;
    let t = |i: usize| text_of(&texts[i]);
    let (class, direction) = (t(col::CLASS), t(col::DIRECTION));
    let (local_cloud, local_region) = (t(col::LOCAL_CLOUD), t(col::LOCAL_REGION));
    let (local_zone, remote_zone) = (t(col::LOCAL_ZONE), t(col::REMOTE_ZONE));
    let (local_app, remote_app) = (t(col::LOCAL_APP), t(col::REMOTE_APP));
    let (remote_cloud, remote_region) = (t(col::REMOTE_CLOUD), t(col::REMOTE_REGION));
    let remote_service = t(col::REMOTE_SERVICE);
    let group = text_of(&group);
    let times = seconds(&texts[col::TIME]).map_err(|m| bad(needed[col::TIME], m))?;
    let flag_values = flags(&texts[col::FLAGS]).map_err(|m| bad(needed[col::FLAGS], m))?;
    let bytes = counts(&texts[col::BYTES]).map_err(|m| bad(needed[col::BYTES], m))?;
    let bytes = bytes.as_primitive::<UInt64Type>();
    let record_err = |i: usize, message: String| ReadError::Row {
        name: name.to_string(),
        row: first_row + i as u64 + 1,
        message,
    };
    for i in 0..batch.num_rows() {
        let (cross_az, nat_gateway) = flag_values[i];
        let row = Row {
            interval_start: times[i],
            class: parse_class(class.get(i).as_bytes()).map_err(|m| record_err(i, m))?,
            direction: parse_direction(direction.get(i).as_bytes())
                .map_err(|m| record_err(i, m))?,
            cross_az,
            nat_gateway,
            local_cloud: local_cloud.get(i),
            local_region: local_region.get(i),
            local_zone: local_zone.get(i),
            remote_zone: remote_zone.get(i),
            group: group.get(i),
            local_app: local_app.get(i),
            remote_app: remote_app.get(i),
            remote_cloud: remote_cloud.get(i),
            remote_region: remote_region.get(i),
            remote_service: remote_service.get(i),
            bytes: bytes.value(i),
        };
        agg.add(&row);
    }
    Ok(())
}

#[cfg(test)]
mod fuzz_regressions {
    use super::super::read_bytes;
    use crate::report::{Aggregate, GroupBy};

    /// report_parquet fuzz crash: a map column whose children's lengths
    /// differ made the parquet crate panic; now it is the file's error.
    #[test]
    fn a_corrupt_map_column_is_an_error_not_a_panic() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/report/fuzz-map-lengths.parquet"
        ))
        .unwrap();
        let mut agg = Aggregate::default();
        let err = read_bytes(&data, "rows.parquet", GroupBy::ALL[0], &mut agg).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rows.parquet: not a readable Parquet file"),
            "{err}"
        );
        assert!(
            crate::display_chain(&err).contains("Not all children array length"),
            "{}",
            crate::display_chain(&err)
        );
        // The second one: a column chunk with a negative start ("column
        // start and length should not be negative" in the parquet crate).
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/report/fuzz-negative-column-start.parquet"
        ))
        .unwrap();
        let mut agg = Aggregate::default();
        let err = read_bytes(&data, "rows.parquet", GroupBy::ALL[0], &mut agg).unwrap_err();
        assert!(
            crate::display_chain(&err).contains("should not be negative"),
            "{}",
            crate::display_chain(&err)
        );
    }
}
