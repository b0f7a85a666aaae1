//! Reading `kubectl get pods,nodes,services -A -o json` output (SPEC §1.2).
//!
//! Only the fields §3 uses are deserialised; everything else is skipped by
//! serde, so unknown fields and unknown kinds cost nothing and break nothing.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::{Inventory, InventoryError, Node, Pod, PodPhase, Service};

/// A top-level document: a `List` (or `PodList`, …) or a single object.
#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    items: Option<Vec<Object>>,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
    #[serde(default)]
    status: Status,
}

#[derive(Deserialize, Default)]
struct Object {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
    #[serde(default)]
    status: Status,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default, deserialize_with = "null_default")]
    labels: BTreeMap<String, String>,
}

/// The union of the Pod, Node and Service spec fields we read.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    node_name: String,
    #[serde(default)]
    host_network: bool,
    #[serde(default, rename = "providerID")]
    provider_id: String,
    #[serde(default, rename = "clusterIPs", deserialize_with = "service_ips")]
    cluster_ips: Vec<IpAddr>,
    #[serde(default, rename = "clusterIP", deserialize_with = "service_ip")]
    cluster_ip: Option<IpAddr>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    phase: String,
    #[serde(default, rename = "podIP", deserialize_with = "optional_ip")]
    pod_ip: Option<IpAddr>,
    #[serde(default, rename = "podIPs", deserialize_with = "null_default")]
    pod_ips: Vec<PodIp>,
    #[serde(default, deserialize_with = "null_default")]
    addresses: Vec<NodeAddress>,
}

#[derive(Deserialize)]
struct PodIp {
    ip: IpAddr,
}

#[derive(Deserialize)]
struct NodeAddress {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    address: String,
}

/// `null` reads as the default (kubectl prints `"labels": null` rarely, but
/// hand-edited files do).
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Empty string or null = no address; anything else must parse.
fn optional_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("{s:?} is not an IP address"))),
    }
}

/// Like `optional_ip`, but `None` (a headless service) is no address too.
fn service_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() || s == "None" => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("{s:?} is not an IP address"))),
    }
}

fn service_ips<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    let raw = Option::<Vec<String>>::deserialize(d)?.unwrap_or_default();
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        if s.trim().is_empty() || s == "None" {
            continue;
        }
        out.push(
            s.trim()
                .parse()
                .map_err(|_| de::Error::custom(format!("{s:?} is not an IP address")))?,
        );
    }
    Ok(out)
}

fn phase(s: &str) -> PodPhase {
    match s {
        "Pending" => PodPhase::Pending,
        "Running" => PodPhase::Running,
        "Succeeded" => PodPhase::Succeeded,
        "Failed" => PodPhase::Failed,
        _ => PodPhase::Unknown,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Pod,
    Node,
    Service,
}

/// What one file contributed, keyed by (kind, namespace, name).
enum Parsed {
    Pod(Pod),
    Node(Node),
    Service(Service),
}

/// Turns one API object into ours; `None` for kinds we do not use.
/// `at` says where the object is (`items[3]`), for errors.
fn convert(
    obj: Object,
    source: &str,
    at: &str,
    list_kind: &str,
) -> Result<Option<Parsed>, InventoryError> {
    // Items of a typed list (`PodList` from the API) may omit their kind.
    let kind = if obj.kind.is_empty() {
        list_kind.strip_suffix("List").unwrap_or("")
    } else {
        obj.kind.as_str()
    };
    let invalid = |why: String| InventoryError::Invalid {
        path: source.to_string(),
        message: format!("{at}: {why}"),
    };
    let name = obj.metadata.name;
    match kind {
        "Pod" => {
            if name.is_empty() {
                return Err(invalid("a Pod without metadata.name".into()));
            }
            let mut ips: Vec<IpAddr> = obj.status.pod_ips.iter().map(|p| p.ip).collect();
            if ips.is_empty() {
                ips.extend(obj.status.pod_ip);
            }
            Ok(Some(Parsed::Pod(Pod {
                name,
                namespace: obj.metadata.namespace,
                labels: obj.metadata.labels,
                node_name: obj.spec.node_name,
                host_network: obj.spec.host_network,
                phase: phase(&obj.status.phase),
                ips,
            })))
        }
        "Node" => {
            if name.is_empty() {
                return Err(invalid("a Node without metadata.name".into()));
            }
            let mut internal_ips = Vec::new();
            for a in obj
                .status
                .addresses
                .iter()
                .filter(|a| a.kind == "InternalIP")
            {
                let ip: IpAddr = a.address.trim().parse().map_err(|_| {
                    invalid(format!(
                        "node {name:?}: InternalIP {:?} is not an IP address",
                        a.address
                    ))
                })?;
                internal_ips.push(ip);
            }
            Ok(Some(Parsed::Node(Node {
                name,
                labels: obj.metadata.labels,
                provider_id: obj.spec.provider_id,
                internal_ips,
            })))
        }
        "Service" => {
            if name.is_empty() {
                return Err(invalid("a Service without metadata.name".into()));
            }
            let mut cluster_ips = obj.spec.cluster_ips;
            if cluster_ips.is_empty() {
                cluster_ips.extend(obj.spec.cluster_ip);
            }
            Ok(Some(Parsed::Service(Service {
                name,
                namespace: obj.metadata.namespace,
                cluster_ips,
            })))
        }
        _ => Ok(None),
    }
}

fn read_source(path: &Path) -> Result<Vec<u8>, InventoryError> {
    let name = display(path);
    let mut reader = crate::io::open_input(path).map_err(|e| InventoryError::Read {
        path: name.clone(),
        source: match e {
            crate::io::IoError::Open { source, .. }
            | crate::io::IoError::Temp { source, .. }
            | crate::io::IoError::Persist { source, .. } => source,
        },
    })?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| InventoryError::Read { path: name, source })?;
    Ok(bytes)
}

