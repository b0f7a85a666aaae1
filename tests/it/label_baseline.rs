//! `kubenetmon label --baseline` (SPEC §8) end to end, on two real
//! snapshots taken a few seconds apart with known traffic in between
//! (testdata/conntrack/baseline/, made by
//! `scripts/make-conntrack-fixtures.sh --baseline`; what it sent is in its
//! `traffic.json`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{self, kubenetmon, Workdir};

fn fixture(name: &str) -> PathBuf {
    support::testdata("conntrack/baseline").join(name)
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

fn traffic() -> Value {
    serde_json::from_slice(&fs::read(fixture("traffic.json")).unwrap()).unwrap()
}

/// The snapshot times the script recorded.
fn times() -> (i64, i64) {
    let t = traffic();
    (t["snap1"].as_i64().unwrap(), t["snap2"].as_i64().unwrap())
}

/// Bytes of UDP datagrams (or ICMP echoes) of these payload sizes: IPv4 20
/// + UDP/ICMP 8 + payload each.
fn datagram_bytes(sizes: &Value) -> (u64, u64) {
    let sizes: Vec<u64> = sizes
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    (
        sizes.len() as u64,
        sizes.iter().map(|n| 20 + 8 + n).sum::<u64>(),
    )
}

/// `label` on the fixture network's inventory and the demo ranges (the
/// remote, 192.168.100.20, is private: no lookup).
fn label() -> Command {
    let mut c = kubenetmon();
    c.arg("label")
        .args(["--inventory", &arg(&fixture("inventory.json"))])
        .args(["--ranges", &arg(&support::testdata("demo/ranges"))]);
    c
}

/// `label DUMP --baseline PREV` with the recorded times and an interval
/// equal to their gap.
fn label_pair(dump: &str, prev: &str) -> Command {
    let (t1, t2) = times();
    let mut c = label();
    c.arg(arg(&fixture(dump)))
        .args(["--baseline", &arg(&fixture(prev))])
        .args(["--timestamp", &t2.to_string()])
        .args(["--baseline-timestamp", &t1.to_string()])
        .args(["--interval-seconds", &(t2 - t1).to_string()]);
    c
}

/// (local port, direction) → (bytes, packets) of the CSV rows.
type Rows = HashMap<(u16, String), (u64, u64)>;

fn rows(csv: &[u8]) -> Rows {
    let mut r = csv::Reader::from_reader(csv);
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (port, dir, bytes, packets) = (
        col("localPort"),
        col("direction"),
        col("bytes"),
        col("packets"),
    );
    let mut out = Rows::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let key = (rec[port].parse().unwrap(), rec[dir].to_string());
        let v = (rec[bytes].parse().unwrap(), rec[packets].parse().unwrap());
        assert!(
            out.insert(key, v).is_none(),
            "one row per port and direction"
        );
    }
    out
}

/// Runs `cmd` with the rows on stdout and the summary in a file.
fn run(mut cmd: Command, work: &Workdir) -> (Rows, Value, String) {
    let summary = work.join("summary.json");
    let out = cmd
        .args(["-o", "-", "--summary-json", &arg(&summary)])
        .assert()
        .success()
        .get_output()
        .clone();
    let v = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    (rows(&out.stdout), v, String::from_utf8(out.stderr).unwrap())
}

fn baseline_counts(v: &Value) -> [u64; 6] {
    let b = &v["baseline"];
    ["entries", "matched", "reset", "ended", "duplicate", "new"]
        .map(|k| b[k].as_u64().unwrap_or_else(|| panic!("baseline.{k}: {b}")))
}

