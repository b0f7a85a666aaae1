//! `kubenetmon report` and `label --report` end to end (SPEC §9): the
//! demo's rows, hand-made rows with flags written by the library's own
//! writers, CSV vs Parquet, the JSON schema of docs/report.md, bad input,
//! and the HTML page in a real headless browser.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use kubenetmon::model::{
    Cloud, ConnectionClass, Counters, Endpoint, FlagNames, LabelledFlow, LocalSite, Owner,
    Protocol, Region, RemoteSite, RunMeta,
};
use kubenetmon::output::{Compression, CsvWriter, ParquetWriter, Schema};

/// 2023-11-14T22:13:20Z
const T0: &str = "1700000000";
const GIB: u64 = 1 << 30;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo(rel: &str) -> String {
    root().join("testdata/demo").join(rel).display().to_string()
}

fn bin() -> Command {
    crate::support::kubenetmon()
}

/// `label` on the demo, at a fixed time, in `dir`.
fn label_demo(dir: &Path, extra: &[&str]) {
    bin()
        .current_dir(dir)
        .arg("label")
        .arg(demo("dumps"))
        .args(["--inventory", &demo("inventory.json")])
        .args(["--ranges", &demo("ranges")])
        .args(["--timestamp", T0, "-q"])
        .args(extra)
        .assert()
        .success();
}