fn display(path: &Path) -> String {
    if crate::io::is_stdio(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Parses one kubectl JSON document; `source` names it in errors.
fn parse_document(bytes: &[u8], source: &str) -> Result<Vec<Parsed>, InventoryError> {
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| InventoryError::Json {
        path: source.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    match doc.items {
        Some(items) => {
            for (i, obj) in items.into_iter().enumerate() {
                out.extend(convert(obj, source, &format!("items[{i}]"), &doc.kind)?);
            }
        }
        None => {
            let obj = Object {
                kind: doc.kind,
                metadata: doc.metadata,
                spec: doc.spec,
                status: doc.status,
            };
            out.extend(convert(obj, source, "the object", "")?);
        }
    }
    if out.is_empty() {
        return Err(InventoryError::NoItems {
            path: source.to_string(),
        });
    }
    Ok(out)
}

/// Loads kubectl JSON: a List (items of Pod/Node/Service) or a single
/// object; several files; `-` = stdin (gzip/zstd are decompressed). The
/// same (kind, namespace, name) in several files is one object, and the
/// last file wins. Errors name the file and, for JSON errors, line/column.
pub fn load(paths: &[PathBuf]) -> Result<Inventory, InventoryError> {
    let mut merged = Merged::default();
    for path in paths {
        let source = display(path);
        let bytes = read_source(path)?;
        merged.add(&bytes, &source)?;
    }
    merged.finish()
}

/// [`load`] for documents already in memory (already decompressed), each
/// with the name its errors give: the same parsing and merging, no I/O.
/// For callers that hold the JSON (tests, fuzzing).
pub fn load_documents<'a>(
    documents: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Inventory, InventoryError> {
    let mut merged = Merged::default();
    for (source, bytes) in documents {
        merged.add(bytes, source)?;
    }
    merged.finish()
}

/// The objects of the documents so far, in first-seen order, each
/// (kind, namespace, name) once with its last version.
#[derive(Default)]
struct Merged {
    order: Vec<Parsed>,
    seen: HashMap<(Kind, String, String), usize>,
}

impl Merged {
    fn add(&mut self, bytes: &[u8], source: &str) -> Result<(), InventoryError> {
        for obj in parse_document(bytes, source)? {
            let key = match &obj {
                Parsed::Pod(p) => (Kind::Pod, p.namespace.clone(), p.name.clone()),
                Parsed::Node(n) => (Kind::Node, String::new(), n.name.clone()),
                Parsed::Service(s) => (Kind::Service, s.namespace.clone(), s.name.clone()),
            };
            match self.seen.get(&key) {
                Some(&i) => self.order[i] = obj,
                None => {
                    self.seen.insert(key, self.order.len());
                    self.order.push(obj);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Inventory, InventoryError> {
        let (mut pods, mut nodes, mut services) = (Vec::new(), Vec::new(), Vec::new());
        for obj in self.order {
            match obj {
                Parsed::Pod(p) => pods.push(p),
                Parsed::Node(n) => nodes.push(n),
                Parsed::Service(s) => services.push(s),
            }
        }
        Inventory::from_objects(pods, nodes, services)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Vec<Parsed>, InventoryError> {
        parse_document(json.as_bytes(), "inv.json")
    }

    #[test]
    fn single_object_is_accepted() {
        let objs = parse(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n"},
               "spec":{"nodeName":"node-1"},"status":{"phase":"Running","podIP":"10.0.0.5"}}"#,
        )
        .unwrap();
        let [Parsed::Pod(p)] = objs.as_slice() else {
            panic!("one pod expected")
        };
        assert_eq!((p.name.as_str(), p.node_name.as_str()), ("a", "node-1"));
        assert_eq!(p.ips, vec!["10.0.0.5".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.phase, PodPhase::Running);
    }

    #[test]
    fn pod_ips_win_over_pod_ip() {
        let objs = parse(
            r#"{"kind":"Pod","metadata":{"name":"a"},"status":{"podIP":"10.0.0.5",
               "podIPs":[{"ip":"10.0.0.6"},{"ip":"fd00::6"}]}}"#,
        )
        .unwrap();
        let Parsed::Pod(p) = &objs[0] else { panic!() };
        assert_eq!(p.ips.len(), 2);
        assert_eq!(p.ips[0].to_string(), "10.0.0.6");
        assert_eq!(p.ips[1].to_string(), "fd00::6");
    }

    #[test]
    fn typed_list_items_without_kind() {
        let objs = parse(
            r#"{"kind":"NodeList","items":[{"metadata":{"name":"n1"},
               "status":{"addresses":[{"type":"Hostname","address":"n1"},{"type":"InternalIP","address":"10.0.1.10"}]}}]}"#,
        )
        .unwrap();
        let Parsed::Node(n) = &objs[0] else { panic!() };
        assert_eq!(n.internal_ips, vec!["10.0.1.10".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn headless_services_have_no_ip() {
        let objs = parse(
            r#"{"kind":"List","items":[
                {"kind":"Service","metadata":{"name":"h","namespace":"d"},"spec":{"clusterIP":"None","clusterIPs":["None"]}},
                {"kind":"Service","metadata":{"name":"s","namespace":"d"},"spec":{"clusterIP":"10.96.0.10"}}]}"#,
        )
        .unwrap();
        let ips: Vec<usize> = objs
            .iter()
            .map(|o| match o {
                Parsed::Service(s) => s.cluster_ips.len(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(ips, [0, 1]);
    }

    #[test]
    fn bad_pod_ip_names_position() {
        let err = match parse("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\n\"status\":{\"podIP\":\"10.0.0.500\"}}") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(
            err.contains("inv.json") && err.contains("line 2") && err.contains("10.0.0.500"),
            "{err}"
        );
    }

    #[test]
    fn no_usable_items_is_an_error() {
        for json in [
            r#"{"kind":"List","items":[]}"#,
            r#"{"kind":"List","items":[{"kind":"Deployment","metadata":{"name":"x"}}]}"#,
            r#"{"kind":"ConfigMap","metadata":{"name":"x"}}"#,
            r#"{}"#,
        ] {
            let err = match parse(json) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{json} must fail"),
            };
            assert!(
                err.contains("inv.json") && err.contains("no Pod, Node or Service"),
                "{err}"
            );
        }
    }

    #[test]
    fn semantic_errors_name_the_item() {
        let err = match parse(
            r#"{"kind":"List","items":[{"kind":"Pod","metadata":{"name":"a"}},
               {"kind":"Node","metadata":{"name":"n"},"status":{"addresses":[{"type":"InternalIP","address":"ten"}]}}]}"#,
        ) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(
            err.contains("inv.json: items[1]") && err.contains("\"ten\""),
            "{err}"
        );
        let err = match parse(r#"{"kind":"List","items":[{"kind":"Pod","metadata":{}}]}"#) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(
            err.contains("items[0]: a Pod without metadata.name"),
            "{err}"
        );
    }

    #[test]
    fn documents_in_memory_load_as_files_do() {
        let first = br#"{"kind":"List","items":[
            {"kind":"Pod","metadata":{"name":"a","namespace":"n"},"status":{"podIP":"10.0.0.5"}},
            {"kind":"Node","metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.1.1"}]}}]}"#;
        let second = br#"{"kind":"Pod","metadata":{"name":"a","namespace":"n"},"status":{"podIP":"10.0.0.6"}}"#;
        let dir = tempfile::tempdir().unwrap();
        let (p1, p2) = (dir.path().join("1.json"), dir.path().join("2.json"));
        std::fs::write(&p1, first).unwrap();
        std::fs::write(&p2, second).unwrap();
        let from_files = load(&[p1, p2]).unwrap();
        let in_memory =
            load_documents([("1.json", &first[..]), ("2.json", &second[..])]).unwrap();
        for inv in [&from_files, &in_memory] {
            // one pod, the second document's version of it
            assert_eq!(inv.pods().len(), 1);
            assert_eq!(inv.pods()[0].ips, ["10.0.0.6".parse::<IpAddr>().unwrap()]);
            assert_eq!(inv.nodes()[0].name, "n1");
        }
        let err = load_documents([("mem.json", &b"{"[..])]).unwrap_err();
        assert!(err.to_string().starts_with("mem.json: not valid kubectl JSON"), "{err}");
    }

    #[test]
    fn wrong_types_are_errors_with_position() {
        let err = match parse("{\"kind\":\"List\",\n\"items\":{}}") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(err.contains("line 2"), "{err}");
    }
}
