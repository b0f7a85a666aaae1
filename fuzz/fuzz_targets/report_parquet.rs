//! Any bytes as a Parquet rows file for `report` (they start with `PAR1`,
//! prepended when missing). Never panics — a panic inside the parquet
//! crate included; an error names the file; the rows read are the rows
//! counted, and the report of them renders as text, JSON and HTML.
#![no_main]

#[path = "common.rs"]
mod common;

use kubenetmon::report::read::read_bytes;
use kubenetmon::report::{Aggregate, GroupBy, Prices};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let by = GroupBy::ALL[usize::from(mode) % GroupBy::ALL.len()];
    let bytes = if rest.starts_with(b"PAR1") {
        rest.to_vec()
    } else {
        [b"PAR1", rest].concat()
    };
    let mut agg = Aggregate::default();
    match read_bytes(&bytes, "rows.parquet", by, &mut agg) {
        Ok(file) => {
            assert_eq!(file.rows, Some(agg.rows));
            assert_eq!(file.format, "parquet");
            common::render_all(&agg, vec![file], &Prices::built_in());
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.starts_with("rows.parquet"), "{text}");
        }
    }
});
