//! Parquet for ClickHouse `FORMAT Parquet`.
//!
//! Rows are gathered column by column for `BATCH_ROWS` rows (one record
//! batch); a row group is closed every `ROW_GROUP_ROWS` rows, so memory stays
//! bounded however long the input. Every column is encoded here
//! (`parquet_dict`), below the arrow writer (which only provides the schema,
//! the file writer and the footer):
//! - text columns (per-run and per-flow text, `direction`, addresses) and
//!   the date, time, interval and port columns are dictionary-encoded: a
//!   flow's strings borrow from the inventory, so consecutive flows usually
//!   share the very same `&str` and its key is found by a pointer compare,
//!   without hashing; the keys go straight into `RLE_DICTIONARY` pages (the
//!   arrow writer would intern every cell again);
//! - `bytes` and `packets` are PLAIN pages;
//! - the flags map's two leaves carry repetition and definition levels, keys
//!   over the run's flag names, PLAIN booleans.
//!
//! Columns are filled and encoded in parallel, one rayon task per column,
//! and their column chunks are appended to the row group in schema order.

use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::datatypes::{
    DataType, Field as ArrowField, Fields, Schema as ArrowSchema, SchemaRef, TimeUnit,
};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnDescPtr;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::cells::{flow_ipv4, flow_ipv6, flow_port, flow_text, run_text};
use super::parquet_dict::{DictColumn, Kind, MapColumn, PlainU64, ZSTD_LEVEL};
use super::schema::{Field, IpType, Schema};
use super::{Destination, Finished, OutputError, Sink, TimeBucket};
use crate::model::{FlagId, LabelledFlow, RunMeta};

/// Rows per record batch (and per data page of a text column).
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

/// The arrow type of a column, which decides its Parquet type.
/// `intervalStartTime` is milliseconds: Parquet's TIMESTAMP has no seconds
/// unit, and arrow writes `Timestamp(Second)` as a bare INT64.
fn arrow_type(field: Field) -> DataType {
    match field {
        Field::Date => DataType::Date32,
        Field::IntervalStartTime => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Field::IntervalSeconds | Field::Port(_) => DataType::UInt16,
        Field::Bytes | Field::Packets => DataType::UInt64,
        Field::Run(_) | Field::Text(_) | Field::Direction | Field::Ip(_, IpType::V4) => {
            dictionary_type()
        }
        // SPEC §7: the 16 bytes of the address in network order, the
        // encoding ClickHouse itself writes for `IPv6` and loads into it
        // (tests/clickhouse_compat.py proves the load).
        Field::Ip(_, IpType::V6) => DataType::FixedSizeBinary(16),
        Field::ConnectionFlags => DataType::Map(flags_field(), false),
    }
}

/// A per-flow text column: dictionary keys by string.
struct TextColumn {
    col: DictColumn,
    index: FxHashMap<Box<str>, u32>,
    /// Key by (address, length) of the strings seen in the current `push`:
    /// a flow's strings borrow from the inventory, so most repeat by address.
    by_ptr: FxHashMap<(usize, usize), u32>,
    /// Address, length and key of the previous value. Only valid within one
    /// `write_batch` call, while the borrowed strings are alive.
    last: Option<(usize, usize, u32)>,
}

impl TextColumn {
    fn new() -> Result<TextColumn, ParquetError> {
        Ok(TextColumn {
            col: DictColumn::new(Kind::Text)?,
            index: FxHashMap::default(),
            by_ptr: FxHashMap::default(),
            last: None,
        })
    }

    #[inline]
    fn key(&mut self, s: &str) -> u32 {
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
                        let k = self.col.add(s.as_bytes());
                        self.index.insert(s.into(), k);
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
        self.col.keys.extend_from_slice(&[k, k]);
    }

    /// The dictionary belongs to its row group.
    fn close(&mut self, descr: ColumnDescPtr, rows: u64) -> ChunkResult {
        self.forget_pointers();
        self.index.clear();
        self.col.close(descr, rows)
    }
}

