//! Fixtures the targets share, parsed once per process: the test range
//! files, a small inventory, a CSV header per schema. Included with
//! `#[path]` (the fuzz crate has no library).
#![allow(dead_code)]

use std::sync::OnceLock;

use kubenetmon::inventory::{self, Inventory};
use kubenetmon::output::Schema;
use kubenetmon::ranges::{parse_provider, Provider, RangeTable};

pub const RANGE_FILES: [(Provider, &[u8]); 4] = [
    (
        Provider::Aws,
        include_bytes!("../../testdata/ranges/aws-ip-ranges.json"),
    ),
    (
        Provider::Gcp,
        include_bytes!("../../testdata/ranges/gcp-cloud.json"),
    ),
    (
        Provider::Google,
        include_bytes!("../../testdata/ranges/google-goog.json"),
    ),
    (
        Provider::Azure,
        include_bytes!("../../testdata/ranges/azure-service-tags-public.json"),
    ),
];

/// The four test range files merged (SPEC §2).
pub fn table() -> &'static RangeTable {
    static TABLE: OnceLock<RangeTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let files: Vec<_> = RANGE_FILES
            .iter()
            .map(|(p, bytes)| parse_provider(*p, bytes, p.file_name()).unwrap())
            .collect();
        RangeTable::build(&files)
    })
}

/// testdata/inventory/aws-cluster.json.
pub fn inventory() -> &'static Inventory {
    static INV: OnceLock<Inventory> = OnceLock::new();
    INV.get_or_init(|| {
        let json: &[u8] = include_bytes!("../../testdata/inventory/aws-cluster.json");
        inventory::load_documents([("aws-cluster.json", json)]).unwrap()
    })
}

/// The CSV header line of `schema`, with its newline.
pub fn header(schema: Schema) -> String {
    let names: Vec<&str> = schema.names().collect();
    format!("{}\n", names.join(","))
}

/// A few rows in `schema`'s CSV: every class, both directions, flags,
/// a NAT gateway and the other clouds, so every report section has lines.
pub fn sample_csv(schema: Schema) -> String {
    use kubenetmon::report::GroupBy;
    let rows: [&[(&str, &str)]; 4] = [
        &[
            ("connectionClass", "INTRA_VPC"),
            ("connectionFlags", "\"{'CROSS_AZ':true,'NAT_GATEWAY':false}\""),
            ("direction", "out"),
            ("localAvailabilityZone", "us-east-1a"),
            ("remoteAvailabilityZone", "us-east-1b"),
            ("remoteApp", "db"),
            ("bytes", "3000000000"),
        ],
        &[
            ("connectionClass", "INTRA_REGION"),
            ("connectionFlags", "{'NAT_GATEWAY':true}"),
            ("direction", "in"),
            ("remoteCloudService", "s3"),
            ("bytes", "9000000000"),
        ],
        &[
            ("connectionClass", "INTER_REGION"),
            ("connectionFlags", "{}"),
            ("remoteRegion", "eu-west-1"),
            ("bytes", "1000000000"),
        ],
        &[
            ("connectionClass", "PUBLIC_INTERNET"),
            ("connectionFlags", "{}"),
            ("remoteCloud", "gcp"),
            ("bytes", "5"),
        ],
    ];
    let base: [(&str, &str); 8] = [
        ("intervalStartTime", "2023-11-14 22:13:00"),
        ("direction", "out"),
        ("localCloud", "aws"),
        ("localRegion", "us-east-1"),
        ("localApp", "web"),
        ("remoteCloud", "aws"),
        ("remoteRegion", "us-east-1"),
        (GroupBy::Namespace.column(), "shop"),
    ];
    let mut out = header(schema);
    for row in rows {
        let cells: Vec<&str> = schema
            .names()
            .map(|c| {
                row.iter()
                    .chain(base.iter())
                    .find(|(k, _)| *k == c)
                    .map_or("", |(_, v)| *v)
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Every section of a report of `agg`, rendered three ways.
pub fn render_all(
    agg: &kubenetmon::report::Aggregate,
    files: Vec<kubenetmon::report::InputFile>,
    prices: &kubenetmon::report::Prices,
) {
    use kubenetmon::report::{Report, ReportFormat, ReportOptions};
    let opts = ReportOptions {
        period_seconds: Some(3_600),
        ..ReportOptions::default()
    };
    let report = Report::build(agg, files, prices, &opts);
    for format in [ReportFormat::Text, ReportFormat::Json, ReportFormat::Html] {
        let text = format.render(&report);
        assert!(!text.is_empty());
    }
}
