//! CSV for ClickHouse `FORMAT CSVWithNames`, to any `Write`.
//!
//! The two rows of a flow differ only in `direction`, `bytes` and `packets`
//! (the `Scope::Row` columns), so each flow's other cells are rendered once
//! into a scratch line and copied into both rows. Per-run cells are rendered
//! when the sink is created and the time cells once per distinct day and
//! interval; nothing is allocated per row.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use flate2::write::GzEncoder;

use super::cells::{
    flow_ipv4, flow_ipv6, flow_port, flow_text, row_counters, run_text, utc_text, ROW_DIRECTIONS,
};
use super::schema::{Field, IpType, Schema, Scope};
use super::{Compression, Destination, Finished, OutputError, Sink, TimeBucket};
use crate::model::{Direction, FlagNames, FlagSet, LabelledFlow, RunMeta};

/// Bytes buffered before a write to the destination or compressor.
const FLUSH_AT: usize = 1 << 20;

/// The CSV text, optionally compressed, on its way to `W`.
enum Encoder<W: Write> {
    Plain(W),
    Gzip(GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(w: W, compression: Compression) -> io::Result<Encoder<W>> {
        Ok(match compression {
            Compression::None => Encoder::Plain(w),
            Compression::Gzip => Encoder::Gzip(GzEncoder::new(w, flate2::Compression::default())),
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(w, 0)?),
        })
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.write_all(buf),
            Encoder::Gzip(w) => w.write_all(buf),
            Encoder::Zstd(w) => w.write_all(buf),
        }
    }

    /// Ends any compressed stream and hands back the destination.
    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(w) => w.finish(),
            Encoder::Zstd(w) => w.finish(),
        }
    }
}

