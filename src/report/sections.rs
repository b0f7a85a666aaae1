//! The report's sections (SPEC §9.3), computed once from an [`Aggregate`]
//! and a price table; the text, JSON and HTML renderings all show this
//! value. Its serde form is the `--json` schema (docs/report.md).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::agg::{Aggregate, Totals, GATEWAY_SERVICES};
use super::prices::{PriceTable, Prices, Rate};
use crate::model::{ConnectionClass, Direction};

/// Version of the JSON schema; bumped only when a key changes meaning or
/// goes away (new keys are added freely).
pub const SCHEMA_VERSION: u32 = 1;

/// Said in every report (SPEC §9.1).
pub const PRICE_NOTE: &str = "Flat first-tier list prices: volume tiers and free allowances \
are per account and month, which a dump cannot know, so real bills may be lower.";

/// The local-side column that `--by` groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    #[default]
    Namespace,
    App,
    Pod,
    Node,
}

impl GroupBy {
    pub const ALL: [GroupBy; 4] = [
        GroupBy::Namespace,
        GroupBy::App,
        GroupBy::Pod,
        GroupBy::Node,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Namespace => "namespace",
            GroupBy::App => "app",
            GroupBy::Pod => "pod",
            GroupBy::Node => "node",
        }
    }

    /// The column it reads.
    pub fn column(self) -> &'static str {
        match self {
            GroupBy::Namespace => "localNamespace",
            GroupBy::App => "localApp",
            GroupBy::Pod => "localPod",
            GroupBy::Node => "localNode",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupBy::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown grouping {s:?} (expected namespace, app, pod or node)"))
    }
}

/// How the report is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    pub by: GroupBy,
    /// Rows of the top and pair tables.
    pub top: usize,
    /// The time the inputs cover, for the 30-day projection.
    pub period_seconds: Option<u64>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            by: GroupBy::Namespace,
            top: 10,
            period_seconds: None,
        }
    }
}

/// `5m`, `1h`, `1d`, `90s`, `2h30m`, or plain seconds.
pub fn parse_period(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(n) = t.parse::<u64>() {
        return if n > 0 {
            Ok(n)
        } else {
            Err("the period must be longer than 0".into())
        };
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {c:?} (use s, m, h, d or w, e.g. 5m, 1h, 1d)"
                ))
            }
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{text:?}: too long"))?;
    }
    if !digits.is_empty() {
        return Err(format!(
            "{text:?}: {digits} has no unit (use s, m, h, d or w)"
        ));
    }
    if total == 0 {
        return Err("the period must be longer than 0".into());
    }
    Ok(total)
}

/// Seconds in the projection's month.
pub const MONTH_SECONDS: u64 = 30 * 86_400;

