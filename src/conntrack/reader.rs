//! Streaming: any `BufRead` → chunks of whole lines → parsed chunks.
//!
//! Chunks are independent (each knows its first line number), so a caller
//! can parse them in parallel and still report line numbers and keep input
//! order. Memory is bounded by the chunk size plus one line, and a line is
//! never kept past [`MAX_LINE_BYTES`].

use std::fmt;
use std::io::{self, BufRead};

use memchr::{memchr, memchr_iter, memrchr};

use super::error::ParseError;
use super::parse::{classify, Line};
use super::Flow;

/// Default chunk size: big enough to amortise per-chunk work, small enough
/// that threads × chunks stays a few MiB.
pub const DEFAULT_CHUNK_BYTES: usize = 1 << 20;
/// Longest line kept; longer lines are reported malformed and skipped
/// without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// How much of a malformed line is kept for the report.
const TEXT_PREVIEW: usize = 200;

/// Whole lines of input, starting at line `first_line` (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub first_line: u64,
    /// Whole lines, each ending in `\n` except possibly the input's last.
    pub data: Vec<u8>,
    /// A line over the length limit that directly follows `data`'s lines.
    /// It was skipped, not stored; only its start is kept.
    pub overlong: Option<Overlong>,
}

/// A line longer than the reader's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlong {
    pub line: u64,
    /// Full length in bytes (without the newline).
    pub len: u64,
    /// The limit it exceeded.
    pub limit: usize,
    /// The first bytes of the line.
    pub head: Vec<u8>,
}

/// `fill_buf`, retrying on `Interrupted`.
fn fill<R: BufRead>(r: &mut R) -> io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    r.fill_buf()
}

/// Splits a `BufRead` into [`Chunk`]s of whole lines.
pub struct ChunkReader<R: BufRead> {
    reader: R,
    chunk_bytes: usize,
    max_line: usize,
    next_line: u64,
    done: bool,
}

impl<R: BufRead> ChunkReader<R> {
    pub fn new(reader: R) -> Self {
        Self::with_chunk_bytes(reader, DEFAULT_CHUNK_BYTES)
    }

    pub fn with_chunk_bytes(reader: R, bytes: usize) -> Self {
        Self::with_limits(reader, bytes, MAX_LINE_BYTES)
    }

    /// `max_line`: lines longer than this are reported as [`Overlong`].
    pub fn with_limits(reader: R, chunk_bytes: usize, max_line: usize) -> Self {
        ChunkReader {
            reader,
            chunk_bytes: chunk_bytes.max(1),
            max_line: max_line.max(1),
            next_line: 1,
            done: false,
        }
    }

    fn read_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let first_line = self.next_line;
        let mut data: Vec<u8> = Vec::new();
        // Bytes of the current, unfinished line at the end of `data`.
        let mut partial = 0usize;
        let mut overlong = None;
        loop {
            let chunk_bytes = self.chunk_bytes;
            let max_line = self.max_line;
            let buf = fill(&mut self.reader)?;
            if buf.is_empty() {
                self.done = true;
                if partial > 0 {
                    // Last line without a newline.
                    self.next_line += 1;
                }
                break;
            }
            if partial == 0 {
                // At a line boundary: take as many whole lines as fit.
                let room = chunk_bytes.saturating_sub(data.len());
                let window = &buf[..buf.len().min(room)];
                if let Some(p) = memrchr(b'\n', window) {
                    let take = p + 1;
                    if data.is_empty() {
                        data.reserve(chunk_bytes.min(1 << 24) + 256);
                    }
                    data.extend_from_slice(&buf[..take]);
                    self.next_line += memchr_iter(b'\n', &buf[..take]).count() as u64;
                    self.reader.consume(take);
                    if data.len() >= chunk_bytes {
                        break;
                    }
                    continue;
                }
                if !data.is_empty() && buf.len() >= room {
                    // The next line does not fit in this chunk.
                    break;
                }
            }
            // Inside a line (or the buffer holds only part of one): append up
            // to its newline, watching the limit.
            match memchr(b'\n', buf) {
                Some(p) => {
                    if partial + p > max_line {
                        let head = take_head(&mut data, partial, &buf[..p]);
                        overlong = Some(Overlong {
                            line: self.next_line,
                            len: (partial + p) as u64,
                            limit: max_line,
                            head,
                        });
                        self.reader.consume(p + 1);
                        self.next_line += 1;
                        break;
                    }
                    data.extend_from_slice(&buf[..=p]);
                    self.reader.consume(p + 1);
                    self.next_line += 1;
                    partial = 0;
                    if data.len() >= chunk_bytes {
                        break;
                    }
                }
                None => {
                    let n = buf.len();
                    if partial + n > max_line {
                        let head = take_head(&mut data, partial, buf);
                        self.reader.consume(n);
                        let len = (partial + n) as u64 + self.skip_line()?;
                        overlong = Some(Overlong {
                            line: self.next_line,
                            len,
                            limit: max_line,
                            head,
                        });
                        self.next_line += 1;
                        break;
                    }
                    data.extend_from_slice(buf);
                    self.reader.consume(n);
                    partial += n;
                }
            }
        }
        if data.is_empty() && overlong.is_none() {
            return Ok(None);
        }
        Ok(Some(Chunk {
            first_line,
            data,
            overlong,
        }))
    }
}