/// CSV writer; see the module documentation.
pub struct CsvWriter<W: Write> {
    encoder: Encoder<W>,
    /// For messages: the destination's name.
    name: String,
    schema: Schema,
    out: Vec<u8>,
    /// The current flow's row with the `Scope::Row` cells left out ...
    line: Vec<u8>,
    /// ... and where they go.
    holes: Vec<(usize, Field)>,
    /// Pre-rendered cells of the `Scope::Run` columns, by column index.
    run_cells: Vec<Vec<u8>>,
    interval_seconds: u16,
    last_observed: Option<i64>,
    day: Option<i32>,
    day_text: Vec<u8>,
    interval: Option<i64>,
    interval_text: Vec<u8>,
    flag_names: FlagNames,
    /// Rendered `connectionFlags` cells of the flag sets seen so far (a
    /// run has a handful), and the one of the previous flow: flows switch
    /// between them without rendering or allocating.
    flag_cells: Vec<(FlagSet, Vec<u8>)>,
    flags_at: usize,
    quoter: csv_core::Writer,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    /// Writes the header at once; `name` is for messages.
    pub fn with_writer(
        w: W,
        name: String,
        compression: Compression,
        schema: Schema,
        meta: &RunMeta,
    ) -> Result<CsvWriter<W>, OutputError> {
        let encoder = Encoder::new(w, compression).map_err(|source| OutputError::Write {
            name: name.clone(),
            source,
        })?;
        let quoter = csv_core::WriterBuilder::new()
            .quote_style(csv_core::QuoteStyle::Necessary)
            .build();
        let columns = schema.columns();
        let mut run_cells = Vec::with_capacity(columns.len());
        for c in columns {
            let mut cell = Vec::new();
            match c.field {
                Field::IntervalSeconds => push_int(&mut cell, meta.interval_seconds),
                Field::Run(t) => push_text(&mut cell, run_text(t, meta).as_bytes(), &quoter),
                Field::Date
                | Field::IntervalStartTime
                | Field::Text(_)
                | Field::ConnectionFlags
                | Field::Direction
                | Field::Ip(..)
                | Field::Port(_)
                | Field::Bytes
                | Field::Packets => debug_assert_ne!(c.scope(), Scope::Run),
            }
            run_cells.push(cell);
        }
        let mut sink = CsvWriter {
            encoder,
            name,
            schema,
            out: Vec::with_capacity(FLUSH_AT + 4096),
            line: Vec::with_capacity(1024),
            holes: Vec::with_capacity(4),
            run_cells,
            interval_seconds: meta.interval_seconds,
            last_observed: None,
            day: None,
            day_text: Vec::new(),
            interval: None,
            interval_text: Vec::new(),
            flag_names: meta.flag_names.clone(),
            flag_cells: vec![(FlagSet::EMPTY, b"{}".to_vec())],
            flags_at: 0,
            quoter,
            rows: 0,
        };
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                sink.out.push(b',');
            }
            push_text(&mut sink.out, c.name.as_bytes(), &sink.quoter);
        }
        sink.out.push(b'\n');
        Ok(sink)
    }

    fn value_error(&self, message: String) -> OutputError {
        OutputError::Value {
            name: self.name.clone(),
            message,
        }
    }

    fn update_times(&mut self, observed_at: i64) -> Result<(), String> {
        let bucket = TimeBucket::of(observed_at, self.interval_seconds)?;
        if self.day != Some(bucket.day) {
            self.day = Some(bucket.day);
            self.day_text = utc_text(i64::from(bucket.day) * 86_400, false).into_bytes();
        }
        if self.interval != Some(bucket.interval_start) {
            self.interval = Some(bucket.interval_start);
            self.interval_text = utc_text(bucket.interval_start, true).into_bytes();
        }
        self.last_observed = Some(observed_at);
        Ok(())
    }

    /// Points `flags_at` at the `connectionFlags` cell of `flags`:
    /// `{}` or `{'A':true,'B':false}`, quoted; rendered the first time.
    fn update_flags(&mut self, flags: FlagSet) {
        if let Some(i) = self.flag_cells.iter().position(|(f, _)| *f == flags) {
            self.flags_at = i;
            return;
        }
        let mut map = String::from("{");
        for (i, (id, value)) in flags.iter().enumerate() {
            if i > 0 {
                map.push(',');
            }
            map.push('\'');
            map.push_str(self.flag_names.name(id));
            map.push_str(if value { "':true" } else { "':false" });
        }
        map.push('}');
        let mut cell = Vec::with_capacity(map.len() + 2);
        push_text(&mut cell, map.as_bytes(), &self.quoter);
        // Bounded: many user flags could make many distinct sets.
        if self.flag_cells.len() >= MAX_FLAG_CELLS {
            self.flag_cells.truncate(1);
        }
        self.flag_cells.push((flags, cell));
        self.flags_at = self.flag_cells.len() - 1;
    }

    /// Renders the cells both rows of `flow` share into `self.line`.
    fn render_shared(&mut self, flow: &LabelledFlow<'_>) -> Result<(), String> {
        if self.last_observed != Some(flow.observed_at) {
            self.update_times(flow.observed_at)?;
        }
        if self.flag_cells[self.flags_at].0 != flow.flags {
            self.update_flags(flow.flags);
        }
        let line = &mut self.line;
        line.clear();
        self.holes.clear();
        for (i, c) in self.schema.columns().iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            match c.field {
                Field::IntervalSeconds | Field::Run(_) => {
                    line.extend_from_slice(&self.run_cells[i])
                }
                Field::Direction | Field::Bytes | Field::Packets => {
                    self.holes.push((line.len(), c.field))
                }
                Field::Date => line.extend_from_slice(&self.day_text),
                Field::IntervalStartTime => line.extend_from_slice(&self.interval_text),
                Field::ConnectionFlags => line.extend_from_slice(&self.flag_cells[self.flags_at].1),
                Field::Ip(side, IpType::V4) => push_ipv4(line, flow_ipv4(side, flow)?),
                Field::Ip(side, IpType::V6) => push_ipv6(line, flow_ipv6(side, flow)),
                Field::Port(side) => push_int(line, flow_port(side, flow)),
                Field::Text(t) => push_text(line, flow_text(t, flow).as_bytes(), &self.quoter),
            }
        }
        Ok(())
    }

    fn push_row(&mut self, direction: Direction, flow: &LabelledFlow<'_>) {
        let counters = row_counters(direction, flow);
        let mut start = 0;
        for &(at, field) in &self.holes {
            self.out.extend_from_slice(&self.line[start..at]);
            match field {
                Field::Direction => self.out.extend_from_slice(direction.as_str().as_bytes()),
                Field::Bytes => push_int(&mut self.out, counters.bytes),
                Field::Packets => push_int(&mut self.out, counters.packets),
                Field::Date
                | Field::IntervalStartTime
                | Field::IntervalSeconds
                | Field::Run(_)
                | Field::Text(_)
                | Field::ConnectionFlags
                | Field::Ip(..)
                | Field::Port(_) => unreachable!("only row-scoped columns are holes"),
            }
            start = at;
        }
        self.out.extend_from_slice(&self.line[start..]);
        self.out.push(b'\n');
    }

    fn flush_out(&mut self) -> Result<(), OutputError> {
        if let Err(source) = self.encoder.write_all(&self.out) {
            return Err(OutputError::Write {
                name: self.name.clone(),
                source,
            });
        }
        self.out.clear();
        Ok(())
    }

    /// Appends two rows per flow.
    pub fn write_flows(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        for flow in flows {
            if let Err(message) = self.render_shared(flow) {
                return Err(self.value_error(message));
            }
            for direction in ROW_DIRECTIONS {
                self.push_row(direction, flow);
            }
            self.rows += 2;
            if self.out.len() >= FLUSH_AT {
                self.flush_out()?;
            }
        }
        Ok(())
    }

    /// Flushes and ends any compression; returns the writer and the rows written.
    pub fn into_inner(mut self) -> Result<(W, u64), OutputError> {
        self.flush_out()?;
        let CsvWriter {
            encoder,
            name,
            rows,
            ..
        } = self;
        let w = encoder
            .finish()
            .map_err(|source| OutputError::Write { name, source })?;
        Ok((w, rows))
    }
}