/// One input, for section 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    pub path: String,
    /// `csv`, `parquet`, or `conntrack` (`label --report`).
    pub format: &'static str,
    /// `upstream` or `dual`.
    pub schema: &'static str,
    /// Rows read from it; `null` for dumps labelled in memory.
    pub rows: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub inputs: Inputs,
    pub totals: Money,
    pub by_class: Vec<ClassRow>,
    pub components: Vec<ComponentRow>,
    pub unknown_zone: UnknownZone,
    pub top: Top,
    pub cross_az: CrossAz,
    pub savings: Savings,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    pub rows: u64,
    /// RFC 3339, UTC; `null` without rows.
    pub first_interval_start: Option<String>,
    pub last_interval_start: Option<String>,
    pub local: Vec<LocalSiteRows>,
    pub prices: PriceInfo,
    pub period_seconds: Option<u64>,
    /// 30 days / period: what `*_per_month` values are multiplied by.
    pub month_factor: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalSiteRows {
    pub cloud: String,
    pub region: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceInfo {
    pub source: String,
    pub note: &'static str,
    pub table: PriceTable,
}

/// Bytes and what they cost; `cost_per_month` only with `--period`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Money {
    pub rows: u64,
    pub bytes_out: u128,
    pub bytes_in: u128,
    pub cost: f64,
    pub cost_per_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassRow {
    pub class: &'static str,
    pub direction: &'static str,
    pub rows: u64,
    pub bytes: u128,
    pub cost: f64,
    pub cost_per_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentRow {
    /// `cross_az`, `inter_region`, `internet`, `nat_gateway`.
    pub component: &'static str,
    pub bytes: u128,
    pub cost: f64,
    pub cost_per_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnknownZone {
    pub rows: u64,
    pub bytes_out: u128,
    pub bytes_in: u128,
    /// What those bytes would cost if every one crossed a zone.
    pub cost_upper_bound: f64,
    pub cost_upper_bound_per_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Top {
    pub by: GroupBy,
    pub n: usize,
    pub groups: Vec<GroupRow>,
    /// The groups past the first `n`, summed; `null` when there are none.
    pub rest: Option<GroupRow>,
    /// Distinct groups.
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    /// The group's name, `""` for rows without one (no local pod).
    pub name: String,
    pub rows: u64,
    pub bytes_out: u128,
    pub bytes_in: u128,
    pub cost: f64,
    /// Of the total cost, 0..1 (0 when the total is 0).
    pub share: f64,
    pub cost_per_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrossAz {
    pub zones: Vec<PairRow>,
    pub apps: Vec<PairRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairRow {
    pub local: String,
    pub remote: String,
    pub rows: u64,
    pub bytes_out: u128,
    pub bytes_in: u128,
    /// The cross-AZ charge of these bytes.
    pub cost: f64,
    pub cost_per_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Savings {
    pub services: Vec<SavingRow>,
    pub total: f64,
    pub total_per_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SavingRow {
    pub service: &'static str,
    pub rows: u64,
    pub bytes_out: u128,
    pub bytes_in: u128,
    /// NAT gateway charge of those bytes: what a gateway endpoint saves.
    pub saving: f64,
    pub saving_per_month: Option<f64>,
}

/// What each component is charged for.
pub const COMPONENTS: [(&str, &[Rate]); 4] = [
    ("cross_az", &[Rate::CrossAzOut, Rate::CrossAzIn]),
    ("inter_region", &[Rate::InterRegionOut]),
    ("internet", &[Rate::InternetOut]),
    ("nat_gateway", &[Rate::NatGateway]),
];

impl Report {
    /// Computes every section.
    pub fn build(
        agg: &Aggregate,
        files: Vec<InputFile>,
        prices: &Prices,
        opts: &ReportOptions,
    ) -> Report {
        let factor = opts.period_seconds.map(|p| MONTH_SECONDS as f64 / p as f64);
        let month = |cost: f64| factor.map(|f| cost * f);
        let total = agg.total();
        let total_cost = total.charged.cost(prices);
        let money = |t: &Totals| {
            let cost = t.charged.cost(prices);
            Money {
                rows: t.rows,
                bytes_out: t.bytes_out,
                bytes_in: t.bytes_in,
                cost,
                cost_per_month: month(cost),
            }
        };

        let mut by_class = Vec::new();
        for class in ConnectionClass::ALL {
            for (i, d) in [Direction::Out, Direction::In].into_iter().enumerate() {
                let t = &agg.by_class[class.index()][i];
                let cost = t.charged.cost(prices);
                by_class.push(ClassRow {
                    class: class.as_str(),
                    direction: d.as_str(),
                    rows: t.rows,
                    bytes: t.bytes(),
                    cost,
                    cost_per_month: month(cost),
                });
            }
        }
        let components = COMPONENTS
            .iter()
            .map(|(name, rates)| {
                let cost = total.charged.cost_of(prices, rates);
                ComponentRow {
                    component: name,
                    bytes: rates.iter().map(|r| total.charged.bytes(*r)).sum(),
                    cost,
                    cost_per_month: month(cost),
                }
            })
            .collect();
        let bound = agg.unknown_zone.charged.cost(prices);
        let unknown_zone = UnknownZone {
            rows: agg.unknown_zone.rows,
            bytes_out: agg.unknown_zone.bytes_out,
            bytes_in: agg.unknown_zone.bytes_in,
            cost_upper_bound: bound,
            cost_upper_bound_per_month: month(bound),
        };

        let group_row = |name: String, t: &Totals| {
            let cost = t.charged.cost(prices);
            GroupRow {
                name,
                rows: t.rows,
                bytes_out: t.bytes_out,
                bytes_in: t.bytes_in,
                cost,
                share: if total_cost > 0.0 {
                    cost / total_cost
                } else {
                    0.0
                },
                cost_per_month: month(cost),
            }
        };
        let mut groups: Vec<(&str, &Totals, f64)> = agg
            .groups()
            .map(|(n, t)| (n, t, t.charged.cost(prices)))
            .collect();
        groups.sort_by(|a, b| {
            b.2.total_cmp(&a.2)
                .then(b.1.bytes().cmp(&a.1.bytes()))
                .then(a.0.cmp(b.0))
        });
        let count = groups.len();
        let rest = (count > opts.top).then(|| {
            let mut t = Totals::default();
            for (_, g, _) in &groups[opts.top..] {
                t.merge(g);
            }
            group_row(format!("{} other groups", count - opts.top), &t)
        });
        let top = Top {
            by: opts.by,
            n: opts.top,
            groups: groups
                .iter()
                .take(opts.top)
                .map(|(n, t, _)| group_row(n.to_string(), t))
                .collect(),
            rest,
            count,
        };

        let pairs = |it: Vec<((&str, &str), &Totals)>| {
            let mut v: Vec<PairRow> = it
                .into_iter()
                .map(|((l, r), t)| {
                    let cost = t.charged.cost(prices);
                    PairRow {
                        local: l.to_string(),
                        remote: r.to_string(),
                        rows: t.rows,
                        bytes_out: t.bytes_out,
                        bytes_in: t.bytes_in,
                        cost,
                        cost_per_month: month(cost),
                    }
                })
                .collect();
            v.sort_by(|a, b| {
                b.cost
                    .total_cmp(&a.cost)
                    .then((b.bytes_out + b.bytes_in).cmp(&(a.bytes_out + a.bytes_in)))
                    .then((&a.local, &a.remote).cmp(&(&b.local, &b.remote)))
            });
            v.truncate(opts.top);
            v
        };
        let cross_az = CrossAz {
            zones: pairs(agg.zone_pairs().collect()),
            apps: pairs(agg.app_pairs().collect()),
        };

        let services: Vec<SavingRow> = GATEWAY_SERVICES
            .iter()
            .zip(&agg.savings)
            .map(|(service, t)| {
                let saving = t.charged.cost(prices);
                SavingRow {
                    service,
                    rows: t.rows,
                    bytes_out: t.bytes_out,
                    bytes_in: t.bytes_in,
                    saving,
                    saving_per_month: month(saving),
                }
            })
            .collect();
        let saved: f64 = services.iter().map(|s| s.saving).sum();
        let savings = Savings {
            services,
            total: saved,
            total_per_month: month(saved),
        };

        let mut local: Vec<LocalSiteRows> = agg
            .sites
            .iter()
            .map(|s| LocalSiteRows {
                cloud: s.cloud.clone(),
                region: s.region.clone(),
                rows: s.rows,
            })
            .collect();
        local.sort_by(|a, b| (&a.cloud, &a.region).cmp(&(&b.cloud, &b.region)));

        let mut notes = vec![PRICE_NOTE.to_string()];
        if agg.rows > 0
            && total.charged.bytes(Rate::CrossAzOut) + total.charged.bytes(Rate::CrossAzIn) == 0
            && agg.unknown_zone.rows > 0
        {
            notes.push(
                "No row carries a CROSS_AZ flag, so no cross-AZ cost is counted; the \
                 unknown-zone bound shows what it could be (zones come from the inventory's \
                 node labels, or from `label --subnets`)."
                    .into(),
            );
        }
        let mut unpriced = agg.unpriced.clone();
        unpriced.sort();
        let warnings = unpriced
            .iter()
            .map(|(cloud, rows)| {
                let name = if cloud.is_empty() {
                    "(empty)".to_string()
                } else {
                    format!("{cloud:?}")
                };
                format!(
                    "{rows} rows have localCloud {name}, which has no prices (the table \
                     covers aws, gcp and azure); they cost 0"
                )
            })
            .collect();

        Report {
            schema_version: SCHEMA_VERSION,
            inputs: Inputs {
                files,
                rows: agg.rows,
                first_interval_start: agg.first_interval.map(crate::time::rfc3339),
                last_interval_start: agg.last_interval.map(crate::time::rfc3339),
                local,
                prices: PriceInfo {
                    source: prices.source.clone(),
                    note: PRICE_NOTE,
                    table: prices.table(),
                },
                period_seconds: opts.period_seconds,
                month_factor: factor,
            },
            totals: money(&total),
            by_class,
            components,
            unknown_zone,
            top,
            cross_az,
            savings,
            notes,
            warnings,
        }
    }

    /// The currency of the prices.
    pub fn currency(&self) -> &str {
        &self.inputs.prices.table.currency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("5m"), Ok(300));
        assert_eq!(parse_period("1h"), Ok(3600));
        assert_eq!(parse_period("1d"), Ok(86_400));
        assert_eq!(parse_period("2h30m"), Ok(9000));
        assert_eq!(parse_period("90"), Ok(90));
        assert!(parse_period("0s").is_err());
        assert!(parse_period("1y").unwrap_err().contains("unknown unit"));
        assert!(parse_period("h").is_err());
        assert!(parse_period("5").is_ok());
        assert!(parse_period("5m3").unwrap_err().contains("no unit"));
        assert!(parse_period("").is_err());
    }

    #[test]
    fn group_by_names() {
        assert_eq!("APP".parse::<GroupBy>(), Ok(GroupBy::App));
        assert!("team".parse::<GroupBy>().unwrap_err().contains("namespace"));
    }
}
