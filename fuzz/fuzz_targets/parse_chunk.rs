//! Any bytes through the chunk reader with a tiny chunk size and line
//! limit: never panics, every line is accounted for exactly once.
#![no_main]

use kubenetmon::conntrack::{parse_chunk, ChunkReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = 0;
    for chunk in ChunkReader::with_limits(data, 64, 128) {
        let p = parse_chunk(&chunk.unwrap());
        assert_eq!(
            p.lines as usize,
            p.flows.len() + p.malformed.len() + (p.blank + p.summary) as usize
        );
        lines += p.lines;
    }
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let last = u64::from(!data.is_empty() && !data.ends_with(b"\n"));
    assert_eq!(lines, newlines + last);
});
