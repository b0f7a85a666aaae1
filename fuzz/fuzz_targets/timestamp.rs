//! Any text as `label --timestamp` (and `report --period`). Never panics.
//! An accepted time is bucketed as every row's time is (any `i64` gets a
//! bucket or a clear error), formats for messages, and RFC 3339 text of it
//! parses back to it; integers are taken as they are.
#![no_main]

use kubenetmon::output::TimeBucket;
use kubenetmon::report::parse_period;
use kubenetmon::time::{day_of, parse_timestamp, rfc3339};
use libfuzzer_sys::fuzz_target;

const INTERVALS: [u16; 5] = [0, 1, 60, 3_600, u16::MAX];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = parse_period(s) {
        assert!(p > 0);
    }
    let Ok(t) = parse_timestamp(s) else {
        return;
    };
    if let Ok(n) = s.parse::<i64>() {
        assert_eq!(t, n);
    }
    for interval in INTERVALS {
        if let Ok(b) = TimeBucket::of(t, interval) {
            let i = i64::from(interval.max(1));
            assert!(b.interval_start <= t && t < b.interval_start + i, "{t} {interval}");
            assert_eq!(i64::from(b.day), t.div_euclid(86_400));
        }
    }
    let (day, text) = (day_of(t), rfc3339(t));
    if chrono::DateTime::from_timestamp(t, 0).is_some() && (0..=9999).contains(&year(&day)) {
        assert_eq!(parse_timestamp(&text), Ok(t), "{text}");
    }
});

fn year(day: &str) -> i64 {
    day.split('-').next().and_then(|y| y.parse().ok()).unwrap_or(-1)
}