/// The UDP and TCP rows both pairs must give, from what the script sent.
fn assert_deltas_are_the_traffic(r: &Rows) {
    let t = traffic();
    let both = |port: u16| {
        let out = r.get(&(port, "out".into())).copied();
        let inb = r.get(&(port, "in".into())).copied();
        (out, inb)
    };
    // Kept open: 3000 payload bytes each way, a 52-byte header per packet.
    let payload = t["tcp_open"]["between"].as_u64().unwrap();
    assert_eq!(payload, 3000);
    for dir in ["out", "in"] {
        let (bytes, packets) = r[&(41001, dir.to_string())];
        assert!(packets >= 1, "{dir}: {packets} packets");
        assert_eq!(bytes, payload + 52 * packets, "tcp 41001 {dir}");
    }
    // Grows: the datagrams sent in between, each way (echoed).
    let grows = datagram_bytes(&t["udp_grows"]["between"]);
    assert_eq!(grows, (3, 174));
    let (b, p) = (grows.1, grows.0);
    assert_eq!(both(41004), (Some((b, p)), Some((b, p))));
    // Reused tuple: its own counters, the one datagram after the reuse.
    let reused = datagram_bytes(&t["udp_reused"]["after_reuse"]);
    assert_eq!(reused, (1, 33));
    assert_eq!(
        both(41005),
        (Some((reused.1, reused.0)), Some((reused.1, reused.0)))
    );
    // New: all of it.
    let new = datagram_bytes(&t["udp_new"]["between"]);
    assert_eq!(both(41006), (Some((new.1, new.0)), Some((new.1, new.0))));
    // Unchanged and ended: no rows.
    assert_eq!(both(41003), (None, None));
    assert_eq!(both(41002), (None, None));
    assert_eq!(r.len(), 8, "{r:?}");
}

