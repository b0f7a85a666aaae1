//! Reading `kubectl get pods,nodes,services -A -o json` output (SPEC §1.2).
//!
//! Only the fields §3 uses are deserialised; everything else is skipped by
//! serde, so unknown fields and unknown kinds cost nothing and break nothing.

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::{Inventory, InventoryError, Node, Pod, PodPhase, Service};

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
#[derive(Debug)]
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

fn open_source(path: &Path) -> Result<Box<dyn std::io::BufRead + Send>, InventoryError> {
    crate::io::open_input(path).map_err(|e| InventoryError::Read {
        path: display(path),
        source: match e {
            crate::io::IoError::Open { source, .. }
            | crate::io::IoError::Temp { source, .. }
            | crate::io::IoError::Persist { source, .. }
            | crate::io::IoError::Write { source, .. } => source,
        },
    })
}

fn display(path: &Path) -> String {
    if crate::io::is_stdio(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Where a document's objects go as they are read, and the first error of
/// ours (not serde's) that stopped the reading.
struct Sink<'s> {
    source: &'s str,
    push: &'s mut dyn FnMut(Parsed),
    error: Option<InventoryError>,
    /// Objects converted so far.
    count: usize,
    /// The `items` of the document, parsed ahead in parallel (`split_items`);
    /// taken by the top-level `items` array.
    /// Kept as the pieces were parsed: each piece's buffer is freed once
    /// its items are converted.
    prepared: Option<Vec<Vec<Object>>>,
}

impl Sink<'_> {
    fn take(&mut self, obj: Object, at: &str, list_kind: &str) -> Result<(), InventoryError> {
        if let Some(p) = convert(obj, self.source, at, list_kind)? {
            self.count += 1;
            (self.push)(p);
        }
        Ok(())
    }

    /// Keeps `e` and gives serde an error that stops the parse.
    fn fail<E: de::Error>(&mut self, e: InventoryError) -> E {
        self.error = Some(e);
        E::custom("stopped")
    }
}

/// A top-level document, read as a stream: a `List` (or `PodList`, …)
/// whose items are converted one at a time as the parser reaches them (a
/// 200 MB inventory never exists as JSON values, only as our objects), or
/// a single object.
struct DocumentSeed<'a, 's>(&'a mut Sink<'s>);

impl<'de> de::DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> de::Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a kubectl JSON object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let sink = self.0;
        let mut kind: Option<String> = None;
        let mut metadata: Option<Metadata> = None;
        let mut spec: Option<Spec> = None;
        let mut status: Option<Status> = None;
        // Items seen before the list's kind that have no kind of their own:
        // they wait for it (kubectl's items carry their kind; a typed list
        // from the API gives its kind first), as do the items after them,
        // to keep the file's order.
        let mut items: Option<ItemsState> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "kind" => {
                    if kind.is_some() {
                        return Err(de::Error::duplicate_field("kind"));
                    }
                    kind = Some(map.next_value::<Option<String>>()?.unwrap_or_default());
                }
                "items" => {
                    if items.is_some() {
                        return Err(de::Error::duplicate_field("items"));
                    }
                    let mut state = ItemsState {
                        present: false,
                        next: 0,
                        waiting: Vec::new(),
                    };
                    map.next_value_seed(ItemsSeed {
                        sink: &mut *sink,
                        list_kind: kind.as_deref(),
                        state: &mut state,
                    })?;
                    items = Some(state);
                }
                "metadata" => {
                    if metadata.is_some() {
                        return Err(de::Error::duplicate_field("metadata"));
                    }
                    metadata = Some(map.next_value::<Option<Metadata>>()?.unwrap_or_default());
                }
                "spec" => {
                    if spec.is_some() {
                        return Err(de::Error::duplicate_field("spec"));
                    }
                    spec = Some(map.next_value::<Option<Spec>>()?.unwrap_or_default());
                }
                "status" => {
                    if status.is_some() {
                        return Err(de::Error::duplicate_field("status"));
                    }
                    status = Some(map.next_value::<Option<Status>>()?.unwrap_or_default());
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let kind = kind.unwrap_or_default();
        match items {
            Some(state) if state.present => {
                for (i, obj) in state.waiting {
                    if let Err(e) = sink.take(obj, &format!("items[{i}]"), &kind) {
                        return Err(sink.fail(e));
                    }
                }
            }
            // No items (or `"items": null`): the document is one object.
            _ => {
                let obj = Object {
                    kind,
                    metadata: metadata.unwrap_or_default(),
                    spec: spec.unwrap_or_default(),
                    status: status.unwrap_or_default(),
                };
                if let Err(e) = sink.take(obj, "the object", "") {
                    return Err(sink.fail(e));
                }
            }
        }
        Ok(())
    }
}

