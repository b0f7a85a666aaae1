//! CSV rows (plain, gzip, zstd, stdin) → aggregate.
//!
//! The text is cut into blocks of whole records, which are parsed in
//! parallel into partial aggregates and merged in input order. A block
//! ends at a newline outside quotes: in RFC 4180 CSV every `"` toggles the
//! quoted state (a doubled `""` toggles it twice), so a newline is a record
//! boundary exactly when an even number of quotes precede it. Records are
//! parsed by `csv_core` into one reused buffer; nothing is allocated per
//! cell, and the time and flags cells are parsed once per distinct text.

use std::io::{self, BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memchr::{memchr, memchr_iter, memrchr};
use rayon::prelude::*;

use super::{col, parse_datetime, parse_flags, resolve_columns, Needed, Progress, ReadError};
use crate::io::{decompressed, is_stdio, IoError};
use crate::model::{ConnectionClass, Direction};
use crate::output::Schema;
use crate::report::agg::{Aggregate, Row};
use crate::report::sections::GroupBy;

/// Bytes per block; a window of a few blocks per thread is in memory.
const BLOCK_BYTES: usize = 8 << 20;

/// Counts the bytes read from the file, before any decompression; the
/// block reader hands the count to the progress observer.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub(super) fn read(
    path: &Path,
    name: &str,
    by: GroupBy,
    agg: &mut Aggregate,
    progress: &dyn Progress,
) -> Result<Schema, ReadError> {
    let raw: Box<dyn Read + Send> = if is_stdio(path) {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|source| IoError::Open {
            path: path.to_path_buf(),
            source,
        })?)
    };
    read_from(raw, path, name, by, agg, progress)
}

/// [`read`] of a reader already open (a file, stdin, bytes in memory);
/// `path` names it in I/O errors, `name` in the others.
pub(super) fn read_from(
    raw: Box<dyn Read + Send>,
    path: &Path,
    name: &str,
    by: GroupBy,
    agg: &mut Aggregate,
    progress: &dyn Progress,
) -> Result<Schema, ReadError> {
    let count = Arc::new(AtomicU64::new(0));
    let raw: Box<dyn Read + Send> = Box::new(Counting {
        inner: raw,
        count: count.clone(),
    });
    let reader = decompressed(raw, path)?;
    let read_err = |source| ReadError::Read {
        name: name.to_string(),
        source,
    };
    let mut blocks = Blocks {
        reader,
        carry: Vec::new(),
        done: false,
        progress,
        free: Vec::new(),
        count,
        size_hint: 0,
    };
    let header = blocks.header().map_err(read_err)?;
    if header.is_empty() {
        return Err(ReadError::Empty {
            name: name.to_string(),
        });
    }
    if header.starts_with(b"PAR1") {
        return Err(ReadError::ParquetStdin);
    }
    let names = split_header(&header);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (schema, needed) = resolve_columns(name, &names, by)?;
    let layout = Layout {
        needed,
        fields: names.len(),
    };
    // Line 1 is the header.
    let mut next_line = 2u64;
    let window = 2 * rayon::current_num_threads().max(1);
    let mut current = blocks.window(window).map_err(read_err)?;
    while !current.is_empty() {
        let (next, outs) = rayon::join(
            || blocks.window(window),
            || {
                current
                    .par_iter()
                    .map(|b| parse_block(b, &layout))
                    .collect::<Vec<_>>()
            },
        );
        for out in outs {
            if let Some((lines_before, message)) = out.error {
                return Err(ReadError::Record {
                    name: name.to_string(),
                    line: next_line + lines_before,
                    message,
                });
            }
            next_line += out.newlines;
            agg.merge(out.agg);
        }
        blocks.free.extend(current);
        current = next.map_err(read_err)?;
    }
    Ok(schema)
}

