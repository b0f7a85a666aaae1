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
use super::fast::parse_common_with;
use super::line::{classify_with, trim_line, Line};
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
    /// Start of a line that did not fit in the previous chunk.
    carry: Vec<u8>,
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
            carry: Vec::new(),
        }
    }

    fn read_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let first_line = self.next_line;
        let mut data: Vec<u8> = std::mem::take(&mut self.carry);
        // Bytes of the current, unfinished line at the end of `data`.
        let mut partial = data.len();
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
            let nl = memchr(b'\n', buf);
            let whole = data.len() - partial;
            if whole > 0 && data.len() + nl.map_or(buf.len(), |p| p + 1) > chunk_bytes {
                // This line would overfill a chunk that already has lines:
                // it starts the next chunk.
                self.carry = data.split_off(whole);
                break;
            }
            match nl {
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
        if data.is_empty() && overlong.is_none() && self.carry.is_empty() {
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
        let body = trim_line(line);
        if parse_common_with(body, line_no, |f| out.flows.push(f)).is_some() {
            out.lines += 1;
            line_no += 1;
            start = end + 1;
            continue;
        }
        match classify_with(line, line_no, false) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor, Read};

    const LINE: &str = "udp      17 27 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 packets=1 bytes=33 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 packets=1 bytes=33 mark=0 use=1";

    fn chunks(input: &[u8], chunk: usize, max_line: usize, buf: usize) -> Vec<Chunk> {
        let r = BufReader::with_capacity(buf, Cursor::new(input.to_vec()));
        ChunkReader::with_limits(r, chunk, max_line)
            .map(|c| c.unwrap())
            .collect()
    }

    fn parse_all(cs: &[Chunk]) -> ParsedChunk {
        let mut all = ParsedChunk::default();
        for c in cs {
            let p = parse_chunk(c);
            all.lines += p.lines;
            all.blank += p.blank;
            all.summary += p.summary;
            all.flows.extend(p.flows);
            all.malformed.extend(p.malformed);
        }
        all
    }

    #[test]
    fn chunks_hold_whole_lines_and_number_them() {
        let input: String = (0..100).map(|_| format!("{LINE}\n")).collect();
        for (chunk, buf) in [(1 << 20, 8192), (500, 64), (1, 7), (LINE.len() + 1, 4096)] {
            let cs = chunks(input.as_bytes(), chunk, MAX_LINE_BYTES, buf);
            for c in &cs {
                assert!(c.data.ends_with(b"\n"));
                assert!(c.data.len() <= chunk.max(LINE.len() + 1));
            }
            let p = parse_all(&cs);
            assert_eq!(p.lines, 100, "chunk {chunk}");
            let lines: Vec<u64> = p.flows.iter().map(|f| f.line).collect();
            assert_eq!(
                lines,
                (1..=100).collect::<Vec<_>>(),
                "chunk {chunk} buf {buf}"
            );
        }
    }

    #[test]
    fn last_line_without_newline_and_crlf() {
        let input = format!("{LINE}\r\n\r\n{LINE}");
        let p = parse_all(&chunks(input.as_bytes(), 1 << 20, MAX_LINE_BYTES, 16));
        assert_eq!((p.lines, p.blank, p.flows.len()), (3, 1, 2));
        assert_eq!(p.flows[1].line, 3);
        assert!(p.malformed.is_empty());
    }

    #[test]
    fn empty_input_has_no_chunks() {
        assert!(chunks(b"", 100, 100, 16).is_empty());
        let p = parse_all(&chunks(b"\n\n", 100, 100, 16));
        assert_eq!((p.lines, p.blank), (2, 2));
    }

    #[test]
    fn overlong_line_is_skipped_and_reported() {
        let long = format!("tcp 6 1 {}", "x".repeat(5000));
        let input = format!("{LINE}\n{long}\n{LINE}\n{long}");
        for buf in [64, 4096, 1 << 16] {
            let cs = chunks(input.as_bytes(), 300, 1000, buf);
            // Nothing near the long line's size is ever held.
            assert!(cs.iter().all(|c| c.data.len() <= 1001), "buf {buf}");
            let p = parse_all(&cs);
            assert_eq!(p.lines, 4, "buf {buf}");
            assert_eq!(
                p.flows.iter().map(|f| f.line).collect::<Vec<_>>(),
                vec![1, 3]
            );
            assert_eq!(p.malformed.len(), 2);
            assert_eq!(p.malformed[0].line, 2);
            assert_eq!(
                p.malformed[0].reason,
                ParseError::LineTooLong(long.len() as u64, 1000)
            );
            assert!(p.malformed[0].text.starts_with("tcp 6 1 xxx"));
            assert!(p.malformed[0].text.chars().count() <= 201);
            assert_eq!(p.malformed[1].line, 4);
            assert_eq!(
                p.malformed[0].reason.to_string(),
                format!(
                    "line is {} bytes long, over the 1000-byte limit",
                    long.len()
                )
            );
        }
    }

    #[test]
    fn line_longer_than_chunk_but_under_limit_parses() {
        let input = format!("{LINE}\n{LINE}\n");
        let p = parse_all(&chunks(input.as_bytes(), 10, MAX_LINE_BYTES, 32));
        assert_eq!(p.flows.len(), 2);
    }

    #[test]
    fn malformed_lines_keep_number_reason_and_text() {
        let mut input = format!("{LINE}\nbogus line here\n{LINE}\n").into_bytes();
        input.extend_from_slice(b"tcp 6 1 src=\xff\xfe\n");
        let p = parse_all(&chunks(&input, 1 << 20, MAX_LINE_BYTES, 8192));
        assert_eq!(p.flows.len(), 2);
        assert_eq!(p.malformed.len(), 2);
        assert_eq!(p.malformed[0].line, 2);
        assert_eq!(
            p.malformed[0].reason,
            ParseError::UnknownProtocolName("bogus".into())
        );
        assert!(p.malformed[0].text.starts_with("bogus line"));
        assert_eq!(p.malformed[1].line, 4);
        assert!(p.malformed[1].text.contains('\u{fffd}'));
        assert!(p.malformed[1]
            .to_string()
            .starts_with("line 4: bad address"));
    }

    #[test]
    fn summary_lines_are_counted_apart() {
        let input = format!(
            "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n{LINE}\n"
        );
        let p = parse_all(&chunks(input.as_bytes(), 1 << 20, MAX_LINE_BYTES, 8192));
        assert_eq!((p.lines, p.summary, p.flows.len()), (2, 1, 1));
        assert_eq!(p.flows[0].line, 2);
    }

    /// A reader that fails after some bytes.
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'\n');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn read_errors_surface_once() {
        let mut it = ChunkReader::with_chunk_bytes(BufReader::with_capacity(8, Failing(20)), 1000);
        let first = it.next().unwrap();
        assert!(first.is_err());
        assert!(it.next().is_none());
    }
}