fn report_json(dir: &Path, args: &[&str]) -> Value {
    let out = bin()
        .current_dir(dir)
        .arg("report")
        .args(args)
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// The report without what names its inputs.
fn without_files(mut v: Value) -> Value {
    v["inputs"]["files"] = Value::Null;
    v
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Equal but for the last bits (serde_json's default float parser is not
/// exact to the last place; the text the report writes is).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
}

/// The demo's rows, read with the csv crate: an independent sum.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn demo_text_report_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    label_demo(dir.path(), &["-o", "flows.csv"]);
    let out = bin()
        .current_dir(dir.path())
        .args(["report", "flows.csv", "--period", "1h"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    insta::assert_snapshot!("demo_text_report", text);
}

/// A row's `CROSS_AZ` flag, from its `connectionFlags` cell.
fn cross_az(row: &std::collections::HashMap<String, String>) -> Option<bool> {
    let cell = &row["connectionFlags"];
    if cell.contains("'CROSS_AZ':true") {
        Some(true)
    } else if cell.contains("'CROSS_AZ':false") {
        Some(false)
    } else {
        None
    }
}

/// Each section of the demo's JSON against sums made here from the rows.
#[test]
fn demo_sections_match_sums_of_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    label_demo(dir.path(), &["-o", "flows.csv"]);
    let rows = csv_rows(&dir.path().join("flows.csv"));
    let j = report_json(dir.path(), &["flows.csv", "--period", "1d", "--by", "pod"]);
    let bytes = |f: &dyn Fn(&std::collections::HashMap<String, String>) -> bool| -> u64 {
        rows.iter()
            .filter(|r| f(r))
            .map(|r| r["bytes"].parse::<u64>().unwrap())
            .sum()
    };
    // 1. inputs
    assert_eq!(j["inputs"]["rows"], rows.len() as u64);
    assert_eq!(j["inputs"]["first_interval_start"], "2023-11-14T22:13:00Z");
    assert_eq!(j["inputs"]["last_interval_start"], "2023-11-14T22:13:00Z");
    assert_eq!(j["inputs"]["local"][0]["cloud"], "aws");
    assert_eq!(j["inputs"]["local"][0]["region"], "us-east-1");
    assert_eq!(j["inputs"]["files"][0]["format"], "csv");
    assert_eq!(j["inputs"]["prices"]["source"], "built-in");
    assert_eq!(j["inputs"]["month_factor"], 30.0);
    // 2. class × direction
    let mut expected_total = 0.0;
    for c in j["by_class"].as_array().unwrap() {
        let (class, dir) = (
            c["class"].as_str().unwrap(),
            c["direction"].as_str().unwrap(),
        );
        let b = bytes(&|r| r["connectionClass"] == class && r["direction"] == dir);
        assert_eq!(c["bytes"], b, "{class} {dir}");
        // Of INTRA_VPC only the rows that crossed a zone are charged, both ways.
        let charged = bytes(&|r| {
            r["connectionClass"] == class
                && r["direction"] == dir
                && (class != "INTRA_VPC" || cross_az(r) == Some(true))
        });
        let rate = match (class, dir) {
            ("INTER_REGION", "out") => 0.02,
            ("PUBLIC_INTERNET", "out") => 0.09,
            ("INTRA_VPC", _) => 0.01,
            _ => 0.0,
        };
        let cost = charged as f64 / GIB as f64 * rate;
        assert!(
            close(num(&c["cost"]), cost),
            "{class} {dir}: {} vs {cost}",
            c["cost"]
        );
        assert!(close(num(&c["cost_per_month"]), cost * 30.0));
        expected_total += cost;
    }
    assert!(expected_total > 0.0);
    assert!(close(num(&j["totals"]["cost"]), expected_total));
    // 3. components: the demo's nodes have zones, so its INTRA_VPC rows
    // between known zones carry CROSS_AZ (§6.3); the rest have no zone.
    let comp = |name: &str| {
        j["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == name)
            .unwrap()
            .clone()
    };
    let crossed = bytes(&|r| cross_az(r) == Some(true));
    assert!(crossed > 0, "the demo has cross-AZ traffic");
    assert_eq!(comp("cross_az")["bytes"], crossed);
    assert!(close(
        num(&comp("cross_az")["cost"]),
        crossed as f64 / GIB as f64 * 0.01
    ));
    assert_eq!(comp("nat_gateway")["cost"], 0.0);
    let internet = bytes(&|r| r["connectionClass"] == "PUBLIC_INTERNET" && r["direction"] == "out");
    assert_eq!(comp("internet")["bytes"], internet);
    let unknown = |dir: &str| {
        bytes(&|r| {
            r["connectionClass"] == "INTRA_VPC" && r["direction"] == dir && cross_az(r).is_none()
        })
    };
    let (vpc_out, vpc_in) = (unknown("out"), unknown("in"));
    assert_eq!(j["unknown_zone"]["bytes_out"], vpc_out);
    assert_eq!(j["unknown_zone"]["bytes_in"], vpc_in);
    assert!(close(
        num(&j["unknown_zone"]["cost_upper_bound"]),
        (vpc_out + vpc_in) as f64 / GIB as f64 * 0.01
    ));
    // 4. top pods: every group, shares adding up to 1
    let pods: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["localPod"].as_str()).collect();
    assert_eq!(j["top"]["by"], "pod");
    assert_eq!(j["top"]["count"], pods.len());
    let groups = j["top"]["groups"].as_array().unwrap();
    let share: f64 = groups.iter().map(|g| num(&g["share"])).sum();
    assert!((share - 1.0).abs() < 1e-9, "{share}");
    for w in groups.windows(2) {
        assert!(num(&w[0]["cost"]) >= num(&w[1]["cost"]));
    }
    let web = groups
        .iter()
        .find(|g| g["name"] == "web-7d9f8-abcde")
        .unwrap();
    assert_eq!(
        web["bytes_out"],
        bytes(&|r| r["localPod"] == "web-7d9f8-abcde" && r["direction"] == "out")
    );
    // 5. cross-AZ pairs: each (local zone, remote zone) against its rows
    let pairs = j["cross_az"]["zones"].as_array().unwrap();
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    for p in pairs {
        let (lz, rz) = (p["local"].as_str().unwrap(), p["remote"].as_str().unwrap());
        assert_ne!(lz, rz);
        let pair = |dir: &str| {
            bytes(&|r| {
                cross_az(r) == Some(true)
                    && r["localAvailabilityZone"] == lz
                    && r["remoteAvailabilityZone"] == rz
                    && r["direction"] == dir
            })
        };
        assert_eq!(p["bytes_out"], pair("out"), "{lz} -> {rz}");
        assert_eq!(p["bytes_in"], pair("in"), "{lz} -> {rz}");
    }
    // 6. savings: no NAT_GATEWAY rows in the demo (no --nat-gateway)
    assert_eq!(j["savings"]["total"], 0.0);
    assert!(j["notes"][0]
        .as_str()
        .unwrap()
        .contains("first-tier list prices"));
}

#[test]
fn label_report_equals_report_on_the_rows_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    label_demo(
        d,
        &["-o", "flows.parquet", "--report", "mem.json", "--by", "app"],
    );
    label_demo(
        d,
        &["-o", "flows.csv", "--report", "mem.html", "--period", "5m"],
    );
    label_demo(d, &["-o", "flows2.csv", "--report", "mem.txt"]);
    let mem: Value =
        serde_json::from_str(&fs::read_to_string(d.join("mem.json")).unwrap()).unwrap();
    assert_eq!(mem["inputs"]["files"][0]["format"], "conntrack");
    let read = report_json(d, &["flows.parquet", "--by", "app"]);
    assert_eq!(without_files(mem), without_files(read));
    let html = fs::read_to_string(d.join("mem.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("per 30-day month"));
    let text = fs::read_to_string(d.join("mem.txt")).unwrap();
    assert!(text.starts_with("kubenetmon report\n") && text.contains("Top 10 by cost"));
}

#[test]
fn label_report_options_are_checked_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let label = |extra: &[&str]| {
        let mut c = bin();
        c.current_dir(dir.path())
            .arg("label")
            .arg(demo("dumps"))
            .args(["--inventory", &demo("inventory.json")])
            .args(["--ranges", &demo("ranges")])
            .args(extra);
        c
    };
    label(&["-o", "f.csv", "--report", "r.pdf"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("use .txt, .json or .html"));
    label(&["--dry-run", "--report", "r.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--dry-run writes no files"));
    label(&["-o", "-", "--report", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("share stdout"));
    fs::write(
        dir.path().join("bad.json"),
        "{\"aws\": {\"nat_gateway\": -1}}",
    )
    .unwrap();
    label(&["-o", "f.csv", "--report", "r.txt", "--prices", "bad.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("aws.nat_gateway: -1 is negative"));
    assert!(!dir.path().join("f.csv").exists() && !dir.path().join("r.txt").exists());
}

// ---- hand-made rows with flags ------------------------------------------

fn meta() -> RunMeta {
    RunMeta {
        environment: "production".into(),
        local: LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        },
        cluster: "c".into(),
        interval_seconds: 60,
        flag_names: FlagNames::new(["CROSS_AZ", "NAT_GATEWAY", "NLB"].map(String::from)).unwrap(),
    }
}

fn ip(d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 244, 1, d))
}

fn pod<'a>(ns: &'a str, app: &'a str, zone: &'a str, d: u8) -> Endpoint<'a> {
    Endpoint {
        availability_zone: zone,
        node: "node-1",
        namespace: ns,
        pod: app,
        app,
        ..Endpoint::bare(ip(d), 8080)
    }
}

/// Flows whose costs are known by hand (built-in AWS prices):
/// - web→db across zones, 2 GiB out, 1 GiB in: cross-AZ 0.02 + 0.01;
/// - web→S3 (same region) through the NAT gateway, 1 GiB out, 9 GiB in:
///   NAT 0.045 × 10, saved by a gateway endpoint;
/// - web→internet through the NAT gateway, 4 GiB out, 1 GiB in:
///   internet 0.09 × 4 + NAT 0.045 × 5;
/// - batch→eu-west-1, 3 GiB out: inter-region 0.02 × 3;
/// - batch→db, same zone (CROSS_AZ false), 5 GiB each way: 0;
/// - batch→a VPC host of unknown zone, 1 GiB out, 1 GiB in: 0, bound 0.02.
fn flows(m: &RunMeta) -> Vec<LabelledFlow<'static>> {
    let cross = m.flag_names.id("CROSS_AZ").unwrap();
    let nat = m.flag_names.id("NAT_GATEWAY").unwrap();
    let nlb = m.flag_names.id("NLB").unwrap();
    let web = pod("shop", "web", "us-east-1a", 11);
    let batch = pod("jobs", "batch", "us-east-1a", 12);
    let db = pod("shop", "db", "us-east-1b", 13);
    let db_a = pod("shop", "db", "us-east-1a", 14);
    let flow = |class, local, remote, out: u64, inb: u64| {
        let mut f = LabelledFlow::new(1_700_000_000, Protocol::Tcp, class, local, remote);
        f.out = Counters {
            packets: 1,
            bytes: out,
        };
        f.inbound = Counters {
            packets: 1,
            bytes: inb,
        };
        f
    };
    let site = |region: &'static str, service: &'static str| {
        Some(RemoteSite {
            owner: Owner::Cloud(Cloud::Aws),
            region: Region::Named(region),
            service,
        })
    };
    let mut v = Vec::new();
    let mut f = flow(ConnectionClass::IntraVpc, web, db, 2 * GIB, GIB);
    f.flags.set(cross, true);
    f.flags.set(nlb, true);
    v.push(f);
    let mut f = flow(
        ConnectionClass::IntraRegion,
        web,
        Endpoint::bare("52.216.10.20".parse().unwrap(), 443),
        GIB,
        9 * GIB,
    );
    f.remote_site = site("us-east-1", "s3");
    f.flags.set(nat, true);
    v.push(f);
    let mut f = flow(
        ConnectionClass::PublicInternet,
        web,
        Endpoint::bare("192.0.2.10".parse().unwrap(), 443),
        4 * GIB,
        GIB,
    );
    f.flags.set(nat, true);
    v.push(f);
    let mut f = flow(
        ConnectionClass::InterRegion,
        batch,
        Endpoint::bare("52.95.1.1".parse().unwrap(), 443),
        3 * GIB,
        0,
    );
    f.remote_site = site("eu-west-1", "ec2");
    v.push(f);
    let mut f = flow(ConnectionClass::IntraVpc, batch, db_a, 5 * GIB, 5 * GIB);
    f.flags.set(cross, false);
    v.push(f);
    v.push(flow(
        ConnectionClass::IntraVpc,
        batch,
        Endpoint::bare("10.0.9.9".parse().unwrap(), 5432),
        GIB,
        GIB,
    ));
    v
}

