//! Snapshot tests (insta) of what users read: every help text, the `label`
//! summary and first CSV rows of the bundled demo, and `classify` output.
//! The snapshots are in tests/it/snapshots/, each headed by the command that
//! made it. A changed text fails the test and leaves a `.snap.new` beside
//! the snapshot: read the diff and accept it with `cargo insta review`. Under
//! CI nothing is written and a changed or missing snapshot fails.
//!
//! Nothing machine- or time-dependent may reach a snapshot: the binary runs
//! with `support::kubenetmon()` (no inherited configuration, 100 columns),
//! relative paths from the crate root, and filters for the rest.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use insta::assert_snapshot;

use crate::support::{kubenetmon, Workdir};

/// The settings every snapshot here uses: file names without the module
/// path, no Rust expression in the file, `command` as its description.
fn settings(command: &[&str]) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.set_description(format!("kubenetmon {}", command.join(" ")));
    s
}

/// Replaces `path` by `[name]` in the snapshots of `s`.
fn filter_path(s: &mut insta::Settings, path: &Path, name: &str) {
    let escaped: String = path
        .display()
        .to_string()
        .chars()
        .flat_map(|c| {
            let meta = "\\.+*?()|[]{}^$#&-~".contains(c);
            meta.then_some('\\').into_iter().chain([c])
        })
        .collect();
    s.add_filter(&escaped, format!("[{name}]"));
}

/// `kubenetmon ARGS` run from the crate root, so that relative paths are
/// the ones the README uses.
fn run(args: &[&str]) -> Command {
    let mut c = kubenetmon();
    c.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    c
}

/// Exit code, stdout and stderr of one run, as one text.
fn transcript(c: &mut Command) -> String {
    let out = c.output().unwrap();
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        out.status
            .code()
            .map_or_else(|| "killed".to_string(), |c| c.to_string()),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// One test per help text, named after the command; a changed help text
/// fails only its own test, so `cargo insta review` shows them all at once.
macro_rules! help_snapshots {
    ($($name:ident: [$($arg:literal),+];)+) => {$(
        #[test]
        fn $name() {
            let args = [$($arg),+];
            let out = run(&args)
                .assert()
                .success()
                .stderr("")
                .get_output()
                .stdout
                .clone();
            settings(&args).bind(|| assert_snapshot!(String::from_utf8(out).unwrap()));
        }
    )+};
}

help_snapshots! {
    help_long: ["--help"];
    help_short: ["-h"];
    label_help_long: ["label", "--help"];
    label_help_short: ["label", "-h"];
    classify_help_long: ["classify", "--help"];
    classify_help_short: ["classify", "-h"];
    ranges_help_long: ["ranges", "--help"];
    ranges_help_short: ["ranges", "-h"];
    ranges_fetch_help_long: ["ranges", "fetch", "--help"];
    ranges_fetch_help_short: ["ranges", "fetch", "-h"];
    ranges_show_help_long: ["ranges", "show", "--help"];
    ranges_show_help_short: ["ranges", "show", "-h"];
    completions_help_long: ["completions", "--help"];
    completions_help_short: ["completions", "-h"];
}

/// The README's set-up command on the bundled demo, run into a fresh
/// directory: (its transcript, the CSV it wrote, settings that hide both
/// the directory and the rows' dates).
fn label_demo() -> (String, String, insta::Settings) {
    let work = Workdir::new();
    // The observation time is the dumps' modification time unless given,
    // and a checkout older than the table's 90-day TTL would add a warning:
    // `--timestamp` now keeps the summary the same everywhere.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let args = [
        "label",
        "testdata/demo/dumps",
        "--inventory",
        "testdata/demo/inventory.json",
        "--ranges",
        "testdata/demo/ranges",
        "-o",
    ];
    let summary = transcript(
        run(&args)
            .arg(work.join("flows.csv"))
            .args(["--timestamp", &now]),
    );
    let mut s = settings(&[&args[..], &["[WORKDIR]/flows.csv", "--timestamp", "[now]"]].concat());
    filter_path(&mut s, work.path(), "WORKDIR");
    s.add_filter(
        r"(?m)^\d{4}-\d{2}-\d{2},\d{4}-\d{2}-\d{2} \d{2}:\d{2}:00,",
        "[date],[intervalStartTime],",
    );
    (summary, work.read("flows.csv"), s)
}

/// What `label` prints at the end of a run.
#[test]
fn label_demo_summary() {
    let (summary, _, s) = label_demo();
    s.bind(|| assert_snapshot!(summary));
}

/// The CSV header and the first six rows.
#[test]
fn label_demo_csv_head() {
    let (_, csv, s) = label_demo();
    let head: Vec<&str> = csv.lines().take(7).collect();
    s.bind(|| assert_snapshot!(head.join("\n")));
}

/// Addresses that show each kind of answer against testdata/ranges: an
/// S3 prefix, a Google one, an IPv6 AWS one, a private address (no match),
/// a documentation address (no match), and one that does not parse.
const ADDRESSES: [&str; 6] = [
    "52.216.10.20",
    "8.8.8.8",
    "2600:1f18::1",
    "10.0.0.1",
    "198.51.100.7",
    "not-an-ip",
];

fn classify_snapshot(name: &str, options: &[&str]) {
    let args: Vec<&str> = [
        &["classify", "--ranges", "testdata/ranges"],
        options,
        &ADDRESSES,
    ]
    .concat();
    let text = transcript(&mut run(&args));
    settings(&args).bind(|| assert_snapshot!(name, text));
}

#[test]
fn classify_table() {
    classify_snapshot("classify_table", &[]);
}

#[test]
fn classify_table_with_local_site() {
    classify_snapshot(
        "classify_table_with_local_site",
        &["--cloud", "aws", "--region", "us-east-1"],
    );
}

#[test]
fn classify_json() {
    classify_snapshot(
        "classify_json",
        &["--json", "--cloud", "aws", "--region", "us-east-1"],
    );
}