/// An address column: dictionary keys by the address as a number; the
/// dictionary holds each address once per row group, as IPv4 text or as
/// IPv6's 16 bytes (SPEC §7).
struct IpColumn<A> {
    col: DictColumn,
    index: FxHashMap<u128, u32>,
    text: String,
    _address: std::marker::PhantomData<A>,
}

/// How an address type goes into its column's dictionary.
trait IpValue: Copy {
    const KIND: Kind;
    fn number(self) -> u128;
    fn add(self, col: &mut DictColumn, text: &mut String) -> u32;
}

impl IpValue for Ipv4Addr {
    const KIND: Kind = Kind::Text;
    fn number(self) -> u128 {
        u128::from(u32::from(self))
    }
    fn add(self, col: &mut DictColumn, text: &mut String) -> u32 {
        use std::fmt::Write as _;
        text.clear();
        let _ = write!(text, "{self}");
        col.add(text.as_bytes())
    }
}

impl IpValue for Ipv6Addr {
    const KIND: Kind = Kind::Fixed16;
    fn number(self) -> u128 {
        u128::from(self)
    }
    fn add(self, col: &mut DictColumn, _: &mut String) -> u32 {
        col.add_fixed16(&self.octets())
    }
}

impl<A: IpValue> IpColumn<A> {
    fn new() -> Result<IpColumn<A>, ParquetError> {
        Ok(IpColumn {
            col: DictColumn::new(A::KIND)?,
            index: FxHashMap::default(),
            text: String::new(),
            _address: std::marker::PhantomData,
        })
    }

    #[inline]
    fn push2(&mut self, ip: A) {
        let number = ip.number();
        let k = match self.index.get(&number) {
            Some(&k) => k,
            None => {
                let k = ip.add(&mut self.col, &mut self.text);
                self.index.insert(number, k);
                k
            }
        };
        self.col.keys.extend_from_slice(&[k, k]);
    }

    fn close(&mut self, descr: ColumnDescPtr, rows: u64) -> ChunkResult {
        self.index.clear();
        self.col.close(descr, rows)
    }
}

/// An integer column (date, time): dictionary keys by value, the previous
/// value first (a run's flows mostly share their time).
struct IntColumn {
    col: DictColumn,
    index: FxHashMap<i64, u32>,
    last: Option<(i64, u32)>,
}

impl IntColumn {
    fn new(kind: Kind) -> Result<IntColumn, ParquetError> {
        Ok(IntColumn {
            col: DictColumn::new(kind)?,
            index: FxHashMap::default(),
            last: None,
        })
    }

    #[inline]
    fn push2(&mut self, v: i64) {
        let k = match self.last {
            Some((l, k)) if l == v => k,
            _ => {
                let col = &mut self.col;
                let k = *self.index.entry(v).or_insert_with(|| col.add_int(v));
                self.last = Some((v, k));
                k
            }
        };
        self.col.keys.extend_from_slice(&[k, k]);
    }

    fn close(&mut self, descr: ColumnDescPtr, rows: u64) -> ChunkResult {
        self.index.clear();
        self.last = None;
        self.col.close(descr, rows)
    }
}

/// A port column: dictionary keys in a table indexed by the port.
struct PortColumn {
    col: DictColumn,
    /// Key of each port in the open row group, `u32::MAX` if none yet.
    slots: Vec<u32>,
}

impl PortColumn {
    fn new() -> Result<PortColumn, ParquetError> {
        Ok(PortColumn {
            col: DictColumn::new(Kind::Int32)?,
            slots: vec![u32::MAX; 1 << 16],
        })
    }

    #[inline]
    fn push2(&mut self, port: u16) {
        let slot = &mut self.slots[usize::from(port)];
        if *slot == u32::MAX {
            *slot = self.col.add_int(i64::from(port));
        }
        let k = *slot;
        self.col.keys.extend_from_slice(&[k, k]);
    }

    fn close(&mut self, descr: ColumnDescPtr, rows: u64) -> ChunkResult {
        self.slots.fill(u32::MAX);
        self.col.close(descr, rows)
    }
}

/// The values of a [`PatternColumn`].
enum Pattern {
    Text(Vec<String>),
    Int(i64),
}

