//! Kubernetes inventory from `kubectl get pods,nodes,services -A -o json`,
//! loaded once into read-only indexes (pod by IP, node by name and
//! InternalIP, service by cluster IP).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use thiserror::Error;

use crate::model::{normalize, Cloud};

mod load;

pub use load::{load, load_documents};

#[derive(Debug, Error)]
pub enum InventoryError {
    #[error("{path}: cannot read it")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid kubectl JSON (line {line}, column {column}): {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: no Pod, Node or Service objects (expected the output of \
         `kubectl get pods,nodes,services -A -o json`)"
    )]
    NoItems { path: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("the nodes disagree on the {what}: {detail}; pass --{flag}")]
    Disagree {
        what: &'static str,
        flag: &'static str,
        /// `node-a says aws, node-b says gcp`
        detail: String,
    },
    #[error(
        "nodes {first:?}{} and {second:?}{} both have InternalIP {ip}",
        in_file(.first_file),
        in_file(.second_file)
    )]
    DuplicateInternalIp {
        ip: IpAddr,
        first: String,
        /// The document the first node came from, when known.
        first_file: Option<String>,
        second: String,
        second_file: Option<String>,
    },
}

/// ` (in FILE)`, or nothing.
fn in_file(file: &Option<String>) -> String {
    file.as_ref()
        .map_or(String::new(), |f| format!(" (in {f})"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    #[default]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pod {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// `spec.nodeName`; empty when not scheduled.
    pub node_name: String,
    pub host_network: bool,
    pub phase: PodPhase,
    /// `status.podIPs[].ip`, or `status.podIP` when that list is empty.
    pub ips: Vec<IpAddr>,
}

impl Pod {
    /// Label `control-plane-id` (upstream's instance id).
    pub fn instance_id(&self) -> &str {
        self.label("control-plane-id")
    }

    /// Label `app.kubernetes.io/name`, falling back to `k8s-app`.
    pub fn app(&self) -> &str {
        match self.labels.get("app.kubernetes.io/name") {
            Some(v) => v,
            None => self.label("k8s-app"),
        }
    }

    fn label(&self, key: &str) -> &str {
        self.labels.get(key).map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `spec.providerID`, e.g. `aws:///us-east-1a/i-0abc`.
    pub provider_id: String,
    /// `status.addresses[]` of type `InternalIP`.
    pub internal_ips: Vec<IpAddr>,
}

impl Node {
    pub fn zone(&self) -> &str {
        self.labels
            .get("topology.kubernetes.io/zone")
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn region(&self) -> &str {
        self.labels
            .get("topology.kubernetes.io/region")
            .map(String::as_str)
            .unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub cluster_ips: Vec<IpAddr>,
}

pub type PodId = u32;
pub type NodeId = u32;

/// Read-only indexes over one snapshot.
#[derive(Debug, Default)]
pub struct Inventory {
    pods: Vec<Pod>,
    nodes: Vec<Node>,
    services: Vec<Service>,
    pods_by_ip: HashMap<IpAddr, Vec<PodId>>,
    nodes_by_ip: HashMap<IpAddr, NodeId>,
    nodes_by_name: HashMap<String, NodeId>,
    services_by_ip: HashMap<IpAddr, u32>,
}

impl Inventory {
    /// Builds the indexes. Objects must already be de-duplicated by
    /// (kind, namespace, name).
    pub fn from_objects(
        pods: Vec<Pod>,
        nodes: Vec<Node>,
        services: Vec<Service>,
    ) -> Result<Self, InventoryError> {
        Self::build(pods, nodes, services, &|_| None)
    }

    /// [`Inventory::from_objects`], `node_file(i)` naming the file node `i`
    /// came from (for the duplicate-InternalIP error).
    fn build(
        pods: Vec<Pod>,
        nodes: Vec<Node>,
        services: Vec<Service>,
        node_file: &dyn Fn(usize) -> Option<String>,
    ) -> Result<Self, InventoryError> {
        let mut inv = Inventory {
            pods,
            nodes,
            services,
            ..Default::default()
        };
        for (i, pod) in inv.pods.iter().enumerate() {
            for ip in &pod.ips {
                let ids = inv.pods_by_ip.entry(*ip).or_default();
                if !ids.contains(&(i as PodId)) {
                    ids.push(i as PodId);
                }
            }
        }
        for (i, node) in inv.nodes.iter().enumerate() {
            inv.nodes_by_name.insert(node.name.clone(), i as NodeId);
            for ip in &node.internal_ips {
                if let Some(&other) = inv.nodes_by_ip.get(ip) {
                    let first = &inv.nodes[other as usize];
                    if first.name != node.name {
                        return Err(InventoryError::DuplicateInternalIp {
                            ip: *ip,
                            first: first.name.clone(),
                            first_file: node_file(other as usize),
                            second: node.name.clone(),
                            second_file: node_file(i),
                        });
                    }
                }
                inv.nodes_by_ip.insert(*ip, i as NodeId);
            }
        }
        for (i, svc) in inv.services.iter().enumerate() {
            for ip in &svc.cluster_ips {
                inv.services_by_ip.insert(*ip, i as u32);
            }
        }
        Ok(inv)
    }

    pub fn pods(&self) -> &[Pod] {
        &self.pods
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Every pod whose IPs include `ip`, whatever its phase.
    pub fn pods_by_ip(&self, ip: IpAddr) -> impl Iterator<Item = &Pod> + '_ {
        self.pods_by_ip
            .get(&ip)
            .into_iter()
            .flatten()
            .map(|&id| &self.pods[id as usize])
    }

    pub fn node_by_internal_ip(&self, ip: IpAddr) -> Option<&Node> {
        self.nodes_by_ip.get(&ip).map(|&i| &self.nodes[i as usize])
    }

    pub fn node_by_name(&self, name: &str) -> Option<&Node> {
        self.nodes_by_name
            .get(name)
            .map(|&i| &self.nodes[i as usize])
    }

    pub fn service_by_cluster_ip(&self, ip: IpAddr) -> Option<&Service> {
        self.services_by_ip
            .get(&ip)
            .map(|&i| &self.services[i as usize])
    }
}

/// Cloud from a node's `spec.providerID` scheme.
fn provider_cloud(provider_id: &str) -> Option<Cloud> {
    let scheme = provider_id.split_once("://")?.0;
    match scheme.to_ascii_lowercase().as_str() {
        "aws" => Some(Cloud::Aws),
        "gce" => Some(Cloud::Gcp),
        "azure" => Some(Cloud::Azure),
        _ => None,
    }
}

/// Region of a node: the region label (or its deprecated beta name), else
/// derived from the zone in an AWS or GCE providerID
/// (`aws:///us-east-1a/i-…` → `us-east-1`, `gce://proj/us-central1-b/n` → `us-central1`).
fn node_region(node: &Node) -> Option<String> {
    for key in [
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/region",
    ] {
        if let Some(r) = node.labels.get(key).filter(|r| !r.trim().is_empty()) {
            return Some(normalize(r));
        }
    }
    let (scheme, rest) = node.provider_id.split_once("://")?;
    let zone = match scheme {
        "aws" => rest.trim_start_matches('/').split('/').next()?,
        "gce" => rest.split('/').nth(1)?,
        _ => return None,
    };
    let region = match scheme {
        // us-east-1a → us-east-1
        "aws" => zone.trim_end_matches(|c: char| c.is_ascii_lowercase()),
        // us-central1-b → us-central1
        _ => zone.rsplit_once('-')?.0,
    };
    (!region.is_empty() && region != zone).then(|| normalize(region))
}

impl Inventory {
    /// The cluster's cloud and normalised region, from the nodes'
    /// `spec.providerID` and `topology.kubernetes.io/region` label. Nodes
    /// without either say nothing; two nodes that disagree are an error
    /// asking for `--cloud` / `--region`.
    pub fn infer_cloud_region(&self) -> Result<(Option<Cloud>, Option<String>), InventoryError> {
        Ok((self.infer_cloud()?, self.infer_region()?))
    }

    /// The cloud all nodes' `spec.providerID` agree on (nodes without one
    /// are skipped); an error naming two nodes that disagree.
    pub fn infer_cloud(&self) -> Result<Option<Cloud>, InventoryError> {
        let mut cloud: Option<(Cloud, &str)> = None;
        for node in &self.nodes {
            if let Some(c) = provider_cloud(&node.provider_id) {
                match cloud {
                    Some((seen, by)) if seen != c => {
                        return Err(InventoryError::Disagree {
                            what: "cloud",
                            flag: "cloud",
                            detail: format!("{by} says {seen}, {} says {c}", node.name),
                        })
                    }
                    Some(_) => {}
                    None => cloud = Some((c, &node.name)),
                }
            }
        }
        Ok(cloud.map(|c| c.0))
    }

    /// The region all nodes agree on (label, else providerID zone).
    pub fn infer_region(&self) -> Result<Option<String>, InventoryError> {
        let mut region: Option<(String, &str)> = None;
        for node in &self.nodes {
            if let Some(r) = node_region(node) {
                match &region {
                    Some((seen, by)) if *seen != r => {
                        return Err(InventoryError::Disagree {
                            what: "region",
                            flag: "region",
                            detail: format!("{by} says {seen}, {} says {r}", node.name),
                        })
                    }
                    Some(_) => {}
                    None => region = Some((r, &node.name)),
                }
            }
        }
        Ok(region.map(|r| r.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, provider_id: &str, region: Option<&str>) -> Node {
        let mut labels = BTreeMap::new();
        if let Some(r) = region {
            labels.insert("topology.kubernetes.io/region".to_string(), r.to_string());
        }
        Node {
            name: name.into(),
            labels,
            provider_id: provider_id.into(),
            internal_ips: Vec::new(),
        }
    }

    fn infer(nodes: Vec<Node>) -> Result<(Option<Cloud>, Option<String>), InventoryError> {
        Inventory::from_objects(Vec::new(), nodes, Vec::new())
            .unwrap()
            .infer_cloud_region()
    }

    #[test]
    fn cloud_from_provider_id_and_region_from_label() {
        let got = infer(vec![
            node("a", "aws:///us-east-1a/i-0abc", Some("US-East-1")),
            node("b", "aws:///us-east-1b/i-0def", Some("us-east-1")),
        ])
        .unwrap();
        assert_eq!(got, (Some(Cloud::Aws), Some("us-east-1".into())));
        let got = infer(vec![node(
            "a",
            "gce://proj/europe-west1-b/a",
            Some("europe-west1"),
        )])
        .unwrap();
        assert_eq!(got.0, Some(Cloud::Gcp));
        let got = infer(vec![node(
            "a",
            "azure:///subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/a",
            Some("westeurope"),
        )])
        .unwrap();
        assert_eq!(got, (Some(Cloud::Azure), Some("westeurope".into())));
    }

    #[test]
    fn region_falls_back_to_the_provider_id_zone() {
        assert_eq!(
            infer(vec![node("a", "aws:///eu-west-2c/i-1", None)])
                .unwrap()
                .1
                .as_deref(),
            Some("eu-west-2")
        );
        assert_eq!(
            infer(vec![node("a", "gce://p/us-central1-f/a", None)])
                .unwrap()
                .1
                .as_deref(),
            Some("us-central1")
        );
        assert_eq!(infer(vec![node("a", "azure:///x", None)]).unwrap().1, None);
    }

    #[test]
    fn unknown_providers_and_no_nodes_say_nothing() {
        assert_eq!(
            infer(vec![node(
                "a",
                "kind://docker/kind/kind-control-plane",
                None
            )])
            .unwrap(),
            (None, None)
        );
        assert_eq!(infer(Vec::new()).unwrap(), (None, None));
    }

    #[test]
    fn disagreement_is_an_error_naming_both_nodes() {
        let err = infer(vec![
            node("a", "aws:///us-east-1a/i-1", None),
            node("b", "gce://p/us-east1-b/b", None),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"a\"") || err.contains(" a "), "{err}");
        assert!(
            err.contains("--cloud") && err.contains("aws") && err.contains("gcp"),
            "{err}"
        );
        let err = infer(vec![
            node("a", "aws:///us-east-1a/i-1", Some("us-east-1")),
            node("b", "aws:///us-west-2a/i-2", Some("us-west-2")),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--region") && err.contains("us-west-2"),
            "{err}"
        );
    }
    #[test]
    fn cloud_and_region_are_inferred_independently() {
        // Nodes of two clouds in one region: the cloud is ambiguous (the user
        // passes --cloud) but the region can still be inferred.
        let inv = Inventory::from_objects(
            Vec::new(),
            vec![
                node("a", "aws:///us-east-1a/i-1", Some("us-east-1")),
                node("b", "gce://p/us-east1-b/b", Some("us-east-1")),
            ],
            Vec::new(),
        )
        .unwrap();
        assert!(inv.infer_cloud().is_err());
        assert_eq!(inv.infer_region().unwrap().as_deref(), Some("us-east-1"));
        assert!(inv.infer_cloud_region().is_err());
    }
}
