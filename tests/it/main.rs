//! kubenetmon's integration tests: one test binary (`it`), one module per
//! area, so the crate and its dependencies are linked once and the helpers in
//! `support` are shared. The tests drive the real binary
//! (`support::kubenetmon()`) or the library's public API on fixtures in
//! testdata/.
//!
//! One area: `cargo test --test it label::`; one test:
//! `cargo test --test it -- --exact label::parquet_output`.

mod support;

mod classify;
mod classify_pods;
mod classify_real_files;
mod cli;
mod clickhouse_http;
mod conntrack_fixtures;
mod conntrack_handwritten;
mod conntrack_props;
mod docs_queries;
mod inventory;
mod inventory_stdin;
mod label;
mod label_baseline;
mod output_clickhouse;
mod output_files;
mod ranges_cmd;
mod ranges_usability;
mod report;
mod robust;
mod snapshots;
mod zones;