impl CsvWriter<Destination> {
    pub fn new(
        dest: Destination,
        compression: Compression,
        schema: Schema,
        meta: &RunMeta,
    ) -> Result<Self, OutputError> {
        let name = dest.name();
        CsvWriter::with_writer(dest, name, compression, schema, meta)
    }
}

impl Sink for CsvWriter<Destination> {
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

/// Appends a text cell, quoted by the csv crate's rules when it needs it.
/// ClickHouse also trims unquoted leading/trailing blanks and reads `\N` and
/// a leading `'` specially, so those cells are quoted too.
/// Distinct `connectionFlags` cells a CSV writer keeps rendered.
const MAX_FLAG_CELLS: usize = 32;

fn push_text(out: &mut Vec<u8>, s: &[u8], quoter: &csv_core::Writer) {
    let quote = quoter.should_quote(s)
        || matches!(s.first(), Some(b' ' | b'\t' | b'\''))
        || matches!(s.last(), Some(b' ' | b'\t'))
        || s.contains(&b'\\');
    if !quote {
        out.extend_from_slice(s);
        return;
    }
    out.push(b'"');
    let start = out.len();
    out.resize(start + 2 * s.len(), 0);
    let (_, _, written) = csv_core::quote(s, &mut out[start..], b'"', b'\\', true);
    out.truncate(start + written);
    out.push(b'"');
}

fn push_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
}

/// `::ffff:a.b.c.d` for IPv4-mapped addresses, as ClickHouse prints them;
/// RFC 5952 text otherwise.
fn push_ipv6(out: &mut Vec<u8>, ip: Ipv6Addr) {
    match ip.to_ipv4_mapped() {
        Some(v4) => {
            out.extend_from_slice(b"::ffff:");
            push_ipv4(out, v4);
        }
        None => {
            use std::io::Write as _;
            let _ = write!(out, "{ip}");
        }
    }
}

