//! Any text as `report --prices FILE`. Never panics; an error names the
//! file. An accepted table has finite, non-negative prices, prints (as
//! `--print-prices` does) to a document that reads back to the same table,
//! and prices a small report rendered as text, JSON and HTML.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::OnceLock;

use kubenetmon::model::Cloud;
use kubenetmon::output::Schema;
use kubenetmon::report::read::read_bytes;
use kubenetmon::report::{Aggregate, GroupBy, InputFile, Prices};
use libfuzzer_sys::fuzz_target;

fn sample() -> &'static (Aggregate, InputFile) {
    static S: OnceLock<(Aggregate, InputFile)> = OnceLock::new();
    S.get_or_init(|| {
        let mut agg = Aggregate::default();
        let csv = common::sample_csv(Schema::Upstream);
        let file = read_bytes(csv.as_bytes(), "rows.csv", GroupBy::Namespace, &mut agg).unwrap();
        assert_eq!(agg.rows, 4);
        (agg, file)
    })
}

fuzz_target!(|data: &[u8]| {
    // The CLI reads the file as UTF-8 text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let prices = match Prices::with_overrides("p.json", text) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.to_string().starts_with("p.json: "), "{e}");
            return;
        }
    };
    for cloud in Cloud::ALL {
        for &v in prices.of(cloud) {
            assert!(v.is_finite() && v >= 0.0, "{cloud}: {v}");
        }
    }
    let printed = prices.to_json();
    let back = Prices::with_overrides("printed", &printed).unwrap();
    assert_eq!(back.currency, prices.currency);
    for cloud in Cloud::ALL {
        assert_eq!(back.of(cloud), prices.of(cloud), "{printed}");
    }
    let (agg, file) = sample();
    common::render_all(agg, vec![file.clone()], &prices);
});
