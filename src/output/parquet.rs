//! Parquet for ClickHouse `FORMAT Parquet`.
//!
//! Rows are gathered column by column for `BATCH_ROWS` rows, then handed to
//! the arrow writer as one record batch; the writer closes a row group every
//! `ROW_GROUP_ROWS` rows, so memory stays bounded however long the input.
//! String columns are arrow dictionaries built here: a flow's strings borrow
//! from the inventory, so consecutive flows usually share the very same
//! `&str` and the key is found by a pointer compare, without hashing.

use std::io::{self, BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Int32Array, MapArray, StringArray,
    StringBuilder, StructArray, TimestampSecondArray, UInt16Array, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{
    DataType, Field as ArrowField, Fields, Int32Type, Schema, SchemaRef, TimeUnit,
};
use is_terminal::IsTerminal;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::schema::{Field, Kind, Scope, COLUMNS};
use super::{flow_ipv4, flow_port, flow_text, run_text, OutputError, Sink, TimeBucket};
use crate::io::{is_stdio, AtomicFile};
use crate::model::{LabelledFlow, RunMeta};

/// Rows per record batch handed to the writer.
const BATCH_ROWS: usize = 64 * 1024;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// The arrow schema of the output, derived from [`COLUMNS`].
pub fn arrow_schema() -> SchemaRef {
    let fields: Vec<ArrowField> = COLUMNS
        .iter()
        .map(|c| ArrowField::new(c.name, arrow_type(c.kind), false))
        .collect();
    Arc::new(Schema::new(fields))
}

fn dictionary_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn flags_entries() -> Fields {
    Fields::from(vec![
        ArrowField::new("key", DataType::Utf8, false),
        ArrowField::new("value", DataType::Boolean, true),
    ])
}

fn flags_field() -> Arc<ArrowField> {
    Arc::new(ArrowField::new(
        "key_value",
        DataType::Struct(flags_entries()),
        false,
    ))
}

fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Date => DataType::Date32,
        Kind::DateTime => DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
        Kind::UInt16 => DataType::UInt16,
        Kind::UInt64 => DataType::UInt64,
        Kind::String | Kind::Direction | Kind::Ipv4 => dictionary_type(),
        Kind::Flags => DataType::Map(flags_field(), false),
    }
}

/// Dictionary of strings for one column of one record batch.
#[derive(Default)]
struct StrDict {
    keys: Vec<i32>,
    values: StringBuilder,
    index: FxHashMap<Box<str>, i32>,
    /// Address, length and key of the previous value. Only valid within one
    /// `write_batch` call, while the borrowed strings are alive.
    last: Option<(usize, usize, i32)>,
}

impl StrDict {
    fn key(&mut self, s: &str) -> i32 {
        if let Some((ptr, len, key)) = self.last {
            if ptr == s.as_ptr() as usize && len == s.len() {
                return key;
            }
        }
        let key = match self.index.get(s) {
            Some(&k) => k,
            None => {
                let k = self.index.len() as i32;
                self.index.insert(s.into(), k);
                self.values.append_value(s);
                k
            }
        };
        self.last = Some((s.as_ptr() as usize, s.len(), key));
        key
    }

    fn push2(&mut self, s: &str) {
        let k = self.key(s);
        self.keys.extend_from_slice(&[k, k]);
    }

    fn take(&mut self) -> ArrayRef {
        let keys = Int32Array::from(std::mem::take(&mut self.keys));
        let values = Arc::new(self.values.finish());
        self.index.clear();
        self.last = None;
        Arc::new(DictionaryArray::<Int32Type>::new(keys, values))
    }
}

/// Dictionary of dotted quads, keyed by the address itself.
#[derive(Default)]
struct IpDict {
    keys: Vec<i32>,
    values: StringBuilder,
    index: FxHashMap<u32, i32>,
    text: String,
}

impl IpDict {
    fn push2(&mut self, ip: Ipv4Addr) {
        let n = u32::from(ip);
        let next = self.index.len() as i32;
        let k = *self.index.entry(n).or_insert(next);
        if k == next {
            use std::fmt::Write as _;
            self.text.clear();
            let _ = write!(self.text, "{ip}");
            self.values.append_value(&self.text);
        }
        self.keys.extend_from_slice(&[k, k]);
    }

    fn take(&mut self) -> ArrayRef {
        let keys = Int32Array::from(std::mem::take(&mut self.keys));
        let values = Arc::new(self.values.finish());
        self.index.clear();
        Arc::new(DictionaryArray::<Int32Type>::new(keys, values))
    }
}

/// One output column being gathered.
enum Builder {
    Date(Vec<i32>),
    Time(Vec<i64>),
    ConstU16(u16),
    ConstText(String),
    Flags,
    Direction,
    Text(StrDict),
    Ip(IpDict),
    Port(Vec<u16>),
    Count(Vec<u64>),
}

