//! SPEC §10 against the real engine: `kubenetmon label --clickhouse` (the
//! real binary) inserting into ClickHouse's HTTP interface served over the
//! embedded engine by tests/chdb_http.py, started here on
//! 127.0.0.1 with a free port — with faults injected (503s, a connection
//! dropped mid-body, an answer slower than the timeout, errors a retry
//! cannot fix). Row counts and byte sums in the table must equal the run's
//! `--summary-json`, after the faults and after running the command twice.
//!
//! Needs python3 with chdb: under `CI=true` their absence fails the tests,
//! elsewhere the tests print SKIPPED.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::isolated;

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chdb_http.py");
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/demo");
const USER: &str = "netops";
/// Characters a URL must escape, and one that is easy to find in output.
const PASSWORD: &str = "Zq9:p@ss/w#rd%x";
const PASSWORD_IN_URL: &str = "Zq9%3Ap%40ss%2Fw%23rd%25x";
/// The shipped table's primary key: a copy's sorting key must start with it.
const KEY: &str =
    "date, intervalStartTime, direction, proto, localApp, remoteApp, localPod, remotePod";
const CLASSES: [&str; 4] = [
    "INTRA_VPC",
    "INTRA_REGION",
    "INTER_REGION",
    "PUBLIC_INTERNET",
];

fn prerequisites() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import chdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    crate::support::require("python3 with the chdb package (pip install chdb)", ok)
}

/// The test server, stopped when dropped (and on its own when this
/// process ends: it exits when its stdin closes).
struct ChServer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
    _dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
}

impl Drop for ChServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChServer {
    /// `None` when skipped (see [`prerequisites`]).
    fn start(extra: &[&str]) -> Option<ChServer> {
        if !prerequisites() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .arg(SERVER)
            .args(["--path", dir.path().join("db").to_str().unwrap()])
            .args(["--user", USER, "--password", PASSWORD])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chdb_http.py");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("chdb_http.py did not start");
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("chdb_http.py said {line:?}"));
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Some(ChServer {
            child,
            _stdin: stdin,
            port,
            _dir: dir,
            http,
        })
    }

    /// The `--clickhouse` URL, with the credentials.
    fn url(&self) -> String {
        format!("http://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{}", self.port)
    }

    /// Runs `sql` as the test's own client; panics on an error.
    fn query(&self, sql: &str) -> String {
        let resp = self
            .http
            .post(format!("http://127.0.0.1:{}/", self.port))
            .basic_auth(USER, Some(PASSWORD))
            .body(sql.to_string())
            .send()
            .unwrap();
        let status = resp.status();
        let text = resp.text().unwrap();
        assert!(status.is_success(), "{sql}: {status}: {text}");
        text
    }

    fn count(&self, table: &str) -> u64 {
        self.query(&format!("SELECT count() FROM {table}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// (class, direction) → sum(bytes), as the summary's `bytes` object.
    fn bytes(&self, table: &str) -> Value {
        let text = self.query(&format!(
            "SELECT connectionClass, toString(direction), sum(bytes) FROM {table} \
             GROUP BY 1, 2 FORMAT TabSeparated"
        ));
        let mut out = json!({});
        for c in CLASSES {
            out[c] = json!({"out": 0, "in": 0});
        }
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            out[f[0]][f[1]] = json!(f[2].parse::<u64>().unwrap());
        }
        out
    }

    /// Faults for the next inserts (see chdb_http.py), or `None` to only read.
    fn control(&self, update: Option<Value>) -> Value {
        let url = format!("http://127.0.0.1:{}/_control", self.port);
        let req = match update {
            Some(v) => self.http.post(url).body(v.to_string()),
            None => self.http.get(url),
        };
        serde_json::from_str(&req.send().unwrap().text().unwrap()).unwrap()
    }

    /// A plain MergeTree copy of the shipped table (exact row counts: no
    /// summing merges, no zero-row removal), deduplicating like
    /// `--create-table` does.
    fn plain_copy(&self, name: &str) {
        self.ensure_shipped_table();
        self.query(&format!(
            "CREATE TABLE {name} AS network_flows_0 ENGINE = MergeTree \
             PARTITION BY date ORDER BY ({KEY}) \
             SETTINGS non_replicated_deduplication_window = 1000"
        ));
    }

    /// `network_flows_0` made by the binary itself (`--create-table`).
    fn ensure_shipped_table(&self) {
        let exists = self.query("EXISTS TABLE network_flows_0");
        if exists.trim() != "1" {
            // an empty dump: the table is made before any row is labelled
            let dir = tempfile::tempdir().unwrap();
            let empty = dir.path().join("empty.txt");
            std::fs::write(&empty, "").unwrap();
            let out = label(
                self,
                &[format!("ip-10-0-1-10.ec2.internal={}", empty.display())],
                &["--create-table"],
            );
            assert!(out.status.success(), "{}", text(&out));
            assert_eq!(self.query("EXISTS TABLE network_flows_0").trim(), "1");
        }
    }
}

/// Recent and minute-aligned: the 90-day TTL keeps the rows, and both runs
/// of a test date them the same.
fn stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    ((now / 60 - 5) * 60).to_string()
}