#[test]
fn deltas_between_real_snapshots_are_the_bytes_sent_in_between() {
    let work = Workdir::new();
    let (r, v, stderr) = run(label_pair("snap2.txt", "snap1.txt"), &work);
    assert_deltas_are_the_traffic(&r);
    // PREV: A, B, the three UDP flows and the ping; DUMP adds 41006.
    // matched A, 41003 (unchanged), 41004, ICMP; reset 41005; ended B.
    assert_eq!(baseline_counts(&v), [6, 4, 1, 1, 0, 1]);
    assert_eq!(v["baseline"]["lines"], 7);
    assert_eq!(v["baseline"]["dumps_keyed_by_id"], 0);
    assert_eq!(v["ignored"]["unchanged"], 1);
    // The ping's delta is taken, then §3 drops it as before.
    assert_eq!(v["ignored"]["protocol"], 1);
    assert_eq!(v["ignored"]["zero_counters"], 0);
    assert_eq!(
        (v["labelled"].as_u64(), v["rows"].as_u64()),
        (Some(4), Some(8))
    );
    // The summary's bytes are the deltas.
    let out: u64 = r
        .iter()
        .filter(|(k, _)| k.1 == "out")
        .map(|(_, v)| v.0)
        .sum();
    assert_eq!(v["bytes"]["INTRA_VPC"]["out"], out);
    assert!(
        stderr.contains("4 matched, 1 reset, 1 ended, 0 duplicate; 1 new in the dump"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 connections of the baseline ended before the dump")
            && stderr.contains("conntrack -L -z"),
        "{stderr}"
    );
    // Interval = the gap: no warning.
    assert!(!stderr.contains("apart"), "{stderr}");
}

#[test]
fn with_ids_in_both_dumps_a_reused_tuple_is_a_new_connection() {
    let work = Workdir::new();
    let (r, v, stderr) = run(label_pair("snap2-id.txt", "snap1-id.txt"), &work);
    // Same rows: the reused tuple keeps its own counters either way.
    assert_deltas_are_the_traffic(&r);
    // 41005's new entry has a new id: new, and the old one ended.
    assert_eq!(baseline_counts(&v), [6, 4, 0, 2, 0, 2]);
    assert_eq!(v["baseline"]["dumps_keyed_by_id"], 1);
    assert!(stderr.contains("matched with conntrack ids"), "{stderr}");

    // Ids in one dump only: matched on the tuple, as without ids.
    for (dump, prev) in [("snap2-id.txt", "snap1.txt"), ("snap2.txt", "snap1-id.txt")] {
        let (r, v, _) = run(label_pair(dump, prev), &work);
        assert_deltas_are_the_traffic(&r);
        assert_eq!(baseline_counts(&v), [6, 4, 1, 1, 0, 1], "{dump} - {prev}");
        assert_eq!(v["baseline"]["dumps_keyed_by_id"], 0);
    }
}

#[test]
fn duplicate_keys_later_baseline_line_wins_and_dump_entries_stand_alone() {
    let work = Workdir::new();
    let snap1 = fs::read_to_string(fixture("snap1.txt")).unwrap();
    let snap2 = fs::read_to_string(fixture("snap2.txt")).unwrap();
    let line = |text: &str, port: &str| {
        text.lines()
            .find(|l| l.contains(&format!("sport={port} ")))
            .unwrap()
            .to_string()
    };
    // PREV with 41004 again after its line, at one datagram of 20 bytes
    // (48 bytes): the later line wins.
    let again = line(&snap1, "41004")
        .replace("packets=2 bytes=96", "packets=1 bytes=48")
        .replace(
            "dport=41004 packets=2 bytes=96",
            "dport=41004 packets=1 bytes=48",
        );
    assert!(again.contains("bytes=48") && !again.contains("bytes=96"));
    let prev = work.write("prev.txt", format!("{snap1}{again}\n"));
    // DUMP with 41006 twice: each compared with PREV on its own.
    let dump = work.write("dump.txt", format!("{snap2}{}\n", line(&snap2, "41006")));
    let (t1, t2) = times();
    let mut c = label();
    c.arg(arg(&dump))
        .args(["--baseline", &arg(&prev)])
        .args(["--timestamp", &t2.to_string()])
        .args(["--baseline-timestamp", &t1.to_string()]);
    let summary = work.join("s.json");
    let out = c
        .args(["-o", "-", "--summary-json", &arg(&summary)])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(baseline_counts(&v), [7, 4, 1, 1, 1, 2]);
    let mut r = csv::Reader::from_reader(&out[..]);
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (port, dir, bytes, packets) = (
        col("localPort"),
        col("direction"),
        col("bytes"),
        col("packets"),
    );
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let of = |p: &str| -> Vec<(String, u64, u64)> {
        recs.iter()
            .filter(|x| &x[port] == p)
            .map(|x| {
                (
                    x[dir].to_string(),
                    x[bytes].parse().unwrap(),
                    x[packets].parse().unwrap(),
                )
            })
            .collect()
    };
    // 5 datagrams now, 1 in the later PREV line: 4 × 58 − 10 = 270 − 48.
    assert_eq!(
        of("41004"),
        vec![("out".to_string(), 222, 4), ("in".to_string(), 222, 4)]
    );
    assert_eq!(of("41006").len(), 4, "two entries, two rows each");
    assert!(of("41006").iter().all(|(_, b, p)| (*b, *p) == (70, 2)));
}

#[test]
fn times_come_from_options_or_modification_times_and_must_be_in_order() {
    let work = Workdir::new();
    let (t1, t2) = times();
    let prev = work.copy(&fixture("snap1.txt"), "snap1.txt");
    let dump = work.copy(&fixture("snap2.txt"), "snap2.txt");
    let set_mtime = |p: &Path, t: i64| {
        let f = fs::File::options().write(true).open(p).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_secs(t as u64))
            .unwrap();
    };
    let pair = || {
        let mut c = label();
        c.arg(arg(&dump))
            .args(["--baseline", &arg(&prev)])
            .args(["-o", "-"]);
        c
    };
    // §5's rules on both files: their modification times, 2 s apart.
    set_mtime(&prev, t1);
    set_mtime(&dump, t2);
    let out = pair()
        .args(["--interval-seconds", &(t2 - t1).to_string()])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(rows(&out.stdout).len(), 8);
    // The gap (2 s) is not the interval (60 s): a warning naming both,
    // shown with -q too.
    pair()
        .arg("-q")
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "snap2.txt and its baseline {} are {} s apart",
            arg(&prev),
            t2 - t1
        )))
        .stderr(predicate::str::contains("--interval-seconds is 60"));
    // Within 10 %: no warning.
    let close = || {
        let mut c = pair();
        c.args(["--timestamp", &(t1 + 63).to_string()])
            .args(["--baseline-timestamp", &t1.to_string()]);
        c
    };
    close()
        .assert()
        .success()
        .stderr(predicate::str::contains("apart").not());
    // Files the wrong way round: exit 1 naming both times.
    set_mtime(&prev, t2 + 10);
    let (p, d) = (chrono_like(t2 + 10), chrono_like(t2));
    pair()
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not earlier than"))
        .stderr(predicate::str::contains(format!(
            "{p} (its modification time)"
        )))
        .stderr(predicate::str::contains(format!(
            "{d} (its modification time)"
        )));
    // Options win over the files' times, and must be in order too.
    pair()
        .args(["--timestamp", &t2.to_string()])
        .args(["--baseline-timestamp", &t1.to_string()])
        .args(["--interval-seconds", "2"])
        .assert()
        .success();
    let (p, d) = (chrono_like(t2), chrono_like(t2));
    pair()
        .args(["--timestamp", &t2.to_string()])
        .args(["--baseline-timestamp", &t2.to_string()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "the baseline was taken at {p} (--baseline-timestamp), the dump at {d} (--timestamp)"
        )));
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (the form kubenetmon's messages use).
fn chrono_like(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn a_baseline_of_another_node_is_refused_when_both_can_be_told() {
    let (t1, t2) = times();
    let times = |c: &mut Command| {
        c.args(["--timestamp", &t2.to_string()])
            .args(["--baseline-timestamp", &t1.to_string()])
            .args(["--interval-seconds", "2", "-o", "-"]);
    };
    // DUMP said to be kn-other's; PREV's flows are kn-node's.
    let mut c = label();
    c.arg(arg(&fixture("snap2.txt")))
        .args(["--node", "kn-other"])
        .args(["--baseline", &arg(&fixture("snap1.txt"))]);
    times(&mut c);
    c.assert()
        .code(1)
        .stderr(predicate::str::contains(
            "snap1.txt: this baseline is a dump of node kn-node (6 flows mention it), but",
        ))
        .stderr(predicate::str::contains("is node kn-other's"));
    // NODE=PREV names the baseline's node: no inference, no refusal.
    let mut c = label();
    c.arg(format!("kn-other={}", arg(&fixture("snap2.txt"))))
        .args([
            "--baseline",
            &format!("kn-other={}", arg(&fixture("snap1.txt"))),
        ]);
    times(&mut c);
    c.assert().success();
    // A baseline whose node cannot be told (no flow of a known pod): no check.
    let work = Workdir::new();
    let foreign = work.write(
        "foreign.txt",
        "udp      17 29 src=10.1.1.1 dst=10.2.2.2 sport=1 dport=2 packets=1 bytes=33 \
         src=10.2.2.2 dst=10.1.1.1 sport=2 dport=1 packets=1 bytes=33 mark=0 use=1\n",
    );
    let mut c = label();
    c.arg(arg(&fixture("snap2.txt")))
        .args(["--baseline", &arg(&foreign)]);
    times(&mut c);
    c.assert().success();
}

#[test]
fn directories_of_dumps_pair_by_node_and_a_missing_baseline_names_the_node() {
    let work = Workdir::new();
    let (t1, t2) = times();
    work.write("now/kn-node.txt", fs::read(fixture("snap2.txt")).unwrap());
    work.write(
        "prev/kn-node.conntrack",
        fs::read(fixture("snap1.txt")).unwrap(),
    );
    work.write("prev/kn-gone.log", "");
    let now = arg(&work.join("now"));
    let run_dirs = |prev: &str| {
        let mut c = label();
        c.arg(&now)
            .args(["--baseline", prev])
            .args(["--timestamp", &t2.to_string()])
            .args(["--baseline-timestamp", &t1.to_string()])
            .args(["--interval-seconds", "2", "-o", "-"]);
        c
    };
    let out = run_dirs(&arg(&work.join("prev")))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "is for node kn-gone, which has no dump here; not used",
        ))
        .get_output()
        .clone();
    assert_deltas_are_the_traffic(&rows(&out.stdout));
    // A directory without the dump's node: exit 2, naming it.
    fs::remove_file(work.join("prev/kn-node.conntrack")).unwrap();
    run_dirs(&arg(&work.join("prev")))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no baseline for node kn-node (dump",
        ));
}

