//! Output sinks: the columns of SPEC §4 (defined once, in `schema`), written
//! as CSV or Parquet to a temporary file that `finish` renames into place.

use thiserror::Error;

use crate::model::LabelledFlow;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    #[error("{path}: {message}")]
    Write { path: String, message: String },
}

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

/// Receives labelled flows in input order; each flow becomes two rows.
pub trait Sink {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError>;
    /// Flushes and renames into place; returns the number of rows written.
    fn finish(self: Box<Self>) -> Result<u64, OutputError>;
}
