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
    // Each script offers, in that shell's syntax, the subcommands that
    // `--help` lists, at the top level and under `ranges`.
    let top = subcommands(&[]);
    let ranges = subcommands(&["ranges"]);
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
        // (bash lists them sorted)
        assert_eq!(
            sorted(offered(shell, &text, None)),
            sorted(top.clone()),
            "{shell}: top level"
        );
        assert_eq!(
            sorted(offered(shell, &text, Some("ranges"))),
            sorted(ranges.clone()),
            "{shell}: ranges"
        );
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The subcommands a completion script offers after `kubenetmon [PARENT]`.
fn offered(shell: &str, script: &str, parent: Option<&str>) -> Vec<String> {
    let names = |it: &mut dyn Iterator<Item = &str>| it.map(str::to_string).collect();
    match shell {
        // `kubenetmon,label)` / `kubenetmon__subcmd__ranges,fetch)` in the
        // case that tracks the command line.
        "bash" => {
            let prefix = match parent {
                None => "kubenetmon,".to_string(),
                Some(p) => format!("kubenetmon__subcmd__{p},"),
            };
            names(&mut script.lines().filter_map(|l| {
                l.trim()
                    .strip_prefix(prefix.as_str())
                    .and_then(|r| r.strip_suffix(')'))
            }))
        }
        // `'label:description' \` lines in `_kubenetmon[__subcmd__P]_commands()`.
        "zsh" => {
            let function = match parent {
                None => "\n_kubenetmon_commands() {\n".to_string(),
                Some(p) => format!("\n_kubenetmon__subcmd__{p}_commands() {{\n"),
            };
            let body = script
                .split_once(function.as_str())
                .unwrap_or_else(|| panic!("zsh: no {function:?}"))
                .1;
            let body = body.split_once("_describe").unwrap().0;
            names(&mut body.lines().filter_map(|l| {
                l.strip_prefix('\'')
                    .and_then(|r| r.split_once(':'))
                    .map(|(name, _)| name)
            }))
        }
        // `complete -c kubenetmon -n "CONDITION" -f -a "label" -d …`.
        "fish" => {
            let condition = match parent {
                None => "\"__fish_kubenetmon_needs_command\"".to_string(),
                Some(p) => format!(
                    "\"__fish_kubenetmon_using_subcommand {p}; and not __fish_seen_subcommand_from "
                ),
            };
            names(&mut script.lines().filter_map(|l| {
                let rest = l.strip_prefix("complete -c kubenetmon -n ")?;
                if !rest.starts_with(condition.as_str()) {
                    return None;
                }
                let name = rest.split_once(" -f -a \"")?.1;
                name.split_once('"').map(|(name, _)| name)
            }))
        }
        _ => unreachable!("{shell}"),
    }
}

/// The names in the `Commands:` section of `kubenetmon ARGS --help`, in
/// order (clap's own `help` included); empty when there is none.
fn subcommands(args: &[&str]) -> Vec<String> {
    let text = help(args);
    let Some((_, section)) = text.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    section
        .lines()
        .take_while(|l| !l.trim().is_empty())
        // `  name  description`; wrapped descriptions are indented further.
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// `kubenetmon ARGS --help`, which must succeed and print nothing on stderr.
fn help(args: &[&str]) -> String {
    let out = kubenetmon()
        .args(args)
        .arg("--help")
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn help_lists_every_subcommand() {
    let top = subcommands(&[]);
    for sub in ["label", "ranges", "classify", "completions", "help"] {
        assert!(top.iter().any(|s| s == sub), "{sub} not in {top:?}");
    }
    assert_eq!(subcommands(&["ranges"]), ["fetch", "show", "help"]);
    // Leaf commands list none.
    for leaf in [&["label"][..], &["classify"], &["ranges", "show"]] {
        assert_eq!(subcommands(leaf), Vec::<String>::new(), "{leaf:?}");
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
    // Every command `--help` lists, at any depth, so a new subcommand is
    // checked without being named here: its `--help` and `-h` work, and the
    // long help has an Examples section with a `kubenetmon SUBCOMMAND` line.
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut seen = Vec::new();
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let examples = text
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("{args:?}: no Examples section"))
            .1;
        let command = [&["kubenetmon"][..], &args].concat().join(" ");
        assert!(
            examples
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "{args:?}: no example command starting {command:?}"
        );
        kubenetmon()
            .args(&args)
            .arg("-h")
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: "));
        for sub in subcommands(&args) {
            if sub != "help" {
                todo.push(path.iter().cloned().chain([sub]).collect());
            }
        }
        seen.push(command);
    }
    for want in [
        "kubenetmon",
        "kubenetmon label",
        "kubenetmon ranges",
        "kubenetmon ranges fetch",
        "kubenetmon ranges show",
        "kubenetmon classify",
        "kubenetmon completions",
    ] {
        assert!(
            seen.iter().any(|c| c == want),
            "{want} not reached: {seen:?}"
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
    // Ages count seconds from now: two runs may straddle a second.
    let without_ages = |out: Vec<u8>| {
        let mut v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        for p in v.as_array_mut().unwrap() {
            let p = p.as_object_mut().unwrap();
            assert!(p.remove("age_seconds").is_some());
            p.remove("fetched_age_seconds");
        }
        v
    };
    let by_dir = without_ages(show("--dir"));
    assert_eq!(by_dir.as_array().unwrap().len(), 4);
    assert_eq!(without_ages(show("--ranges")), by_dir);
}

/// Issue 16/17: an OS error's text appears once, after the file it concerns
/// (it was printed twice, as the error and as its cause).
#[test]
fn an_os_error_is_printed_once_after_the_file() {
    for args in [
        vec!["label", "/nonexistent/x.txt", "--node", "n", "--dry-run"],
        vec![
            "label",
            concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/demo/dumps"),
            "-i",
            "/nonexistent.json",
            "--dry-run",
        ],
    ] {
        let out = kubenetmon().args(&args).assert().code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
        assert!(err.contains("/nonexistent"), "{err}");
    }
}

/// Issue 16: an output name no format is known for is a usage error (exit 2).
#[test]
fn an_unknown_output_extension_is_a_usage_error() {
    kubenetmon()
        .args(["label", "x.txt", "--node", "n", "-o", "out.json"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("out.json"));
}
