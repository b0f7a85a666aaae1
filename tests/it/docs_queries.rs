//! Runs tests/docs_queries.py: every SQL block of docs/queries.md against the
//! real binary's output for the bundled demo, in chDB's embedded ClickHouse
//! and in DuckDB, checked against the runs' `--summary-json`. Under `CI=true`
//! a missing python3, chdb, duckdb or pyarrow fails; elsewhere it is SKIPPED.

use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/docs_queries.py");
/// The script's exit code for a missing Python package.
const MISSING: i32 = 77;

fn skip(why: &str) {
    crate::support::require(&format!("{why} (docs/queries.md not checked)"), false);
}

#[test]
fn every_query_in_the_docs_runs_and_agrees_with_the_summary() {
    let has_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        return skip("python3 not found");
    }
    let out = crate::support::isolated("python3")
        .arg(SCRIPT)
        .arg(env!("CARGO_BIN_EXE_kubenetmon"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(MISSING) {
        return skip(text.trim());
    }
    assert!(out.status.success(), "docs_queries.py failed:\n{text}");
    assert!(text.contains("PASSED"), "{text}");
}