impl Builder {
    fn new(kind: Kind, scope: Scope, field: Field, meta: &RunMeta) -> Builder {
        match (kind, scope) {
            (Kind::Date, _) => Builder::Date(Vec::with_capacity(BATCH_ROWS)),
            (Kind::DateTime, _) => Builder::Time(Vec::with_capacity(BATCH_ROWS)),
            (Kind::UInt16, Scope::Run) => Builder::ConstU16(meta.interval_seconds),
            (Kind::UInt16, _) => Builder::Port(Vec::with_capacity(BATCH_ROWS)),
            (Kind::UInt64, _) => Builder::Count(Vec::with_capacity(BATCH_ROWS)),
            (Kind::Flags, _) => Builder::Flags,
            (Kind::Direction, _) => Builder::Direction,
            (Kind::Ipv4, _) => Builder::Ip(IpDict::default()),
            (Kind::String, Scope::Run) => Builder::ConstText(run_text(field, meta).to_string()),
            (Kind::String, _) => Builder::Text(StrDict::default()),
        }
    }

    fn take(&mut self, rows: usize) -> ArrayRef {
        match self {
            Builder::Date(v) => Arc::new(Date32Array::from(std::mem::take(v))),
            Builder::Time(v) => {
                Arc::new(TimestampSecondArray::from(std::mem::take(v)).with_timezone("UTC"))
            }
            Builder::ConstU16(n) => Arc::new(UInt16Array::from(vec![*n; rows])),
            Builder::ConstText(s) => {
                let keys = Int32Array::from(vec![0; rows]);
                let values = Arc::new(StringArray::from(vec![s.as_str()]));
                Arc::new(DictionaryArray::<Int32Type>::new(keys, values))
            }
            Builder::Flags => {
                let entries = StructArray::new(
                    flags_entries(),
                    vec![
                        Arc::new(StringArray::from(Vec::<&str>::new())) as ArrayRef,
                        Arc::new(BooleanArray::from(Vec::<bool>::new())) as ArrayRef,
                    ],
                    None,
                );
                Arc::new(MapArray::new(
                    flags_field(),
                    OffsetBuffer::new_zeroed(rows),
                    entries,
                    None,
                    false,
                ))
            }
            Builder::Direction => {
                let keys = Int32Array::from_iter_values((0..rows).map(|i| (i % 2) as i32));
                let values = Arc::new(StringArray::from(vec!["out", "in"]));
                Arc::new(DictionaryArray::<Int32Type>::new(keys, values))
            }
            Builder::Text(d) => d.take(),
            Builder::Ip(d) => d.take(),
            Builder::Port(v) => Arc::new(UInt16Array::from(std::mem::take(v))),
            Builder::Count(v) => Arc::new(UInt64Array::from(std::mem::take(v))),
        }
    }
}

enum Target {
    File(BufWriter<AtomicFile>),
    Stdout(BufWriter<io::Stdout>),
}

impl Write for Target {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::File(w) => w.write(buf),
            Target::Stdout(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Target::File(w) => w.write_all(buf),
            Target::Stdout(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::File(w) => w.flush(),
            Target::Stdout(w) => w.flush(),
        }
    }
}

/// Parquet sink; see the module documentation.
pub struct ParquetSink {
    file: SerializedFileWriter<Target>,
    factory: ArrowRowGroupWriterFactory,
    /// Writers of the row group being filled (one per Parquet leaf column).
    group: Option<Vec<ArrowColumnWriter>>,
    group_rows: usize,
    groups: usize,
    schema: SchemaRef,
    name: String,
    columns: Vec<(Field, Builder)>,
    pending: usize,
    rows: u64,
    interval_seconds: u16,
    last: Option<(i64, TimeBucket)>,
}

impl ParquetSink {
    pub(crate) fn create(path: &Path, meta: &RunMeta) -> Result<ParquetSink, OutputError> {
        let name = if is_stdio(path) {
            "<stdout>".to_string()
        } else {
            path.display().to_string()
        };
        let target = if is_stdio(path) {
            if io::stdout().is_terminal() {
                return Err(OutputError::Write {
                    path: name,
                    message:
                        "refusing to write Parquet to a terminal; redirect stdout or use -o FILE"
                            .into(),
                });
            }
            Target::Stdout(BufWriter::with_capacity(1 << 20, io::stdout()))
        } else {
            Target::File(BufWriter::with_capacity(1 << 20, AtomicFile::create(path)?))
        };
        let mut props = WriterProperties::builder()
            .set_compression(ParquetCompression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("kubenetmon {}", env!("CARGO_PKG_VERSION")));
        // Min/max of a text column costs a string compare per row (most of
        // the write time) and buys nothing when loading into ClickHouse.
        for c in COLUMNS {
            if matches!(c.kind, Kind::String | Kind::Direction | Kind::Ipv4) {
                props = props.set_column_statistics_enabled(
                    ColumnPath::from(c.name),
                    EnabledStatistics::None,
                );
            }
        }
        let props = props.build();
        let schema = arrow_schema();
        let (file, factory) = ArrowWriter::try_new(target, schema.clone(), Some(props))
            .and_then(|w| w.into_serialized_writer())
            .map_err(|e| OutputError::Write {
                path: name.clone(),
                message: e.to_string(),
            })?;
        let columns = COLUMNS
            .iter()
            .map(|c| (c.field, Builder::new(c.kind, c.scope, c.field, meta)))
            .collect();
        Ok(ParquetSink {
            file,
            factory,
            group: None,
            group_rows: 0,
            groups: 0,
            schema,
            name,
            columns,
            pending: 0,
            rows: 0,
            interval_seconds: meta.interval_seconds,
            last: None,
        })
    }

