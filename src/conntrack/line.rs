//! One input line → what it is: a flow, a blank line, or a summary/framing
//! line; or why it is malformed.
//!
//! This is the only place that knows the three parsers: XML lines go to
//! `xml.rs`, the common IPv4/IPv6 TCP/UDP layouts to the fast path
//! (`fast.rs`), everything else — and everything the fast path declines —
//! to the general text parser (`text/`), which alone decides what is
//! malformed and why.

use memchr::memmem;

use super::error::ParseError;
use super::Flow;

/// What a line turned out to be (so chunk parsing can count the kinds).
// Boxing the flow would cost an allocation per line on the hot path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Line {
    Flow(Flow),
    Blank,
    /// Summary line or XML framing.
    Summary,
}

#[inline]
fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// The line without leading blanks and trailing blanks or `\r`.
#[inline(always)]
pub(crate) fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && is_ws(line[start]) {
        start += 1;
    }
    &line[start..end]
}

/// Parses one line (without its newline; a trailing `\r` is ignored).
///
/// `Ok(None)` for lines that are not flows but not errors either: blank
/// lines, conntrack's `N flow entries have been shown.` summary, and the
/// framing lines of `-o xml`.
pub fn parse_line(line: &[u8], line_no: u64) -> Result<Option<Flow>, ParseError> {
    line_result(classify_with(line, line_no, true))
}

/// [`parse_line`] without the fast path for common TCP/UDP lines: the
/// general parser alone. Same result for every input; exists so tests and
/// the fuzz target can check exactly that (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub fn parse_line_general(line: &[u8], line_no: u64) -> Result<Option<Flow>, ParseError> {
    line_result(classify_with(line, line_no, false))
}

fn line_result(r: Result<Line, ParseError>) -> Result<Option<Flow>, ParseError> {
    match r {
        Ok(Line::Flow(f)) => Ok(Some(f)),
        Ok(_) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `fast: false` skips the fast path (callers that already tried it).
#[inline(always)]
pub(crate) fn classify_with(line: &[u8], line_no: u64, fast: bool) -> Result<Line, ParseError> {
    let body = trim_line(line);
    if body.is_empty() {
        return Ok(Line::Blank);
    }
    if body[0] == b'<' {
        return Ok(match super::xml::parse_xml_line(body, line_no)? {
            Some(f) => Line::Flow(f),
            None => Line::Summary,
        });
    }
    if body.starts_with(b"conntrack v") && memmem::find(body, b"have been shown").is_some() {
        return Ok(Line::Summary);
    }
    if fast {
        if let Some(f) = super::fast::parse_common(body, line_no) {
            return Ok(Line::Flow(f));
        }
    }
    super::text::parse_flow(body, line_no).map(Line::Flow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_blanks_and_cr_only() {
        assert_eq!(trim_line(b"  \ttcp 6 \r"), b"tcp 6");
        assert_eq!(trim_line(b" \r\t "), b"");
        assert_eq!(trim_line(b"a\r\rb"), b"a\r\rb");
    }

    #[test]
    fn blank_crlf_and_summary_lines_are_not_flows() {
        assert_eq!(parse_line(b"", 1), Ok(None));
        assert_eq!(parse_line(b"  \t \r", 1), Ok(None));
        assert_eq!(
            parse_line(
                b"conntrack v1.4.7 (conntrack-tools): 8 flow entries have been shown.",
                1
            ),
            Ok(None)
        );
        assert_eq!(
            parse_line(
                b"conntrack v1.4.7 (conntrack-tools): 26 flow events have been shown.\r",
                1
            ),
            Ok(None)
        );
        assert!(matches!(
            classify_with(
                b"conntrack v1.4.7 (conntrack-tools): 8 flow entries",
                1,
                true
            ),
            Err(ParseError::UnknownProtocolName(_))
        ));
        assert!(matches!(classify_with(b" \r", 1, true), Ok(Line::Blank)));
        assert!(matches!(
            classify_with(b"<conntrack>", 1, true),
            Ok(Line::Summary)
        ));
    }
}