struct ItemsState {
    /// `items` was an array (not `null`).
    present: bool,
    /// Index of the next item.
    next: usize,
    waiting: Vec<(usize, Object)>,
}

struct ItemsSeed<'a, 'b, 's> {
    sink: &'a mut Sink<'s>,
    /// The list's kind, when it came before the items.
    list_kind: Option<&'b str>,
    state: &'a mut ItemsState,
}

impl<'de> de::DeserializeSeed<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> de::Visitor<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.state.present = true;
        // Items parsed ahead (`split_items`): this array is the skeleton's
        // empty one, and they stand in for its elements.
        if let Some(objs) = self.sink.prepared.take() {
            if seq.next_element::<de::IgnoredAny>()?.is_some() {
                return Err(de::Error::custom("items parsed ahead of a non-empty array"));
            }
            for obj in objs.into_iter().flatten() {
                self.item(obj)?;
            }
            return Ok(());
        }
        while let Some(obj) = seq.next_element::<Object>()? {
            self.item(obj)?;
        }
        Ok(())
    }
}

impl ItemsSeed<'_, '_, '_> {
    fn item<E: de::Error>(&mut self, obj: Object) -> Result<(), E> {
        let i = self.state.next;
        self.state.next += 1;
        match self.list_kind {
            Some(list_kind) if self.state.waiting.is_empty() => {
                if let Err(e) = self.sink.take(obj, &format!("items[{i}]"), list_kind) {
                    return Err(self.sink.fail(e));
                }
            }
            None if self.state.waiting.is_empty() && !obj.kind.is_empty() => {
                if let Err(e) = self.sink.take(obj, &format!("items[{i}]"), "") {
                    return Err(self.sink.fail(e));
                }
            }
            _ => self.state.waiting.push((i, obj)),
        }
        Ok(())
    }
}

/// Parses one kubectl JSON document from `read`, handing each object to
/// `push` as soon as it is read; `source` names it in errors.
fn parse_stream<'de, R: serde_json::de::Read<'de>>(
    read: R,
    source: &str,
    push: &mut dyn FnMut(Parsed),
) -> Result<(), InventoryError> {
    parse_with(read, source, push, None)
}