#[test]
fn a_baseline_that_is_not_a_dump_is_counted_and_strict_stops() {
    let work = Workdir::new();
    let (t1, t2) = times();
    let not_a_dump = work.write("prev.txt", "{\"kind\": \"List\"}\nhello\n");
    let cmd = || {
        let mut c = label();
        c.arg(arg(&fixture("snap2.txt")))
            .args(["--baseline", &arg(&not_a_dump)])
            .args(["--timestamp", &t2.to_string()])
            .args(["--baseline-timestamp", &t1.to_string()])
            .args(["--interval-seconds", "2"]);
        c
    };
    let summary = work.join("s.json");
    cmd()
        .args(["-o", "-", "--summary-json", &arg(&summary)])
        .assert()
        .success()
        .stderr(predicate::str::contains("prev.txt:1: "))
        .stderr(predicate::str::contains("prev.txt:2: "))
        .stderr(predicate::str::contains(
            "WARNING: ".to_string() + &arg(&not_a_dump) + ": the baseline holds no conntrack flow",
        ));
    let v: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(baseline_counts(&v), [0, 0, 0, 0, 0, 6]);
    assert_eq!(
        (
            v["baseline"]["lines"].as_u64(),
            v["baseline"]["malformed"].as_u64()
        ),
        (Some(2), Some(2))
    );
    // DUMP's own malformed count is DUMP's.
    assert_eq!(v["malformed"], 0);
    cmd()
        .args(["--strict", "-o", &arg(&work.join("rows.csv"))])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "prev.txt:1: malformed line (--strict)",
        ));
    assert!(!work.join("rows.csv").exists());
}