/// The header's names, unquoted.
fn split_header(line: &[u8]) -> Vec<String> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let mut rdr = csv_core::Reader::new();
    let mut out = vec![0u8; line.len() + 16];
    let mut ends = vec![0usize; line.len() + 2];
    let (_, _, mut nout, mut nend) = rdr.read_record(line, &mut out, &mut ends);
    // The end of input ends the last field.
    let (_, _, o, e) = rdr.read_record(&[], &mut out[nout..], &mut ends[nend..]);
    nout += o;
    nend += e;
    let mut names = Vec::with_capacity(nend);
    let mut start = 0;
    for &end in &ends[..nend] {
        names.push(String::from_utf8_lossy(&out[start..end.min(nout)]).into_owned());
        start = end;
    }
    names
}

/// Cuts the text into blocks of whole records.
struct Blocks<'p, R> {
    reader: R,
    /// The start of a record that did not fit in the previous block.
    carry: Vec<u8>,
    done: bool,
    progress: &'p dyn Progress,
    /// Buffers of blocks already parsed, for the next blocks (no page
    /// faults for fresh memory).
    free: Vec<Vec<u8>>,
    /// Bytes read from the file so far, not yet reported.
    count: Arc<AtomicU64>,
    size_hint: usize,
}

impl<R: BufRead> Blocks<'_, R> {
    /// The first line (the header has no quoted newlines).
    fn header(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        self.report();
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(line)
    }

    fn report(&self) {
        let n = self.count.swap(0, Ordering::Relaxed);
        if n > 0 {
            self.progress.advance(n);
        }
    }

    fn window(&mut self, n: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.block()? {
                Some(b) => out.push(b),
                None => break,
            }
        }
        Ok(out)
    }

    fn block(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.done && self.carry.is_empty() {
            return Ok(None);
        }
        let mut data = self.free.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(&self.carry);
        self.carry.clear();
        let mut want = BLOCK_BYTES.max(self.size_hint);
        data.reserve(want.saturating_sub(data.len()) + 64 * 1024);
        loop {
            while !self.done && data.len() < want {
                let buf = match self.reader.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if buf.is_empty() {
                    self.done = true;
                    break;
                }
                let take = buf.len().min(want - data.len());
                data.extend_from_slice(&buf[..take]);
                self.reader.consume(take);
                self.report();
            }
            if self.done {
                return Ok((!data.is_empty()).then_some(data));
            }
            if let Some(cut) = record_boundary(&data) {
                self.carry.extend_from_slice(&data[cut..]);
                data.truncate(cut);
                return Ok(Some(data));
            }
            // One record longer than the block: read on.
            want *= 2;
            self.size_hint = want;
        }
    }
}

/// Just past the last newline with an even number of quotes before it.
fn record_boundary(data: &[u8]) -> Option<usize> {
    let total = memchr_iter(b'"', data).count();
    let mut end = data.len();
    let mut after = 0usize; // quotes after the candidate newline
    while let Some(nl) = memrchr(b'\n', &data[..end]) {
        after += memchr_iter(b'"', &data[nl + 1..end]).count();
        if (total - after).is_multiple_of(2) {
            return Some(nl + 1);
        }
        end = nl;
    }
    None
}

const NOT_UTF8: &str = "the record is not UTF-8 text";

struct Layout {
    needed: Needed,
    fields: usize,
}

struct BlockOut {
    agg: Aggregate,
    newlines: u64,
    /// Newlines before the bad record, and what is wrong with it.
    error: Option<(u64, String)>,
}

/// The last text of a cell and what it parsed to.
struct Cached<T> {
    text: Vec<u8>,
    value: Option<T>,
}

impl<T: Copy> Cached<T> {
    fn new() -> Self {
        Cached {
            text: Vec::new(),
            value: None,
        }
    }

