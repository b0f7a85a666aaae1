//! Issue 16 ("what a new user trips over") for `ranges fetch|show`: the
//! `--retries` help, and ages measured from the vendors' own dates.

use assert_cmd::Command;

fn kubenetmon() -> Command {
    let mut c = Command::cargo_bin("kubenetmon").unwrap();
    c.env_remove("KUBENETMON_RANGES");
    c
}

#[test]
fn retries_help_says_how_to_fail_fast_and_the_backoff() {
    let long = kubenetmon()
        .args(["ranges", "fetch", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let long = String::from_utf8(long).unwrap();
    let retries = &long[long.find("--retries <N>").expect("--retries listed")..];
    let retries = &retries[..retries.find("--aws-url").unwrap()];
    let flat = retries.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("`--retries 0` fails fast"), "{flat}");
    assert!(flat.contains("1 s, 2 s, 4 s"), "{flat}");
    assert!(flat.contains("[default: 3]"), "{flat}");
    // The short help keeps the part that matters.
    let short = kubenetmon()
        .args(["ranges", "fetch", "-h"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let short = String::from_utf8(short).unwrap();
    let flat = short.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("`--retries 0` fails fast"), "{flat}");
}
