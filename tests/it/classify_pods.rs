//! `classify --inventory` names the pod (SPEC §3.5's choice) or node behind
//! an address (issue 16), on the bundled demo: testdata/demo/inventory.json
//! and testdata/demo/ranges (see testdata/demo/README.md for who is who).

use std::path::Path;

use serde_json::{json, Value};

const INVENTORY: &str = "testdata/demo/inventory.json";
const RANGES: &str = "testdata/demo/ranges";

fn classify(cache: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    crate::support::kubenetmon()
        .env("XDG_CACHE_HOME", cache)
        .args(["classify", "--ranges", RANGES])
        .args(args)
        .assert()
}

fn json_lines(args: &[&str]) -> Vec<Value> {
    let cache = tempfile::tempdir().unwrap();
    let out = classify(cache.path(), args).success().get_output().clone();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The table's rows as cells (no cell here contains two blanks in a row).
fn table(args: &[&str]) -> Vec<Vec<String>> {
    let cache = tempfile::tempdir().unwrap();
    let out = classify(cache.path(), args).success().get_output().clone();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

const NODE_A: &str = "ip-10-0-1-10.ec2.internal";
const NODE_B: &str = "ip-10-0-2-20.ec2.internal";

#[test]
fn json_names_the_pod_and_node_and_keeps_spec_5_2_keys() {
    let v = json_lines(&[
        "--json",
        "--inventory",
        INVENTORY,
        "10.244.1.11", // shop/web-7d9f8-abcde on node a
        "10.244.1.12", // web-canary, Running; the Succeeded report job's old IP
        "10.0.2.20",   // node b's InternalIP; kube-proxy-bbbbb (hostNetwork) shares it
        "10.244.9.9",  // in the pod range, but no pod has it
        "192.0.2.10",  // the demo's "S3"
    ]);
    let intra = |ip: &str| {
        json!({"ip": ip, "cloud": "aws", "region": "us-east-1", "service": "",
               "prefix": "", "class": "INTRA_VPC"})
    };
    let with = |mut base: Value, extra: Value| {
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        base
    };
    assert_eq!(
        v,
        [
            with(
                intra("10.244.1.11"),
                json!({"pod": "shop/web-7d9f8-abcde", "node": NODE_A})
            ),
            with(
                intra("10.244.1.12"),
                json!({"pod": "shop/web-canary-5c6d7-fghij", "node": NODE_A})
            ),
            with(intra("10.0.2.20"), json!({"node": NODE_B})),
            intra("10.244.9.9"),
            json!({"ip": "192.0.2.10", "cloud": "aws", "region": "us-east-1",
                   "service": "s3", "prefix": "192.0.2.0/25", "class": "INTRA_REGION"}),
        ]
    );
    // §5.2's keys first, in its order; the inventory's after them (read from
    // the text: serde_json's Value does not keep key order).
    let cache = tempfile::tempdir().unwrap();
    let out = classify(
        cache.path(),
        &["--json", "--inventory", INVENTORY, "10.244.1.11"],
    )
    .success()
    .get_output()
    .stdout
    .clone();
    let line = String::from_utf8(out).unwrap();
    let at: Vec<usize> = [
        "ip", "cloud", "region", "service", "prefix", "class", "pod", "node",
    ]
    .iter()
    .map(|k| line.find(&format!("\"{k}\":")).unwrap())
    .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
}

#[test]
fn table_has_pod_and_node_columns_with_an_inventory() {
    let rows = table(&[
        "--inventory",
        INVENTORY,
        "10.244.2.53",
        "10.0.1.10",
        "203.0.113.9",
    ]);
    assert_eq!(
        rows[0],
        ["IP", "CLOUD", "REGION", "SERVICE", "PREFIX", "CLASS", "POD", "NODE"]
    );
    let pod_node = |r: &Vec<String>| (r[0].clone(), r[6].clone(), r[7].clone());
    assert_eq!(
        rows[1..].iter().map(pod_node).collect::<Vec<_>>(),
        [
            (
                "10.244.2.53".into(),
                "kube-system/coredns-6f8d9-klmno".into(),
                NODE_B.into()
            ),
            ("10.0.1.10".into(), "-".into(), NODE_A.into()),
            ("203.0.113.9".into(), "-".into(), "-".into()),
        ]
    );
    // Without an inventory, the table and the JSON are as before.
    let rows = table(&["--cloud", "aws", "--region", "us-east-1", "10.244.2.53"]);
    assert_eq!(
        rows[0],
        ["IP", "CLOUD", "REGION", "SERVICE", "PREFIX", "CLASS"]
    );
    let v = json_lines(&["--json", "10.244.2.53"]);
    assert_eq!(
        v,
        [json!({"ip": "10.244.2.53", "cloud": "", "region": "", "service": "", "prefix": ""})]
    );
}

#[test]
fn several_live_pods_on_one_ip_are_counted_not_named() {
    // The demo plus a second Running pod on web-1's IP: §3.5 cannot choose.
    let mut inv: Value = serde_json::from_slice(&std::fs::read(INVENTORY).unwrap()).unwrap();
    let items = inv["items"].as_array_mut().unwrap();
    let mut twin = items
        .iter()
        .find(|i| i["metadata"]["name"] == "web-7d9f8-abcde")
        .unwrap()
        .clone();
    twin["metadata"]["name"] = json!("web-7d9f8-twin1");
    items.push(twin);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.json");
    std::fs::write(&path, serde_json::to_vec(&inv).unwrap()).unwrap();
    let path = path.to_str().unwrap();
    let v = json_lines(&["--json", "--inventory", path, "10.244.1.11"]);
    assert_eq!(v[0]["multiple_pods"], 2, "{}", v[0]);
    assert!(
        v[0].get("pod").is_none() && v[0].get("node").is_none(),
        "{}",
        v[0]
    );
    let rows = table(&["--inventory", path, "10.244.1.11"]);
    assert_eq!(rows[1][6], "2 pods");
    assert_eq!(rows[1][7], "-");
}

#[test]
fn ipv4_mapped_addresses_find_their_pod() {
    // SPEC §7: ::ffff:a.b.c.d is a.b.c.d for pod and node lookups.
    let v = json_lines(&["--json", "--inventory", INVENTORY, "::ffff:10.244.2.12"]);
    assert_eq!(v[0]["pod"], "shop/postgres-0");
    assert_eq!(v[0]["node"], NODE_B);
}

#[test]
fn help_says_what_the_inventory_adds() {
    let cache = tempfile::tempdir().unwrap();
    let out = classify(cache.path(), &["--help"])
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("POD and NODE columns"), "{text}");
}
