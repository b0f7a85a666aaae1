//! CSV for ClickHouse `FORMAT CSVWithNames`.
//!
//! The two rows of a flow differ only in `direction`, `bytes` and `packets`
//! (the `Scope::Row` columns), so each flow's other cells are rendered once
//! into a scratch line and copied into both rows. Per-run cells are rendered
//! when the sink is created and the time cells once per distinct day and
//! interval; nothing is allocated per row.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::Path;

use flate2::write::GzEncoder;

use super::schema::{Field, Kind, Scope, COLUMNS};
use super::{
    flow_ipv4, flow_port, flow_text, run_text, utc_text, Compression, OutputError, Sink, TimeBucket,
};
use crate::io::{is_stdio, AtomicFile};
use crate::model::{Direction, LabelledFlow, RunMeta};

/// Bytes buffered before a write to the file or compressor.
const FLUSH_AT: usize = 1 << 20;

enum Target {
    Stdout(io::Stdout),
    Plain(AtomicFile),
    Gzip(GzEncoder<AtomicFile>),
    Zstd(zstd::stream::write::Encoder<'static, AtomicFile>),
}

impl Target {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Target::Stdout(w) => w.write_all(buf),
            Target::Plain(w) => w.write_all(buf),
            Target::Gzip(w) => w.write_all(buf),
            Target::Zstd(w) => w.write_all(buf),
        }
    }

    /// Ends any compressed stream; returns the file still to be committed.
    fn finish(self) -> io::Result<Option<AtomicFile>> {
        match self {
            Target::Stdout(mut w) => w.flush().map(|()| None),
            Target::Plain(w) => Ok(Some(w)),
            Target::Gzip(w) => w.finish().map(Some),
            Target::Zstd(w) => w.finish().map(Some),
        }
    }
}

/// CSV sink; see the module documentation.
pub struct CsvSink {
    target: Target,
    /// For messages: the target path, or `<stdout>`.
    name: String,
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
    quoter: csv_core::Writer,
    rows: u64,
}

impl CsvSink {
    pub(crate) fn create(
        path: &Path,
        compression: Compression,
        meta: &RunMeta,
    ) -> Result<CsvSink, OutputError> {
        let (target, name) = if is_stdio(path) {
            (Target::Stdout(io::stdout()), "<stdout>".to_string())
        } else {
            let file = AtomicFile::create(path)?;
            let target = match compression {
                Compression::None => Target::Plain(file),
                Compression::Gzip => {
                    Target::Gzip(GzEncoder::new(file, flate2::Compression::default()))
                }
                Compression::Zstd => {
                    Target::Zstd(zstd::stream::write::Encoder::new(file, 0).map_err(|e| {
                        OutputError::Write {
                            path: path.display().to_string(),
                            message: format!("cannot start zstd compression: {e}"),
                        }
                    })?)
                }
            };
            (target, path.display().to_string())
        };
        let quoter = csv_core::WriterBuilder::new()
            .quote_style(csv_core::QuoteStyle::Necessary)
            .build();
        let mut run_cells = Vec::with_capacity(COLUMNS.len());
        for c in COLUMNS {
            let mut cell = Vec::new();
            if c.scope == Scope::Run {
                match c.kind {
                    Kind::UInt16 => push_int(&mut cell, meta.interval_seconds),
                    Kind::Flags => cell.extend_from_slice(b"{}"),
                    _ => push_text(&mut cell, run_text(c.field, meta).as_bytes(), &quoter),
                }
            }
            run_cells.push(cell);
        }
        let mut sink = CsvSink {
            target,
            name,
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
            quoter,
            rows: 0,
        };
        for (i, c) in COLUMNS.iter().enumerate() {
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
            path: self.name.clone(),
            message,
        }
    }

    fn write_error(&self, e: io::Error) -> OutputError {
        OutputError::Write {
            path: self.name.clone(),
            message: e.to_string(),
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

    /// Renders the cells both rows of `flow` share into `self.line`.
    fn render_shared(&mut self, flow: &LabelledFlow<'_>) -> Result<(), String> {
        if self.last_observed != Some(flow.observed_at) {
            self.update_times(flow.observed_at)?;
        }
        let line = &mut self.line;
        line.clear();
        self.holes.clear();
        for (i, c) in COLUMNS.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            match c.scope {
                Scope::Run => line.extend_from_slice(&self.run_cells[i]),
                Scope::Row => self.holes.push((line.len(), c.field)),
                Scope::Flow => match c.kind {
                    Kind::Date => line.extend_from_slice(&self.day_text),
                    Kind::DateTime => line.extend_from_slice(&self.interval_text),
                    Kind::Ipv4 => push_ipv4(line, flow_ipv4(c.field, flow)?),
                    Kind::UInt16 => push_int(line, flow_port(c.field, flow)),
                    _ => push_text(line, flow_text(c.field, flow).as_bytes(), &self.quoter),
                },
            }
        }
        Ok(())
    }

    fn push_row(&mut self, direction: Direction, flow: &LabelledFlow<'_>) {
        let counters = match direction {
            Direction::Out => flow.out,
            Direction::In => flow.inbound,
        };
        let mut start = 0;
        for &(at, field) in &self.holes {
            self.out.extend_from_slice(&self.line[start..at]);
            match field {
                Field::Direction => self.out.extend_from_slice(direction.as_str().as_bytes()),
                Field::Bytes => push_int(&mut self.out, counters.bytes),
                _ => push_int(&mut self.out, counters.packets),
            }
            start = at;
        }
        self.out.extend_from_slice(&self.line[start..]);
        self.out.push(b'\n');
    }

    fn flush_out(&mut self) -> Result<(), OutputError> {
        if let Err(e) = self.target.write_all(&self.out) {
            return Err(self.write_error(e));
        }
        self.out.clear();
        Ok(())
    }
}

impl Sink for CsvSink {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        for flow in flows {
            if let Err(message) = self.render_shared(flow) {
                return Err(self.value_error(message));
            }
            self.push_row(Direction::Out, flow);
            self.push_row(Direction::In, flow);
            self.rows += 2;
            if self.out.len() >= FLUSH_AT {
                self.flush_out()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64, OutputError> {
        self.flush_out()?;
        let CsvSink {
            target, name, rows, ..
        } = *self;
        let file = target.finish().map_err(|e| OutputError::Write {
            path: name,
            message: e.to_string(),
        })?;
        if let Some(file) = file {
            file.commit_unsynced()?;
        }
        Ok(rows)
    }
}

/// Appends a text cell, quoted by the csv crate's rules when it needs it.
/// ClickHouse also trims unquoted leading/trailing blanks and reads `\N` and
/// a leading `'` specially, so those cells are quoted too.
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

    #[test]
    fn ipv4_and_integers() {
        let mut out = Vec::new();
        push_ipv4(&mut out, Ipv4Addr::new(10, 244, 1, 0));
        out.push(b' ');
        push_int(&mut out, u64::MAX);
        assert_eq!(out, b"10.244.1.0 18446744073709551615");
    }
}