    #[inline]
    fn get(
        &mut self,
        text: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, String> {
        if let Some(v) = self.value {
            if self.text == text {
                return Ok(v);
            }
        }
        let v = parse(text)?;
        self.text.clear();
        self.text.extend_from_slice(text);
        self.value = Some(v);
        Ok(v)
    }
}

/// Splits a line of unquoted cells, or of cells quoted without `""` or
/// newlines inside (all ours but the rarest), into field spans. `false`
/// sends the record to `csv_core`.
#[inline]
fn split_fast(line: &[u8], spans: &mut Vec<(usize, usize)>) -> bool {
    spans.clear();
    let n = line.len();
    let mut i = 0;
    loop {
        if i < n && line[i] == b'"' {
            let Some(p) = memchr(b'"', &line[i + 1..]) else {
                return false; // a quoted newline: the record goes on
            };
            let close = i + 1 + p;
            spans.push((i + 1, close));
            i = close + 1;
            if i == n {
                return true;
            }
            if line[i] != b',' {
                return false; // `""` inside, or text after the quote
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < n {
            match line[i] {
                b',' => break,
                b'"' => return false,
                _ => i += 1,
            }
        }
        spans.push((start, i));
        if i == n {
            return true;
        }
        i += 1;
    }
}

fn parse_block(block: &[u8], layout: &Layout) -> BlockOut {
    let mut agg = Aggregate::default();
    // Newlines seen (a line without one ends only the input).
    let mut lines = 0u64;
    let mut rdr = csv_core::Reader::new();
    let mut out = vec![0u8; 4096];
    let mut ends = vec![0usize; layout.fields + 1];
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(layout.fields + 1);
    let mut times = Cached::new();
    let mut flags = Cached::new();
    let fail = |at: usize, message: String| BlockOut {
        agg: Aggregate::default(),
        newlines: 0,
        error: Some((memchr_iter(b'\n', &block[..at]).count() as u64, message)),
    };
    let mut pos = 0usize;
    while pos < block.len() {
        let nl = memchr(b'\n', &block[pos..]).map_or(block.len(), |p| pos + p);
        let mut line = &block[pos..nl];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            lines += u64::from(nl < block.len());
            pos = nl + 1;
            continue;
        }
        if split_fast(line, &mut spans) {
            // Checked once per line; cells are cut at ASCII commas and quotes.
            let Ok(text) = std::str::from_utf8(line) else {
                return fail(pos, NOT_UTF8.into());
            };
            let cell = |i: usize| {
                let (a, b) = spans[i];
                &text[a..b]
            };
            if let Err(m) = record(cell, spans.len(), layout, &mut times, &mut flags, &mut agg) {
                return fail(pos, m);
            }
            lines += u64::from(nl < block.len());
            pos = nl + 1;
            continue;
        }
        // The general parser, for one record (it may span lines).
        let start = pos;
        let (mut nout, mut nend) = (0usize, 0usize);
        loop {
            let (res, nin, o, e) =
                rdr.read_record(&block[pos..], &mut out[nout..], &mut ends[nend..]);
            pos += nin;
            nout += o;
            nend += e;
            match res {
                csv_core::ReadRecordResult::InputEmpty if pos >= block.len() => {
                    // The end of the block ends the record.
                    let (_, _, o, e) = rdr.read_record(&[], &mut out[nout..], &mut ends[nend..]);
                    nout += o;
                    nend += e;
                    break;
                }
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => out.resize(out.len() * 2, 0),
                csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        rdr.reset();
        lines += memchr_iter(b'\n', &block[start..pos]).count() as u64;
        let Ok(text) = std::str::from_utf8(&out[..nout]) else {
            return fail(start, NOT_UTF8.into());
        };
        let ends = &ends[..nend];
        let cell = |i: usize| {
            let a = if i == 0 { 0 } else { ends[i - 1] };
            &text[a..ends[i]]
        };
        if nend > 0 {
            if let Err(m) = record(cell, nend, layout, &mut times, &mut flags, &mut agg) {
                return fail(start, m);
            }
        }
    }
    let newlines = lines;
    BlockOut {
        agg,
        newlines,
        error: None,
    }
}

fn record<'a>(
    cell: impl Fn(usize) -> &'a str,
    count: usize,
    layout: &Layout,
    times: &mut Cached<i64>,
    flags: &mut Cached<(Option<bool>, bool)>,
    agg: &mut Aggregate,
) -> Result<(), String> {
    if count != layout.fields {
        return Err(format!(
            "{count} fields, but the header has {}",
            layout.fields
        ));
    }
    let text = |i: usize| -> Result<&'a str, String> { Ok(cell(i)) };
    let field = |i: usize| cell(i).as_bytes();
    let at = &layout.needed.at;
    let interval_start = times.get(field(at[col::TIME]), |t| {
        parse_datetime(t).ok_or_else(|| {
            format!(
                "intervalStartTime {:?} is not YYYY-MM-DD HH:MM:SS",
                String::from_utf8_lossy(t)
            )
        })
    })?;
    let (cross_az, nat_gateway) = flags.get(field(at[col::FLAGS]), parse_flags)?;
    let row = Row {
        interval_start,
        class: parse_class(field(at[col::CLASS]))?,
        direction: parse_direction(field(at[col::DIRECTION]))?,
        cross_az,
        nat_gateway,
        local_cloud: text(at[col::LOCAL_CLOUD])?,
        local_region: text(at[col::LOCAL_REGION])?,
        local_zone: text(at[col::LOCAL_ZONE])?,
        remote_zone: text(at[col::REMOTE_ZONE])?,
        group: text(layout.needed.group)?,
        local_app: text(at[col::LOCAL_APP])?,
        remote_app: text(at[col::REMOTE_APP])?,
        remote_cloud: text(at[col::REMOTE_CLOUD])?,
        remote_region: text(at[col::REMOTE_REGION])?,
        remote_service: text(at[col::REMOTE_SERVICE])?,
        bytes: parse_u64(field(at[col::BYTES])).ok_or_else(|| {
            format!(
                "bytes {:?} is not a count",
                String::from_utf8_lossy(field(at[col::BYTES]))
            )
        })?,
    };
    agg.add(&row);
    Ok(())
}

pub(crate) fn parse_class(t: &[u8]) -> Result<ConnectionClass, String> {
    ConnectionClass::ALL
        .into_iter()
        .find(|c| c.as_str().as_bytes() == t)
        .ok_or_else(|| {
            format!(
                "connectionClass {:?} is none of INTRA_VPC, INTRA_REGION, INTER_REGION, \
                 PUBLIC_INTERNET",
                String::from_utf8_lossy(t)
            )
        })
}

pub(crate) fn parse_direction(t: &[u8]) -> Result<Direction, String> {
    match t {
        b"out" => Ok(Direction::Out),
        b"in" => Ok(Direction::In),
        _ => Err(format!(
            "direction {:?} is neither out nor in",
            String::from_utf8_lossy(t)
        )),
    }
}

fn parse_u64(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in t {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_skip_newlines_inside_quotes() {
        assert_eq!(record_boundary(b"a,b\nc,d\ne"), Some(8));
        // the last newline is inside a quoted cell: cut before that record
        assert_eq!(record_boundary(b"a,b\nc,\"x\ny"), Some(4));
        // doubled quotes do not change the state
        assert_eq!(record_boundary(b"a,\"\"\"q\"\"\"\nb"), Some(10));
        assert_eq!(record_boundary(b"no newline"), None);
        assert_eq!(record_boundary(b"\"open\nquote"), None);
    }

    #[test]
    fn fast_split_and_its_limits() {
        let mut spans = Vec::new();
        let cells = |line: &[u8], spans: &Vec<(usize, usize)>| -> Vec<String> {
            spans
                .iter()
                .map(|&(a, b)| String::from_utf8_lossy(&line[a..b]).into_owned())
                .collect()
        };
        let line = b"a,,\"{'X':true,'Y':false}\",d";
        assert!(split_fast(line, &mut spans));
        assert_eq!(cells(line, &spans), ["a", "", "{'X':true,'Y':false}", "d"]);
        assert!(split_fast(b"", &mut spans));
        assert_eq!(spans.len(), 1);
        assert!(split_fast(b"a,", &mut spans));
        assert_eq!(spans.len(), 2);
        // left to csv_core: doubled quotes, a quote inside a cell, an open quote
        assert!(!split_fast(b"a,\"say \"\"hi\"\"\",b", &mut spans));
        assert!(!split_fast(b"a,b\"c", &mut spans));
        assert!(!split_fast(b"a,\"two", &mut spans));
    }

    #[test]
    fn counts() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"1.5"), None);
    }
}
