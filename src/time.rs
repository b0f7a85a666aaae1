//! Observation times (SPEC §5 `--timestamp`): parsing user input, and the
//! fallbacks when none is given.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// RFC 3339 (`2024-05-01T12:00:00Z`) or Unix seconds (`1714564800`,
/// fractions are dropped).
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && f.abs() < 1e17 {
            return Ok(f.floor() as i64);
        }
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|e| {
            format!("{s:?} is neither RFC 3339 (2024-05-01T12:00:00Z) nor Unix seconds: {e}")
        })
}

/// A file's modification time, Unix seconds.
pub fn file_mtime(path: &Path) -> Option<i64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(unix_seconds(t))
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

pub fn now() -> i64 {
    unix_seconds(SystemTime::now())
}

/// `YYYY-MM-DD` (UTC) of a Unix time, for messages.
pub fn day_of(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time, for messages.
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_as_rfc3339_or_unix_seconds() {
        assert_eq!(parse_timestamp("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_timestamp("1700000000.9"), Ok(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(
            parse_timestamp("2023-11-14T23:13:20+01:00"),
            Ok(1_700_000_000)
        );
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("1e300").is_err());
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(day_of(1_700_000_000), "2023-11-14");
    }
}