/// Writes the flows as `name` with the library's writers.
fn write_rows(dir: &Path, name: &str, schema: Schema) -> PathBuf {
    let m = meta();
    let f = flows(&m);
    let path = dir.join(name);
    let bytes = if name.contains(".parquet") {
        let mut w = ParquetWriter::with_writer(Vec::new(), name.into(), schema, &m).unwrap();
        w.write_flows(&f).unwrap();
        w.into_inner().unwrap().0
    } else {
        let compression = Compression::from_path(&path);
        let mut w =
            CsvWriter::with_writer(Vec::new(), name.into(), compression, schema, &m).unwrap();
        w.write_flows(&f).unwrap();
        w.into_inner().unwrap().0
    };
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn hand_made_rows_cost_what_spec_9_2_says() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(dir.path(), "f.csv", Schema::Upstream);
    let j = report_json(dir.path(), &["f.csv", "--by", "app", "--top", "2"]);
    let comp = |name: &str| {
        num(&j["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == name)
            .unwrap()["cost"])
    };
    assert!(close(comp("cross_az"), 2.0 * 0.01 + 0.01));
    assert!(close(comp("inter_region"), 3.0 * 0.02));
    assert!(close(comp("internet"), 4.0 * 0.09));
    assert!(close(comp("nat_gateway"), 15.0 * 0.045));
    let total = num(&j["totals"]["cost"]);
    assert!(close(total, 0.03 + 0.06 + 0.36 + 0.675), "{total}");
    // unknown zone: only the flow without CROSS_AZ
    assert_eq!(j["unknown_zone"]["bytes_out"], GIB);
    assert_eq!(j["unknown_zone"]["bytes_in"], GIB);
    assert!(close(
        num(&j["unknown_zone"]["cost_upper_bound"]),
        0.01 + 0.01
    ));
    // top 2 apps: web, then batch; nothing else
    let g = j["top"]["groups"].as_array().unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0]["name"], "web");
    assert!(close(num(&g[0]["cost"]), 0.03 + 0.45 + 0.36 + 0.225));
    assert_eq!(g[1]["name"], "batch");
    assert!(close(num(&g[1]["cost"]), 0.06));
    assert!(close(num(&g[0]["share"]) + num(&g[1]["share"]), 1.0));
    assert_eq!(j["top"]["rest"], Value::Null);
    // cross-AZ pairs: the one crossing, its cross-AZ charge only
    let z = &j["cross_az"]["zones"];
    assert_eq!(z.as_array().unwrap().len(), 1);
    assert_eq!(z[0]["local"], "us-east-1a");
    assert_eq!(z[0]["remote"], "us-east-1b");
    assert_eq!(z[0]["bytes_out"], 2 * GIB);
    assert!(close(num(&z[0]["cost"]), 0.02 + 0.01));
    let a = &j["cross_az"]["apps"];
    assert_eq!(
        (a[0]["local"].as_str(), a[0]["remote"].as_str()),
        (Some("web"), Some("db"))
    );
    // savings: the S3 flow's 10 GiB through the NAT gateway
    let s3 = &j["savings"]["services"][0];
    assert_eq!(s3["service"], "s3");
    assert_eq!(s3["bytes_out"], GIB);
    assert_eq!(s3["bytes_in"], 9 * GIB);
    assert!(close(num(&s3["saving"]), 10.0 * 0.045));
    assert_eq!(j["savings"]["services"][1]["rows"], 0);
    assert_eq!(j["totals"]["cost_per_month"], Value::Null);
}

