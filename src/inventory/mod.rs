//! Kubernetes inventory from `kubectl get pods,nodes,services -A -o json`,
//! loaded once into read-only indexes (pod by IP, node by name and
//! InternalIP, service by cluster IP).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum InventoryError {
    #[error("nodes {first:?} and {second:?} both have InternalIP {ip}")]
    DuplicateInternalIp {
        ip: IpAddr,
        first: String,
        second: String,
    },
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
                    let other = &inv.nodes[other as usize];
                    if other.name != node.name {
                        return Err(InventoryError::DuplicateInternalIp {
                            ip: *ip,
                            first: other.name.clone(),
                            second: node.name.clone(),
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
