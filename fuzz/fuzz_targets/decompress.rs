//! Any bytes as an input file (dumps, `--inventory`, report rows): gzip
//! and zstd are recognised by their magic bytes and inflated as a stream.
//! Never panics; output is read in 64 KiB steps and counted up to a cap,
//! so a bomb shows as a long run, not as an allocation (the reader's own
//! buffers are fixed, whatever the ratio). Bytes without a magic come out
//! unchanged, and the input compressed with gzip (one and two members)
//! and zstd decompresses back to itself.
#![no_main]

use std::io::{Cursor, Read, Write};
use std::path::Path;

use kubenetmon::io::decompressed;
use libfuzzer_sys::fuzz_target;

/// Inflated bytes read before giving up on one input.
const CAP: u64 = 256 << 20;

fn inflate(data: Vec<u8>) -> (std::io::Result<Vec<u8>>, u64) {
    let mut r = decompressed(Box::new(Cursor::new(data)), Path::new("fuzz.gz")).unwrap();
    let mut kept = Vec::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (Ok(kept), total),
            Ok(n) => {
                total += n as u64;
                if kept.len() < 1 << 20 {
                    kept.extend_from_slice(&buf[..n]);
                }
                if total >= CAP {
                    return (Ok(kept), total);
                }
            }
            Err(e) => return (Err(e), total),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Any stream: inflated or refused with an error.
    let (out, _total) = inflate(data.to_vec());
    if !data.starts_with(&[0x1f, 0x8b]) && !data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        assert_eq!(out.unwrap(), data);
    }
    if data.len() > 4096 {
        return;
    }
    // Round trips.
    let gz = |part: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        e.finish().unwrap()
    };
    let (a, b) = data.split_at(data.len() / 2);
    let two_members = [gz(a), gz(b)].concat();
    let zst = zstd::encode_all(data, 1).unwrap();
    for packed in [gz(data), two_members, zst] {
        let (out, total) = inflate(packed);
        assert_eq!(out.unwrap(), data);
        assert_eq!(total, data.len() as u64);
    }
});