/// [`parse_stream`]; `prepared` are the top-level items when `read` is a
/// skeleton whose `items` array was emptied.
fn parse_with<'de, R: serde_json::de::Read<'de>>(
    read: R,
    source: &str,
    push: &mut dyn FnMut(Parsed),
    prepared: Option<Vec<Vec<Object>>>,
) -> Result<(), InventoryError> {
    let expect_prepared = prepared.is_some();
    let mut sink = Sink {
        source,
        push,
        error: None,
        count: 0,
        prepared,
    };
    let mut de = serde_json::Deserializer::new(read);
    let parsed =
        de::DeserializeSeed::deserialize(DocumentSeed(&mut sink), &mut de).and_then(|()| de.end());
    if let Some(e) = sink.error.take() {
        return Err(e);
    }
    if expect_prepared && sink.prepared.is_some() {
        return Err(InventoryError::Invalid {
            path: source.to_string(),
            message: "items parsed ahead were not used".into(),
        });
    }
    parsed.map_err(|e| {
        if e.is_io() {
            InventoryError::Read {
                path: source.to_string(),
                source: e.into(),
            }
        } else {
            InventoryError::Json {
                path: source.to_string(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }
        }
    })?;
    if sink.count == 0 {
        return Err(InventoryError::NoItems {
            path: source.to_string(),
        });
    }
    Ok(())
}

/// Parses one kubectl JSON document in memory, its items in parallel when
/// it is large and pretty-printed (`split_items`), else as
/// [`parse_stream`] does; the objects, their order and any error are the
/// same either way (an error in the parallel parse re-runs the serial one,
/// which says where the input is wrong).
fn parse_slice(
    bytes: &[u8],
    source: &str,
    push: &mut dyn FnMut(Parsed),
) -> Result<(), InventoryError> {
    parse_slice_sized(bytes, source, push, PARALLEL_MIN, PIECE_BYTES)
}

/// [`parse_slice`] with the sizes as parameters (tests cut small documents).
fn parse_slice_sized(
    bytes: &[u8],
    source: &str,
    push: &mut dyn FnMut(Parsed),
    parallel_min: usize,
    piece_bytes: usize,
) -> Result<(), InventoryError> {
    if let Some(split) = split_items(bytes, parallel_min, piece_bytes) {
        if let Some(objs) = split.parse(bytes) {
            let mut skeleton = Vec::with_capacity(split.open + 1 + bytes.len() - split.close);
            skeleton.extend_from_slice(&bytes[..=split.open]);
            skeleton.extend_from_slice(&bytes[split.close..]);
            // Pushed straight on: should this fail, the serial parse below
            // pushes the same objects again from the first, so what was
            // pushed is a prefix of what it pushes, and a map keeping the
            // first-seen order and the last version (`Merged`, the only
            // caller's sink) ends up the same.
            let fast = parse_with(
                serde_json::de::SliceRead::new(&skeleton),
                source,
                push,
                Some(objs),
            );
            if fast.is_ok() {
                return Ok(());
            }
        }
    }
    parse_stream(serde_json::de::SliceRead::new(bytes), source, push)
}

/// Below this, a document is parsed on one thread.
const PARALLEL_MIN: usize = 4 << 20;
/// About how much of the items array one parallel piece holds.
const PIECE_BYTES: usize = 2 << 20;

/// Where the top-level `items` array of a pretty-printed document is, and
/// where it may be cut between items: `pieces` are byte ranges each holding
/// whole items (`{…}, {…}`), the text between them `,` and whitespace.
///
/// The cuts are guessed from the first item's indentation (kubectl prints
/// `\n    },\n    {` between items) and proved by the parse: the first
/// piece starts at the first item, and a piece that parses as a sequence
/// of items to its very end ends where an item ends, so the next piece
/// starts at an item too. A wrong guess fails the parse; the caller then
/// parses serially.
struct Split {
    /// The `[` of `items`.
    open: usize,
    /// Its `]`.
    close: usize,
    pieces: Vec<(usize, usize)>,
}

fn split_items(b: &[u8], parallel_min: usize, piece_bytes: usize) -> Option<Split> {
    use memchr::memmem;
    if b.len() < parallel_min {
        return None;
    }
    let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    let skip_ws = |mut i: usize| {
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        i
    };
    let key = memmem::find(b, b"\"items\"")?;
    // A top-level key: the text before it opens the document and holds only
    // whole members, so it closes with `"items":null}`.
    let mut head = b[..key].to_vec();
    head.extend_from_slice(b"\"items\":null}");
    serde_json::from_slice::<de::IgnoredAny>(&head).ok()?;
    let colon = skip_ws(key + 7);
    if b.get(colon) != Some(&b':') {
        return None;
    }
    let open = skip_ws(colon + 1);
    if b.get(open) != Some(&b'[') {
        return None;
    }
    let first = skip_ws(open + 1);
    if b.get(first) != Some(&b'{') {
        return None;
    }
    let indent = &b[open + 1..first];
    let nl = indent.iter().rposition(|&c| c == b'\n')?;
    let indent = &indent[nl..];
    // `<indent>},<indent>{` between items; `<indent>}` then `]` at the end
    let mut between = Vec::with_capacity(2 * indent.len() + 3);
    between.extend_from_slice(indent);
    between.extend_from_slice(b"},");
    between.extend_from_slice(indent);
    between.push(b'{');
    let mut end_of_item = indent.to_vec();
    end_of_item.push(b'}');
    let close = memmem::rfind_iter(b, &end_of_item).find_map(|at| {
        let after = skip_ws(at + end_of_item.len());
        (b.get(after) == Some(&b']')).then_some((at + end_of_item.len(), after))
    });
    let (last_end, close) = close?;
    if last_end <= first {
        return None;
    }
    let finder = memmem::Finder::new(&between);
    let mut pieces = Vec::new();
    let mut start = first;
    loop {
        let target = start + piece_bytes.max(1);
        if target >= last_end {
            break;
        }
        let Some(at) = finder.find(&b[target..last_end]) else {
            break;
        };
        let cut = target + at + indent.len() + 1;
        pieces.push((start, cut));
        start = target + at + between.len() - 1;
    }
    pieces.push((start, last_end));
    (pieces.len() > 1).then_some(Split {
        open,
        close,
        pieces,
    })
}

impl Split {
    /// The items, or `None` when a piece is not a sequence of whole items.
    fn parse(&self, b: &[u8]) -> Option<Vec<Vec<Object>>> {
        use rayon::prelude::*;
        let parsed: Vec<Option<Vec<Object>>> = self
            .pieces
            .par_iter()
            .map_init(Vec::new, |buf: &mut Vec<u8>, &(start, end)| {
                // `[[…]]`: the items at the depth they have in the document
                // (`{"items": [`), so serde's nesting limit is the same.
                buf.clear();
                buf.extend_from_slice(b"[[");
                buf.extend_from_slice(&b[start..end]);
                buf.extend_from_slice(b"]]");
                let [objs] = serde_json::from_slice::<[Vec<Object>; 1]>(buf).ok()?;
                Some(objs)
            })
            .collect();
        parsed.into_iter().collect()
    }
}

/// Parses one kubectl JSON document in memory; `source` names it in errors.
#[cfg(test)]
fn parse_document(bytes: &[u8], source: &str) -> Result<Vec<Parsed>, InventoryError> {
    let mut out = Vec::new();
    parse_stream(serde_json::de::SliceRead::new(bytes), source, &mut |p| {
        out.push(p)
    })?;
    Ok(out)
}

/// Loads kubectl JSON: a List (items of Pod/Node/Service) or a single
/// object; several files; `-` = stdin (gzip/zstd are decompressed). The
/// same (kind, namespace, name) in several files is one object, and the
/// last file wins. Errors name the file and, for JSON errors, line/column.
///
/// Each item becomes one of our objects (the fields §3 uses) as soon as it
/// is parsed. A document of up to `IN_MEMORY_MAX` bytes is read whole first,
/// as serde_json parses a slice several times faster than a reader (which
/// it reads byte by byte, counting lines); a larger one is parsed as it is
/// read, so memory stays bounded whatever the file's size.
pub fn load(paths: &[PathBuf]) -> Result<Inventory, InventoryError> {
    load_bounded(paths, IN_MEMORY_MAX)
}

/// [`load`], reading documents of up to `in_memory_max` bytes whole.
fn load_bounded(paths: &[PathBuf], in_memory_max: usize) -> Result<Inventory, InventoryError> {
    let mut merged = Merged::default();
    for path in paths {
        let source = display(path);
        let mut reader = open_source(path)?;
        let src = merged.source(&source);
        let mut push = |p| merged.add(p, src);
        // A regular file known to be larger than the bound streams from its
        // first byte; other sources are read up to the bound, then parsed
        // in memory if they ended there, else on from the rest of the stream.
        let (head_max, size) = match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() > in_memory_max as u64 => (0, 0),
            Ok(m) if m.is_file() => (in_memory_max as u64 + 1, m.len() as usize),
            _ => (in_memory_max as u64 + 1, 0),
        };
        // sized once (+1 to see the end without growing): no copies as it
        // fills; a compressed file's text is larger and grows it from there
        let mut head = Vec::with_capacity(size + 1);
        (&mut reader)
            .take(head_max)
            .read_to_end(&mut head)
            .map_err(|e| InventoryError::Read {
                path: source.clone(),
                source: e,
            })?;
        if head_max > 0 && head.len() <= in_memory_max {
            parse_slice(&head, &source, &mut push)?;
        } else {
            let rest = std::io::BufReader::new(std::io::Cursor::new(head).chain(reader));
            parse_stream(serde_json::de::IoRead::new(rest), &source, &mut push)?;
        }
    }
    merged.finish()
}