/// A column whose rows follow a fixed pattern over a fixed dictionary: a
/// per-run value (one text, or `intervalSeconds`) or `direction` (`out`,
/// `in`, `out`, …).
struct PatternColumn {
    col: DictColumn,
    values: Pattern,
}

impl PatternColumn {
    fn new(values: Pattern) -> Result<PatternColumn, ParquetError> {
        let kind = match values {
            Pattern::Text(_) => Kind::Text,
            Pattern::Int(_) => Kind::Int32,
        };
        Ok(PatternColumn {
            col: DictColumn::new(kind)?,
            values,
        })
    }

    /// Keys of `rows` more rows: row `i` of the group has key `i % values`.
    fn extend(&mut self, rows: usize) {
        if self.col.entries() == 0 {
            match &self.values {
                Pattern::Text(values) => {
                    for v in values {
                        self.col.add(v.as_bytes());
                    }
                }
                Pattern::Int(v) => {
                    self.col.add_int(*v);
                }
            }
        }
        let n = self.col.entries();
        let done = self.col.keys.len() as u32;
        self.col
            .keys
            .extend((done..done + rows as u32).map(|i| i % n));
    }
}

type ChunkResult = Result<(Bytes, ColumnCloseResult), ParquetError>;

/// One output column being gathered.
enum Builder {
    /// Date (days), time (milliseconds).
    Int(IntColumn),
    Port(PortColumn),
    Count(PlainU64),
    /// Per-run values, `direction`.
    Pattern(PatternColumn),
    Text(TextColumn),
    Ip4(IpColumn<Ipv4Addr>),
    Ip6(IpColumn<Ipv6Addr>),
    /// `connectionFlags`.
    Map(MapColumn),
}

impl Builder {
    fn new(field: Field, meta: &RunMeta) -> Result<Builder, ParquetError> {
        Ok(match field {
            Field::Date => Builder::Int(IntColumn::new(Kind::Int32)?),
            Field::IntervalStartTime => Builder::Int(IntColumn::new(Kind::Int64)?),
            Field::IntervalSeconds => Builder::Pattern(PatternColumn::new(Pattern::Int(
                i64::from(meta.interval_seconds),
            ))?),
            Field::Port(_) => Builder::Port(PortColumn::new()?),
            Field::Bytes | Field::Packets => Builder::Count(PlainU64::new()?),
            Field::ConnectionFlags => Builder::Map(MapColumn::new(
                (0..meta.flag_names.len())
                    .map(|i| {
                        meta.flag_names
                            .name(FlagId::from_index(i as u8))
                            .to_string()
                    })
                    .collect(),
            )?),
            Field::Direction => Builder::Pattern(PatternColumn::new(Pattern::Text(vec![
                "out".into(),
                "in".into(),
            ]))?),
            Field::Run(t) => {
                Builder::Pattern(PatternColumn::new(Pattern::Text(vec![
                    run_text(t, meta).into()
                ]))?)
            }
            Field::Ip(_, IpType::V4) => Builder::Ip4(IpColumn::new()?),
            Field::Ip(_, IpType::V6) => Builder::Ip6(IpColumn::new()?),
            Field::Text(_) => Builder::Text(TextColumn::new()?),
        })
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Builder::Int(_) => "integer",
            Builder::Port(_) => "port",
            Builder::Count(_) => "count",
            Builder::Pattern(_) => "pattern",
            Builder::Text(_) => "text",
            Builder::Ip4(_) => "ipv4",
            Builder::Ip6(_) => "ipv6",
            Builder::Map(_) => "map",
        }
    }
}

/// One output column: what gathers it and its Parquet leaves.
struct Column {
    field: Field,
    builder: Builder,
    /// Its leaf columns' descriptors (two for the flags map, else one).
    leaves: Vec<ColumnDescPtr>,
}

/// A column's part of a closed row group: one chunk per leaf.
type Chunks = Vec<(Bytes, Box<ColumnCloseResult>)>;

