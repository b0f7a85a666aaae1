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

#[test]
fn dev_null_stays_a_device() {
    label()
        .args(["-o", "/dev/null", "--format", "csv"])
        .assert()
        .success();
    label()
        .args(["-o", "/dev/null", "--format", "parquet"])
        .assert()
        .success();
    let m = fs::metadata("/dev/null").unwrap();
    assert!(m.file_type().is_char_device());
    // nothing was created beside it
    let leftovers: Vec<String> = names_in(Path::new("/dev"))
        .into_iter()
        .filter(|n| n.starts_with(".null."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_full_device_is_a_write_error_naming_it() {
    if !support::require("/dev/full", Path::new("/dev/full").exists()) {
        return;
    }
    label()
        .args(["-o", "/dev/full", "--format", "csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/dev/full: write error"))
        .stderr(predicate::str::contains("No space left on device"));
    assert!(fs::metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
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

/// `label - --node … -o DIR/out.csv` reading a stdin this test holds open,
/// so the run is mid-way (its temporary file exists) until it is signalled.
fn start_slow_run(w: &Workdir) -> std::process::Child {
    let mut args = label_args();
    args[1] = "-".into();
    args.extend(["--node".into(), NODE_A.into()]);
    let mut child = support::isolated(env!("CARGO_BIN_EXE_kubenetmon"))
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
        let mut child = start_slow_run(&w);
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
fn after_sigkill_the_next_run_names_the_leftover() {
    let w = Workdir::new();
    let mut child = start_slow_run(&w);
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