/// The largest inventory document parsed in memory (see [`load`]).
const IN_MEMORY_MAX: usize = 128 << 20;

/// [`load`] for documents already in memory (already decompressed), each
/// with the name its errors give: the same parsing and merging, no I/O.
/// For callers that hold the JSON (tests, fuzzing).
pub fn load_documents<'a>(
    documents: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Inventory, InventoryError> {
    let mut merged = Merged::default();
    for (source, bytes) in documents {
        let src = merged.source(source);
        parse_slice(bytes, source, &mut |p| merged.add(p, src))?;
    }
    merged.finish()
}

/// The objects of the documents so far, in first-seen order, each
/// (kind, namespace, name) once with its last version, and the document
/// that version came from.
#[derive(Default)]
struct Merged {
    order: Vec<(Parsed, u32)>,
    /// Fx, not SipHash: keys come from the operator's own inventory, and
    /// hashing 30k keys with SipHash showed in the label profile.
    seen: rustc_hash::FxHashMap<(Kind, String, String), usize>,
    /// The documents' names, by index.
    sources: Vec<String>,
}

impl Merged {
    /// The index of the next document, named `name`.
    fn source(&mut self, name: &str) -> u32 {
        self.sources.push(name.to_string());
        (self.sources.len() - 1) as u32
    }

