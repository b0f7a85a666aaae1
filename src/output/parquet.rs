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
    /// Key by (address, length) of the strings seen in the current `push`:
    /// a flow's strings borrow from the inventory, so most repeat by address.
    by_ptr: FxHashMap<(usize, usize), i32>,
    /// Address, length and key of the previous value. Only valid within one
    /// `write_batch` call, while the borrowed strings are alive.
    last: Option<(usize, usize, i32)>,
}

impl StrDict {
    fn key(&mut self, s: &str) -> i32 {
        let ptr = (s.as_ptr() as usize, s.len());
        if let Some((p, l, key)) = self.last {
            if (p, l) == ptr {
                return key;
            }
        }
        let key = match self.by_ptr.get(&ptr) {
            Some(&k) => k,
            None => {
                let k = match self.index.get(s) {
                    Some(&k) => k,
                    None => {
                        let k = self.index.len() as i32;
                        self.index.insert(s.into(), k);
                        self.values.append_value(s);
                        k
                    }
                };
                self.by_ptr.insert(ptr, k);
                k
            }
        };
        self.last = Some((ptr.0, ptr.1, key));
        key
    }

    /// Pointers are only meaningful while the flows they came from are
    /// borrowed, i.e. within one `push`.
    fn forget_pointers(&mut self) {
        self.last = None;
        self.by_ptr.clear();
    }

    fn push2(&mut self, s: &str) {
        let k = self.key(s);
        self.keys.extend_from_slice(&[k, k]);
    }

    fn take(&mut self) -> ArrayRef {
        let keys = Int32Array::from(std::mem::take(&mut self.keys));
        let values = Arc::new(self.values.finish());
        self.index.clear();
        self.forget_pointers();
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

    /// Checks a run of flows and computes their time buckets, before any
    /// column is touched, so the columns always stay the same length.
    fn buckets(&mut self, flows: &[LabelledFlow<'_>]) -> Result<Vec<TimeBucket>, String> {
        let mut out = Vec::with_capacity(flows.len());
        for flow in flows {
            let bucket = match self.last {
                Some((t, b)) if t == flow.observed_at => b,
                _ => {
                    let b = TimeBucket::of(flow.observed_at, self.interval_seconds)?;
                    self.last = Some((flow.observed_at, b));
                    b
                }
            };
            flow_ipv4(Field::LocalIpv4, flow)?;
            flow_ipv4(Field::RemoteIpv4, flow)?;
            out.push(bucket);
        }
        Ok(out)
    }

    /// Appends two rows per flow to every column; columns are filled in
    /// parallel, each by one task, in flow order.
    fn push(&mut self, flows: &[LabelledFlow<'_>], buckets: &[TimeBucket]) {
        self.columns.par_iter_mut().for_each(|(field, b)| {
            let field = *field;
            match b {
                Builder::Date(v) => v.extend(buckets.iter().flat_map(|b| [b.day; 2])),
                Builder::Time(v) => v.extend(buckets.iter().flat_map(|b| [b.interval_start; 2])),
                Builder::Text(d) => {
                    for flow in flows {
                        d.push2(flow_text(field, flow));
                    }
                    d.forget_pointers();
                }
                Builder::Ip(d) => {
                    for flow in flows {
                        // Checked in `buckets`.
                        d.push2(flow_ipv4(field, flow).unwrap_or(Ipv4Addr::UNSPECIFIED));
                    }
                }
                Builder::Port(v) => v.extend(flows.iter().flat_map(|f| [flow_port(field, f); 2])),
                Builder::Count(v) => v.extend(flows.iter().flat_map(|f| match field {
                    Field::Bytes => [f.out.bytes, f.inbound.bytes],
                    _ => [f.out.packets, f.inbound.packets],
                })),
                Builder::ConstU16(_)
                | Builder::ConstText(_)
                | Builder::Flags
                | Builder::Direction => {}
            }
        });
        self.pending += 2 * flows.len();
    }

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
        let mut rest = flows;
        while !rest.is_empty() {
            // As many flows as fit in the current record batch (rows come in pairs).
            let room = ((BATCH_ROWS - self.pending) / 2).max(1);
            let (seg, tail) = rest.split_at(room.min(rest.len()));
            let buckets = self.buckets(seg).map_err(|message| OutputError::Value {
                path: self.name.clone(),
                message,
            })?;
            self.push(seg, &buckets);
            if self.pending >= BATCH_ROWS {
                self.flush_batch()?;
            }
            rest = tail;
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
                file.commit_unsynced()?;
            }
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectionClass, Counters, Endpoint, Protocol};
    use arrow::array::AsArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::net::IpAddr;

    fn flow(pod: &str) -> LabelledFlow<'_> {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 244, 1, 11));
        LabelledFlow {
            observed_at: 1_700_000_000,
            proto: Protocol::Tcp,
            class: ConnectionClass::IntraVpc,
            local: Endpoint {
                pod,
                ..Endpoint::bare(ip, 80)
            },
            remote: Endpoint::bare(ip, 443),
            remote_cloud: "",
            remote_region: "",
            remote_service: "",
            out: Counters::default(),
            inbound: Counters::default(),
        }
    }

    fn local_pods(path: &Path) -> Vec<String> {
        let file = std::fs::File::open(path).unwrap();
        let mut out = Vec::new();
        for batch in ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
        {
            let batch = batch.unwrap();
            let col = batch.column_by_name("localPod").unwrap();
            let dict = col.as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            for k in dict.keys().values() {
                out.push(values.value(*k as usize).to_string());
            }
        }
        out
    }

    /// Dictionary keys found by a string's address must not outlive the
    /// `write_batch` call: the next call may bring other text at that address.
    #[test]
    fn reused_addresses_with_new_text_get_their_own_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let meta = RunMeta {
            environment: "production".into(),
            local_cloud: "aws".into(),
            local_region: "us-east-1".into(),
            local_cluster: "c".into(),
            interval_seconds: 60,
        };
        let mut sink = ParquetSink::create(&path, &meta).unwrap();
        let mut buf = String::from("pod-a");
        let twin = String::from("pod-a"); // same text, another address
        sink.write_batch(&[flow(&buf), flow(&twin), flow(&buf)])
            .unwrap();
        buf.replace_range(.., "pod-b"); // same address and length, new text
        sink.write_batch(&[flow(&buf), flow(&twin)]).unwrap();
        assert_eq!(Box::new(sink).finish().unwrap(), 10);
        let want: Vec<&str> = ["pod-a", "pod-a", "pod-a", "pod-b", "pod-a"]
            .iter()
            .flat_map(|p| [*p, *p])
            .collect();
        assert_eq!(local_pods(&path), want);
    }
}
