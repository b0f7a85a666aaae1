//! Any bytes as kubectl JSON (`--inventory`): up to three documents, split
//! at NUL bytes (no JSON text holds one), loaded as several `--inventory`
//! files are. Never panics; an error names its document; a loaded
//! inventory's indexes agree with its objects, and what `label` and
//! `classify` derive from it (cloud and region, the pod index) is computed
//! without panicking.
#![no_main]

use kubenetmon::inventory::load_documents;
use kubenetmon::label::{LabelIndex, PodSlot};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 3] = ["a.json", "b.json", "c.json"];

fuzz_target!(|data: &[u8]| {
    let docs: Vec<(&str, &[u8])> = NAMES.iter().copied().zip(data.splitn(3, |&b| b == 0)).collect();
    let inv = match load_documents(docs.iter().copied()) {
        Ok(inv) => inv,
        Err(e) => {
            let text = e.to_string();
            // Errors of one document start with its name; the others are
            // about the merged inventory (two nodes with one InternalIP).
            assert!(
                NAMES.iter().any(|n| text.starts_with(n)) || text.starts_with("nodes "),
                "{text}"
            );
            return;
        }
    };
    assert!(!inv.pods().is_empty() || !inv.nodes().is_empty() || !inv.services().is_empty());
    for pod in inv.pods() {
        for ip in &pod.ips {
            assert!(inv.pods_by_ip(*ip).any(|p| std::ptr::eq(p, pod)));
        }
        let _ = (pod.instance_id(), pod.app());
    }
    for node in inv.nodes() {
        assert_eq!(inv.node_by_name(&node.name).map(|n| &n.name), Some(&node.name));
        for ip in &node.internal_ips {
            assert_eq!(inv.node_by_internal_ip(*ip).map(|n| &n.name), Some(&node.name));
        }
        let _ = (node.zone(), node.region());
    }
    for svc in inv.services() {
        for ip in &svc.cluster_ips {
            assert!(inv.service_by_cluster_ip(*ip).is_some());
        }
    }
    let _ = inv.infer_cloud_region();
    let index = LabelIndex::new(&inv);
    for pod in inv.pods() {
        for ip in &pod.ips {
            // §3.5 may pick no pod (all of them finished), never an unknown one.
            if let Some(PodSlot::One(p)) = index.pod(*ip) {
                assert!(inv.pods_by_ip(*ip).any(|q| q.name == p.name));
            }
        }
    }
});
