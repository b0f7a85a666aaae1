//! `--inventory -` reads kubectl JSON from stdin (through the binary).

use predicates::prelude::*;

use crate::support::kubenetmon;

#[test]
fn inventory_from_stdin_sets_the_local_site() {
    kubenetmon()
        .args([
            "classify",
            "--ranges",
            "testdata/ranges",
            "-q",
            "--json",
            "--inventory",
            "-",
            "35.185.0.1",
        ])
        .write_stdin(std::fs::read("testdata/inventory/gcp-node.json").unwrap())
        .assert()
        .success()
        .stdout(predicate::str::contains("\"class\":\"INTRA_REGION\""));
}

#[test]
fn broken_inventory_on_stdin_names_stdin() {
    kubenetmon()
        .args([
            "classify",
            "--ranges",
            "testdata/ranges",
            "--inventory",
            "-",
            "8.8.8.8",
        ])
        .write_stdin("{\"kind\": \"List\",\n \"items\": [}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("<stdin>").and(predicate::str::contains("line 2")));
}