fn demo() -> Vec<String> {
    vec![format!("{DEMO}/dumps")]
}

/// `kubenetmon label DUMPS` on the demo inventory and ranges, into `url`
/// (`None`: no --clickhouse option).
fn command(url: Option<&str>, dumps: &[String], extra: &[&str]) -> Command {
    let mut cmd = isolated(env!("CARGO_BIN_EXE_kubenetmon"));
    cmd.arg("label")
        .args(dumps)
        .args(["--inventory", &format!("{DEMO}/inventory.json")])
        .args(["--ranges", &format!("{DEMO}/ranges")]);
    if let Some(url) = url {
        cmd.args(["--clickhouse", url]);
    }
    cmd.args(extra);
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(v);
    }
    cmd.env_remove("KUBENETMON_CLICKHOUSE_USER")
        .env_remove("KUBENETMON_CLICKHOUSE_PASSWORD")
        .env_remove("KUBENETMON_CLICKHOUSE_URL");
    cmd
}

fn label(server: &ChServer, dumps: &[String], extra: &[&str]) -> Output {
    command(Some(&server.url()), dumps, extra).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A generated dump of node a of the demo cluster: `lines` flows of its
/// pods to pods on both nodes and to the demo's AWS, GCP and unlisted
/// addresses, with varied ports and counters (a few zero `in` sides).
fn generated_dump(dir: &Path, lines: usize) -> String {
    let locals = ["10.244.1.11", "10.244.1.12"];
    let remotes = [
        ("10.244.2.12", 8080),
        ("10.244.1.12", 8080),
        ("192.0.2.10", 443),
        ("192.0.2.200", 443),
        ("198.51.100.7", 443),
        ("203.0.113.9", 80),
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut s = String::new();
    for i in 0..lines {
        let src = locals[i % locals.len()];
        let (dst, dport) = remotes[(next() % remotes.len() as u64) as usize];
        let sport = 1024 + next() % 60_000;
        let (po, bo) = (1 + next() % 50, 60 + next() % 1_000_000);
        let (pi, bi) = if i % 17 == 0 {
            (0, 0)
        } else {
            (1 + next() % 50, 60 + next() % 5_000_000)
        };
        // replies from outside come back to the node (MASQUERADE)
        let reply_dst = if dst.starts_with("10.244.") {
            src
        } else {
            "10.0.1.10"
        };
        s.push_str(&format!(
            "tcp      6 118 TIME_WAIT src={src} dst={dst} sport={sport} dport={dport} \
             packets={po} bytes={bo} src={dst} dst={reply_dst} sport={dport} dport={sport} \
             packets={pi} bytes={bi} [ASSURED] mark=0 use=1\n"
        ));
    }
    let path = dir.join("generated.txt");
    std::fs::write(&path, s).unwrap();
    format!("ip-10-0-1-10.ec2.internal={}", path.display())
}

fn tokens(server: &ChServer) -> Vec<String> {
    server.control(None)["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// The demo into the shipped table and a plain copy, with -o in the same
/// run; the same command twice inserts nothing the second time.
#[test]
fn demo_rows_go_in_once_however_often_the_command_runs() {
    let Some(server) = ChServer::start(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ts = stamp();
    let summary = dir.path().join("summary.json");
    let csv = dir.path().join("flows.csv");
    let run = |table: &str, extra: &[&str]| {
        let mut args = vec![
            "--timestamp",
            &ts,
            "--batch-rows",
            "10",
            "--table",
            table,
            "--summary-json",
            summary.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = label(&server, &demo(), &args);
        assert!(out.status.success(), "{}", text(&out));
        (read_json(&summary), out)
    };

    // a dry run checks, but creates nothing
    let (_, out) = run("network_flows_0", &["--create-table", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--create-table would create it"),
        "{stderr}"
    );
    assert_eq!(server.query("EXISTS TABLE network_flows_0").trim(), "0");

    // SPEC §10: --create-table makes the shipped table; rows and bytes go in
    let (s, out) = run(
        "network_flows_0",
        &["--create-table", "-o", csv.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("created table network_flows_0"), "{stderr}");
    assert_eq!(s["rows"], 24, "the demo labels 12 flows");
    let ch = &s["clickhouse"];
    assert_eq!(ch["rows"], s["rows"]);
    assert_eq!(ch["batches"], 3, "24 rows in batches of 10: 10, 10, 4");
    assert!(ch["bytes"].as_u64().unwrap() > 0);
    assert!(
        stderr.contains("clickhouse: 3 batches, 24 rows"),
        "{stderr}"
    );
    // sums survive summing merges; they equal the summary's
    assert_eq!(server.bytes("network_flows_0"), s["bytes"]);
    // the file of the same run holds the same rows
    let file_rows = std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    assert_eq!(file_rows as u64, s["rows"].as_u64().unwrap());
    let first_tokens = tokens(&server);
    assert_eq!(first_tokens.len(), 3);
    let mut distinct = first_tokens.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "every batch has its own token");

    // the same command again: the server drops every batch
    let (s2, _) = run(
        "network_flows_0",
        &["--create-table", "-o", csv.to_str().unwrap()],
    );
    assert_eq!(s2["clickhouse"]["batches"], 3);
    assert_eq!(
        tokens(&server)[3..],
        first_tokens[..],
        "same rows, same tokens"
    );
    assert_eq!(
        server.bytes("network_flows_0"),
        s["bytes"],
        "nothing counted twice"
    );

    // exact row counts in a plain MergeTree: once, twice, and a dry run
    server.plain_copy("flows_plain");
    let (s, _) = run("flows_plain", &[]);
    assert_eq!(server.count("flows_plain"), s["rows"].as_u64().unwrap());
    let (s, _) = run("flows_plain", &[]);
    assert_eq!(server.count("flows_plain"), s["rows"].as_u64().unwrap());
    assert_eq!(server.bytes("flows_plain"), s["bytes"]);
    let before = server.control(None)["insert_attempts"].clone();
    let (s, out) = run("flows_plain", &["--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dry run: table flows_plain takes upstream rows; nothing inserted"),
        "{stderr}"
    );
    assert_eq!(s["clickhouse"]["batches"], 0);
    assert_eq!(
        server.control(None)["insert_attempts"],
        before,
        "a dry run inserts nothing"
    );
    assert_eq!(server.count("flows_plain"), 24);
}

/// A generated dump with a 503 twice, a connection dropped mid-body, and an
/// answer slower than the timeout (the insert went in; its retry must not
/// count twice); then the same command again.
#[test]
fn faults_are_retried_and_nothing_counts_twice() {
    let Some(server) = ChServer::start(&["--slow-seconds", "4"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dump = generated_dump(dir.path(), 3000);
    server.plain_copy("flows");
    let ts = stamp();
    let summary = dir.path().join("summary.json");
    let args = [
        "--timestamp",
        &ts,
        "--table",
        "flows",
        "--batch-rows",
        "1000",
        "--clickhouse-timeout",
        "2",
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    let warm = server.control(None)["insert_attempts"].as_u64().unwrap();
    let k = |n: u64| (warm + n).to_string();
    server.control(Some(json!({"schedule": {
        k(1): "fail", k(2): "fail", k(4): "drop", k(6): "slow"
    }})));
    let started = Instant::now();
    let out = label(&server, std::slice::from_ref(&dump), &args);
    assert!(out.status.success(), "{}", text(&out));
    let s = read_json(&summary);
    let rows = s["rows"].as_u64().unwrap();
    assert!(rows > 5000, "{rows} rows");
    let batches = rows.div_ceil(1000);
    assert_eq!(s["clickhouse"]["batches"], batches);
    assert_eq!(s["clickhouse"]["rows"], rows);
    // three retried batches: 2 + 1 + 1 extra attempts
    assert_eq!(s["clickhouse"]["attempts"], batches + 4);
    let c = server.control(None);
    assert_eq!(
        (
            c["failed"].clone(),
            c["dropped"].clone(),
            c["slowed"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );
    // the slow insert ran twice in the engine; the table has it once
    assert_eq!(c["inserts_ok"].as_u64().unwrap() - warm, batches + 1);
    assert_eq!(server.count("flows"), rows);
    assert_eq!(server.bytes("flows"), s["bytes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 503"), "{stderr}");
    assert!(stderr.contains("retry 1 of 5"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));

    // again, without faults: nothing new
    let out = label(&server, &[dump], &args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.count("flows"), rows);
    assert_eq!(server.bytes("flows"), s["bytes"]);
}

/// Retries run out mid-run: exit 1, how far it got, that a re-run is safe
/// — and the re-run completes the table exactly.
#[test]
fn a_failed_run_says_how_far_it_got_and_the_rerun_completes_it() {
    let Some(server) = ChServer::start(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dump = generated_dump(dir.path(), 2000);
    server.plain_copy("flows");
    let ts = stamp();
    let summary = dir.path().join("summary.json");
    let args = [
        "--timestamp",
        &ts,
        "--table",
        "flows",
        "--batch-rows",
        "1000",
        "--retries",
        "2",
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    let warm = server.control(None)["insert_attempts"].as_u64().unwrap();
    let k = |n: u64| (warm + n).to_string();
    server.control(Some(
        json!({"schedule": {k(3): "fail", k(4): "fail", k(5): "fail"}}),
    ));
    let out = label(&server, std::slice::from_ref(&dump), &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gave up after 3 attempts: INSERT of batch 3 (1000 rows): HTTP 503"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 batches, 2000 rows,")
            && stderr.contains("went into flows before the failure"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Running the same command again is safe"),
        "{stderr}"
    );
    assert!(!summary.exists(), "a failed run writes no summary");
    assert_eq!(server.count("flows"), 2000);
    let first = tokens(&server);

    let out = label(&server, &[dump], &args);
    assert!(out.status.success(), "{}", text(&out));
    let s = read_json(&summary);
    assert_eq!(server.count("flows"), s["rows"].as_u64().unwrap());
    assert_eq!(server.bytes("flows"), s["bytes"]);
    let again = tokens(&server);
    assert_eq!(
        again[first.len()..first.len() + 2],
        first[..2],
        "batches 1 and 2 again, same tokens"
    );
}

/// Authentication, an unknown table, a column the rows do not fit, a type
/// the engine rejects mid-run: no retry, ClickHouse's own message, exit 1.
#[test]
fn errors_a_retry_cannot_fix_fail_at_once() {
    let Some(server) = ChServer::start(&[]) else {
        return;
    };
    let ts = stamp();
    let attempts = |s: &ChServer| {
        let c = s.control(None);
        (
            c["requests"].as_u64().unwrap(),
            c["insert_attempts"].as_u64().unwrap(),
        )
    };

    // wrong password: refused once, not retried
    let url = format!(
        "http://{USER}:wrong-{PASSWORD_IN_URL}@127.0.0.1:{}",
        server.port
    );
    let out = command(Some(&url), &demo(), &["--timestamp", &ts])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 403: Code: 516."), "{stderr}");
    assert!(stderr.contains("Authentication failed"), "{stderr}");
    assert!(
        !stderr.contains(PASSWORD) && !stderr.contains("Zq9"),
        "{stderr}"
    );
    assert_eq!(server.control(None)["auth_refused"], 1, "not retried");

    // no such table, without --create-table
    let (r0, _) = attempts(&server);
    let out = label(&server, &demo(), &["--timestamp", &ts, "--table", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 404: Code: 60."), "{stderr}");
    assert!(stderr.contains("nope does not exist"), "{stderr}");
    assert!(stderr.contains("give --create-table"), "{stderr}");
    assert_eq!(
        attempts(&server).0 - r0,
        2,
        "connection check and one DESCRIBE"
    );

    // a column whose type cannot hold the rows: found before labelling
    server.ensure_shipped_table();
    server.query(&format!(
        "CREATE TABLE narrow AS network_flows_0 ENGINE = MergeTree ORDER BY ({KEY})"
    ));
    server.query("ALTER TABLE narrow MODIFY COLUMN bytes UInt32");
    let out = label(
        &server,
        &demo(),
        &["--timestamp", &ts, "--table", "narrow", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("table narrow cannot take upstream rows: column `bytes` is UInt32"),
        "{stderr}"
    );

    // the table changes under the run: the engine's type error, not retried
    server.query(&format!(
        "CREATE TABLE shifting AS network_flows_0 ENGINE = MergeTree ORDER BY ({KEY}) \
         SETTINGS non_replicated_deduplication_window = 100"
    ));
    let (_, i0) = attempts(&server);
    server.control(Some(json!({"sql_before_insert": [[i0 + 1,
        "ALTER TABLE shifting MODIFY COLUMN direction Enum8('out' = 1, 'sideways' = 2)"]]})));
    let out = label(
        &server,
        &demo(),
        &["--timestamp", &ts, "--table", "shifting"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("INSERT of batch 1 (24 rows): HTTP 500: Code: 691."),
        "{stderr}"
    );
    assert!(stderr.contains("UNKNOWN_ELEMENT_OF_ENUM"), "{stderr}");
    assert!(
        stderr.contains("Nothing went into shifting before the failure"),
        "{stderr}"
    );
    assert!(!stderr.contains("retry"), "{stderr}");
    assert_eq!(attempts(&server).1 - i0, 1, "one attempt");
    assert_eq!(server.count("shifting"), 0);
}

/// Credentials from the environment; the password shows in no output of
/// any run, error, retry or help text.
#[test]
fn no_output_shows_the_password() {
    let Some(server) = ChServer::start(&[]) else {
        return;
    };
    let ts = stamp();
    let mut seen = String::new();
    let mut keep = |out: &Output| seen.push_str(&text(out));

    // user and password from the environment, URL from the environment too
    server.plain_copy("flows");
    let bare = format!("http://127.0.0.1:{}/?database=default", server.port);
    let warm = server.control(None)["insert_attempts"].as_u64().unwrap();
    server.control(Some(json!({"schedule": {(warm + 1).to_string(): "fail"}})));
    let out = command(
        None,
        &demo(),
        &["--timestamp", &ts, "--table", "flows", "-v"],
    )
    .env("KUBENETMON_CLICKHOUSE_URL", &bare)
    .env("KUBENETMON_CLICKHOUSE_USER", USER)
    .env("KUBENETMON_CLICKHOUSE_PASSWORD", PASSWORD)
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.count("flows"), 24);
    keep(&out);

    // --help with the URL (and its password) in the environment
    let out = isolated(env!("CARGO_BIN_EXE_kubenetmon"))
        .args(["label", "--help"])
        .env("KUBENETMON_CLICKHOUSE_URL", server.url())
        .env("KUBENETMON_CLICKHOUSE_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--clickhouse <URL>") && help.contains("KUBENETMON_CLICKHOUSE_PASSWORD"));
    keep(&out);

    // a URL that does not parse: a usage error, redacted
    let bad = format!("http://{USER}:{PASSWORD}@127.0.0.1:{}", server.port);
    let out = command(Some(&bad), &demo(), &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{USER}:***@")));
    keep(&out);

    // a server that is not there: retried, then given up
    let gone = format!("http://{USER}:{PASSWORD_IN_URL}@127.0.0.1:1");
    let out = command(Some(&gone), &demo(), &["--retries", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    keep(&out);

    for needle in [PASSWORD, PASSWORD_IN_URL, "Zq9"] {
        assert!(!seen.contains(needle), "{needle:?} in:\n{seen}");
    }
}

/// `--table` and friends need `--clickhouse`; bad values are usage errors.
#[test]
fn clickhouse_options_are_checked_before_anything_runs() {
    let bin = env!("CARGO_BIN_EXE_kubenetmon");
    let base = |extra: &[&str]| {
        let mut c = isolated(bin);
        c.arg("label")
            .args(demo())
            .args(["--inventory", &format!("{DEMO}/inventory.json")])
            .args(["--ranges", &format!("{DEMO}/ranges")])
            .args(extra)
            .env_remove("KUBENETMON_CLICKHOUSE_URL");
        c.output().unwrap()
    };
    for (extra, says) in [
        (&["--table", "t"][..], "--clickhouse <URL>"),
        (&["--create-table"][..], "--clickhouse <URL>"),
        (&["--batch-rows", "5"][..], "--clickhouse <URL>"),
        (
            &["--clickhouse", "ftp://h:1"][..],
            "scheme must be http or https",
        ),
        (
            &["--clickhouse", "http://h:1", "--table", "a.b.c"][..],
            "--table",
        ),
        (
            &["--clickhouse", "http://h:1", "--batch-rows", "1"][..],
            "--batch-rows",
        ),
        (
            &["--clickhouse", "http://h:1/?async_insert=1"][..],
            "unknown parameter",
        ),
    ] {
        let out = base(extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
    // without -o, --clickhouse writes nothing to stdout (the server is
    // absent: the run fails before any row, exit 1, stdout empty)
    let out = base(&["--clickhouse", "http://127.0.0.1:1", "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty());
}

/// Tokens are per batch: two batches of identical rows in one run both go
/// in (a content hash would drop the second); one INSERT at a time; and a
/// plain table without the deduplication window is warned about — rightly:
/// there the same command twice counts twice.
#[test]
fn tokens_are_per_batch_one_insert_at_a_time_and_the_window_matters() {
    let Some(server) = ChServer::start(&["--slow-seconds", "0.2"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dump = generated_dump(dir.path(), 1500);
    server.plain_copy("flows");
    let ts = stamp();
    let summary = dir.path().join("summary.json");
    let sj = summary.to_str().unwrap();

    // the rows of one copy of the dump
    let out = label(
        &server,
        std::slice::from_ref(&dump),
        &["--timestamp", &ts, "--dry-run", "--summary-json", sj],
    );
    assert!(out.status.success(), "{}", text(&out));
    let one = read_json(&summary)["rows"].as_u64().unwrap();
    assert!(one > 2000);

    // every insert answers slowly: the client still sends one at a time
    server.control(Some(json!({"slow_inserts": 1000})));
    let per = one.to_string();
    let out = label(
        &server,
        &[dump.clone(), dump.clone()],
        &[
            // the same dump twice, on purpose: two batches of equal rows
            "--allow-duplicate-nodes",
            "--timestamp",
            &ts,
            "--table",
            "flows",
            "--batch-rows",
            &per,
            "--summary-json",
            sj,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let s = read_json(&summary);
    assert_eq!(s["rows"].as_u64().unwrap(), 2 * one);
    assert_eq!(s["clickhouse"]["batches"], 2);
    assert_eq!(
        server.count("flows"),
        2 * one,
        "identical batches 1 and 2 both count"
    );
    let t = tokens(&server);
    assert_eq!(t.len(), 2);
    assert_ne!(t[0], t[1]);
    let c = server.control(None);
    assert_eq!(c["max_inserts_in_flight"], 1, "{c}");
    server.control(Some(json!({"slow_inserts": 0})));

    // smaller batches: still one in flight, still exact
    server.query("TRUNCATE TABLE flows");
    let out = label(
        &server,
        std::slice::from_ref(&dump),
        &[
            "--timestamp",
            &ts,
            "--table",
            "flows",
            "--batch-rows",
            "400",
            "--summary-json",
            sj,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let s = read_json(&summary);
    assert_eq!(s["clickhouse"]["batches"], one.div_ceil(400));
    assert_eq!(server.count("flows"), one);
    assert_eq!(server.control(None)["max_inserts_in_flight"], 1);

    // a plain MergeTree without the window: warned, and right to be
    server.query(&format!(
        "CREATE TABLE nodedup AS network_flows_0 ENGINE = MergeTree PARTITION BY date ORDER BY ({KEY})"
    ));
    for round in 1..=2u64 {
        let out = label(
            &server,
            std::slice::from_ref(&dump),
            &["--timestamp", &ts, "--table", "nodedup", "-q"],
        );
        assert!(out.status.success(), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("WARNING: table nodedup is a plain MergeTree with non_replicated_deduplication_window = 0"),
            "{stderr}"
        );
        assert!(
            stderr.contains("MODIFY SETTING non_replicated_deduplication_window"),
            "{stderr}"
        );
        assert_eq!(server.count("nodedup"), round * one);
    }
    // the ALTER docs/clickhouse.md gives makes the next run a no-op
    server.query("ALTER TABLE nodedup MODIFY SETTING non_replicated_deduplication_window = 10000");
    for _ in 0..2 {
        let out = label(
            &server,
            std::slice::from_ref(&dump),
            &["--timestamp", &ts, "--table", "nodedup"],
        );
        assert!(out.status.success(), "{}", text(&out));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("WARNING"));
    }
    assert_eq!(
        server.count("nodedup"),
        3 * one,
        "the first run after the ALTER, once"
    );
}

/// docs/clickhouse.md: every SQL block parses in the engine (the cluster
/// DDL too, which needs a cluster to run), and the two queries users run
/// next give, on the demo, what the rows themselves say.
#[test]
fn the_docs_sql_parses_and_its_queries_answer_from_the_rows() {
    let Some(server) = ChServer::start(&[]) else {
        return;
    };
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/clickhouse.md"))
        .unwrap();
    let blocks: Vec<&str> = doc
        .split("```sql\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 5, "{} sql blocks", blocks.len());
    for b in &blocks {
        let literal = b.trim().replace('\\', "\\\\").replace('\'', "\\'");
        server.query(&format!("SELECT formatQuery('{literal}')"));
    }

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("flows.csv");
    let ts = stamp();
    let out = label(
        &server,
        &demo(),
        &[
            "--timestamp",
            &ts,
            "--create-table",
            "-o",
            csv.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    // the same answers, computed from the CSV of the same run
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (class, dir_, bytes) = (col("connectionClass"), col("direction"), col("bytes"));
    let (la, ra, lz, rz, ns) = (
        col("localApp"),
        col("remoteApp"),
        col("localAvailabilityZone"),
        col("remoteAvailabilityZone"),
        col("localNamespace"),
    );
    let mut cross = std::collections::BTreeMap::<(String, String, String, String), u64>::new();
    let mut egress = std::collections::BTreeMap::<String, u64>::new();
    for r in reader.records() {
        let r = r.unwrap();
        let b: u64 = r[bytes].parse().unwrap();
        if &r[dir_] != "out" {
            continue;
        }
        if &r[class] == "INTRA_VPC" && !r[lz].is_empty() && !r[rz].is_empty() && r[lz] != r[rz] {
            let key = (
                r[la].to_string(),
                r[ra].to_string(),
                r[lz].to_string(),
                r[rz].to_string(),
            );
            *cross.entry(key).or_default() += b;
        }
        if &r[class] == "PUBLIC_INTERNET" {
            *egress.entry(r[ns].to_string()).or_default() += b;
        }
    }
    assert!(!cross.is_empty() && !egress.is_empty(), "the demo has both");

    let query = |marker: &str| {
        let b = blocks
            .iter()
            .find(|b| b.starts_with(marker))
            .unwrap_or_else(|| panic!("no block starting {marker:?}"));
        server.query(&format!("{b} FORMAT TabSeparated"))
    };
    let got: std::collections::BTreeMap<_, _> = query("-- cross-AZ bytes per app pair")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3].to_string(),
                ),
                f[4].parse::<u64>().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, cross);
    let got: std::collections::BTreeMap<_, _> = query("-- internet egress per namespace")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].parse::<u64>().unwrap())
        })
        .collect();
    assert_eq!(got, egress);
}