/// Removes the partial line from `data` and returns its first bytes.
fn take_head(data: &mut Vec<u8>, partial: usize, more: &[u8]) -> Vec<u8> {
    let start = data.len() - partial;
    let mut head: Vec<u8> = data[start..].iter().take(TEXT_PREVIEW).copied().collect();
    if head.len() < TEXT_PREVIEW {
        let want = TEXT_PREVIEW - head.len();
        head.extend_from_slice(&more[..more.len().min(want)]);
    }
    data.truncate(start);
    head
}

impl<R: BufRead> ChunkReader<R> {
    /// Discards input up to and including the next newline; returns how many
    /// bytes of line were skipped.
    fn skip_line(&mut self) -> io::Result<u64> {
        let mut skipped = 0u64;
        loop {
            let buf = fill(&mut self.reader)?;
            if buf.is_empty() {
                self.done = true;
                return Ok(skipped);
            }
            match memchr(b'\n', buf) {
                Some(p) => {
                    self.reader.consume(p + 1);
                    return Ok(skipped + p as u64);
                }
                None => {
                    let n = buf.len();
                    self.reader.consume(n);
                    skipped += n as u64;
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for ChunkReader<R> {
    type Item = io::Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read_chunk() {
            Ok(Some(c)) => Some(Ok(c)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A line that is not a flow, blank or summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: u64,
    pub reason: ParseError,
    /// The line, lossy UTF-8, cut at 200 bytes.
    pub text: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.reason, self.text)
    }
}

/// The result of parsing one chunk, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedChunk {
    /// Every line of the chunk (flows, malformed, blank and summary).
    pub lines: u64,
    pub flows: Vec<Flow>,
    pub malformed: Vec<Malformed>,
    pub blank: u64,
    /// conntrack's `N flow entries have been shown.` lines and XML framing.
    pub summary: u64,
}

fn preview(line: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(&line[..line.len().min(TEXT_PREVIEW)]).into_owned();
    if line.len() > TEXT_PREVIEW {
        s.push('…');
    }
    s
}

/// Parses one chunk. Pure, so chunks can be parsed in parallel.
pub fn parse_chunk(chunk: &Chunk) -> ParsedChunk {
    let data = &chunk.data[..];
    let mut out = ParsedChunk {
        flows: Vec::with_capacity(data.len() / 160 + 1),
        ..ParsedChunk::default()
    };
    let mut line_no = chunk.first_line;
    let mut start = 0;
    while start < data.len() {
        let end = memchr(b'\n', &data[start..]).map_or(data.len(), |p| start + p);
        let line = &data[start..end];
        match classify(line, line_no) {
            Ok(Line::Flow(f)) => out.flows.push(f),
            Ok(Line::Blank) => out.blank += 1,
            Ok(Line::Summary) => out.summary += 1,
            Err(reason) => out.malformed.push(Malformed {
                line: line_no,
                reason,
                text: preview(line),
            }),
        }
        out.lines += 1;
        line_no += 1;
        start = end + 1;
    }
    if let Some(o) = &chunk.overlong {
        out.lines += 1;
        out.malformed.push(Malformed {
            line: o.line,
            reason: ParseError::LineTooLong(o.len, o.limit),
            text: preview(&o.head),
        });
    }
    out
}