/// Every section with something in it, in dollars.
#[test]
fn hand_made_text_report_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(dir.path(), "f.parquet", Schema::Upstream);
    let out = bin()
        .current_dir(dir.path())
        .args(["report", "f.parquet", "--by", "app", "--period", "1d"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("hand_made_text_report", String::from_utf8(out).unwrap());
}

#[test]
fn csv_and_parquet_of_either_schema_give_identical_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names = [
        ("f.csv", Schema::Upstream),
        ("f.csv.gz", Schema::Upstream),
        ("f.csv.zst", Schema::Dual),
        ("f.parquet", Schema::Upstream),
        ("dual.parquet", Schema::Dual),
    ];
    for (n, s) in names {
        write_rows(d, n, s);
    }
    let base = without_files(report_json(d, &["f.csv", "--period", "1h"]));
    assert_eq!(base["inputs"]["rows"], 12);
    for (n, s) in names {
        let j = report_json(d, &[n, "--period", "1h"]);
        assert_eq!(j["inputs"]["files"][0]["schema"], s.as_str(), "{n}");
        assert_eq!(without_files(j), base, "{n}");
    }
    // several files, a directory of them, and stdin: sums of the same rows
    let both = report_json(d, &["f.csv", "dual.parquet"]);
    assert_eq!(both["inputs"]["rows"], 24);
    assert_eq!(
        num(&both["totals"]["cost"]),
        2.0 * num(&base["totals"]["cost"])
    );
    let sub = d.join("sub");
    fs::create_dir(&sub).unwrap();
    write_rows(&sub, "a.parquet", Schema::Upstream);
    write_rows(&sub, "b.csv", Schema::Dual);
    fs::write(sub.join("README.md"), "not rows").unwrap();
    let j = report_json(d, &["sub"]);
    let files: Vec<&str> = j["inputs"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["sub/a.parquet", "sub/b.csv"]);
    assert_eq!(j["inputs"]["rows"], 24);
    let out = bin()
        .current_dir(d)
        .args(["report", "-", "--json"])
        .pipe_stdin(d.join("f.csv.gz"))
        .unwrap()
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let stdin: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(stdin["inputs"]["files"][0]["path"], "<stdin>");
    assert_eq!(
        without_files(stdin)["totals"],
        without_files(report_json(d, &["f.csv"]))["totals"]
    );
}

