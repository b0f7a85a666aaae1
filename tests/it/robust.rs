//! Outputs that never destroy, interruptions that leave nothing behind,
//! stdout closed or cut short (issues 16 and 17): the real binary against
//! devices, symlinks, FIFOs, signals and pipes.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::{self, kubenetmon, Workdir};

const NODE_A: &str = "ip-10-0-1-10.ec2.internal";

fn demo(rel: &str) -> String {
    support::testdata("demo").join(rel).display().to_string()
}

fn dump_a() -> String {
    demo(&format!("dumps/{NODE_A}.txt"))
}

/// The demo's arguments after `label`, one dump, its node named.
fn label_args() -> Vec<String> {
    [
        "label".to_string(),
        format!("{NODE_A}={}", dump_a()),
        "--inventory".into(),
        demo("inventory.json"),
        "--ranges".into(),
        demo("ranges"),
        "--timestamp".into(),
        "1700000000".into(),
        "-q".into(),
    ]
    .into()
}

fn label() -> Command {
    let mut c = kubenetmon();
    c.args(label_args());
    c
}

/// The CSV the demo dump gives on stdout: what every file output must hold.
fn expected_csv() -> Vec<u8> {
    let out = label().args(["-o", "-"]).assert().success();
    out.get_output().stdout.clone()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mkfifo(path: &Path) {
    let st = StdCommand::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

#[test]
fn replacing_a_file_keeps_its_mode() {
    let w = Workdir::new();
    let out = w.write("out.csv", "old");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o640)).unwrap();
    label().arg("-o").arg(&out).assert().success();
    assert_eq!(fs::read(&out).unwrap(), expected_csv());
    let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "mode {mode:o}");
    // --summary-json too
    let sj = w.write("s.json", "{}");
    fs::set_permissions(&sj, fs::Permissions::from_mode(0o600)).unwrap();
    label()
        .arg("-o")
        .arg(&out)
        .arg("--summary-json")
        .arg(&sj)
        .assert()
        .success();
    assert_eq!(
        fs::metadata(&sj).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(w.read("s.json").contains("\"rows\""));
}

#[test]
fn a_symlink_is_followed_and_its_target_replaced() {
    let w = Workdir::new();
    fs::create_dir(w.join("real")).unwrap();
    let target = w.write("real/flows.csv", "old");
    let link = w.join("flows.csv");
    std::os::unix::fs::symlink("real/flows.csv", &link).unwrap();
    // and one whose target does not exist yet
    let dangling = w.join("new.csv");
    std::os::unix::fs::symlink("real/new.csv", &dangling).unwrap();
    label().arg("-o").arg(&link).assert().success();
    label().arg("-o").arg(&dangling).assert().success();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&target).unwrap(), expected_csv());
    assert_eq!(fs::read(w.join("real/new.csv")).unwrap(), expected_csv());
    assert_eq!(names_in(&w.join("real")), ["flows.csv", "new.csv"]);
}

/// A character device node of our own in `w` (`mknod NAME c MAJOR MINOR`,
/// as root), so a regression replaces it rather than the system's /dev/null.
fn char_device(w: &Workdir, name: &str, major: u32, minor: u32) -> Option<std::path::PathBuf> {
    let path = w.join(name);
    let ok = StdCommand::new("mknod")
        .arg(&path)
        .args(["c", &major.to_string(), &minor.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    support::require("mknod (root) for a device node of the test's own", ok).then_some(path)
}

#[test]
fn a_null_device_stays_a_device() {
    let w = Workdir::new();
    let Some(null) = char_device(&w, "null", 1, 3) else {
        return;
    };
    for format in ["csv", "parquet"] {
        label()
            .arg("-o")
            .arg(&null)
            .args(["--format", format])
            .assert()
            .success();
        assert!(fs::metadata(&null).unwrap().file_type().is_char_device());
        // nothing was created beside it
        assert_eq!(names_in(w.path()), ["null"]);
    }
    // --summary-json too
    label()
        .args(["-o", "-", "--summary-json"])
        .arg(&null)
        .assert()
        .success();
    assert!(fs::metadata(&null).unwrap().file_type().is_char_device());
}

#[test]
fn a_full_device_is_a_write_error_naming_it() {
    let w = Workdir::new();
    let Some(full) = char_device(&w, "full", 1, 7) else {
        return;
    };
    label()
        .arg("-o")
        .arg(&full)
        .args(["--format", "csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{}: write error",
            full.display()
        )))
        .stderr(predicate::str::contains("No space left on device"));
    assert!(fs::metadata(&full).unwrap().file_type().is_char_device());
    assert_eq!(names_in(w.path()), ["full"]);
}

#[test]
fn a_fifo_is_written_through() {
    let w = Workdir::new();
    let fifo = w.join("rows.csv");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    label().arg("-o").arg(&fifo).assert().success();
    assert_eq!(reader.join().unwrap(), expected_csv());
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names_in(w.path()), ["rows.csv"]);
}

