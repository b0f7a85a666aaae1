//! CLI conventions shared by every subcommand: help with examples, env vars
//! named in help, `--version`, shell completions, and exit codes.

use predicates::prelude::*;

use crate::support::kubenetmon;

#[test]
fn version_prints_the_crate_version() {
    kubenetmon()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("kubenetmon {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    // Each script names the subcommands, in that shell's syntax.
    for (shell, marker) in [
        ("bash", "complete -F _kubenetmon"),
        ("zsh", "#compdef kubenetmon"),
        ("fish", "complete -c kubenetmon"),
    ] {
        let out = kubenetmon()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        for sub in ["label", "classify", "fetch", "inventory"] {
            assert!(text.contains(sub), "{shell}: {sub} missing");
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    kubenetmon()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value"));
}

#[test]
fn every_subcommand_help_has_examples() {
    for args in [
        &[][..],
        &["label"],
        &["ranges"],
        &["ranges", "fetch"],
        &["ranges", "show"],
        &["classify"],
        &["completions"],
    ] {
        let out = kubenetmon()
            .args(args)
            .arg("--help")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        let examples = text
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("{args:?}: no Examples section"))
            .1;
        assert!(
            examples
                .lines()
                .any(|l| l.trim_start().starts_with("kubenetmon ")),
            "{args:?}: no example command"
        );
    }
}

#[test]
fn help_names_the_env_vars_of_common_options() {
    for (args, vars) in [
        (
            &["label"][..],
            &[
                "KUBENETMON_RANGES",
                "KUBENETMON_CLOUD",
                "KUBENETMON_REGION",
                "KUBENETMON_ENVIRONMENT",
                "KUBENETMON_CLUSTER",
                "KUBENETMON_NODE",
                "KUBENETMON_THREADS",
            ][..],
        ),
        (
            &["classify"],
            &["KUBENETMON_RANGES", "KUBENETMON_CLOUD", "KUBENETMON_REGION"],
        ),
        (
            &["ranges", "fetch"],
            &["KUBENETMON_RANGES", "KUBENETMON_AWS_URL"],
        ),
        (&["ranges", "show"], &["KUBENETMON_RANGES"]),
    ] {
        let out = kubenetmon()
            .args(args)
            .arg("--help")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        // Help text wraps anywhere; compare with whitespace collapsed.
        let text = String::from_utf8(out)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for v in vars {
            assert!(text.contains(&format!("[env: {v}=")), "{args:?}: {v}");
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    kubenetmon().assert().code(2);
    kubenetmon().arg("frobnicate").assert().code(2);
    kubenetmon().args(["classify", "--bogus"]).assert().code(2);
    kubenetmon()
        .args(["classify", "--cloud", "ibm", "--region", "x", "1.2.3.4"])
        .assert()
        .code(2);
}

#[test]
fn ranges_show_takes_dir_or_ranges() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ranges");
    let show = |opt: &str| {
        kubenetmon()
            .env_remove("KUBENETMON_RANGES")
            .args(["ranges", "show", "--json", opt, dir])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let by_dir = show("--dir");
    let v: serde_json::Value = serde_json::from_slice(&by_dir).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
    assert_eq!(show("--ranges"), by_dir);
}