impl Column {
    /// Encodes the batch gathered (`rows` rows).
    fn write_batch(&mut self, rows: usize) -> Result<(), ParquetError> {
        match &mut self.builder {
            Builder::Map(m) => m.finish_page(),
            Builder::Pattern(p) => {
                p.extend(rows);
                p.col.finish_page()
            }
            Builder::Int(c) => c.col.finish_page(),
            Builder::Port(c) => c.col.finish_page(),
            Builder::Count(c) => c.finish_page(),
            Builder::Text(t) => t.col.finish_page(),
            Builder::Ip4(d) => d.col.finish_page(),
            Builder::Ip6(d) => d.col.finish_page(),
        }
    }

    /// Finishes the column's chunks of the row group.
    fn close(&mut self, rows: u64) -> Result<Chunks, ParquetError> {
        let descr = self.leaves[0].clone();
        let one = match &mut self.builder {
            Builder::Map(m) => {
                let [key, value] = m.close(descr, self.leaves[1].clone(), rows)?;
                return Ok(vec![(key.0, Box::new(key.1)), (value.0, Box::new(value.1))]);
            }
            Builder::Pattern(p) => p.col.close(descr, rows),
            Builder::Int(c) => c.close(descr, rows),
            Builder::Port(c) => c.close(descr, rows),
            Builder::Count(c) => c.close(descr, rows),
            Builder::Text(t) => t.close(descr, rows),
            Builder::Ip4(d) => d.close(descr, rows),
            Builder::Ip6(d) => d.close(descr, rows),
        };
        one.map(|(bytes, close)| vec![(bytes, Box::new(close))])
    }
}

