//! Any bytes as a rows file for `report` (CSV, gzip/zstd CSV). The first
//! byte picks the grouping and whether the upstream or dual header is put
//! before the rest (so most runs reach the records, not the header check).
//! Never panics; an error names the file; the rows read are the rows
//! counted, and the report of them renders as text, JSON and HTML.
#![no_main]

#[path = "common.rs"]
mod common;

use kubenetmon::output::Schema;
use kubenetmon::report::read::read_bytes;
use kubenetmon::report::{Aggregate, GroupBy, Prices};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if rest.starts_with(b"PAR1") {
        return; // the Parquet target's
    }
    let by = GroupBy::ALL[usize::from(mode >> 2) % GroupBy::ALL.len()];
    let bytes = match mode & 3 {
        0 => [common::header(Schema::Upstream).as_bytes(), rest].concat(),
        1 => [common::header(Schema::Dual).as_bytes(), rest].concat(),
        _ => rest.to_vec(),
    };
    let mut agg = Aggregate::default();
    match read_bytes(&bytes, "rows.csv", by, &mut agg) {
        Ok(file) => {
            assert_eq!(file.rows, Some(agg.rows));
            assert_eq!(file.format, "csv");
            common::render_all(&agg, vec![file], &Prices::built_in());
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.starts_with("rows.csv"), "{text}");
        }
    }
});