/// The report sink fed flows in memory equals the report of the same
/// flows written and read back, flags included.
#[test]
fn aggregation_in_memory_equals_rows_read_back() {
    use kubenetmon::output::{Destination, Sink};
    use kubenetmon::report::{Prices, ReportFormat, ReportOptions, ReportSink};
    let dir = tempfile::tempdir().unwrap();
    let m = meta();
    let rows = write_rows(dir.path(), "f.parquet", Schema::Upstream);
    for by in kubenetmon::report::GroupBy::ALL {
        let opts = ReportOptions {
            by,
            top: 3,
            period_seconds: Some(600),
        };
        let target = dir.path().join(format!("mem-{by}.json"));
        let mut sink = Box::new(ReportSink::new(
            Destination::open(&target).unwrap(),
            ReportFormat::Json,
            Prices::built_in(),
            opts,
            &m,
            vec!["dump".into()],
        ));
        sink.write_batch(&flows(&m)).unwrap();
        let finished = sink.finish().unwrap();
        assert_eq!(finished.commit().unwrap(), 12);
        let mem: Value = serde_json::from_str(&fs::read_to_string(&target).unwrap()).unwrap();
        let (agg, files) = kubenetmon::report::read_files(
            std::slice::from_ref(&rows),
            by,
            &kubenetmon::report::NoProgress,
        )
        .unwrap();
        let back = kubenetmon::report::Report::build(&agg, files, &Prices::built_in(), &opts);
        let back: Value = serde_json::from_str(&kubenetmon::report::render::json(&back)).unwrap();
        assert_eq!(without_files(mem), without_files(back), "--by {by}");
    }
}

