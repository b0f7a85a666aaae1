//! Per-run lookup tables for the hot path, built once from the inventory:
//! SPEC §3.5's pod choice and §3.8's attributes are resolved per IP up
//! front, so labelling a flow costs two or four fast hash lookups and no
//! string hashing or label-map searches.

use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::inventory::{Inventory, Pod, PodPhase};

/// §3.8: what a row says about a known pod. Borrowed from the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodInfo<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// `spec.nodeName`.
    pub node: &'a str,
    /// That node's `topology.kubernetes.io/zone`, when the node is known.
    pub zone: &'a str,
    /// Label `control-plane-id`.
    pub instance_id: &'a str,
    /// Label `app.kubernetes.io/name`, else `k8s-app`.
    pub app: &'a str,
}

/// §3.5's answer for one IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSlot<'a> {
    One(PodInfo<'a>),
    /// Several pods that are neither Succeeded nor Failed.
    Multiple(usize),
}

/// Pod-by-IP and node-InternalIP tables for [`super::label_flow`].
#[derive(Debug, Default)]
pub struct LabelIndex<'a> {
    pods: FxHashMap<IpAddr, PodSlot<'a>>,
    node_ips: FxHashSet<IpAddr>,
}

impl<'a> LabelIndex<'a> {
    pub fn new(inv: &'a Inventory) -> Self {
        let mut index = LabelIndex::default();
        for node in inv.nodes() {
            index.node_ips.extend(node.internal_ips.iter().copied());
        }
        for pod in inv.pods() {
            for &ip in &pod.ips {
                if index.pods.contains_key(&ip) {
                    continue;
                }
                match choose(inv, ip) {
                    Choice::None => {}
                    Choice::One(p) => {
                        index.pods.insert(ip, PodSlot::One(info(inv, p)));
                    }
                    Choice::Multiple(n) => {
                        index.pods.insert(ip, PodSlot::Multiple(n));
                    }
                }
            }
        }
        index
    }

    #[inline]
    pub fn pod(&self, ip: IpAddr) -> Option<&PodSlot<'a>> {
        self.pods.get(&ip)
    }

    #[inline]
    pub fn is_node_ip(&self, ip: IpAddr) -> bool {
        self.node_ips.contains(&ip)
    }
}

enum Choice<'p> {
    None,
    One(&'p Pod),
    Multiple(usize),
}

/// §3.5: a single candidate is used whatever its phase; among several,
/// Succeeded and Failed ones are dropped (their IPs get reused).
fn choose(inv: &Inventory, ip: IpAddr) -> Choice<'_> {
    let mut all = inv.pods_by_ip(ip);
    let Some(first) = all.next() else {
        return Choice::None;
    };
    if all.next().is_none() {
        return Choice::One(first);
    }
    let mut live = inv
        .pods_by_ip(ip)
        .filter(|p| !matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed));
    match (live.next(), live.count()) {
        (None, _) => Choice::None,
        (Some(p), 0) => Choice::One(p),
        (Some(_), more) => Choice::Multiple(more + 1),
    }
}

fn info<'a>(inv: &'a Inventory, pod: &'a Pod) -> PodInfo<'a> {
    PodInfo {
        namespace: &pod.namespace,
        name: &pod.name,
        node: &pod.node_name,
        zone: inv.node_by_name(&pod.node_name).map_or("", |n| n.zone()),
        instance_id: pod.instance_id(),
        app: pod.app(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Node;
    use std::collections::BTreeMap;

    fn pod(name: &str, node: &str, ip: &str, phase: PodPhase) -> Pod {
        Pod {
            name: name.into(),
            namespace: "ns".into(),
            node_name: node.into(),
            phase,
            ips: vec![ip.parse().unwrap()],
            labels: BTreeMap::from([("k8s-app".to_string(), format!("app-{name}"))]),
            ..Default::default()
        }
    }

    #[test]
    fn slots_follow_section_3_5() {
        use PodPhase::*;
        let inv = Inventory::from_objects(
            vec![
                pod("solo", "n1", "10.0.0.1", Failed),
                pod("old", "n1", "10.0.0.2", Succeeded),
                pod("new", "n2", "10.0.0.2", Pending),
                pod("a", "n1", "10.0.0.3", Running),
                pod("b", "n1", "10.0.0.3", Unknown),
                pod("c", "n1", "10.0.0.3", Failed),
                pod("d1", "n1", "10.0.0.4", Failed),
                pod("d2", "n1", "10.0.0.4", Succeeded),
            ],
            vec![Node {
                name: "n2".into(),
                labels: BTreeMap::from([(
                    "topology.kubernetes.io/zone".to_string(),
                    "z2".to_string(),
                )]),
                internal_ips: vec!["10.1.0.2".parse().unwrap()],
                ..Default::default()
            }],
            vec![],
        )
        .unwrap();
        let idx = LabelIndex::new(&inv);
        let name = |ip: &str| match idx.pod(ip.parse().unwrap()) {
            Some(PodSlot::One(p)) => format!("{}@{}/{}/{}", p.name, p.node, p.zone, p.app),
            Some(PodSlot::Multiple(n)) => format!("multiple {n}"),
            None => "none".into(),
        };
        assert_eq!(name("10.0.0.1"), "solo@n1//app-solo");
        assert_eq!(name("10.0.0.2"), "new@n2/z2/app-new");
        assert_eq!(name("10.0.0.3"), "multiple 2");
        assert_eq!(name("10.0.0.4"), "none");
        assert_eq!(name("10.0.0.9"), "none");
        assert!(idx.is_node_ip("10.1.0.2".parse().unwrap()));
        assert!(!idx.is_node_ip("10.0.0.1".parse().unwrap()));
    }
}
