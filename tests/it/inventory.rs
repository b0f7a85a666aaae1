//! The inventory loader on the hand-written kubectl fixtures in
//! testdata/inventory (see its README for what each holds).

use std::net::IpAddr;
use std::path::PathBuf;

use kubenetmon::inventory::{self, PodPhase};
use kubenetmon::model::Cloud;

use crate::support;

fn fixture(name: &str) -> PathBuf {
    support::testdata("inventory").join(name)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn list_with_pods_nodes_and_services() {
    let inv = inventory::load(&[fixture("aws-cluster.json")]).unwrap();
    assert_eq!(inv.pods().len(), 5);
    assert_eq!(inv.nodes().len(), 2);
    assert_eq!(inv.services().len(), 2);

    let api: Vec<_> = inv.pods_by_ip(ip("10.0.1.23")).collect();
    assert_eq!(api.len(), 1);
    let api = api[0];
    assert_eq!(
        (api.namespace.as_str(), api.name.as_str()),
        ("shop", "api-7d9f8c6b5-x2x4q")
    );
    assert_eq!(api.node_name, "ip-10-0-1-10.ec2.internal");
    assert_eq!((api.app(), api.instance_id()), ("api", "cp-1234"));
    assert_eq!(api.phase, PodPhase::Running);
    assert!(!api.host_network);

    // kube-proxy: hostNetwork, app from k8s-app, IP = its node's.
    let proxy: Vec<_> = inv.pods_by_ip(ip("10.0.1.10")).collect();
    assert!(proxy[0].host_network);
    assert_eq!(proxy[0].app(), "kube-proxy");
    let node = inv.node_by_internal_ip(ip("10.0.1.10")).unwrap();
    assert_eq!(node.name, "ip-10-0-1-10.ec2.internal");
    assert_eq!((node.zone(), node.region()), ("us-east-1a", "us-east-1"));
    assert_eq!(node.provider_id, "aws:///us-east-1a/i-0a1b2c3d4e5f60001");
    // ExternalIP is not an InternalIP.
    assert!(inv.node_by_internal_ip(ip("54.210.1.10")).is_none());

    // A Succeeded job pod and a Running pod share 10.0.2.31; both indexed.
    let mut phases: Vec<PodPhase> = inv.pods_by_ip(ip("10.0.2.31")).map(|p| p.phase).collect();
    phases.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(phases, [PodPhase::Running, PodPhase::Succeeded]);
    // Dual-stack pod: every podIPs entry is indexed.
    let worker: Vec<_> = inv.pods_by_ip(ip("2600:1f18:1234:5600::31")).collect();
    assert_eq!(worker[0].name, "worker-0");

    // Unscheduled pod: no IPs, no node.
    let pending = inv
        .pods()
        .iter()
        .find(|p| p.name.ends_with("pending"))
        .unwrap();
    assert!(pending.ips.is_empty() && pending.node_name.is_empty());
    assert_eq!(pending.phase, PodPhase::Pending);

    assert_eq!(
        inv.service_by_cluster_ip(ip("172.20.14.7")).unwrap().name,
        "api"
    );
    let headless = inv
        .services()
        .iter()
        .find(|s| s.name == "worker-headless")
        .unwrap();
    assert!(headless.cluster_ips.is_empty());
}

#[test]
fn later_file_wins_for_the_same_object() {
    let inv = inventory::load(&[
        fixture("aws-cluster.json"),
        fixture("aws-cluster-update.json"),
    ])
    .unwrap();
    // shop/api-7d9f8c6b5-x2x4q replaced (podIPs empty → podIP used); the
    // staging pod of the same name is another object; the Deployment is
    // ignored.
    assert_eq!(inv.pods().len(), 6);
    assert!(inv.pods_by_ip(ip("10.0.1.23")).next().is_none());
    let moved: Vec<_> = inv.pods_by_ip(ip("10.0.2.44")).collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        (moved[0].namespace.as_str(), moved[0].node_name.as_str()),
        ("shop", "ip-10-0-2-20.ec2.internal")
    );
    assert_eq!(
        inv.pods_by_ip(ip("10.0.1.77")).next().unwrap().namespace,
        "staging"
    );
    // In the other order the first snapshot's pod wins.
    let inv = inventory::load(&[
        fixture("aws-cluster-update.json"),
        fixture("aws-cluster.json"),
    ])
    .unwrap();
    assert_eq!(inv.pods_by_ip(ip("10.0.1.23")).count(), 1);
    assert_eq!(inv.pods_by_ip(ip("10.0.2.44")).count(), 0);
}

#[test]
fn single_object_file() {
    let inv = inventory::load(&[fixture("gcp-node.json")]).unwrap();
    assert_eq!(inv.nodes().len(), 1);
    assert_eq!(
        inv.node_by_internal_ip(ip("10.142.0.5")).unwrap().zone(),
        "us-east1-b"
    );
    assert_eq!(
        inv.infer_cloud_region().unwrap(),
        (Some(Cloud::Gcp), Some("us-east1".to_string()))
    );
}

#[test]
fn infers_cloud_and_region() {
    let inv = inventory::load(&[fixture("aws-cluster.json")]).unwrap();
    assert_eq!(
        inv.infer_cloud_region().unwrap(),
        (Some(Cloud::Aws), Some("us-east-1".to_string()))
    );
    let inv = inventory::load(&[fixture("aws-cluster.json"), fixture("gcp-node.json")]).unwrap();
    let err = inv.infer_cloud_region().unwrap_err().to_string();
    assert!(
        err.contains("--cloud") && err.contains("gke-prod-default-pool-1a2b3c4d-x1y2"),
        "{err}"
    );
}

#[test]
fn two_nodes_with_one_internal_ip_is_an_error_naming_both() {
    let (first, second) = (
        fixture("aws-cluster.json"),
        fixture("duplicate-internal-ip.json"),
    );
    let err = inventory::load(&[first.clone(), second.clone()])
        .unwrap_err()
        .to_string();
    // Both nodes, each with the file it came from (issue 17).
    assert_eq!(
        err,
        format!(
            "nodes \"ip-10-0-1-10.ec2.internal\" (in {}) and \"ip-10-0-9-9.ec2.internal\" \
             (in {}) both have InternalIP 10.0.1.10",
            first.display(),
            second.display()
        )
    );
}

#[test]
fn invalid_json_names_file_line_and_column() {
    let err = inventory::load(&[fixture("aws-cluster.json"), fixture("broken.json")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.json") && err.contains("line 6") && err.contains("column"),
        "{err}"
    );
}

#[test]
fn a_file_without_usable_items_is_an_error() {
    let err = inventory::load(&[fixture("no-items.json")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-items.json") && err.contains("no Pod, Node or Service"),
        "{err}"
    );
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = inventory::load(&[fixture("nope.json")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.json"), "{err}");
}

#[test]
fn compressed_inventories_are_read() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&std::fs::read(fixture("gcp-node.json")).unwrap())
        .unwrap();
    gz.finish().unwrap();
    let inv = inventory::load(&[path]).unwrap();
    assert_eq!(inv.nodes().len(), 1);
}
