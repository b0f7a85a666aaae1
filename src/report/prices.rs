//! SPEC §9.1: the price table. The built-in figures live in
//! `prices.json` beside this file (docs/prices.md gives each one's source
//! and date); `--prices FILE` overrides any subset of them.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{named_enum, Cloud};

/// The built-in table, as shipped.
pub const BUILT_IN_JSON: &str = include_str!("prices.json");

/// Bytes in the table's unit (GiB).
pub const UNIT_BYTES: f64 = (1u64 << 30) as f64;

named_enum! {
    /// What a row can be charged for (SPEC §9.2); one price per cloud each.
    pub enum Rate {
        CrossAzOut => "cross_az_out",
        CrossAzIn => "cross_az_in",
        InterRegionOut => "inter_region_out",
        InternetOut => "internet_out",
        NatGateway => "nat_gateway",
    }
}

/// Prices of one cloud, per GiB, indexed by [`Rate::index`].
pub type CloudPrices = [f64; Rate::COUNT];

/// The effective table: a price for every rate of every cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    pub currency: String,
    by_cloud: [CloudPrices; Cloud::ALL.len()],
    /// Where the figures come from: `built-in`, or `built-in + FILE`.
    pub source: String,
}

#[derive(Debug, Error)]
pub enum PriceError {
    #[error("{name}: not a price table")]
    Json {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{name}: {key}: {message}")]
    Value {
        name: String,
        key: String,
        message: String,
    },
}

/// The JSON shape, every key optional so a file may give any subset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    unit: Option<String>,
    currency: Option<String>,
    aws: Option<CloudFile>,
    gcp: Option<CloudFile>,
    azure: Option<CloudFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloudFile {
    cross_az_out: Option<f64>,
    cross_az_in: Option<f64>,
    inter_region_out: Option<f64>,
    internet_out: Option<f64>,
    nat_gateway: Option<f64>,
}

impl CloudFile {
    fn get(&self, rate: Rate) -> Option<f64> {
        match rate {
            Rate::CrossAzOut => self.cross_az_out,
            Rate::CrossAzIn => self.cross_az_in,
            Rate::InterRegionOut => self.inter_region_out,
            Rate::InternetOut => self.internet_out,
            Rate::NatGateway => self.nat_gateway,
        }
    }
}

impl Prices {
    /// The table shipped in the binary.
    pub fn built_in() -> Prices {
        let mut p = Prices {
            currency: String::new(),
            by_cloud: [[0.0; Rate::COUNT]; 3],
            source: "built-in".into(),
        };
        let file = parse_file("built-in prices", BUILT_IN_JSON).expect("prices.json is valid");
        p.apply("built-in prices", &file, true)
            .expect("prices.json is complete and valid");
        p
    }

    /// The built-in table with the figures of the JSON text `text` (from
    /// `name`) put over it.
    pub fn with_overrides(name: &str, text: &str) -> Result<Prices, PriceError> {
        let mut p = Prices::built_in();
        let file = parse_file(name, text)?;
        p.apply(name, &file, false)?;
        p.source = format!("built-in + {name}");
        Ok(p)
    }

    fn apply(&mut self, name: &str, file: &PriceFile, complete: bool) -> Result<(), PriceError> {
        let err = |key: String, message: String| PriceError::Value {
            name: name.to_string(),
            key,
            message,
        };
        match file.unit.as_deref() {
            None if !complete => {}
            Some("GiB") => {}
            Some(other) => {
                return Err(err(
                    "unit".into(),
                    format!("{other:?}: prices are per GiB (2^30 bytes); the unit must be \"GiB\""),
                ))
            }
            None => return Err(err("unit".into(), "missing".into())),
        }
        match &file.currency {
            None if !complete => {}
            Some(c) if !c.trim().is_empty() => self.currency = c.trim().to_string(),
            _ => return Err(err("currency".into(), "must be a non-empty name".into())),
        }
        for cloud in Cloud::ALL {
            let section = match cloud {
                Cloud::Aws => &file.aws,
                Cloud::Gcp => &file.gcp,
                Cloud::Azure => &file.azure,
            };
            let Some(section) = section else {
                if complete {
                    return Err(err(cloud.to_string(), "missing".into()));
                }
                continue;
            };
            for rate in Rate::ALL {
                let key = format!("{cloud}.{rate}");
                match section.get(rate) {
                    Some(v) if v.is_finite() && v >= 0.0 => {
                        self.by_cloud[cloud_index(cloud)][rate.index()] = v
                    }
                    Some(v) => return Err(err(key, format!("{v} is negative"))),
                    None if complete => return Err(err(key, "missing".into())),
                    None => {}
                }
            }
        }
        Ok(())
    }

