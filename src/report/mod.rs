//! SPEC §9: what the bytes cost. Rows — read back from CSV or Parquet
//! files ([`read`]) or labelled in memory ([`sink`]) — are aggregated as
//! they stream past ([`agg`]), priced ([`prices`]), cut into the report's
//! sections ([`sections`]) and rendered as text, JSON or HTML ([`render`]).
//! Nothing here prints; renderings are strings.

pub mod agg;
pub mod prices;
pub mod read;
pub mod render;
pub mod sections;
pub mod sink;

use std::path::Path;

pub use agg::Aggregate;
pub use prices::{PriceError, Prices};
pub use read::{read_files, NoProgress, Progress, ReadError};
pub use sections::{parse_period, GroupBy, InputFile, Report, ReportOptions};
pub use sink::ReportSink;

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    Html,
}

impl ReportFormat {
    /// From a file name: `.txt`, `.json`, `.html`/`.htm`; `-` is text.
    pub fn from_path(path: &Path) -> Option<ReportFormat> {
        if crate::io::is_stdio(path) {
            return Some(ReportFormat::Text);
        }
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".txt") {
            Some(ReportFormat::Text)
        } else if name.ends_with(".json") {
            Some(ReportFormat::Json)
        } else if name.ends_with(".html") || name.ends_with(".htm") {
            Some(ReportFormat::Html)
        } else {
            None
        }
    }

    pub fn render(self, report: &Report) -> String {
        match self {
            ReportFormat::Text => render::text(report),
            ReportFormat::Json => render::json(report),
            ReportFormat::Html => render::html(report),
        }
    }
}