#[test]
fn dry_run_without_inventory_compares_the_pair() {
    let work = Workdir::new();
    let (t1, t2) = times();
    let summary = work.join("s.json");
    kubenetmon()
        .args(["label", "--dry-run"])
        .arg(arg(&fixture("snap2.txt")))
        .args(["--baseline", &arg(&fixture("snap1.txt"))])
        .args(["--timestamp", &t2.to_string()])
        .args(["--baseline-timestamp", &t1.to_string()])
        .args(["--interval-seconds", "2", "--summary-json", &arg(&summary)])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(baseline_counts(&v), [6, 4, 1, 1, 0, 1]);
    // Parse only: §5.1's other counts stay 0, `unchanged` included.
    assert_eq!(v["ignored"]["unchanged"], 0);
    assert_eq!(v["rows"], 0);
    // Without --baseline there is no baseline object.
    kubenetmon()
        .args(["label", "--dry-run"])
        .arg(arg(&fixture("snap2.txt")))
        .args(["--summary-json", &arg(&summary)])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert!(v.get("baseline").is_none(), "{v}");
    assert_eq!(v["ignored"]["unchanged"], 0);
}

#[test]
fn usage_mistakes_exit_2() {
    let snap1 = arg(&fixture("snap1.txt"));
    let snap2 = arg(&fixture("snap2.txt"));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![snap2.clone(), "--baseline-timestamp".into(), "1".into()],
            "--baseline",
        ),
        (
            vec![
                format!("kn-node={snap2}"),
                format!("kn-other={snap2}"),
                "--baseline".into(),
                snap1.clone(),
            ],
            "one baseline file is for one dump, but 2 dumps were given",
        ),
        (
            vec![snap2.clone(), "--baseline".into(), "-".into()],
            "give --baseline-timestamp",
        ),
        (
            vec![
                "kn-node=-".into(),
                "--baseline".into(),
                "-".into(),
                "--baseline-timestamp".into(),
                "1".into(),
            ],
            "only once",
        ),
        (
            vec![
                format!("kn-node={snap2}"),
                "--baseline".into(),
                format!("kn-other={snap1}"),
            ],
            "no baseline for node kn-node",
        ),
        (
            vec![
                snap2.clone(),
                "--baseline".into(),
                snap1.clone(),
                "--baseline".into(),
                format!("kn-node={snap1}"),
            ],
            "not both",
        ),
    ];
    for (args, msg) in cases {
        label()
            .args(&args)
            .args(["-o", "-"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
}

#[test]
fn a_baseline_read_from_stdin_with_its_time() {
    let (t1, t2) = times();
    let out = label()
        .arg(arg(&fixture("snap2.txt")))
        .args(["--baseline", "-"])
        .args(["--baseline-timestamp", &t1.to_string()])
        .args(["--timestamp", &t2.to_string()])
        .args(["--interval-seconds", "2", "-o", "-"])
        .write_stdin(fs::read(fixture("snap1.txt")).unwrap())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_deltas_are_the_traffic(&rows(&out));
}

/// The README's cron recipe, run twice as cron would, with `conntrack`,
/// `kubectl`, `hostname` and `date` standing in for the node's (they print
/// the fixture snapshots, the inventory, `kn-node` and the run's time).
#[test]
fn the_readme_cron_recipe_labels_each_snapshot_against_the_previous_one() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let script = readme
        .split("```")
        .find(|block| block.starts_with("\n#!/bin/sh\n# /usr/local/bin/kubenetmon-snapshot\n"))
        .expect("the cron recipe in README.md")
        .trim_start_matches('\n');
    let work = Workdir::new();
    let bin = work.join("bin");
    let fake = |name: &str, body: &str| {
        let p = work.write(format!("bin/{name}"), format!("#!/bin/sh\n{body}\n"));
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    };
    fake("conntrack", "cat \"$FAKE_SNAPSHOT\"");
    fake("kubectl", "cat \"$FAKE_INVENTORY\"");
    fake("hostname", "echo kn-node");
    fake("date", "echo \"$FAKE_NOW\"");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubenetmon"), bin.join("kubenetmon")).unwrap();
    // Where `ranges fetch` would have put the range files.
    let cache = work.join("cache/kubenetmon/ranges");
    fs::create_dir_all(&cache).unwrap();
    for f in fs::read_dir(support::testdata("demo/ranges")).unwrap() {
        let f = f.unwrap().path();
        fs::copy(&f, cache.join(f.file_name().unwrap())).unwrap();
    }
    let script_path = work.write("kubenetmon-snapshot", script);
    let snaps = work.join("var");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |snapshot: &str, now: &str| {
        let mut c = support::isolated("sh");
        c.arg(&script_path)
            .env("PATH", &path)
            .env("SNAP_DIR", &snaps)
            .env("XDG_CACHE_HOME", work.join("cache"))
            .env("FAKE_SNAPSHOT", fixture(snapshot))
            .env("FAKE_INVENTORY", fixture("inventory.json"))
            .env("FAKE_NOW", now);
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    };
    run("snap1-id.txt", "20261202T180000Z");
    assert!(snaps.join("snap-20261202T180000Z.txt").exists());
    assert_eq!(fs::read_dir(snaps.join("flows")).unwrap().count(), 0);
    // Cron runs it again five minutes later.
    let first = snaps.join("snap-20261202T180000Z.txt");
    let t = fs::metadata(&first).unwrap().modified().unwrap();
    fs::File::options()
        .write(true)
        .open(&first)
        .unwrap()
        .set_modified(t - Duration::from_secs(300))
        .unwrap();
    let stderr = run("snap2-id.txt", "20261202T180500Z");
    assert!(!stderr.contains("apart"), "{stderr}");
    let v: Value =
        serde_json::from_slice(&fs::read(snaps.join("flows/20261202T180500Z.json")).unwrap())
            .unwrap();
    // Both snapshots taken with -o id: matched on tuple and id.
    assert_eq!(baseline_counts(&v), [6, 4, 0, 2, 0, 2]);
    assert_eq!(v["baseline"]["dumps_keyed_by_id"], 1);
    assert_eq!(v["rows"], 8);
    assert!(snaps.join("flows/20261202T180500Z.parquet").exists());
    // Only the latest snapshot is kept.
    assert!(!first.exists());
    assert!(snaps.join("snap-20261202T180500Z.txt").exists());
}