    /// The price per GiB of `rate` in `cloud`.
    pub fn get(&self, cloud: Cloud, rate: Rate) -> f64 {
        self.by_cloud[cloud_index(cloud)][rate.index()]
    }

    pub fn of(&self, cloud: Cloud) -> &CloudPrices {
        &self.by_cloud[cloud_index(cloud)]
    }

    /// The effective table in the shape of SPEC §9.1 (and of `--prices`).
    pub fn to_json(&self) -> String {
        let mut s = format!(
            "{{\"unit\": \"GiB\", \"currency\": {},\n",
            serde_json::to_string(&self.currency).unwrap_or_default()
        );
        for (i, cloud) in Cloud::ALL.into_iter().enumerate() {
            let pad = " ".repeat(5 - cloud.as_str().len());
            s.push_str(&format!(" \"{cloud}\":{pad} {{"));
            for (j, rate) in Rate::ALL.into_iter().enumerate() {
                let sep = match j {
                    0 => "",
                    3 => ",\n           ",
                    _ => ", ",
                };
                s.push_str(&format!(
                    "{sep}\"{rate}\": {}",
                    json_number(self.get(cloud, rate))
                ));
            }
            s.push_str(if i + 1 == Cloud::ALL.len() {
                "}}\n"
            } else {
                "},\n"
            });
        }
        s
    }