/// Parquet writer; see the module documentation.
pub struct ParquetWriter<W: Write + Send> {
    file: SerializedFileWriter<BufWriter<W>>,
    /// Whether a row group is open (has rows).
    group_open: bool,
    group_rows: usize,
    groups: usize,
    name: String,
    columns: Vec<Column>,
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
        let error = |source| OutputError::Parquet {
            name: name.clone(),
            source,
        };
        let props = WriterProperties::builder()
            .set_compression(ParquetCompression::ZSTD(
                ZstdLevel::try_new(ZSTD_LEVEL).map_err(error)?,
            ))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("kubenetmon {}", env!("CARGO_PKG_VERSION")))
            .build();
        let arrow_schema = arrow_schema(schema);
        let target = BufWriter::with_capacity(1 << 20, w);
        // The arrow writer gives the Parquet schema (with the arrow schema
        // embedded, as readers expect) and the file writer; it writes no page.
        let (file, _) = ArrowWriter::try_new(target, arrow_schema.clone(), Some(props))
            .and_then(|w| w.into_serialized_writer())
            .map_err(error)?;
        let descr = file.schema_descr();
        let mut columns = Vec::with_capacity(schema.columns().len());
        for (i, c) in schema.columns().iter().enumerate() {
            let leaves: Vec<ColumnDescPtr> = (0..descr.num_columns())
                .filter(|&leaf| descr.get_column_root_idx(leaf) == i)
                .map(|leaf| descr.column(leaf))
                .collect();
            // What the encoders write must be what the schema says.
            let levels: Vec<(i16, i16)> = leaves
                .iter()
                .map(|d| (d.max_rep_level(), d.max_def_level()))
                .collect();
            let want: &[(i16, i16)] = match c.field {
                Field::ConnectionFlags => &[(1, 1), (1, 2)],
                _ => &[(0, 0)],
            };
            if levels != want {
                return Err(error(ParquetError::General(format!(
                    "column {}: levels {levels:?}, the encoder writes {want:?}",
                    c.name
                ))));
            }
            columns.push(Column {
                field: c.field,
                builder: Builder::new(c.field, meta).map_err(error)?,
                leaves,
            });
        }
        Ok(ParquetWriter {
            file,
            group_open: false,
            group_rows: 0,
            groups: 0,
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
            .filter_map(|c| match c.field {
                Field::Ip(side, IpType::V4) => Some(side),
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
        self.columns.par_iter_mut().for_each(|c| {
            let field = c.field;
            match (&mut c.builder, field) {
                (Builder::Int(c), Field::Date) => {
                    for b in buckets {
                        c.push2(i64::from(b.day));
                    }
                }
                (Builder::Int(c), Field::IntervalStartTime) => {
                    for b in buckets {
                        c.push2(b.interval_start * 1000);
                    }
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
                (Builder::Port(c), Field::Port(side)) => {
                    for flow in flows {
                        c.push2(flow_port(side, flow));
                    }
                }
                (Builder::Count(c), Field::Bytes) => c
                    .values
                    .extend(flows.iter().flat_map(|f| [f.out.bytes, f.inbound.bytes])),
                (Builder::Count(c), Field::Packets) => c.values.extend(
                    flows
                        .iter()
                        .flat_map(|f| [f.out.packets, f.inbound.packets]),
                ),
                (Builder::Map(m), _) => {
                    for flow in flows {
                        // The same map on both rows (SPEC §6.3).
                        for _ in 0..2 {
                            m.push_row(flow.flags.iter().map(|(id, v)| (id.index() as u32, v)));
                        }
                    }
                }
                // Filled when the batch is written.
                (Builder::Pattern(_), _) => {}
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
        self.group_open = true;
        self.columns
            .par_iter_mut()
            .try_for_each(|c| c.write_batch(rows))
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
        if !self.group_open {
            return Ok(());
        }
        let rows = self.group_rows as u64;
        let chunks: Vec<Chunks> = self
            .columns
            .par_iter_mut()
            .map(|c| c.close(rows))
            .collect::<Result<_, _>>()
            .map_err(|e| self.error(e))?;
        let name = &self.name;
        let error = |source| OutputError::Parquet {
            name: name.clone(),
            source,
        };
        let mut group = self.file.next_row_group().map_err(error)?;
        for (bytes, close) in chunks.into_iter().flatten() {
            group.append_column(&bytes, *close).map_err(error)?;
        }
        group.close().map_err(error)?;
        self.groups += 1;
        self.group_rows = 0;
        self.group_open = false;
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
    use crate::model::{Cloud, ConnectionClass, Endpoint, FlagNames, LocalSite, Protocol};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;
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
    fn dual_addresses_are_16_bytes_in_network_order() {
        let mut w =
            ParquetWriter::with_writer(Vec::new(), "t".into(), Schema::Dual, &meta(&[])).unwrap();
        let mut f = flow("a");
        f.remote.ip = "2600:1f18::5".parse().unwrap();
        w.write_flows(&[f]).unwrap();
        let (bytes, _) = w.into_inner().unwrap();
        let batch = &batches(bytes)[0];
        let ips = |name: &str| {
            let col = batch.column_by_name(name).unwrap().as_fixed_size_binary();
            assert_eq!(col.value_length(), 16);
            (0..col.len())
                .map(|i| {
                    let octets: [u8; 16] = col.value(i).try_into().unwrap();
                    Ipv6Addr::from(octets).to_string()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(ips("localIP"), ["::ffff:10.244.1.11"; 2]);
        assert_eq!(ips("remoteIP"), ["2600:1f18::5"; 2]);
        assert_eq!(
            batch
                .column_by_name("remoteIP")
                .unwrap()
                .as_fixed_size_binary()
                .value(0)[..4],
            [0x26, 0x00, 0x1f, 0x18]
        );
    }

    /// The column's values as text, whatever arrow type the reader gives.
    fn column_text(batches: &[arrow::record_batch::RecordBatch], name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for batch in batches {
            let mut col = batch.column_by_name(name).unwrap().clone();
            if let DataType::Timestamp(unit, _) = col.data_type() {
                // Its number (text with a zone needs chrono-tz).
                assert_eq!(*unit, TimeUnit::Millisecond);
                col = arrow::compute::cast(&col, &DataType::Int64).unwrap();
            }
            if let DataType::FixedSizeBinary(16) = col.data_type() {
                // An IPv6 address (SPEC §7), shown as the CSV shows it.
                let b = col.as_fixed_size_binary();
                out.extend((0..b.len()).map(|i| {
                    let octets: [u8; 16] = b.value(i).try_into().unwrap();
                    Ipv6Addr::from(octets).to_string()
                }));
                continue;
            }
            let col = arrow::compute::cast(&col, &DataType::Utf8).unwrap();
            let col = col.as_string::<i32>();
            out.extend((0..col.len()).map(|i| col.value(i).to_string()));
        }
        out
    }

    /// Many rows (several row groups, dictionaries past 2^16 keys, counters
    /// past i64::MAX, time moving across intervals) read back as written,
    /// in both schemas.
    #[test]
    fn many_rows_read_back_as_written_in_both_schemas() {
        let n = 150_000usize;
        let pods: Vec<String> = (0..70_000)
            .map(|i| format!("pod-{i:05}-{}", "x".repeat(i % 40)))
            .collect();
        let apps = ["web", "", "db", "a-rather-long-application-name-for-a-test"];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let m = meta(&["CROSS_AZ", "NAT_GATEWAY", "NLB"]);
        let ids: Vec<FlagId> = ["CROSS_AZ", "NAT_GATEWAY", "NLB"]
            .iter()
            .map(|n| m.flag_names.id(n).unwrap())
            .collect();
        let flows: Vec<LabelledFlow<'_>> = (0..n)
            .map(|i| {
                let r = next();
                let mut f = LabelledFlow::new(
                    1_700_000_000 + (i as i64 / 1000) * 7,
                    if r % 3 == 0 {
                        Protocol::Udp
                    } else {
                        Protocol::Tcp
                    },
                    ConnectionClass::IntraVpc,
                    Endpoint {
                        pod: &pods[(r >> 8) as usize % pods.len()],
                        app: apps[(r >> 40) as usize % apps.len()],
                        ..Endpoint::bare(
                            IpAddr::V4(Ipv4Addr::from(0x0af4_0000 | (i as u32 % 300))),
                            (r >> 16) as u16,
                        )
                    },
                    Endpoint::bare(IpAddr::V4(Ipv4Addr::from(0x3400_0000 + i as u32)), 443),
                );
                f.out.bytes = if i % 1000 == 7 {
                    u64::MAX - i as u64
                } else {
                    r >> 30
                };
                f.out.packets = r % 5000;
                f.inbound.bytes = r >> 33;
                f.inbound.packets = (r >> 3) % 7;
                // Any subset of the flags, each true or false; long runs
                // without any (whole data pages of empty maps too).
                if !(40_000..110_000).contains(&i) {
                    for (j, id) in ids.iter().enumerate() {
                        match (r >> (50 + 2 * j)) & 3 {
                            0 => {}
                            1 => f.flags.set(*id, false),
                            _ => f.flags.set(*id, true),
                        }
                    }
                }
                f
            })
            .collect();
        for schema in [Schema::Upstream, Schema::Dual] {
            let mut w = ParquetWriter::with_writer(Vec::new(), "t".into(), schema, &m).unwrap();
            // Uneven calls, as the pipeline makes them.
            for part in flows.chunks(20_011) {
                w.write_flows(part).unwrap();
            }
            let (bytes, rows) = w.into_inner().unwrap();
            assert_eq!(rows, 2 * n as u64);
            let file = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.clone()))
                .unwrap();
            assert_eq!(
                file.metadata().num_row_groups(),
                (2 * n).div_ceil(ROW_GROUP_ROWS)
            );
            let b = batches(bytes);
            let rows2 = |v: Vec<String>| v;
            let want = |f: &dyn Fn(&LabelledFlow<'_>, usize) -> String| -> Vec<String> {
                flows.iter().flat_map(|fl| [f(fl, 0), f(fl, 1)]).collect()
            };
            assert_eq!(
                rows2(column_text(&b, "localPod")),
                want(&|f, _| f.local.pod.to_string())
            );
            assert_eq!(
                column_text(&b, "localApp"),
                want(&|f, _| f.local.app.to_string())
            );
            assert_eq!(
                column_text(&b, "proto"),
                want(&|f, _| f.proto.as_str().to_string())
            );
            assert_eq!(
                column_text(&b, "localPort"),
                want(&|f, _| f.local.port.to_string())
            );
            assert_eq!(
                column_text(&b, "remotePort"),
                want(&|_, _| "443".to_string())
            );
            assert_eq!(
                column_text(&b, "intervalSeconds"),
                want(&|_, _| "60".to_string())
            );
            assert_eq!(
                column_text(&b, "direction"),
                want(&|_, d| ["out", "in"][d].to_string())
            );
            assert_eq!(
                column_text(&b, "environment"),
                want(&|_, _| "production".to_string())
            );
            assert_eq!(
                column_text(&b, "remoteCluster"),
                want(&|_, _| "UNKNOWN".to_string())
            );
            assert_eq!(
                column_text(&b, "bytes"),
                want(&|f, d| [f.out.bytes, f.inbound.bytes][d].to_string())
            );
            assert_eq!(
                column_text(&b, "packets"),
                want(&|f, d| [f.out.packets, f.inbound.packets][d].to_string())
            );
            let (local, remote) = match schema {
                Schema::Upstream => ("localIPv4", "remoteIPv4"),
                Schema::Dual => ("localIP", "remoteIP"),
            };
            let ip = |ip: IpAddr| match (schema, ip) {
                (Schema::Dual, IpAddr::V4(v4)) => v4.to_ipv6_mapped().to_string(),
                _ => ip.to_string(),
            };
            assert_eq!(column_text(&b, local), want(&|f, _| ip(f.local.ip)));
            assert_eq!(column_text(&b, remote), want(&|f, _| ip(f.remote.ip)));
            let day = want(&|f, _| crate::output::cells::utc_text(f.observed_at, false));
            assert_eq!(column_text(&b, "date"), day);
            let start = want(&|f, _| ((f.observed_at - f.observed_at % 60) * 1000).to_string());
            assert_eq!(column_text(&b, "intervalStartTime"), start);
            let mut maps = Vec::new();
            for batch in &b {
                let map = batch.column_by_name("connectionFlags").unwrap().as_map();
                for i in 0..map.len() {
                    let e = map.value(i);
                    let (k, v) = (e.column(0).as_string::<i32>(), e.column(1).as_boolean());
                    maps.push(
                        (0..e.len())
                            .map(|j| format!("{}={}", k.value(j), v.value(j)))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                }
            }
            let want_maps = want(&|f, _| {
                f.flags
                    .iter()
                    .map(|(id, v)| format!("{}={v}", m.flag_names.name(id)))
                    .collect::<Vec<_>>()
                    .join(",")
            });
            assert!(want_maps.iter().any(|s| s.matches('=').count() == 3));
            assert_eq!(maps, want_maps);
        }
    }

    /// Issue 16: `intervalStartTime` is a Parquet TIMESTAMP adjusted to UTC
    /// (not a bare INT64 that only the embedded arrow schema calls a time),
    /// with chunk min/max statistics as numbers have.
    #[test]
    fn interval_start_is_a_utc_timestamp_in_the_parquet_schema() {
        use parquet::basic::{LogicalType, TimeUnit as PqUnit, Type as Physical};
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let mut w =
            ParquetWriter::with_writer(Vec::new(), "t".into(), Schema::Upstream, &meta(&[]))
                .unwrap();
        w.write_flows(&[flow("a"), flow("b")]).unwrap();
        let (bytes, _) = w.into_inner().unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let md = reader.metadata();
        let schema = md.file_metadata().schema_descr();
        let i = (0..schema.num_columns())
            .find(|&i| schema.column(i).name() == "intervalStartTime")
            .unwrap();
        let col = schema.column(i);
        assert_eq!(col.physical_type(), Physical::INT64);
        assert_eq!(
            col.logical_type_ref(),
            Some(&LogicalType::timestamp(true, PqUnit::MILLIS))
        );
        let stats = md.row_group(0).column(i).statistics().unwrap();
        let want = 1_699_999_980_000i64.to_le_bytes();
        assert_eq!(stats.min_bytes_opt(), Some(&want[..]));
        assert_eq!(stats.max_bytes_opt(), Some(&want[..]));
        let date = (0..schema.num_columns())
            .find(|&i| schema.column(i).name() == "date")
            .unwrap();
        assert_eq!(
            schema.column(date).logical_type_ref(),
            Some(&LogicalType::Date)
        );
    }
}