    fn error(&self, message: impl ToString) -> OutputError {
        OutputError::Write {
            path: self.name.clone(),
            message: message.to_string(),
        }
    }

    fn push(&mut self, flow: &LabelledFlow<'_>) -> Result<(), String> {
        let bucket = match self.last {
            Some((t, b)) if t == flow.observed_at => b,
            _ => {
                let b = TimeBucket::of(flow.observed_at, self.interval_seconds)?;
                self.last = Some((flow.observed_at, b));
                b
            }
        };
        // Check before pushing anything, so the columns stay the same length.
        let local_ip = flow_ipv4(Field::LocalIpv4, flow)?;
        let remote_ip = flow_ipv4(Field::RemoteIpv4, flow)?;
        for (field, b) in &mut self.columns {
            match b {
                Builder::Date(v) => v.extend_from_slice(&[bucket.day; 2]),
                Builder::Time(v) => v.extend_from_slice(&[bucket.interval_start; 2]),
                Builder::Text(d) => d.push2(flow_text(*field, flow)),
                Builder::Ip(d) => d.push2(if *field == Field::LocalIpv4 {
                    local_ip
                } else {
                    remote_ip
                }),
                Builder::Port(v) => v.extend_from_slice(&[flow_port(*field, flow); 2]),
                Builder::Count(v) => v.extend_from_slice(&match field {
                    Field::Bytes => [flow.out.bytes, flow.inbound.bytes],
                    _ => [flow.out.packets, flow.inbound.packets],
                }),
                Builder::ConstU16(_)
                | Builder::ConstText(_)
                | Builder::Flags
                | Builder::Direction => {}
            }
        }
        self.pending += 2;
        Ok(())
    }

    /// Encodes the gathered rows into the current row group, one column per
    /// rayon task: the writer's per-value dictionary lookups are most of the
    /// cost, and columns are independent.
    fn flush_batch(&mut self) -> Result<(), OutputError> {
        if self.pending == 0 {
            return Ok(());
        }
        let rows = self.pending;
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(|(_, b)| b.take(rows)).collect();
        let mut leaves = Vec::new();
        for (field, array) in self.schema.fields().iter().zip(&arrays) {
            leaves.extend(compute_leaves(field, array).map_err(|e| self.error(e))?);
        }
        if self.group.is_none() {
            let writers = self
                .factory
                .create_column_writers(self.groups)
                .map_err(|e| self.error(e))?;
            self.group = Some(writers);
        }
        let writers = self
            .group
            .as_mut()
            .expect("row group writers were just created");
        writers
            .par_iter_mut()
            .zip(leaves.par_iter())
            .try_for_each(|(w, leaf)| w.write(leaf))
            .map_err(|e| self.error(e))?;
        self.pending = 0;
        self.rows += rows as u64;
        self.group_rows += rows;
        if self.group_rows >= ROW_GROUP_ROWS {
            self.close_group()?;
        }
        Ok(())
    }

    /// Finishes the current row group and appends it to the file.
    fn close_group(&mut self) -> Result<(), OutputError> {
        let Some(writers) = self.group.take() else {
            return Ok(());
        };
        let chunks: Vec<ArrowColumnChunk> = writers
            .into_par_iter()
            .map(ArrowColumnWriter::close)
            .collect::<Result<_, _>>()
            .map_err(|e| self.error(e))?;
        let name = &self.name;
        let error = |e: parquet::errors::ParquetError| OutputError::Write {
            path: name.clone(),
            message: e.to_string(),
        };
        let mut group = self.file.next_row_group().map_err(error)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group).map_err(error)?;
        }
        group.close().map_err(error)?;
        self.groups += 1;
        self.group_rows = 0;
        Ok(())
    }
}

impl Sink for ParquetSink {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        for (_, b) in &mut self.columns {
            if let Builder::Text(d) = b {
                d.last = None;
            }
        }
        for flow in flows {
            if let Err(message) = self.push(flow) {
                return Err(OutputError::Value {
                    path: self.name.clone(),
                    message,
                });
            }
            if self.pending >= BATCH_ROWS {
                self.flush_batch()?;
            }
        }
        for (_, b) in &mut self.columns {
            if let Builder::Text(d) = b {
                d.last = None;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64, OutputError> {
        self.flush_batch()?;
        self.close_group()?;
        let ParquetSink {
            file, name, rows, ..
        } = *self;
        let err = |message: String| OutputError::Write {
            path: name.clone(),
            message,
        };
        let target = file.into_inner().map_err(|e| err(e.to_string()))?;
        match target {
            Target::Stdout(mut w) => w.flush().map_err(|e| err(e.to_string()))?,
            Target::File(w) => {
                let file = w.into_inner().map_err(|e| err(e.error().to_string()))?;
                file.commit()?;
            }
        }
        Ok(rows)
    }
}