    /// For the JSON report: `{"unit", "currency", "aws": {...}, ...}`.
    pub fn table(&self) -> PriceTable {
        let by = |c: Cloud| {
            let p = self.of(c);
            RateTable {
                cross_az_out: p[Rate::CrossAzOut.index()],
                cross_az_in: p[Rate::CrossAzIn.index()],
                inter_region_out: p[Rate::InterRegionOut.index()],
                internet_out: p[Rate::InternetOut.index()],
                nat_gateway: p[Rate::NatGateway.index()],
            }
        };
        PriceTable {
            unit: "GiB",
            currency: self.currency.clone(),
            aws: by(Cloud::Aws),
            gcp: by(Cloud::Gcp),
            azure: by(Cloud::Azure),
        }
    }
}

/// [`Prices`] as the JSON report carries it.
#[derive(Debug, Clone, Serialize)]
pub struct PriceTable {
    pub unit: &'static str,
    pub currency: String,
    pub aws: RateTable,
    pub gcp: RateTable,
    pub azure: RateTable,
}

#[derive(Debug, Clone, Serialize)]
pub struct RateTable {
    pub cross_az_out: f64,
    pub cross_az_in: f64,
    pub inter_region_out: f64,
    pub internet_out: f64,
    pub nat_gateway: f64,
}

/// `0.0` rather than `0`, so the printed table reads as prices.
fn json_number(v: f64) -> String {
    let s = serde_json::to_string(&v).unwrap_or_default();
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

pub(crate) fn cloud_index(cloud: Cloud) -> usize {
    match cloud {
        Cloud::Aws => 0,
        Cloud::Gcp => 1,
        Cloud::Azure => 2,
    }
}

fn parse_file(name: &str, text: &str) -> Result<PriceFile, PriceError> {
    serde_json::from_str(text).map_err(|source| PriceError::Json {
        name: name.to_string(),
        source,
    })
}

impl fmt::Display for Prices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_table_is_spec_9_1() {
        let p = Prices::built_in();
        assert_eq!(p.currency, "USD");
        assert_eq!(p.source, "built-in");
        let want: [(Cloud, [f64; 5]); 3] = [
            (Cloud::Aws, [0.01, 0.01, 0.02, 0.09, 0.045]),
            (Cloud::Gcp, [0.01, 0.0, 0.02, 0.12, 0.045]),
            (Cloud::Azure, [0.0, 0.0, 0.02, 0.087, 0.045]),
        ];
        for (cloud, rates) in want {
            assert_eq!(p.of(cloud), &rates, "{cloud}");
        }
    }

    #[test]
    fn printed_table_parses_back_to_itself() {
        let p = Prices::built_in();
        let text = p.to_json();
        let back = Prices::with_overrides("printed", &text).unwrap();
        assert_eq!(back.of(Cloud::Aws), p.of(Cloud::Aws));
        assert_eq!(back.of(Cloud::Gcp), p.of(Cloud::Gcp));
        assert_eq!(back.of(Cloud::Azure), p.of(Cloud::Azure));
        // and it is the same document as the shipped file
        let a: serde_json::Value = serde_json::from_str(&text).unwrap();
        let b: serde_json::Value = serde_json::from_str(BUILT_IN_JSON).unwrap();
        assert_eq!(a, b);
    }

    /// prices fuzz crash: serde_json's default float parser read
    /// `5.055500000000001e+155` one ulp off, so `--print-prices` of a
    /// table did not read back to it (fixed with `float_roundtrip`).
    #[test]
    fn a_price_reads_back_exactly_as_printed() {
        let p = Prices::with_overrides(
            "mine.json",
            r#"{"aws": {"cross_az_in": 5.055500000000001e+155}}"#,
        )
        .unwrap();
        assert_eq!(p.of(Cloud::Aws)[1], 5.055500000000001e155);
        let back = Prices::with_overrides("printed", &p.to_json()).unwrap();
        assert_eq!(back.of(Cloud::Aws), p.of(Cloud::Aws));
    }

    #[test]
    fn a_subset_overrides_only_its_keys() {
        let p = Prices::with_overrides(
            "mine.json",
            r#"{"aws": {"nat_gateway": 0.05}, "currency": "EUR"}"#,
        )
        .unwrap();
        assert_eq!(p.get(Cloud::Aws, Rate::NatGateway), 0.05);
        assert_eq!(p.get(Cloud::Aws, Rate::CrossAzOut), 0.01);
        assert_eq!(p.get(Cloud::Gcp, Rate::NatGateway), 0.045);
        assert_eq!(p.currency, "EUR");
        assert_eq!(p.source, "built-in + mine.json");
    }

    #[test]
    fn bad_files_are_errors_naming_the_key() {
        let e = |text: &str| {
            let err = Prices::with_overrides("p.json", text).unwrap_err();
            crate::display_chain(&err)
        };
        let m = e(r#"{"aws": {"nat_gateway": -0.01}}"#);
        assert!(
            m.contains("p.json: aws.nat_gateway: -0.01 is negative"),
            "{m}"
        );
        let m = e(r#"{"aws": {"nat_gatway": 0.01}}"#);
        assert!(
            m.contains("p.json") && m.contains("unknown field `nat_gatway`"),
            "{m}"
        );
        let m = e(r#"{"oracle": {}}"#);
        assert!(m.contains("unknown field `oracle`"), "{m}");
        let m = e("not json");
        assert!(m.starts_with("p.json: not a price table: expected"), "{m}");
        let m = e(r#"{"unit": "GB"}"#);
        assert!(m.contains("p.json: unit: \"GB\""), "{m}");
        let m = e(r#"{"aws": {"nat_gateway": "cheap"}}"#);
        assert!(m.contains("invalid type"), "{m}");
    }
}