    fn add(&mut self, obj: Parsed, source: u32) {
        let key = match &obj {
            Parsed::Pod(p) => (Kind::Pod, p.namespace.clone(), p.name.clone()),
            Parsed::Node(n) => (Kind::Node, String::new(), n.name.clone()),
            Parsed::Service(s) => (Kind::Service, s.namespace.clone(), s.name.clone()),
        };
        match self.seen.entry(key) {
            Entry::Occupied(e) => self.order[*e.get()] = (obj, source),
            Entry::Vacant(e) => {
                e.insert(self.order.len());
                self.order.push((obj, source));
            }
        }
    }

    fn finish(self) -> Result<Inventory, InventoryError> {
        drop(self.seen);
        let (mut pods, mut nodes, mut services) = (Vec::new(), Vec::new(), Vec::new());
        let mut node_sources = Vec::new();
        for (obj, source) in self.order {
            match obj {
                Parsed::Pod(p) => pods.push(p),
                Parsed::Node(n) => {
                    nodes.push(n);
                    node_sources.push(source);
                }
                Parsed::Service(s) => services.push(s),
            }
        }
        let sources = self.sources;
        Inventory::build(pods, nodes, services, &|i| {
            Some(sources[node_sources[i] as usize].clone())
        })
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
    fn items_before_the_lists_kind_keep_their_order() {
        // The list's kind after its items (kubectl's key order is
        // alphabetical): items with a kind are taken at once, kind-less ones
        // (and those after them) wait for the list's kind.
        let objs = parse(
            r#"{"apiVersion":"v1","items":[
                {"kind":"Node","metadata":{"name":"n0"}},
                {"metadata":{"name":"n1"}},
                {"kind":"Node","metadata":{"name":"n2"}}],
              "kind":"NodeList","metadata":{"resourceVersion":""}}"#,
        )
        .unwrap();
        let names: Vec<&str> = objs
            .iter()
            .map(|o| match o {
                Parsed::Node(n) => n.name.as_str(),
                _ => panic!("nodes only"),
            })
            .collect();
        assert_eq!(names, ["n0", "n1", "n2"]);
        // An error in a waiting item names its index.
        let err = parse(r#"{"items":[{"metadata":{}}],"kind":"PodList"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "inv.json: items[0]: a Pod without metadata.name"
        );
    }

    #[test]
    fn null_items_or_a_repeated_key_are_no_list() {
        let err = parse(r#"{"kind":"List","items":null}"#).unwrap_err();
        assert!(matches!(err, InventoryError::NoItems { .. }), "{err}");
        let err = parse(r#"{"kind":"List","items":[],"items":[]}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate field `items`"), "{err}");
        // Trailing data after the document is an error, as before.
        let err = parse(r#"{"kind":"Pod","metadata":{"name":"a"}} x"#).unwrap_err();
        assert!(err.to_string().contains("trailing characters"), "{err}");
    }

    #[test]
    fn a_read_error_is_a_read_error_naming_the_file() {
        struct Broken(usize);
        impl std::io::Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let doc = br#"{"kind":"List","items":[{"kind":"Pod","#;
                if self.0 >= doc.len() {
                    return Err(std::io::Error::other("cable cut"));
                }
                let n = buf.len().min(doc.len() - self.0);
                buf[..n].copy_from_slice(&doc[self.0..self.0 + n]);
                self.0 += n;
                Ok(n)
            }
        }
        let err = parse_stream(
            serde_json::de::IoRead::new(Broken(0)),
            "big.json",
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, InventoryError::Read { .. }), "{err:?}");
        assert!(err.to_string().starts_with("big.json"), "{err}");
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
        let in_memory = load_documents([("1.json", &first[..]), ("2.json", &second[..])]).unwrap();
        for inv in [&from_files, &in_memory] {
            // one pod, the second document's version of it
            assert_eq!(inv.pods().len(), 1);
            assert_eq!(inv.pods()[0].ips, ["10.0.0.6".parse::<IpAddr>().unwrap()]);
            assert_eq!(inv.nodes()[0].name, "n1");
        }
        let err = load_documents([("mem.json", &b"{"[..])]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("mem.json: not valid kubectl JSON"),
            "{err}"
        );
    }

    #[test]
    fn documents_above_the_in_memory_bound_stream_to_the_same_answer() {
        let doc = br#"{"kind":"List","items":[
            {"kind":"Pod","metadata":{"name":"a","namespace":"n"},"status":{"podIP":"10.0.0.5"}},
            {"kind":"Node","metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.1.1"}]}}]}"#;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.json");
        std::fs::write(&p, doc).unwrap();
        // a bound below the file's size: streamed from the first byte
        for bound in [0, 10, doc.len() - 1, doc.len(), IN_MEMORY_MAX] {
            let inv = load_bounded(std::slice::from_ref(&p), bound).unwrap();
            assert_eq!(inv.pods().len(), 1, "bound {bound}");
            assert_eq!(inv.pods()[0].ips, ["10.0.0.5".parse::<IpAddr>().unwrap()]);
            assert_eq!(inv.nodes()[0].name, "n1");
        }
        // compressed: the file is smaller than the bound, its text larger,
        // so the text read so far is parsed on from the rest of the stream
        let gz = dir.path().join("inv.json.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, doc).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let bound = doc.len() - 1;
        assert!((std::fs::metadata(&gz).unwrap().len() as usize) < bound);
        let inv = load_bounded(std::slice::from_ref(&gz), bound).unwrap();
        assert_eq!(inv.pods()[0].ips, ["10.0.0.5".parse::<IpAddr>().unwrap()]);
        assert_eq!(inv.nodes()[0].name, "n1");
        let bad = dir.path().join("bad.json");
        std::fs::write(
            &bad,
            "{\"kind\":\"List\",\n\"items\":[{\"kind\":\"Pod\" 7]}",
        )
        .unwrap();
        let errs: Vec<String> = [0, 5, IN_MEMORY_MAX]
            .iter()
            .map(|&b| {
                load_bounded(std::slice::from_ref(&bad), b)
                    .unwrap_err()
                    .to_string()
            })
            .collect();
        assert!(errs[0].contains("line 2, column 24"), "{}", errs[0]);
        assert_eq!(errs[0], errs[1]);
        assert_eq!(errs[0], errs[2]);
    }

    #[test]
    fn wrong_types_are_errors_with_position() {
        let err = match parse("{\"kind\":\"List\",\n\"items\":{}}") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must fail"),
        };
        assert!(err.contains("line 2"), "{err}");
    }

    /// Both parses of `json`: the parallel one cut into pieces of about
    /// `piece` bytes, and the serial one; each as its objects or its error.
    fn both(json: &[u8], piece: usize) -> (String, String) {
        let run = |fast: bool| {
            let mut out = Vec::new();
            let r = if fast {
                parse_slice_sized(json, "inv.json", &mut |p| out.push(p), 0, piece)
            } else {
                parse_stream(serde_json::de::SliceRead::new(json), "inv.json", &mut |p| {
                    out.push(p)
                })
            };
            match r {
                Ok(()) => format!("{out:?}"),
                Err(e) => format!("error: {e}"),
            }
        };
        (run(true), run(false))
    }

    /// A kubectl-shaped list (4-space indentation, as kubectl prints it).
    fn list(n: usize, kind_last: bool) -> Vec<u8> {
        let mut items = Vec::new();
        for i in 0..n {
            let item = match i % 3 {
                0 => serde_json::json!({"kind": "Pod", "metadata": {"name": format!("p{i}"),
                    "namespace": "ns", "labels": {"app": format!("a{}", i % 7)}},
                    "spec": {"nodeName": "n1", "containers": [{"name": "c"}, {"name": "d"}]},
                    "status": {"phase": "Running", "podIPs": [{"ip": format!("10.1.{}.{}", i / 250, i % 250)}]}}),
                1 => {
                    serde_json::json!({"kind": "Service", "metadata": {"name": format!("s{i}"), "namespace": "ns"},
                    "spec": {"clusterIP": format!("172.20.{}.{}", i / 250, i % 250)}})
                }
                _ => serde_json::json!({"metadata": {"name": format!("n{i}")},
                    "status": {"addresses": [{"type": "InternalIP", "address": format!("10.0.{}.{}", i / 250, i % 250)}]}}),
            };
            items.push(item);
        }
        let mut doc = serde_json::Map::new();
        if !kind_last {
            doc.insert("kind".into(), "NodeList".into());
        }
        doc.insert("items".into(), items.into());
        if kind_last {
            doc.insert("kind".into(), "NodeList".into());
        }
        doc.insert(
            "metadata".into(),
            serde_json::json!({"resourceVersion": ""}),
        );
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&serde_json::Value::Object(doc), &mut ser).unwrap();
        out
    }

    #[test]
    fn items_cut_at_the_items_boundaries() {
        let json = list(40, false);
        let split = split_items(&json, 0, 300).expect("a pretty-printed list is cut");
        assert!(split.pieces.len() > 5, "{} pieces", split.pieces.len());
        for &(start, end) in &split.pieces {
            assert_eq!(json[start], b'{');
            assert_eq!(json[end - 1], b'}');
        }
        assert_eq!(json[split.open], b'[');
        assert_eq!(json[split.close], b']');
        assert_eq!(
            split
                .parse(&json)
                .expect("pieces parse")
                .iter()
                .map(Vec::len)
                .sum::<usize>(),
            40
        );
        // compact JSON and small documents are not cut
        let compact =
            serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&json).unwrap())
                .unwrap();
        assert!(split_items(&compact, 0, 300).is_none());
        assert!(split_items(&json, json.len() + 1, 300).is_none());
    }

    #[test]
    fn parallel_parse_equals_serial() {
        for kind_last in [false, true] {
            let json = list(60, kind_last);
            for piece in [1, 100, 1000, 1 << 20] {
                let (fast, serial) = both(&json, piece);
                assert!(!serial.starts_with("error"), "{serial}");
                assert_eq!(fast, serial, "piece {piece}, kind_last {kind_last}");
            }
        }
    }

    #[test]
    fn parallel_parse_errors_are_the_serial_ones() {
        let json = String::from_utf8(list(30, true)).unwrap();
        let cases = [
            // a serde error in an item, a trailing comma, an item that is not
            // an object, one of our errors (a Pod without a name)
            json.replacen("\"p3\"", "p3", 1),
            json.replacen("\n        }\n    ]", "\n        },\n    ]", 1),
            json.replacen(
                "{\n            \"kind\": \"Service\"",
                "null, {\n            \"kind\": \"Service\"",
                1,
            ),
            json.replacen("\"name\": \"p6\"", "\"nam\": \"p6\"", 1),
            // a cut that looks like a boundary inside an item
            json.replacen(
                "\"containers\": [",
                "\"x\": {\n        },\n        {\"containers\": [",
                1,
            ),
            // `items` not at the top level
            json.replacen(
                "\"kind\": \"NodeList\"",
                "\"kind\": \"NodeList\", \"more\": {\"items\": []}",
                1,
            ),
        ];
        for (i, case) in cases.iter().enumerate() {
            assert_ne!(case, &json, "case {i} changed nothing");
            let (fast, serial) = both(case.as_bytes(), 200);
            assert_eq!(fast, serial, "case {i}");
        }
        // deep nesting in a field we skip: serde_json skips it without a
        // depth limit, on both sides, so the wrapping of pieces cannot matter
        for depth in [127, 128, 129, 1000] {
            let deep = json.replacen(
                "\"containers\": [",
                &format!(
                    "\"deep\": {}1{}, \"containers\": [",
                    "[".repeat(depth),
                    "]".repeat(depth)
                ),
                1,
            );
            let (fast, serial) = both(deep.as_bytes(), 200);
            assert!(!serial.starts_with("error"), "depth {depth}: {serial}");
            assert_eq!(fast, serial, "depth {depth}");
        }
    }

    proptest::proptest! {
        /// Any one changed byte: the parallel parse gives what the serial one
        /// gives (the same objects or the same error).
        #[test]
        fn parallel_parse_equals_serial_on_damaged_input(
            at in 0usize..100_000, byte in proptest::prelude::any::<u8>(), piece in 1usize..2000,
        ) {
            let mut json = list(12, at % 2 == 0);
            let at = at % json.len();
            json[at] = byte;
            let (fast, serial) = both(&json, piece);
            proptest::prop_assert_eq!(fast, serial);
        }
    }
}