fn push_ipv4(out: &mut Vec<u8>, ip: Ipv4Addr) {
    let [a, b, c, d] = ip.octets();
    push_int(out, a);
    out.push(b'.');
    push_int(out, b);
    out.push(b'.');
    push_int(out, c);
    out.push(b'.');
    push_int(out, d);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        let q = csv_core::WriterBuilder::new().build();
        let mut out = Vec::new();
        push_text(&mut out, s.as_bytes(), &q);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_text_is_not_quoted() {
        assert_eq!(text("kube-system"), "kube-system");
        assert_eq!(text(""), "");
    }

    #[test]
    fn special_text_is_quoted_and_round_trips() {
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("two\nlines"), "\"two\nlines\"");
        assert_eq!(text(" padded "), "\" padded \"");
        assert_eq!(text("'quoted'"), "\"'quoted'\"");
        assert_eq!(text("\\N"), "\"\\N\"");
        for s in ["a,b", "say \"hi\"", "two\nlines", " padded ", "\\N"] {
            let line = format!("{}\n", text(s));
            let mut r = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let rec = r.records().next().unwrap().unwrap();
            assert_eq!(&rec[0], s);
        }
    }

    /// SPEC §6.3: `{}` or `{'A':true,'B':false}`, keys in byte order, the
    /// same cell on both rows, right after any other set (cells are cached).
    #[test]
    fn flag_cells_follow_each_flows_flags() {
        use crate::model::{Cloud, ConnectionClass, Endpoint, LocalSite, Protocol};
        let names = FlagNames::new(["NLB".to_string(), "CROSS_AZ".into(), "A".into()]).unwrap();
        let meta = RunMeta {
            environment: String::new(),
            local: LocalSite {
                cloud: Cloud::Aws,
                region: "us-east-1".into(),
            },
            cluster: String::new(),
            interval_seconds: 60,
            flag_names: names.clone(),
        };
        let ip = std::net::IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let base = LabelledFlow::new(
            1_700_000_000,
            Protocol::Tcp,
            ConnectionClass::IntraVpc,
            Endpoint::bare(ip, 1),
            Endpoint::bare(ip, 2),
        );
        let with = |set: &[(&str, bool)]| {
            let mut f = base;
            for (n, v) in set {
                f.flags.set(names.id(n).unwrap(), *v);
            }
            f
        };
        let flows = [
            with(&[]),
            with(&[("CROSS_AZ", true)]),
            with(&[("NLB", true), ("CROSS_AZ", false), ("A", true)]),
            with(&[("CROSS_AZ", true)]),
            with(&[]),
            with(&[("CROSS_AZ", false)]),
        ];
        let mut w = CsvWriter::with_writer(
            Vec::new(),
            "t".into(),
            Compression::None,
            Schema::Upstream,
            &meta,
        )
        .unwrap();
        w.write_flows(&flows).unwrap();
        let (bytes, rows) = w.into_inner().unwrap();
        assert_eq!(rows, 12);
        let mut r = ::csv::Reader::from_reader(bytes.as_slice());
        let col = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "connectionFlags")
            .unwrap();
        let cells: Vec<String> = r
            .records()
            .map(|rec| rec.unwrap()[col].to_string())
            .collect();
        let want = [
            "{}",
            "{'CROSS_AZ':true}",
            "{'A':true,'CROSS_AZ':false,'NLB':true}",
            "{'CROSS_AZ':true}",
            "{}",
            "{'CROSS_AZ':false}",
        ];
        let want: Vec<&str> = want.iter().flat_map(|c| [*c, *c]).collect();
        assert_eq!(cells, want);
        // The map with commas is quoted in the file.
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains(",\"{'A':true,'CROSS_AZ':false,'NLB':true}\","),
            "{text}"
        );
    }

    #[test]
    fn ipv4_and_integers() {
        let mut out = Vec::new();
        push_ipv4(&mut out, Ipv4Addr::new(10, 244, 1, 0));
        out.push(b' ');
        push_int(&mut out, u64::MAX);
        assert_eq!(out, b"10.244.1.0 18446744073709551615");
    }
}
