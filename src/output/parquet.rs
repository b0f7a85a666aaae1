//! Parquet for ClickHouse `FORMAT Parquet`.
//!
//! Rows are gathered column by column for `BATCH_ROWS` rows, then handed to
//! the arrow writer as one record batch; the writer closes a row group every
//! `ROW_GROUP_ROWS` rows, so memory stays bounded however long the input.
//! String columns are arrow dictionaries built here: a flow's strings borrow
//! from the inventory, so consecutive flows usually share the very same
//! `&str` and the key is found by a pointer compare, without hashing.

use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Int32Array, MapArray, StringArray,
    StringBuilder, StructArray, TimestampSecondArray, UInt16Array, UInt64Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{
    DataType, Field as ArrowField, Fields, Int32Type, Schema as ArrowSchema, SchemaRef, TimeUnit,
};
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::cells::{flow_ipv4, flow_ipv6, flow_port, flow_text, run_text};
use super::schema::{Field, IpType, Schema};
use super::{Destination, Finished, OutputError, Sink, TimeBucket};
use crate::model::{FlagNames, FlagSet, LabelledFlow, RunMeta};

/// Rows per record batch handed to the writer.
const BATCH_ROWS: usize = 64 * 1024;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// The arrow schema of the output, derived from the schema's columns.
pub fn arrow_schema(schema: Schema) -> SchemaRef {
    let fields: Vec<ArrowField> = schema
        .columns()
        .iter()
        .map(|c| ArrowField::new(c.name, arrow_type(c.field), false))
        .collect();
    Arc::new(ArrowSchema::new(fields))
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

fn arrow_type(field: Field) -> DataType {
    match field {
        Field::Date => DataType::Date32,
        Field::IntervalStartTime => DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
        Field::IntervalSeconds | Field::Port(_) => DataType::UInt16,
        Field::Bytes | Field::Packets => DataType::UInt64,
        Field::Run(_) | Field::Text(_) | Field::Direction | Field::Ip(..) => dictionary_type(),
        Field::ConnectionFlags => DataType::Map(flags_field(), false),
    }
}

/// Text columns: min/max statistics cost a string compare per row (most
/// of the write time) and buy nothing when loading into ClickHouse.
fn is_text(field: Field) -> bool {
    match field {
        Field::Run(_) | Field::Text(_) | Field::Direction | Field::Ip(..) => true,
        Field::Date
        | Field::IntervalStartTime
        | Field::IntervalSeconds
        | Field::Port(_)
        | Field::Bytes
        | Field::Packets
        | Field::ConnectionFlags => false,
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
    #[inline]
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

    #[inline]
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

/// Dictionary of address texts, keyed by the address as a number.
struct IpDict<A> {
    keys: Vec<i32>,
    values: StringBuilder,
    index: FxHashMap<u128, i32>,
    text: String,
    _address: std::marker::PhantomData<A>,
}

impl<A> Default for IpDict<A> {
    fn default() -> Self {
        IpDict {
            keys: Vec::new(),
            values: StringBuilder::new(),
            index: FxHashMap::default(),
            text: String::new(),
            _address: std::marker::PhantomData,
        }
    }
}

impl<A: Copy + std::fmt::Display + Into<IpNumber>> IpDict<A> {
    fn push2(&mut self, ip: A) {
        let next = self.index.len() as i32;
        let k = *self.index.entry(ip.into().0).or_insert(next);
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

/// An address as a dictionary key.
struct IpNumber(u128);

impl From<Ipv4Addr> for IpNumber {
    fn from(ip: Ipv4Addr) -> Self {
        IpNumber(u128::from(u32::from(ip)))
    }
}

impl From<Ipv6Addr> for IpNumber {
    fn from(ip: Ipv6Addr) -> Self {
        IpNumber(u128::from(ip))
    }
}

/// The `connectionFlags` map column of one record batch.
#[derive(Default)]
struct FlagsColumn {
    names: FlagNames,
    /// Entries so far, and where each row's entries end.
    keys: Vec<u8>,
    values: Vec<bool>,
    offsets: Vec<i32>,
}

impl FlagsColumn {
    fn new(names: FlagNames) -> FlagsColumn {
        FlagsColumn {
            names,
            keys: Vec::new(),
            values: Vec::new(),
            offsets: vec![0],
        }
    }

    fn push2(&mut self, flags: FlagSet) {
        if flags.is_empty() {
            let end = self.keys.len() as i32;
            self.offsets.extend_from_slice(&[end, end]);
            return;
        }
        for _ in 0..2 {
            for (id, v) in flags.iter() {
                self.keys.push(id.index() as u8);
                self.values.push(v);
            }
            self.offsets.push(self.keys.len() as i32);
        }
    }

    fn take(&mut self, rows: usize) -> ArrayRef {
        debug_assert_eq!(self.offsets.len(), rows + 1);
        let offsets = OffsetBuffer::new(std::mem::replace(&mut self.offsets, vec![0]).into());
        let names = &self.names;
        let keys = StringArray::from_iter_values(
            self.keys
                .drain(..)
                .map(|id| names.name(crate::model::FlagId::from_index(id))),
        );
        let values = BooleanArray::from(std::mem::take(&mut self.values));
        let entries = StructArray::new(
            flags_entries(),
            vec![Arc::new(keys) as ArrayRef, Arc::new(values) as ArrayRef],
            None::<NullBuffer>,
        );
        Arc::new(MapArray::new(flags_field(), offsets, entries, None, false))
    }
}

/// One output column being gathered.
enum Builder {
    Date(Vec<i32>),
    Time(Vec<i64>),
    ConstU16(u16),
    ConstText(String),
    Flags(FlagsColumn),
    Direction,
    Text(StrDict),
    Ip4(IpDict<Ipv4Addr>),
    Ip6(IpDict<Ipv6Addr>),
    Port(Vec<u16>),
    Count(Vec<u64>),
}

impl Builder {
    fn new(field: Field, meta: &RunMeta) -> Builder {
        match field {
            Field::Date => Builder::Date(Vec::with_capacity(BATCH_ROWS)),
            Field::IntervalStartTime => Builder::Time(Vec::with_capacity(BATCH_ROWS)),
            Field::IntervalSeconds => Builder::ConstU16(meta.interval_seconds),
            Field::Port(_) => Builder::Port(Vec::with_capacity(BATCH_ROWS)),
            Field::Bytes | Field::Packets => Builder::Count(Vec::with_capacity(BATCH_ROWS)),
            Field::ConnectionFlags => Builder::Flags(FlagsColumn::new(meta.flag_names.clone())),
            Field::Direction => Builder::Direction,
            Field::Ip(_, IpType::V4) => Builder::Ip4(IpDict::default()),
            Field::Ip(_, IpType::V6) => Builder::Ip6(IpDict::default()),
            Field::Run(t) => Builder::ConstText(run_text(t, meta).to_string()),
            Field::Text(_) => Builder::Text(StrDict::default()),
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
            Builder::Flags(f) => f.take(rows),
            Builder::Direction => {
                let keys = Int32Array::from_iter_values((0..rows).map(|i| (i % 2) as i32));
                let values = Arc::new(StringArray::from(vec!["out", "in"]));
                Arc::new(DictionaryArray::<Int32Type>::new(keys, values))
            }
            Builder::Text(d) => d.take(),
            Builder::Ip4(d) => d.take(),
            Builder::Ip6(d) => d.take(),
            Builder::Port(v) => Arc::new(UInt16Array::from(std::mem::take(v))),
            Builder::Count(v) => Arc::new(UInt64Array::from(std::mem::take(v))),
        }
    }
}

/// Parquet writer; see the module documentation.
pub struct ParquetWriter<W: Write + Send> {
    file: SerializedFileWriter<BufWriter<W>>,
    factory: ArrowRowGroupWriterFactory,
    /// Writers of the row group being filled (one per Parquet leaf column).
    group: Option<Vec<ArrowColumnWriter>>,
    group_rows: usize,
    groups: usize,
    arrow_schema: SchemaRef,
    name: String,
    columns: Vec<(Field, Builder)>,
    pending: usize,
    rows: u64,
    interval_seconds: u16,
    last: Option<(i64, TimeBucket)>,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A writer of `schema`'s columns to `w`; `name` is for messages.
    pub fn with_writer(
        w: W,
        name: String,
        schema: Schema,
        meta: &RunMeta,
    ) -> Result<ParquetWriter<W>, OutputError> {
        let mut props = WriterProperties::builder()
            .set_compression(ParquetCompression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("kubenetmon {}", env!("CARGO_PKG_VERSION")));
        for c in schema.columns() {
            if is_text(c.field) {
                props = props.set_column_statistics_enabled(
                    ColumnPath::from(c.name),
                    EnabledStatistics::None,
                );
            }
            if c.field == Field::ConnectionFlags {
                // The map's leaves: min/max of flag names buy nothing either.
                for leaf in ["key", "value"] {
                    props = props.set_column_statistics_enabled(
                        ColumnPath::new(vec![c.name.into(), "key_value".into(), leaf.into()]),
                        EnabledStatistics::None,
                    );
                }
            }
        }
        let props = props.build();
        let arrow_schema = arrow_schema(schema);
        let target = BufWriter::with_capacity(1 << 20, w);
        let (file, factory) = ArrowWriter::try_new(target, arrow_schema.clone(), Some(props))
            .and_then(|w| w.into_serialized_writer())
            .map_err(|source| OutputError::Parquet {
                name: name.clone(),
                source,
            })?;
        let columns = schema
            .columns()
            .iter()
            .map(|c| (c.field, Builder::new(c.field, meta)))
            .collect();
        Ok(ParquetWriter {
            file,
            factory,
            group: None,
            group_rows: 0,
            groups: 0,
            arrow_schema,
            name,
            columns,
            pending: 0,
            rows: 0,
            interval_seconds: meta.interval_seconds,
            last: None,
        })
    }

    fn error(&self, source: ParquetError) -> OutputError {
        OutputError::Parquet {
            name: self.name.clone(),
            source,
        }
    }

    /// Checks a run of flows and computes their time buckets, before any
    /// column is touched, so the columns always stay the same length.
    fn buckets(&mut self, flows: &[LabelledFlow<'_>]) -> Result<Vec<TimeBucket>, String> {
        let v4: Vec<_> = self
            .columns
            .iter()
            .filter_map(|(f, _)| match f {
                Field::Ip(side, IpType::V4) => Some(*side),
                _ => None,
            })
            .collect();
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
            for side in &v4 {
                flow_ipv4(*side, flow)?;
            }
            out.push(bucket);
        }
        Ok(out)
    }

    /// Appends two rows per flow to every column; columns are filled in
    /// parallel, each by one task, in flow order.
    fn push(&mut self, flows: &[LabelledFlow<'_>], buckets: &[TimeBucket]) {
        self.columns.par_iter_mut().for_each(|(field, b)| {
            let field = *field;
            match (b, field) {
                (Builder::Date(v), _) => v.extend(buckets.iter().flat_map(|b| [b.day; 2])),
                (Builder::Time(v), _) => {
                    v.extend(buckets.iter().flat_map(|b| [b.interval_start; 2]))
                }
                (Builder::Text(d), Field::Text(t)) => {
                    for flow in flows {
                        d.push2(flow_text(t, flow));
                    }
                    d.forget_pointers();
                }
                (Builder::Ip4(d), Field::Ip(side, _)) => {
                    for flow in flows {
                        // Checked in `buckets`.
                        d.push2(flow_ipv4(side, flow).unwrap_or(Ipv4Addr::UNSPECIFIED));
                    }
                }
                (Builder::Ip6(d), Field::Ip(side, _)) => {
                    for flow in flows {
                        d.push2(flow_ipv6(side, flow));
                    }
                }
                (Builder::Port(v), Field::Port(side)) => {
                    v.extend(flows.iter().flat_map(|f| [flow_port(side, f); 2]))
                }
                (Builder::Count(v), Field::Bytes) => {
                    v.extend(flows.iter().flat_map(|f| [f.out.bytes, f.inbound.bytes]))
                }
                (Builder::Count(v), Field::Packets) => v.extend(
                    flows
                        .iter()
                        .flat_map(|f| [f.out.packets, f.inbound.packets]),
                ),
                (Builder::Flags(m), _) => {
                    for flow in flows {
                        m.push2(flow.flags);
                    }
                }
                (Builder::ConstU16(_) | Builder::ConstText(_) | Builder::Direction, _) => {}
                (b, field) => {
                    unreachable!("builder {} does not hold column {field:?}", b.kind_name())
                }
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
        for (field, array) in self.arrow_schema.fields().iter().zip(&arrays) {
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
        let error = |source| OutputError::Parquet {
            name: name.clone(),
            source,
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

    /// Appends two rows per flow.
    pub fn write_flows(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        let mut rest = flows;
        while !rest.is_empty() {
            // As many flows as fit in the current record batch (rows come in pairs).
            let room = ((BATCH_ROWS - self.pending) / 2).max(1);
            let (seg, tail) = rest.split_at(room.min(rest.len()));
            let buckets = self.buckets(seg).map_err(|message| OutputError::Value {
                name: self.name.clone(),
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

    /// Writes the footer; returns the writer and the rows written.
    pub fn into_inner(mut self) -> Result<(W, u64), OutputError> {
        self.flush_batch()?;
        self.close_group()?;
        let ParquetWriter {
            file, name, rows, ..
        } = self;
        let buffered = file.into_inner().map_err(|source| OutputError::Parquet {
            name: name.clone(),
            source,
        })?;
        let w = buffered.into_inner().map_err(|e| OutputError::Write {
            name,
            source: e.into_error(),
        })?;
        Ok((w, rows))
    }
}

impl Builder {
    fn kind_name(&self) -> &'static str {
        match self {
            Builder::Date(_) => "date",
            Builder::Time(_) => "time",
            Builder::ConstU16(_) => "const u16",
            Builder::ConstText(_) => "const text",
            Builder::Flags(_) => "flags",
            Builder::Direction => "direction",
            Builder::Text(_) => "text",
            Builder::Ip4(_) => "ipv4",
            Builder::Ip6(_) => "ipv6",
            Builder::Port(_) => "port",
            Builder::Count(_) => "count",
        }
    }
}

impl ParquetWriter<Destination> {
    pub fn new(dest: Destination, schema: Schema, meta: &RunMeta) -> Result<Self, OutputError> {
        let name = dest.name();
        ParquetWriter::with_writer(dest, name, schema, meta)
    }
}

impl Sink for ParquetWriter<Destination> {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        self.write_flows(flows)
    }

    fn finish(self: Box<Self>) -> Result<Finished, OutputError> {
        let name = self.name.clone();
        let (dest, rows) = self.into_inner()?;
        let pending = dest
            .finish()
            .map_err(|source| OutputError::Write { name, source })?;
        Ok(Finished { rows, pending })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cloud, ConnectionClass, Endpoint, LocalSite, Protocol};
    use arrow::array::{Array, AsArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::net::IpAddr;

    fn meta(flags: &[&str]) -> RunMeta {
        RunMeta {
            environment: "production".into(),
            local: LocalSite {
                cloud: Cloud::Aws,
                region: "us-east-1".into(),
            },
            cluster: "c".into(),
            interval_seconds: 60,
            flag_names: FlagNames::new(flags.iter().map(|s| s.to_string())).unwrap(),
        }
    }

    fn flow(pod: &str) -> LabelledFlow<'_> {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 244, 1, 11));
        LabelledFlow::new(
            1_700_000_000,
            Protocol::Tcp,
            ConnectionClass::IntraVpc,
            Endpoint {
                pod,
                ..Endpoint::bare(ip, 80)
            },
            Endpoint::bare(ip, 443),
        )
    }

    fn batches(bytes: Vec<u8>) -> Vec<arrow::record_batch::RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn local_pods(bytes: Vec<u8>) -> Vec<String> {
        let mut out = Vec::new();
        for batch in batches(bytes) {
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
        let mut w =
            ParquetWriter::with_writer(Vec::new(), "t".into(), Schema::Upstream, &meta(&[]))
                .unwrap();
        let mut buf = String::from("pod-a");
        let twin = String::from("pod-a"); // same text, another address
        w.write_flows(&[flow(&buf), flow(&twin), flow(&buf)])
            .unwrap();
        buf.replace_range(.., "pod-b"); // same address and length, new text
        w.write_flows(&[flow(&buf), flow(&twin)]).unwrap();
        let (bytes, rows) = w.into_inner().unwrap();
        assert_eq!(rows, 10);
        let want: Vec<&str> = ["pod-a", "pod-a", "pod-a", "pod-b", "pod-a"]
            .iter()
            .flat_map(|p| [*p, *p])
            .collect();
        assert_eq!(local_pods(bytes), want);
    }

    /// SPEC §6.3: a flow's flags are a Parquet map, the same on both rows,
    /// keys in byte order.
    #[test]
    fn flags_are_a_map_on_both_rows() {
        let m = meta(&["NLB", "CROSS_AZ"]);
        let cross = m.flag_names.id("CROSS_AZ").unwrap();
        let nlb = m.flag_names.id("NLB").unwrap();
        let mut w =
            ParquetWriter::with_writer(Vec::new(), "t".into(), Schema::Upstream, &m).unwrap();
        let mut a = flow("a");
        a.flags.set(nlb, true);
        a.flags.set(cross, false);
        let b = flow("b");
        let mut c = flow("c");
        c.flags.set(cross, true);
        w.write_flows(&[a, b, c]).unwrap();
        let (bytes, _) = w.into_inner().unwrap();
        let mut rows = Vec::new();
        for batch in batches(bytes) {
            let map = batch.column_by_name("connectionFlags").unwrap().as_map();
            for i in 0..map.len() {
                let entries = map.value(i);
                let keys = entries.column(0).as_string::<i32>();
                let values = entries.column(1).as_boolean();
                let row: Vec<String> = (0..entries.len())
                    .map(|j| format!("{}={}", keys.value(j), values.value(j)))
                    .collect();
                rows.push(row.join(","));
            }
        }
        assert_eq!(
            rows,
            [
                "CROSS_AZ=false,NLB=true",
                "CROSS_AZ=false,NLB=true",
                "",
                "",
                "CROSS_AZ=true",
                "CROSS_AZ=true"
            ]
        );
    }

    #[test]
    fn dual_addresses_are_ipv6_text() {
        let mut w =
            ParquetWriter::with_writer(Vec::new(), "t".into(), Schema::Dual, &meta(&[])).unwrap();
        let mut f = flow("a");
        f.remote.ip = "2600:1f18::5".parse().unwrap();
        w.write_flows(&[f]).unwrap();
        let (bytes, _) = w.into_inner().unwrap();
        let batch = &batches(bytes)[0];
        let text = |name: &str| {
            let dict = batch
                .column_by_name(name)
                .unwrap()
                .as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            values.value(dict.keys().value(0) as usize).to_string()
        };
        assert_eq!(text("localIP"), "::ffff:10.244.1.11");
        assert_eq!(text("remoteIP"), "2600:1f18::5");
    }
}