// ---- the JSON schema of docs/report.md ------------------------------------

fn schema_of_docs() -> Value {
    let doc = fs::read_to_string(root().join("docs/report.md")).unwrap();
    let at = doc
        .find("<!-- report-json-schema -->")
        .expect("schema marker");
    let rest = &doc[at..];
    let start = rest.find("```json\n").unwrap() + 8;
    let end = rest[start..].find("```").unwrap();
    serde_json::from_str(&rest[start..start + end]).expect("the schema is JSON")
}

/// A validator for the part of JSON Schema that docs/report.md uses.
fn validate(schema: &Value, v: &Value, root: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").unwrap();
        return validate(&root["$defs"][name], v, root, path, errors);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let ok = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                validate(o, v, root, path, &mut e);
                e.is_empty()
            })
            .count();
        if ok != 1 {
            errors.push(format!("{path}: matches {ok} of oneOf"));
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema at {path}"),
        };
        let is = |t: &str| match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            _ => panic!("type {t}"),
        };
        if !types.iter().any(|t| is(t)) {
            errors.push(format!("{path}: {v} is not {types:?}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errors.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            errors.push(format!("{path}: {n} < {min}"));
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(r.as_str().unwrap()) {
                errors.push(format!("{path}: missing key {r}"));
            }
        }
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(s, val, root, &format!("{path}.{k}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: key {k:?} is not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(items, x, root, &format!("{path}[{i}]"), errors);
        }
    }
}

#[test]
fn json_follows_the_schema_in_docs() {
    let schema = schema_of_docs();
    let dir = tempfile::tempdir().unwrap();
    label_demo(dir.path(), &["-o", "flows.csv"]);
    write_rows(dir.path(), "flags.parquet", Schema::Dual);
    for args in [
        &["flows.csv"][..],
        &["flows.csv", "--period", "1h", "--top", "1"],
        &["flags.parquet", "--by", "node"],
    ] {
        let j = report_json(dir.path(), args);
        let mut errors = Vec::new();
        validate(&schema, &j, &schema, "$", &mut errors);
        assert!(errors.is_empty(), "{args:?}: {errors:#?}");
    }
    // the validator does catch a drift
    let mut j = report_json(dir.path(), &["flows.csv"]);
    j["totals"]["extra"] = Value::Bool(true);
    j["inputs"].as_object_mut().unwrap().remove("rows");
    let mut errors = Vec::new();
    validate(&schema, &j, &schema, "$", &mut errors);
    assert_eq!(errors.len(), 2, "{errors:?}");
}

// ---- prices ----------------------------------------------------------------

#[test]
fn print_prices_is_the_shipped_table_and_takes_overrides() {
    let shipped = fs::read_to_string(root().join("src/report/prices.json")).unwrap();
    bin()
        .args(["report", "--print-prices"])
        .assert()
        .success()
        .stdout(shipped.clone());
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("p.json"),
        r#"{"gcp": {"internet_out": 0.085}}"#,
    )
    .unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["report", "--print-prices", "--prices", "p.json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["gcp"]["internet_out"], 0.085);
    assert_eq!(v["aws"]["internet_out"], 0.09);
    // and the report uses them
    write_rows(dir.path(), "f.csv", Schema::Upstream);
    fs::write(
        dir.path().join("q.json"),
        r#"{"aws": {"internet_out": 1.0}}"#,
    )
    .unwrap();
    let j = report_json(dir.path(), &["f.csv", "--prices", "q.json"]);
    assert_eq!(j["inputs"]["prices"]["source"], "built-in + q.json");
    let internet = &j["components"][2];
    assert_eq!(internet["component"], "internet");
    assert_eq!(internet["cost"], 4.0);
}

#[test]
fn bad_price_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &str, want: &str| {
        fs::write(dir.path().join("p.json"), text).unwrap();
        bin()
            .current_dir(dir.path())
            .args(["report", "--print-prices", "--prices", "p.json"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(want));
    };
    run("prices: cheap", "p.json: not a price table");
    run(
        r#"{"aws": {"cross_az_out": -0.01}}"#,
        "p.json: aws.cross_az_out: -0.01 is negative",
    );
    run(r#"{"aws": {"egress": 0.01}}"#, "unknown field `egress`");
    run(r#"{"ibm": {}}"#, "unknown field `ibm`");
    run(r#"{"unit": "GB"}"#, "p.json: unit");
    bin()
        .args([
            "report",
            "--print-prices",
            "--prices",
            "/nonexistent/p.json",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/p.json"));
}

// ---- bad rows files --------------------------------------------------------

#[test]
fn foreign_and_broken_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = |args: &[&str]| {
        let mut c = bin();
        c.current_dir(d).arg("report").args(args);
        c
    };
    fs::write(d.join("other.csv"), "date,bytes,packets\n2023-01-01,1,1\n").unwrap();
    report(&["other.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "other.csv: not a kubenetmon rows file: missing columns intervalStartTime, \
             intervalSeconds, environment",
        ));
    fs::write(d.join("empty.csv"), "").unwrap();
    report(&["empty.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("empty.csv: empty file"));
    // a bad cell names the line
    let good = write_rows(d, "f.csv", Schema::Upstream);
    let text = fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[3] = lines[3].replacen("INTRA_REGION", "SOMEWHERE", 1);
    fs::write(d.join("cell.csv"), lines.join("\n") + "\n").unwrap();
    report(&["cell.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cell.csv:4: connectionClass \"SOMEWHERE\"",
        ));
    lines = text.lines().map(String::from).collect();
    lines[5].push_str(",extra");
    fs::write(d.join("fields.csv"), lines.join("\n")).unwrap();
    report(&["fields.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "fields.csv:6: 36 fields, but the header has 35",
        ));
    // Parquet: garbage after the magic, and a truncated file
    fs::write(d.join("junk.parquet"), b"PAR1 this is not parquet at all").unwrap();
    report(&["junk.parquet"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "junk.parquet: not a readable Parquet file",
        ));
    let pq = fs::read(write_rows(d, "f.parquet", Schema::Upstream)).unwrap();
    fs::write(d.join("cut.parquet"), &pq[..pq.len() / 2]).unwrap();
    report(&["cut.parquet"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cut.parquet: not a readable Parquet file",
        ));
    report(&["-"])
        .pipe_stdin(d.join("f.parquet"))
        .unwrap()
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Parquet"));
    report(&["/nonexistent/rows.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/rows.csv"));
    fs::create_dir(d.join("none")).unwrap();
    report(&["none"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("none: no rows files in it"));
    // usage errors
    report(&["f.csv", "--by", "team"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown grouping \"team\""));
    report(&["f.csv", "--period", "1y"]).assert().code(2);
    report(&["f.csv", "--top", "0"]).assert().code(2);
    report(&[]).assert().code(2);
}

#[test]
fn rows_of_a_cloud_without_prices_cost_nothing_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_rows(dir.path(), "f.csv", Schema::Upstream);
    // localCloud is the 9th column
    let mut r = csv::Reader::from_path(&good).unwrap();
    let mut w = csv::Writer::from_path(dir.path().join("oci.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let at = headers.iter().position(|h| h == "localCloud").unwrap();
    w.write_record(&headers).unwrap();
    for (i, rec) in r.records().enumerate() {
        let mut cells: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        if i < 4 {
            cells[at] = "oci".into();
        }
        w.write_record(&cells).unwrap();
    }
    w.flush().unwrap();
    let assert = bin()
        .current_dir(dir.path())
        .args(["report", "oci.csv", "--json"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "4 rows have localCloud \"oci\", which is not in the price table",
        ));
    let j: Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert!(j["warnings"][0].as_str().unwrap().contains("\"oci\""));
    // the first two flows (cross-AZ, S3 through the NAT) now cost 0
    let expected = 3.0 * 0.02 + 4.0 * 0.09 + 5.0 * 0.045;
    assert!(
        close(num(&j["totals"]["cost"]), expected),
        "{}",
        j["totals"]["cost"]
    );
    assert_eq!(j["inputs"]["local"][1]["cloud"], "oci");
}

// ---- HTML in a real browser ------------------------------------------------

fn browser() -> Option<PathBuf> {
    ["chromium-headless-shell", "chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| {
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join(name))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .find(|p| p.is_file())
}

fn chromium(browser: &Path, profile: &Path, args: &[String]) -> std::process::Output {
    std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            // networking off: every request goes to a closed local port,
            // and no name resolves
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("start the browser")
}

#[test]
fn html_page_renders_in_a_headless_browser() {
    let browser = browser();
    if !crate::support::require(
        "chromium-headless-shell or chromium on PATH (.ci/run installs it)",
        browser.is_some(),
    ) {
        return;
    }
    let browser = browser.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_rows(dir.path(), "f.parquet", Schema::Upstream);
    bin()
        .current_dir(dir.path())
        .args([
            "report",
            "f.parquet",
            "--html",
            "report.html",
            "--by",
            "app",
            "--period",
            "1h",
        ])
        .assert()
        .success();
    let page_path = dir.path().join("report.html");
    let page = fs::read_to_string(&page_path).unwrap();
    // self-contained: nothing to fetch (the SVG namespace is a name, not a fetch)
    let stripped = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for bad in [
        "http://", "https://", "<script", "<link", "@import", "url(", " src=",
    ] {
        assert!(!stripped.contains(bad), "the page contains {bad:?}");
    }
    let json = report_json(dir.path(), &["f.parquet", "--by", "app", "--period", "1h"]);
    let total = format!(
        "${:.2}",
        (num(&json["totals"]["cost"]) * 100.0).round() / 100.0
    );
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page_path.display());
    let out = chromium(
        &browser,
        profile.path(),
        &["--dump-dom".into(), url.clone()],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dom.contains("id=\"total\""), "{dom}");
    assert!(dom.contains(&total), "total {total} not in the page");
    for chart in ["chart-components", "chart-top"] {
        let at = dom
            .find(&format!("<svg id=\"{chart}\""))
            .unwrap_or_else(|| panic!("{chart}"));
        let svg = &dom[at..at + dom[at..].find("</svg>").unwrap()];
        assert!(svg.matches("<rect").count() >= 2, "{chart}: {svg}");
    }
    assert!(dom.contains("internet egress") && dom.contains("web"));
    let shot = root().join("target/report-screenshot.png");
    let _ = fs::remove_file(&shot);
    let out = chromium(
        &browser,
        profile.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1100,1700".into(),
            "--hide-scrollbars".into(),
            url,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn help_has_examples_and_names_the_options() {
    let out = bin()
        .args(["report", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let examples = text.split_once("Examples:\n").expect("Examples").1;
    assert!(examples.contains("kubenetmon report flows.parquet --html cost.html"));
    assert!(examples.contains("label dumps/"));
    for opt in [
        "--prices",
        "--top",
        "--by",
        "--period",
        "--json",
        "--html",
        "--print-prices",
        "KUBENETMON_PRICES",
    ] {
        assert!(text.contains(opt), "{opt}");
    }
    assert!(text.contains("first-tier list prices"));
    let out = bin()
        .args(["label", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("--report <FILE>") && text.contains("--period <DURATION>"));
}

/// Cells with commas, quotes and newlines (quoted by the writer) read back
/// as they were, also where a record spans lines.
#[test]
fn quoted_cells_read_back_exactly() {
    let m = meta();
    let names = ["plain", "a,b", "say \"hi\"", "two\nlines", " padded "];
    let fl: Vec<LabelledFlow<'_>> = names
        .iter()
        .map(|n| {
            let mut f = LabelledFlow::new(
                1_700_000_000,
                Protocol::Tcp,
                ConnectionClass::PublicInternet,
                pod("ns", n, "", 11),
                Endpoint::bare("192.0.2.1".parse().unwrap(), 443),
            );
            f.out.bytes = GIB;
            f
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.csv");
    let mut w = CsvWriter::with_writer(Vec::new(), "q".into(), Compression::None, Schema::Dual, &m)
        .unwrap();
    w.write_flows(&fl).unwrap();
    fs::write(&path, w.into_inner().unwrap().0).unwrap();
    let (agg, files) = kubenetmon::report::read_files(
        std::slice::from_ref(&path),
        kubenetmon::report::GroupBy::Pod,
        &kubenetmon::report::NoProgress,
    )
    .unwrap();
    assert_eq!(files[0].rows, Some(10));
    let mut got: Vec<(String, u128)> = agg
        .groups()
        .map(|(n, t)| (n.to_string(), t.bytes_out))
        .collect();
    got.sort();
    let mut want: Vec<(String, u128)> = names
        .iter()
        .map(|n| (n.to_string(), u128::from(GIB)))
        .collect();
    want.sort();
    assert_eq!(got, want);
}