#[test]
fn a_directory_is_not_an_output() {
    let w = Workdir::new();
    fs::create_dir(w.join("out.csv")).unwrap();
    label()
        .arg("-o")
        .arg(w.join("out.csv"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("out.csv: a directory"));
}

/// Issue 17 item 2: every output is opened before the run, so a
/// `--summary-json` or `--report` that cannot be written fails the run before
/// `-o`'s good file is replaced, and leaves no temporary file behind.
#[test]
fn an_output_that_cannot_be_written_leaves_every_other_output_as_it_was() {
    let w = Workdir::new();
    let good = w.write("flows.csv", "GOOD\n");
    fs::create_dir(w.join("summary.json")).unwrap();
    label()
        .arg("-o")
        .arg(&good)
        .arg("--summary-json")
        .arg(w.join("summary.json"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("summary.json: a directory"));
    assert_eq!(fs::read_to_string(&good).unwrap(), "GOOD\n");
    label()
        .arg("-o")
        .arg(&good)
        .arg("--report")
        .arg(w.join("no-such-dir/cost.json"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cost.json"));
    assert_eq!(fs::read_to_string(&good).unwrap(), "GOOD\n");
    assert_eq!(names_in(w.path()), ["flows.csv", "summary.json"]);
}

/// `label - --node … -o DIR/out.csv` reading a stdin this test holds open,
/// so the run is mid-way (its temporary file exists) until it is signalled.
/// With `ignore_sigint`, started as a background job of a script is:
/// SIGINT ignored by the parent.
fn start_slow_run(w: &Workdir, ignore_sigint: bool) -> std::process::Child {
    let mut args = label_args();
    args[1] = "-".into();
    args.extend(["--node".into(), NODE_A.into()]);
    let bin = env!("CARGO_BIN_EXE_kubenetmon");
    let mut cmd = if ignore_sigint {
        let mut c = support::isolated("sh");
        c.args(["-c", "trap '' INT; exec \"$0\" \"$@\"", bin]);
        c
    } else {
        support::isolated(bin)
    };
    let mut child = cmd
        .args(&args)
        .arg("-o")
        .arg(w.join("out.csv"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // half the dump, and no end of input
    let dump = fs::read_to_string(dump_a()).unwrap();
    let half: String = dump.lines().take(5).map(|l| format!("{l}\n")).collect();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(half.as_bytes())
        .unwrap();
    let start = Instant::now();
    while !names_in(w.path()).iter().any(|n| n.ends_with(".tmp")) {
        assert!(start.elapsed() < Duration::from_secs(60), "no temp file");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn kill(child: &std::process::Child, signal: &str) {
    let st = StdCommand::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn sigint_and_sigterm_remove_the_temporary_file() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let w = Workdir::new();
        let mut child = start_slow_run(&w, false);
        // held open until the child has exited: the run must end by the signal
        let stdin = child.stdin.take();
        kill(&child, signal);
        let status = child.wait().unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status, status);
        assert_eq!(out.status.code(), Some(code), "{signal}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("interrupted by SIG"), "{stderr}");
        assert_eq!(names_in(w.path()), Vec::<String>::new(), "{signal}");
    }
}

#[test]
fn a_sigint_the_parent_ignores_stays_ignored() {
    let w = Workdir::new();
    let mut child = start_slow_run(&w, true);
    let stdin = child.stdin.take();
    kill(&child, "-INT");
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "SIGINT ended the run");
    assert_eq!(names_in(w.path()).len(), 1);
    kill(&child, "-TERM");
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(143));
    assert_eq!(names_in(w.path()), Vec::<String>::new());
}

#[test]
fn after_sigkill_the_next_run_names_the_leftover() {
    let w = Workdir::new();
    let mut child = start_slow_run(&w, false);
    kill(&child, "-KILL");
    child.wait().unwrap();
    let left = names_in(w.path());
    assert_eq!(left.len(), 1);
    assert!(left[0].starts_with(".out.csv.") && left[0].ends_with(".tmp"));
    let mut args = label_args();
    args.pop(); // not -q: the warning is an ordinary one
    kubenetmon()
        .args(&args)
        .arg("-o")
        .arg(w.join("out.csv"))
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "warning: {}: found 1 unfinished temporary file(s)",
            w.join("out.csv").display()
        )))
        .stderr(predicate::str::contains(&left[0]));
    // never deleted: it might be another run's
    let now = names_in(w.path());
    assert_eq!(now, [left[0].clone(), "out.csv".to_string()]);
}

/// Runs `kubenetmon ARGS` with stdout a pipe whose reader is already gone.
fn with_broken_pipe(args: &[String]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    support::isolated(env!("CARGO_BIN_EXE_kubenetmon"))
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_broken_pipe_is_a_quiet_success_for_every_subcommand() {
    let w = Workdir::new();
    let rows = w.join("rows.csv");
    label().arg("-o").arg(&rows).assert().success();
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let mut label_stdout = label_args();
    label_stdout.extend(s(&["-o", "-"]));
    let mut label_parquet = label_args();
    label_parquet.extend(s(&["-o", "-", "--format", "parquet"]));
    let mut label_summary = label_args();
    label_summary.extend(s(&[
        "-o",
        "/dev/null",
        "--format",
        "csv",
        "--summary-json",
        "-",
    ]));
    let ranges = demo("ranges");
    let rows = rows.display().to_string();
    let cases = [
        label_stdout,
        label_parquet,
        label_summary,
        s(&["ranges", "show", "--dir", &ranges]),
        s(&["ranges", "show", "--dir", &ranges, "--json"]),
        s(&["classify", "52.216.10.20", "--ranges", &ranges]),
        s(&["classify", "52.216.10.20", "--ranges", &ranges, "--json"]),
        s(&["report", &rows]),
        s(&["report", &rows, "--json"]),
        s(&["completions", "bash"]),
    ];
    for args in cases {
        let out = with_broken_pipe(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

/// `sh -c 'exec kubenetmon "$@" >&-'`: stdout closed, not redirected.
fn with_stdout_closed(args: &[String]) -> std::process::Output {
    support::isolated("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" >&-")
        .arg(env!("CARGO_BIN_EXE_kubenetmon"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_is_an_error_for_label_and_classify() {
    let mut label_stdout = label_args();
    label_stdout.extend(["-o".into(), "-".into()]);
    let classify: Vec<String> = ["classify", "52.216.10.20", "--ranges", &demo("ranges")]
        .iter()
        .map(|a| a.to_string())
        .collect();
    for args in [label_stdout, classify] {
        let out = with_stdout_closed(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("kubenetmon: error: <stdout>: stdout is closed"),
            "{stderr}"
        );
    }
    // > /dev/null is a choice, not a closed stdout
    let st = support::isolated(env!("CARGO_BIN_EXE_kubenetmon"))
        .args(["classify", "52.216.10.20", "--ranges", &demo("ranges")])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
}

#[test]
fn a_file_that_is_not_a_dump_fails_without_touching_the_output() {
    let w = Workdir::new();
    let out = w.write("out.csv", "good");
    // the inventory given as a dump: every line malformed
    let mut args = label_args();
    args[1] = format!("{NODE_A}={}", demo("inventory.json"));
    kubenetmon()
        .args(&args)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "kubenetmon: error: {}: 354 of 354 lines are malformed, none parses: \
             is it a conntrack dump?",
            demo("inventory.json")
        )));
    assert_eq!(w.read("out.csv"), "good");
    assert_eq!(names_in(w.path()), ["out.csv"]);
    // more than half malformed (6 of 11 lines), some parse
    let dump = fs::read_to_string(dump_a()).unwrap();
    let mut text: String = dump.lines().take(5).map(|l| format!("{l}\n")).collect();
    text.push_str(&"garbage\n".repeat(6));
    let bad = w.write("bad.txt", &text);
    args[1] = format!("{NODE_A}={}", bad.display());
    kubenetmon()
        .args(&args)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "6 of 11 lines are malformed: is it",
        ));
    assert_eq!(w.read("out.csv"), "good");
    // half is still a dump; --keep-going writes the rows of the lines that parse
    kubenetmon()
        .args(&args)
        .args(["--keep-going", "-o"])
        .arg(&out)
        .assert()
        .success();
    let good: String = dump.lines().take(5).map(|l| format!("{l}\n")).collect();
    args[1] = format!("{NODE_A}={}", w.write("good.txt", &good).display());
    let want = kubenetmon()
        .args(&args)
        .args(["-o", "-"])
        .assert()
        .success();
    let want = String::from_utf8_lossy(&want.get_output().stdout).into_owned();
    assert!(want.lines().count() > 1, "{want}");
    assert_eq!(w.read("out.csv"), want);
    text.truncate(text.len() - "garbage\n".len());
    let half = w.write("half.txt", &text);
    args[1] = format!("{NODE_A}={}", half.display());
    kubenetmon()
        .args(&args)
        .args(["-o", "-"])
        .assert()
        .success();
    // a dry run too
    kubenetmon()
        .args(["label", "--dry-run", &demo("inventory.json")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("none parses"));
}

#[test]
fn two_inputs_of_one_node_are_an_error_naming_both() {
    let w = Workdir::new();
    let dir = w.join("dumps");
    fs::create_dir(&dir).unwrap();
    let plain = w.copy(Path::new(&dump_a()), format!("dumps/{NODE_A}.txt"));
    let dump = fs::read(&plain).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&dump).unwrap();
    let gz = w.write(format!("dumps/{NODE_A}.txt.gz"), enc.finish().unwrap());
    let mut args = label_args();
    args[1] = dir.display().to_string();
    args.pop();
    let out = kubenetmon()
        .args(&args)
        .args(["-o", "-"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("node {NODE_A} has 2 inputs (")),
        "{stderr}"
    );
    assert!(stderr.contains(&plain.display().to_string()), "{stderr}");
    assert!(stderr.contains(&gz.display().to_string()), "{stderr}");
    assert!(out.stdout.is_empty());
    // allowed: both counted, with a warning pointing to --baseline
    let out = kubenetmon()
        .args(&args)
        .args(["-o", "-", "--allow-duplicate-nodes"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("warning: node {NODE_A} has 2 dumps (")),
        "{stderr}"
    );
    assert!(stderr.contains("--baseline"), "{stderr}");
    let rows = String::from_utf8_lossy(&out.stdout).lines().count() - 1;
    let once = String::from_utf8_lossy(&expected_csv()).lines().count() - 1;
    assert_eq!(rows, 2 * once);
}

#[test]
fn the_summary_speaks_human_units_with_shares_and_a_total() {
    let w = Workdir::new();
    let sj = w.join("s.json");
    let mut args = label_args();
    args.pop();
    let out = kubenetmon()
        .args(&args)
        .args(["-o", "/dev/null", "--format", "csv", "--summary-json"])
        .arg(&sj)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&sj).unwrap()).unwrap();
    // exact numbers stay in the JSON
    let bytes = &json["bytes"];
    let pair = |c: &str| {
        (
            bytes[c]["out"].as_u64().unwrap_or(0),
            bytes[c]["in"].as_u64().unwrap_or(0),
        )
    };
    let classes = [
        "INTRA_VPC",
        "INTRA_REGION",
        "INTER_REGION",
        "PUBLIC_INTERNET",
    ];
    let total: u64 = classes.iter().map(|c| pair(c).0 + pair(c).1).sum();
    assert!(total > 0, "{json}");
    for c in classes {
        let (o, i) = pair(c);
        if o + i == 0 {
            continue;
        }
        let share = format!("{:.1} %", 100.0 * (o + i) as f64 / total as f64);
        let line = stderr
            .lines()
            .find(|l| l.trim_start().starts_with(c))
            .unwrap_or_else(|| panic!("{c}: {stderr}"));
        assert!(line.ends_with(&share), "{line} / {share}");
        assert!(line.contains(" out ") && line.contains(" in "), "{line}");
        assert!(!line.contains("bytes"), "{line}");
        let unit = |n: u64| {
            if n < 1024 {
                " B ".to_string()
            } else {
                "iB ".to_string()
            }
        };
        assert!(line.contains(&unit(o)) && line.contains(&unit(i)), "{line}");
    }
    let total_line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("total "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(total_line.ends_with("100.0 %"), "{total_line}");
}

#[test]
fn the_unknown_direction_warning_is_one_sentence_saying_what_to_do() {
    // node B's name on node A's dump: flows between A's pods have no direction
    let mut args = label_args();
    args[1] = format!("ip-10-0-2-20.ec2.internal={}", dump_a());
    args.pop();
    let out = kubenetmon()
        .args(&args)
        .args(["-o", "/dev/null", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("unknown_direction)"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    let w = warnings[0];
    assert!(w.starts_with("kubenetmon: warning: "), "{w}");
    assert!(
        w.contains(
            ":11: skipped a flow: cannot tell the direction of 10.244.1.11 -> 10.244.1.12, as"
        ),
        "{w}"
    );
    assert!(
        w.contains("check the dump's node (NODE=FILE or --node) and take the inventory closer"),
        "{w}"
    );
    // one sentence: a single full stop, at its end
    assert_eq!(w.matches(". ").count(), 0, "{w}");
}

#[test]
fn control_bytes_from_a_dump_never_reach_the_terminal() {
    let w = Workdir::new();
    let nasty = "\x1b]0;pwned\x07\x1b[2J\rbad\0line\n";
    let name = "dump\x1b[31m.txt";
    let dump = w.write(name, nasty);
    for extra in [vec![], vec!["--strict"], vec!["--keep-going"]] {
        let mut args = label_args();
        args[1] = format!("{NODE_A}={}", dump.display());
        args.pop();
        let out = kubenetmon()
            .args(&args)
            .args(["-o", "/dev/null", "--format", "csv"])
            .args(&extra)
            .output()
            .unwrap();
        let stderr = &out.stderr;
        assert!(!stderr.is_empty());
        let raw: Vec<u8> = stderr
            .iter()
            .copied()
            .filter(|b| *b < 0x20 && *b != b'\n' || *b == 0x7f)
            .collect();
        assert!(
            raw.is_empty(),
            "{extra:?}: {:?}",
            String::from_utf8_lossy(stderr)
        );
        let text = String::from_utf8_lossy(stderr);
        assert!(text.contains("dump\\x1b[31m.txt"), "{extra:?}: {text}");
    }
    // the dry run, an inventory error and a range-file error too
    let bad_inv = w.write("inv\x1b.json", "{\"items\": [\x1b]}");
    let out = kubenetmon()
        .args(["label", "--dry-run"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        !out.stderr.contains(&0x1b),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubenetmon()
        .args(["classify", "10.0.0.1", "--inventory"])
        .arg(&bad_inv)
        .args(["--ranges", &demo("ranges")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !out.stderr.contains(&0x1b),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("inv\\x1b.json"));
}

#[test]
fn a_bad_range_prefix_names_its_line_and_entry() {
    let w = Workdir::new();
    let aws = w.write(
        "aws.json",
        "{\"syncToken\":\"1\",\"createDate\":\"2023-11-14-00-00-00\",\"prefixes\":[\n\
         {\"ip_prefix\":\"52.216.0.0/15\",\"region\":\"us-east-1\",\"service\":\"S3\"},\n\
         {\"ip_prefix\":\"52.216.0/15\",\"region\":\"us-east-1\",\"service\":\"S3\"}]}\n",
    );
    kubenetmon()
        .args(["classify", "52.216.10.20", "--aws"])
        .arg(&aws)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{}: line 3, prefixes[1].ip_prefix: prefix \"52.216.0/15\" does not parse",
            aws.display()
        )));
}

#[test]
fn a_cloud_contradicting_the_nodes_warns() {
    let mut args = label_args();
    args.pop();
    kubenetmon()
        .args(&args)
        .args([
            "--cloud",
            "gcp",
            "--region",
            "us-central1",
            "-o",
            "/dev/null",
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: --cloud gcp contradicts the inventory, whose nodes' providerIDs all say aws",
        ));
    // agreeing: no warning
    kubenetmon()
        .args(&args)
        .args(["--cloud", "aws", "-o", "/dev/null", "--format", "csv"])
        .assert()
        .success()
        .stderr(predicate::str::contains("contradicts").not());
}
