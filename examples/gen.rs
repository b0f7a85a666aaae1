//! Synthetic cluster generator for tests and benchmarks.
//!
//! Writes, deterministically from `--seed`, a kubectl inventory
//! (`DIR/inventory.json`, the shape `kubectl get pods,nodes,services -A -o json`
//! prints) and conntrack dumps as `conntrack -L` prints them
//! (`DIR/dumps/<node>.txt`), with the traffic mix of a real cluster: pod↔pod on
//! one node and across nodes, ClusterIP DNAT, DNS to kube-dns, node and
//! hostNetwork flows, SNAT'd traffic to S3, other AWS services and regions,
//! GCP, Azure and the public internet, NodePort ingress, stale pod IPs,
//! zero-counter, `[UNREPLIED]` and ICMP entries.
//!
//! ```text
//! cargo run --release --example gen -- --nodes 200 --pods 10000 --lines 1000000 \
//!     --seed 42 --out bench-out/c1 --ranges ../shared/ranges --single-node
//! ```
//!
//! Remote addresses come from real prefixes of the vendor files in `--ranges`
//! when given (read with `kubenetmon::ranges::read_provider_file`), else from
//! a small built-in list. Output is identical for equal arguments, whatever
//! the thread count: every chunk of lines has its own RNG derived from the
//! seed, the node and the chunk number.
//!
//! `--single-node --dump-to-stdout` streams the one dump to stdout instead
//! (any size, never stored; the inventory is still written to `--out`):
//! `scripts/stress.sh` pipes 10 GB of it into `kubenetmon label -`.
//!
//! `--ipv6-share F` makes the cluster dual-stack the way EKS does it: an
//! IPv6 /56 per cluster inside the region's EC2 prefix, a /64 per zone's
//! subnet, a /80 per node from which its pods get their addresses, and an
//! IPv6 InternalIP per node; the inventory lists both families in
//! `status.podIPs`, `status.hostIPs` and the node's `status.addresses`.
//! That share of the conntrack lines are then IPv6 flows, without NAT:
//! pod↔pod, pod→AWS and GCP IPv6 prefixes (from `--ranges` when given),
//! pod→internet, node↔node, ICMPv6. With the default 0 nothing changes:
//! the output is byte for byte what it was before the option existed.
//!
//! `--baseline` also writes `DIR/baseline/<node>.txt`: the same node's
//! snapshot `--baseline-gap` seconds earlier (its modification time is set
//! so), for `label --baseline` (SPEC §8). Per dump entry: 5 % absent (new
//! in the dump), 2 % with larger counters (a reused tuple: reset), 10 %
//! unchanged, the rest with 10–90 % of the dump's counters; and after 5 %
//! of the entries an extra entry that is only in the baseline (ended). It
//! draws from its own random stream, so the dumps are the same bytes with
//! or without it.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use rayon::prelude::*;
use serde_json::{json, Value};

use kubenetmon::ranges::{read_provider_file, Provider};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `conntrack -L`
    Default,
    /// `conntrack -L -o extended` (leading `ipv4     2 `)
    Extended,
}

/// The mix of names and destinations (`--shape`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shape {
    /// The traffic mix described in the module documentation
    Default,
    /// Many more distinct strings: workloads of 1–4 replicas (several times
    /// more apps and pods names for the same --pods), 40-character app
    /// names, namespaces per team, and 40 % of the lines pod→internet
    /// egress to 250,000 distinct remote addresses drawn uniformly
    Wide,
}

#[derive(Debug, Parser)]
#[command(about = "Write a synthetic cluster: kubectl inventory + per-node conntrack dumps")]
struct Args {
    /// Number of nodes
    #[arg(long, default_value_t = 200)]
    nodes: usize,
    /// Number of pods (hostNetwork daemon pods and completed job pods included)
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Conntrack lines in total (spread over the nodes, or all in the one dump
    /// of --single-node)
    #[arg(long, default_value_t = 1_000_000)]
    lines: u64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory (created)
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Default)]
    format: Format,
    /// Directory of vendor range files to draw remote addresses from
    #[arg(long, value_name = "DIR")]
    ranges: Option<PathBuf>,
    /// Write one dump holding all lines, taken on node NAME (without a value:
    /// the first node); its name is printed on stdout
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    single_node: Option<String>,
    /// With --single-node: write the dump to stdout instead of
    /// DIR/dumps/NAME.txt (streamed, never stored: for load tests of any
    /// size, e.g. scripts/stress.sh); the node's name goes to stderr
    #[arg(long, requires = "single_node")]
    dump_to_stdout: bool,
    /// Region of the cluster (zones REGION a/b/c)
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Share of the conntrack lines that are IPv6 flows (0 to 1); above 0
    /// the cluster is dual-stack (pods and nodes get IPv6 addresses too)
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = share)]
    ipv6_share: f64,
    /// Mix of names and destinations; `wide` stresses dictionaries
    #[arg(long, value_enum, default_value_t = Shape::Default)]
    shape: Shape,
    /// Also write DIR/baseline/<node>.txt: an earlier snapshot of the same connections
    /// (smaller counters; some absent, some reset, some unchanged, some only there)
    #[arg(long)]
    baseline: bool,
    /// How much earlier the baseline was taken (its modification time)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "baseline"
    )]
    baseline_gap: u64,
}

fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a fraction between 0 and 1")),
    }
}

// ---------------------------------------------------------------- RNG

/// xoshiro256** seeded through SplitMix64: small, fast, and stable across
/// releases (the output must not change when a crate does).
#[derive(Clone)]
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    fn derive(seed: u64, a: u64, b: u64) -> Self {
        Rng::new(
            seed ^ a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.wrapping_mul(0xc2b2_ae3d_27d4_eb4f),
        )
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }

    fn range(&mut self, lo: u64, hi_incl: u64) -> u64 {
        lo + self.below(hi_incl - lo + 1)
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }

    /// Index skewed towards the front: a few hot destinations, a long tail.
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.below(1 << 20) as f64 / (1u64 << 20) as f64;
        ((u * u * u) * n as f64) as usize
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// Log-uniform in `1..=max`.
    fn log_uniform(&mut self, max: u64) -> u64 {
        let u = self.below(1 << 20) as f64 / (1u64 << 20) as f64;
        ((max as f64).powf(u)) as u64
    }
}

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn suffix(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| *rng.pick(NAME_CHARS) as char).collect()
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| b"0123456789abcdef"[rng.below(16) as usize] as char)
        .collect()
}

fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 4),
        hex(rng, 12)
    )
}

fn ip_str(ip: u32) -> String {
    std::net::Ipv4Addr::from(ip).to_string()
}

const fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

fn ip6_str(ip: u128) -> String {
    std::net::Ipv6Addr::from(ip).to_string()
}

// ---------------------------------------------------------------- cluster

struct Node {
    name: String,
    ip: u32,
    zone: String,
    instance: String,
    /// Running, non-hostNetwork pods on this node.
    pods: Vec<usize>,
}

struct Pod {
    name: String,
    namespace: String,
    labels: Vec<(String, String)>,
    node: usize,
    ip: u32,
    host_network: bool,
    phase: &'static str,
    /// Port the pod serves on.
    port: u16,
    owner: (&'static str, String),
}

struct Service {
    name: String,
    namespace: String,
    /// `None` = headless.
    ip: Option<u32>,
    port: u16,
    target_port: u16,
    proto: &'static str,
    backends: Vec<usize>,
    selector: Vec<(String, String)>,
}

struct Cluster {
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    services: Vec<Service>,
    /// Index in `services` of kube-dns.
    dns: usize,
    /// Services with a ClusterIP and backends, other than kube-dns.
    routable: Vec<usize>,
    /// Pod IP addresses of the pod CIDR that no pod in the inventory holds
    /// (pods deleted since the snapshot).
    stale: Vec<u32>,
    /// The IPv6 side of a dual-stack cluster (`--ipv6-share` above 0).
    v6: Option<V6Plan>,
}

/// EKS-like IPv6 addressing: every IPv4 address of a node or pod has an
/// IPv6 twin, so pods that share an IPv4 address (hostNetwork, reused
/// IPs) share the IPv6 one too.
struct V6Plan {
    /// The cluster's /56.
    cluster: u128,
    /// Per node: its IPv6 InternalIP and the /80 its pods' addresses come from.
    node_ip: Vec<u128>,
    node_prefix: Vec<u128>,
    node_by_ip: std::collections::HashMap<u32, usize>,
    /// The IPv4 pod CIDR layout: first block and block size per node.
    pod_base: u32,
    block: u32,
}

impl V6Plan {
    /// The IPv6 twin of a node or pod IPv4 address (`None`: neither).
    fn of(&self, v4: u32) -> Option<u128> {
        if let Some(&n) = self.node_by_ip.get(&v4) {
            return Some(self.node_ip[n]);
        }
        let off = v4.checked_sub(self.pod_base)?;
        let node = (off / self.block) as usize;
        let prefix = self.node_prefix.get(node)?;
        Some(prefix | u128::from(off % self.block))
    }
}

/// The IPv6 addresses of a dual-stack cluster, from their own random
/// stream (the IPv4 cluster does not change).
fn plan_v6(args: &Args, nodes: &[Node], pod_base: u32, block: u32, zones: &[String]) -> V6Plan {
    let mut rng = Rng::derive(args.seed, 4, 0);
    // A /56 in 2600:1f18::/33, us-east-1's EC2 IPv6 block (the pool VPC
    // CIDRs come from), below the blocks AWS gives to its own services.
    let g3 = 0x0400 + rng.below(0x3000) as u128;
    let g4 = (rng.below(256) as u128) << 8;
    let cluster = (0x2600_1f18u128 << 96) | (g3 << 80) | (g4 << 64);
    let mut used = HashSet::new();
    let mut node_ip = Vec::with_capacity(nodes.len());
    let mut node_prefix = Vec::with_capacity(nodes.len());
    for n in nodes {
        // One /64 subnet per zone, a /80 per node inside it.
        let z = zones.iter().position(|z| *z == n.zone).unwrap_or(0) as u128;
        let subnet = cluster | ((z + 1) << 64);
        let p80 = loop {
            let cand = subnet | ((rng.below(0xffff) as u128 + 1) << 48);
            if used.insert(cand) {
                break cand;
            }
        };
        node_prefix.push(p80);
        // The node's own address: elsewhere in its subnet (interface ids
        // below 2^48, so never inside a node's /80).
        let own = loop {
            let cand = subnet | (rng.next_u64() as u128 & 0x0000_ffff_ffff_ffff) | 1;
            if used.insert(cand) {
                break cand;
            }
        };
        node_ip.push(own);
    }
    V6Plan {
        cluster,
        node_by_ip: nodes.iter().enumerate().map(|(i, n)| (n.ip, i)).collect(),
        node_ip,
        node_prefix,
        pod_base,
        block,
    }
}

struct Workload {
    namespace: String,
    app: String,
    label_key: &'static str,
    control_plane_id: Option<String>,
    port: u16,
    kind: &'static str,
}

const TENANT_WORDS: &[&str] = &[
    "amber", "birch", "cedar", "delta", "ember", "fjord", "glade", "heron", "iris", "jade", "kelp",
    "lotus", "maple", "nova", "onyx", "pine", "quartz", "raven", "sage", "tide",
];

const APPS: &[(&str, &str, u16)] = &[
    ("shop", "web", 8080),
    ("shop", "checkout", 8080),
    ("shop", "cart", 8080),
    ("payments", "payments-api", 8443),
    ("payments", "ledger", 5432),
    ("search", "search-api", 9200),
    ("search", "indexer", 8080),
    ("data", "kafka", 9092),
    ("data", "redis", 6379),
    ("data", "etl-worker", 8080),
    ("platform", "auth", 8080),
    ("platform", "gateway", 8443),
    ("default", "frontend", 3000),
    ("default", "backend", 8000),
    ("monitoring", "prometheus", 9090),
    ("monitoring", "grafana", 3000),
    ("monitoring", "otel-collector", 4317),
    ("ingress-nginx", "ingress-nginx", 443),
    ("kube-system", "metrics-server", 10250),
    ("cert-manager", "cert-manager", 9402),
];

fn build_cluster(args: &Args) -> Result<Cluster> {
    if args.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    if args.nodes > 16_000 {
        bail!("--nodes must be at most 16000");
    }
    let mut rng = Rng::derive(args.seed, 1, 0);
    let zones: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|z| format!("{}{z}", args.region))
        .collect();

    // Nodes: one /18 of 10.0.0.0/16 per zone.
    let mut used = HashSet::new();
    let mut nodes = Vec::with_capacity(args.nodes);
    for i in 0..args.nodes {
        let z = i % 3;
        let node_ip = loop {
            let x = (z as u32) * 64 + rng.below(64) as u32;
            let y = 4 + rng.below(250) as u32;
            let cand = ip(10, 0, 0, 0) | (x << 8) | y;
            if used.insert(cand) {
                break cand;
            }
        };
        let [a, b, c, d] = node_ip.to_be_bytes();
        nodes.push(Node {
            name: format!("ip-{a}-{b}-{c}-{d}.ec2.internal"),
            ip: node_ip,
            zone: zones[z].clone(),
            instance: format!("i-0{}", hex(&mut rng, 16)),
            pods: Vec::new(),
        });
    }

    // Pod CIDR: one block per node inside 10.244.0.0/14, large enough for
    // the busiest node.
    let per_node = args.pods / args.nodes + 1;
    let block_bits = (((per_node * 2 + 16) as u32)
        .next_power_of_two()
        .trailing_zeros())
    .max(8);
    if (args.nodes as u64) << block_bits > 1 << 18 {
        bail!("too many pods for the 10.244.0.0/14 pod CIDR");
    }
    let block = 1u32 << block_bits;
    let pod_base = |n: usize| ip(10, 244, 0, 0) + n as u32 * block;
    let mut next_host = vec![2u32; args.nodes];

    let mut pods: Vec<Pod> = Vec::with_capacity(args.pods);
    let mut services: Vec<Service> = Vec::new();
    let mut svc_ip_used = HashSet::from([ip(172, 20, 0, 1), ip(172, 20, 0, 10)]);
    let mut new_svc_ip = |rng: &mut Rng| loop {
        let cand = ip(172, 20, 0, 0) | (rng.range(1, 255) as u32) << 8 | rng.range(1, 254) as u32;
        if svc_ip_used.insert(cand) {
            break cand;
        }
    };

    let alloc_ip = |node: usize, next_host: &mut Vec<u32>| -> Option<u32> {
        if next_host[node] >= block - 1 {
            return None;
        }
        let v = pod_base(node) + next_host[node];
        next_host[node] += 1;
        Some(v)
    };

    // DaemonSets: three hostNetwork pods per node while the budget allows.
    let completed_budget = args.pods / 50;
    let ds: [(&str, &str, &str, u16); 3] = [
        ("kube-system", "kube-proxy", "k8s-app", 10256),
        ("kube-system", "aws-node", "k8s-app", 61678),
        (
            "monitoring",
            "node-exporter",
            "app.kubernetes.io/name",
            9100,
        ),
    ];
    for (ns, app, key, port) in ds {
        for (n, node) in nodes.iter().enumerate() {
            if pods.len() + completed_budget + 2 >= args.pods {
                break;
            }
            pods.push(Pod {
                name: format!("{app}-{}", suffix(&mut rng, 5)),
                namespace: ns.to_string(),
                labels: vec![(key.to_string(), app.to_string())],
                node: n,
                ip: node.ip,
                host_network: true,
                phase: "Running",
                port,
                owner: ("DaemonSet", app.to_string()),
            });
        }
    }

    // CoreDNS behind kube-dns.
    let mut dns_backends = Vec::new();
    let rs = suffix(&mut rng, 10);
    for _ in 0..2 {
        let n = rng.below(args.nodes as u64) as usize;
        let Some(pip) = alloc_ip(n, &mut next_host) else {
            continue;
        };
        dns_backends.push(pods.len());
        pods.push(Pod {
            name: format!("coredns-{rs}-{}", suffix(&mut rng, 5)),
            namespace: "kube-system".into(),
            labels: vec![
                ("k8s-app".into(), "kube-dns".into()),
                ("pod-template-hash".into(), rs.clone()),
            ],
            node: n,
            ip: pip,
            host_network: false,
            phase: "Running",
            port: 53,
            owner: ("ReplicaSet", format!("coredns-{rs}")),
        });
    }
    services.push(Service {
        name: "kubernetes".into(),
        namespace: "default".into(),
        ip: Some(ip(172, 20, 0, 1)),
        port: 443,
        target_port: 443,
        proto: "TCP",
        backends: Vec::new(),
        selector: Vec::new(),
    });
    let dns = services.len();
    services.push(Service {
        name: "kube-dns".into(),
        namespace: "kube-system".into(),
        ip: Some(ip(172, 20, 0, 10)),
        port: 53,
        target_port: 53,
        proto: "UDP",
        backends: dns_backends,
        selector: vec![("k8s-app".into(), "kube-dns".into())],
    });

    // Application workloads until the pod budget (minus completed jobs) is used.
    let running_budget = args.pods.saturating_sub(completed_budget);
    let mut w = 0usize;
    while pods.len() < running_budget {
        let wl = if w % 4 == 3 {
            // A ClickHouse-Cloud-like tenant: its own namespace and a
            // control-plane-id label.
            let word = TENANT_WORDS[(w / 4) % TENANT_WORDS.len()];
            Workload {
                namespace: format!("ns-{word}-{}", hex(&mut rng, 4)),
                app: "clickhouse-server".into(),
                label_key: "app.kubernetes.io/name",
                control_plane_id: Some(uuid(&mut rng)),
                port: 9000,
                kind: "StatefulSet",
            }
        } else {
            let (ns, app, port) = APPS[w % APPS.len()];
            let wide = args.shape == Shape::Wide;
            Workload {
                namespace: if wide {
                    format!("{ns}-team-{:02}", w % 37)
                } else {
                    ns.to_string()
                },
                app: if wide {
                    format!("{app}-{}-service-component-long", w / APPS.len())
                } else if w < APPS.len() {
                    app.to_string()
                } else {
                    format!("{app}-{}", w / APPS.len())
                },
                label_key: if w.is_multiple_of(5) {
                    "k8s-app"
                } else {
                    "app.kubernetes.io/name"
                },
                control_plane_id: None,
                port,
                kind: "ReplicaSet",
            }
        };
        w += 1;
        let max_replicas = if args.shape == Shape::Wide { 4 } else { 40 };
        let replicas =
            (rng.log_uniform(max_replicas) as usize).clamp(1, running_budget - pods.len());
        let hash = suffix(&mut rng, 10);
        let mut backends = Vec::with_capacity(replicas);
        for r in 0..replicas {
            // Spread replicas, skipping full nodes.
            let mut n = rng.below(args.nodes as u64) as usize;
            let mut tries = 0;
            let pip = loop {
                if let Some(p) = alloc_ip(n, &mut next_host) {
                    break Some(p);
                }
                n = (n + 1) % args.nodes;
                tries += 1;
                if tries > args.nodes {
                    break None;
                }
            };
            let Some(pip) = pip else {
                bail!("pod CIDR exhausted");
            };
            let name = if wl.kind == "StatefulSet" {
                format!("{}-{r}", wl.app)
            } else {
                format!("{}-{hash}-{}", wl.app, suffix(&mut rng, 5))
            };
            let mut labels = vec![(wl.label_key.to_string(), wl.app.clone())];
            if let Some(id) = &wl.control_plane_id {
                labels.push(("control-plane-id".into(), id.clone()));
            }
            if wl.kind == "ReplicaSet" {
                labels.push(("pod-template-hash".into(), hash.clone()));
            }
            backends.push(pods.len());
            pods.push(Pod {
                name,
                namespace: wl.namespace.clone(),
                labels,
                node: n,
                ip: pip,
                host_network: false,
                phase: "Running",
                port: wl.port,
                owner: (
                    wl.kind,
                    if wl.kind == "StatefulSet" {
                        wl.app.clone()
                    } else {
                        format!("{}-{hash}", wl.app)
                    },
                ),
            });
        }
        // Most workloads have a ClusterIP service; a few a headless one.
        if !rng.chance(100) {
            let headless = rng.chance(60);
            services.push(Service {
                name: wl.app.clone(),
                namespace: wl.namespace.clone(),
                ip: if headless {
                    None
                } else {
                    Some(new_svc_ip(&mut rng))
                },
                port: if wl.port == 8080 || wl.port == 8000 || wl.port == 3000 {
                    80
                } else {
                    wl.port
                },
                target_port: wl.port,
                proto: "TCP",
                backends,
                selector: vec![(wl.label_key.to_string(), wl.app.clone())],
            });
        }
    }

    // Completed (Succeeded) job pods, most sharing their IP with a Running
    // pod on the same node (the IP was reused), a few Failed.
    let running: Vec<usize> = (0..pods.len()).filter(|&i| !pods[i].host_network).collect();
    while pods.len() < args.pods && !running.is_empty() {
        let reuse = *rng.pick(&running);
        let n = pods[reuse].node;
        let pip = if rng.chance(800) {
            pods[reuse].ip
        } else {
            match alloc_ip(n, &mut next_host) {
                Some(p) => p,
                None => pods[reuse].ip,
            }
        };
        let job = format!("report-{}", 28_800_000 + rng.below(100_000));
        pods.push(Pod {
            name: format!("{job}-{}", suffix(&mut rng, 5)),
            namespace: "batch".into(),
            labels: vec![
                ("app.kubernetes.io/name".into(), "report".into()),
                ("job-name".into(), job.clone()),
            ],
            node: n,
            ip: pip,
            host_network: false,
            phase: if rng.chance(100) {
                "Failed"
            } else {
                "Succeeded"
            },
            port: 8080,
            owner: ("Job", job),
        });
    }

    for (i, p) in pods.iter().enumerate() {
        if !p.host_network && p.phase == "Running" {
            nodes[p.node].pods.push(i);
        }
    }
    let routable = (0..services.len())
        .filter(|&s| s != dns && services[s].ip.is_some() && !services[s].backends.is_empty())
        .collect();
    let stale = (0..256)
        .map(|_| {
            let n = rng.below(args.nodes as u64) as usize;
            pod_base(n) + block - 2 - rng.below(8) as u32
        })
        .filter(|a| pods.iter().all(|p| p.ip != *a))
        .collect();
    let v6 = (args.ipv6_share > 0.0).then(|| plan_v6(args, &nodes, pod_base(0), block, &zones));
    Ok(Cluster {
        nodes,
        pods,
        services,
        dns,
        routable,
        stale,
        v6,
    })
}

// ---------------------------------------------------------------- inventory

fn labels_json(labels: &[(String, String)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn inventory_json(c: &Cluster, args: &Args) -> Value {
    let mut rng = Rng::derive(args.seed, 2, 0);
    let created = "2026-11-20T08:14:03Z";
    let mut items = Vec::with_capacity(c.pods.len() + c.nodes.len() + c.services.len());
    for p in &c.pods {
        let node = &c.nodes[p.node];
        let terminated = p.phase != "Running";
        let mut spec = json!({
            "containers": [{
                "name": p.owner.1.split('-').next().unwrap_or("main"),
                "image": format!("registry.example.com/{}:1.{}.{}", p.owner.1, rng.below(9), rng.below(20)),
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": p.port, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"
            }],
            "dnsPolicy": if p.host_network { "ClusterFirstWithHostNet" } else { "ClusterFirst" },
            "enableServiceLinks": true,
            "nodeName": node.name,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": if p.owner.0 == "Job" { "Never" } else { "Always" },
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30
        });
        if p.host_network {
            spec["hostNetwork"] = Value::Bool(true);
        }
        let pod_ip = ip_str(p.ip);
        // Dual-stack: IPv4 first, as kubectl lists an IPv4-primary cluster.
        let mut pod_ips = vec![json!({"ip": pod_ip})];
        let mut host_ips = vec![json!({"ip": ip_str(node.ip)})];
        if let Some(v6) = &c.v6 {
            if let Some(a) = v6.of(p.ip) {
                pod_ips.push(json!({"ip": ip6_str(a)}));
            }
            host_ips.push(json!({"ip": ip6_str(v6.node_ip[p.node])}));
        }
        let ready = if terminated { "False" } else { "True" };
        items.push(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": created,
                "generateName": format!("{}-", p.owner.1),
                "labels": labels_json(&p.labels),
                "name": p.name,
                "namespace": p.namespace,
                "ownerReferences": [{
                    "apiVersion": if p.owner.0 == "Job" { "batch/v1" } else { "apps/v1" },
                    "blockOwnerDeletion": true,
                    "controller": true,
                    "kind": p.owner.0,
                    "name": p.owner.1,
                    "uid": uuid(&mut rng)
                }],
                "resourceVersion": (1_000_000 + rng.below(9_000_000)).to_string(),
                "uid": uuid(&mut rng)
            },
            "spec": spec,
            "status": {
                "conditions": [
                    {"lastProbeTime": null, "lastTransitionTime": created, "status": "True", "type": "Initialized"},
                    {"lastProbeTime": null, "lastTransitionTime": created, "status": ready, "type": "Ready"},
                    {"lastProbeTime": null, "lastTransitionTime": created, "status": ready, "type": "ContainersReady"},
                    {"lastProbeTime": null, "lastTransitionTime": created, "status": "True", "type": "PodScheduled"}
                ],
                "hostIP": ip_str(node.ip),
                "hostIPs": host_ips,
                "phase": p.phase,
                "podIP": pod_ip,
                "podIPs": pod_ips,
                "qosClass": "Burstable",
                "startTime": created
            }
        }));
    }
    for (k, n) in c.nodes.iter().enumerate() {
        let ipv = ip_str(n.ip);
        let mut addresses = vec![json!({"address": ipv, "type": "InternalIP"})];
        if let Some(v6) = &c.v6 {
            addresses.push(json!({"address": ip6_str(v6.node_ip[k]), "type": "InternalIP"}));
        }
        addresses.push(json!({"address": n.name, "type": "InternalDNS"}));
        addresses.push(json!({"address": n.name, "type": "Hostname"}));
        items.push(json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
                "creationTimestamp": "2026-11-01T10:00:00Z",
                "labels": {
                    "beta.kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/instance-type": "m6i.2xlarge",
                    "beta.kubernetes.io/os": "linux",
                    "failure-domain.beta.kubernetes.io/region": args.region,
                    "failure-domain.beta.kubernetes.io/zone": n.zone,
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/hostname": n.name,
                    "kubernetes.io/os": "linux",
                    "node.kubernetes.io/instance-type": "m6i.2xlarge",
                    "topology.kubernetes.io/region": args.region,
                    "topology.kubernetes.io/zone": n.zone
                },
                "name": n.name,
                "resourceVersion": (1_000_000 + rng.below(9_000_000)).to_string(),
                "uid": uuid(&mut rng)
            },
            "spec": {
                "providerID": format!("aws:///{}/{}", n.zone, n.instance)
            },
            "status": {
                "addresses": addresses,
                "allocatable": {"cpu": "7910m", "memory": "31482236Ki", "pods": "58"},
                "capacity": {"cpu": "8", "memory": "32475004Ki", "pods": "58"},
                "nodeInfo": {
                    "architecture": "amd64",
                    "containerRuntimeVersion": "containerd://1.7.22",
                    "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                    "kubeletVersion": "v1.31.2-eks-94953ac",
                    "operatingSystem": "linux",
                    "osImage": "Amazon Linux 2023.6.20241031"
                }
            }
        }));
    }
    for s in &c.services {
        let (cip, cips) = match s.ip {
            Some(v) => (ip_str(v), vec![ip_str(v)]),
            None => ("None".to_string(), vec!["None".to_string()]),
        };
        let mut spec = json!({
            "clusterIP": cip,
            "clusterIPs": cips,
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "main", "port": s.port, "protocol": s.proto, "targetPort": s.target_port}],
            "sessionAffinity": "None",
            "type": "ClusterIP"
        });
        if !s.selector.is_empty() {
            spec["selector"] = labels_json(&s.selector);
        }
        items.push(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": created,
                "labels": labels_json(&s.selector),
                "name": s.name,
                "namespace": s.namespace,
                "resourceVersion": (1_000_000 + rng.below(9_000_000)).to_string(),
                "uid": uuid(&mut rng)
            },
            "spec": spec,
            "status": {"loadBalancer": {}}
        }));
    }
    json!({
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""}
    })
}

/// kubectl indents JSON by four spaces.
fn write_json(path: &Path, v: &Value) -> Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut w, fmt);
    serde::Serialize::serialize(v, &mut ser)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(())
}

// ---------------------------------------------------------------- remotes

/// IPv4 prefixes (network, prefix length) to draw remote hosts from.
#[derive(Default)]
struct Pools {
    s3: Vec<(u32, u8)>,
    aws_region: Vec<(u32, u8)>,
    aws_other: Vec<(u32, u8)>,
    gcp: Vec<(u32, u8)>,
    azure: Vec<(u32, u8)>,
    internet: Vec<(u32, u8)>,
    v6: Pools6,
}

/// IPv6 prefixes to draw remote hosts from (`--ipv6-share`).
#[derive(Default)]
struct Pools6 {
    s3: Vec<(u128, u8)>,
    aws_region: Vec<(u128, u8)>,
    aws_other: Vec<(u128, u8)>,
    gcp: Vec<(u128, u8)>,
    internet: Vec<(u128, u8)>,
}

fn net6(s: &str) -> (u128, u8) {
    let n: ipnet::Ipv6Net = s.parse().expect("built-in IPv6 prefix");
    (u128::from(n.network()), n.prefix_len())
}

/// Real published prefixes of us-east-1 (AWS, checked against
/// ip-ranges.json) and of GCP; internet: Cloudflare, Fastly, Meta.
fn builtin_pools6() -> Pools6 {
    let v = |l: &[&str]| l.iter().map(|s| net6(s)).collect();
    Pools6 {
        s3: v(&["2600:1fa0:2c00::/40", "2600:1ff8:2c00::/40"]),
        aws_region: v(&["2600:1f10:4000::/36", "2600:1f10:2000::/36"]),
        aws_other: v(&["2600:1f14::/35", "2600:1f13::/36"]),
        gcp: v(&["2600:1900:4030::/44", "2600:1900:8000::/44"]),
        internet: internet_pool6(),
    }
}

fn internet_pool6() -> Vec<(u128, u8)> {
    ["2606:4700::/32", "2a04:4e40::/32", "2a03:2880::/32"]
        .iter()
        .map(|s| net6(s))
        .collect()
}

fn v6(net: &ipnet::IpNet) -> Option<(u128, u8)> {
    match net {
        ipnet::IpNet::V6(n) if (16..=64).contains(&n.prefix_len()) => {
            Some((u128::from(n.network()), n.prefix_len()))
        }
        _ => None,
    }
}

fn builtin_pools() -> Pools {
    Pools {
        v6: builtin_pools6(),
        s3: vec![
            (ip(52, 216, 0, 0), 15),
            (ip(54, 231, 0, 0), 16),
            (ip(3, 5, 0, 0), 19),
        ],
        aws_region: vec![
            (ip(3, 80, 0, 0), 12),
            (ip(54, 80, 0, 0), 13),
            (ip(44, 192, 0, 0), 11),
        ],
        aws_other: vec![
            (ip(3, 120, 0, 0), 14),
            (ip(13, 236, 0, 0), 14),
            (ip(52, 40, 0, 0), 14),
            (ip(35, 160, 0, 0), 13),
        ],
        gcp: vec![(ip(35, 184, 0, 0), 13), (ip(34, 64, 0, 0), 11)],
        azure: vec![(ip(20, 33, 0, 0), 16), (ip(40, 112, 0, 0), 13)],
        internet: internet_pool(),
    }
}

/// Well-known blocks of no cloud's published ranges (CDNs, GitHub, ISPs).
fn internet_pool() -> Vec<(u32, u8)> {
    vec![
        (ip(140, 82, 112, 0), 20),
        (ip(151, 101, 0, 0), 16),
        (ip(104, 16, 0, 0), 13),
        (ip(185, 199, 108, 0), 22),
        (ip(1, 1, 1, 0), 24),
        (ip(23, 32, 0, 0), 11),
        (ip(93, 184, 216, 0), 24),
        (ip(199, 232, 0, 0), 16),
    ]
}

fn v4(net: &ipnet::IpNet) -> Option<(u32, u8)> {
    match net {
        ipnet::IpNet::V4(n) if (8..=30).contains(&n.prefix_len()) => {
            Some((u32::from(n.network()), n.prefix_len()))
        }
        _ => None,
    }
}

fn file_pools(dir: &Path, region: &str) -> Result<Pools> {
    let mut p = Pools {
        internet: internet_pool(),
        ..Pools::default()
    };
    let aws = read_provider_file(Provider::Aws, &dir.join(Provider::Aws.file_name()))?;
    for r in &aws.prefixes {
        let svc = r.service.to_ascii_lowercase();
        let reg = r.region.to_ascii_lowercase();
        if let Some(net) = v6(&r.net) {
            if reg == region && svc == "s3" {
                p.v6.s3.push(net);
            } else if reg == region && svc == "ec2" {
                p.v6.aws_region.push(net);
            } else if reg != region && reg != "global" && svc == "ec2" {
                p.v6.aws_other.push(net);
            }
        }
        let Some(net) = v4(&r.net) else { continue };
        if reg == region && svc == "s3" {
            p.s3.push(net);
        } else if reg == region && svc == "ec2" {
            p.aws_region.push(net);
        } else if reg != region && reg != "global" && svc == "ec2" {
            p.aws_other.push(net);
        }
    }
    let gcp = read_provider_file(Provider::Gcp, &dir.join(Provider::Gcp.file_name()))?;
    p.gcp = gcp.prefixes.iter().filter_map(|r| v4(&r.net)).collect();
    p.v6.gcp = gcp.prefixes.iter().filter_map(|r| v6(&r.net)).collect();
    p.v6.internet = internet_pool6();
    // A region without published IPv6 prefixes of a kind: the built-in ones.
    let builtin = builtin_pools6();
    for (mine, fallback) in [
        (&mut p.v6.s3, builtin.s3),
        (&mut p.v6.aws_region, builtin.aws_region),
        (&mut p.v6.aws_other, builtin.aws_other),
        (&mut p.v6.gcp, builtin.gcp),
    ] {
        if mine.is_empty() {
            *mine = fallback;
        }
    }
    let az = read_provider_file(Provider::Azure, &dir.join(Provider::Azure.file_name()))?;
    p.azure = az
        .prefixes
        .iter()
        .filter(|r| r.tag.starts_with("AzureCloud."))
        .filter_map(|r| v4(&r.net))
        .collect();
    for (name, v) in [
        ("AWS S3", &p.s3),
        ("AWS EC2 in region", &p.aws_region),
        ("AWS EC2 elsewhere", &p.aws_other),
        ("GCP", &p.gcp),
        ("Azure", &p.azure),
    ] {
        if v.is_empty() {
            bail!(
                "{}: no {name} IPv4 prefixes for region {region}",
                dir.display()
            );
        }
    }
    Ok(p)
}

/// A fixed set of hosts per category, so a few destinations are hot as in a
/// real cluster.
struct Remotes {
    s3: Vec<u32>,
    aws_region: Vec<u32>,
    aws_other: Vec<u32>,
    gcp: Vec<u32>,
    azure: Vec<u32>,
    internet: Vec<u32>,
    vpc_private: Vec<u32>,
    /// `--shape wide`'s egress destinations (empty otherwise).
    wide_internet: Vec<u32>,
    v6: Remotes6,
}

/// IPv6 remote hosts, drawn from their own random stream.
struct Remotes6 {
    s3: Vec<u128>,
    aws_region: Vec<u128>,
    aws_other: Vec<u128>,
    gcp: Vec<u128>,
    internet: Vec<u128>,
}

fn hosts6(rng: &mut Rng, pool: &[(u128, u8)], n: usize) -> Vec<u128> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (net, len) = *rng.pick(pool);
        let bits = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        let host = net | (bits & (u128::MAX >> len)) | 1;
        // Never inside the range plan_v6 takes cluster /56s from.
        let g3 = (host >> 80) as u16;
        if host >> 96 == 0x2600_1f18 && (0x0400..0x3400).contains(&g3) {
            continue;
        }
        out.push(host);
    }
    out
}

fn hosts(rng: &mut Rng, pool: &[(u32, u8)], n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| {
            let (net, len) = *rng.pick(pool);
            let size = 1u64 << (32 - len);
            net + 1 + rng.below(size - 2) as u32
        })
        .collect()
}

fn remotes(seed: u64, p: &Pools, shape: Shape) -> Remotes {
    let mut rng = Rng::derive(seed, 3, 0);
    Remotes {
        s3: hosts(&mut rng, &p.s3, 64),
        aws_region: hosts(&mut rng, &p.aws_region, 256),
        aws_other: hosts(&mut rng, &p.aws_other, 128),
        gcp: hosts(&mut rng, &p.gcp, 128),
        azure: hosts(&mut rng, &p.azure, 128),
        internet: hosts(&mut rng, &p.internet, 512),
        // RDS / ElastiCache / MSK in the VPC's data subnets.
        vpc_private: hosts(&mut rng, &[(ip(10, 0, 200, 0), 22)], 32),
        // Its own stream, so the default shape draws what it always drew.
        wide_internet: match shape {
            Shape::Wide => hosts(&mut Rng::derive(seed, 6, 0), &p.internet, 250_000),
            Shape::Default => Vec::new(),
        },
        v6: remotes6(seed, &p.v6),
    }
}

fn remotes6(seed: u64, p: &Pools6) -> Remotes6 {
    let mut rng = Rng::derive(seed, 5, 0);
    Remotes6 {
        s3: hosts6(&mut rng, &p.s3, 64),
        aws_region: hosts6(&mut rng, &p.aws_region, 256),
        aws_other: hosts6(&mut rng, &p.aws_other, 128),
        gcp: hosts6(&mut rng, &p.gcp, 128),
        internet: hosts6(&mut rng, &p.internet, 512),
    }
}

// ---------------------------------------------------------------- dumps

/// Fast ASCII formatting into a line buffer.
struct Line<'a>(&'a mut Vec<u8>);

impl Line<'_> {
    fn s(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    fn u(&mut self, mut v: u64) -> &mut Self {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.0.extend_from_slice(&tmp[i..]);
        self
    }

    fn ip(&mut self, a: u32) -> &mut Self {
        let b = a.to_be_bytes();
        self.u(b[0] as u64).s(".").u(b[1] as u64).s(".");
        self.u(b[2] as u64).s(".").u(b[3] as u64)
    }

    /// As conntrack prints it (`inet_ntop`: the longest zero run as `::`).
    fn ip6(&mut self, a: u128) -> &mut Self {
        let _ = write!(self.0, "{}", std::net::Ipv6Addr::from(a));
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum L4 {
    Tcp,
    Udp,
    Icmp,
}

/// (source, destination, source port or ICMP id, destination port).
type Tuple = (u32, u32, u16, u16);
/// The same with IPv6 addresses.
type Tuple6 = (u128, u128, u16, u16);

/// Original and reply tuple of an entry, of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addrs {
    V4(Tuple, Tuple),
    V6(Tuple6, Tuple6),
}

struct Entry {
    l4: L4,
    addrs: Addrs,
    /// (packets, bytes) original / reply.
    oc: (u64, u64),
    rc: (u64, u64),
    unreplied: bool,
    state: &'static str,
    timeout: u64,
    assured: bool,
}

fn write_entry(buf: &mut Vec<u8>, e: &Entry, format: Format) {
    let mut l = Line(buf);
    let v6 = matches!(e.addrs, Addrs::V6(..));
    if format == Format::Extended {
        l.s(if v6 { "ipv6     10 " } else { "ipv4     2 " });
    }
    match (e.l4, v6) {
        (L4::Tcp, _) => l.s("tcp      6 "),
        (L4::Udp, _) => l.s("udp      17 "),
        (L4::Icmp, false) => l.s("icmp     1 "),
        (L4::Icmp, true) => l.s("icmpv6   58 "),
    };
    l.u(e.timeout).s(" ");
    if e.l4 == L4::Tcp {
        l.s(e.state).s(" ");
    }
    // (echo request, echo reply) types
    let echo = if v6 {
        (" type=128", " type=129")
    } else {
        (" type=8", " type=0")
    };
    let tuple = |l: &mut Line, reply: bool| {
        let (sport, dport) = match (e.addrs, reply) {
            (Addrs::V4(t, _), false) | (Addrs::V4(_, t), true) => {
                l.s("src=").ip(t.0).s(" dst=").ip(t.1);
                (t.2, t.3)
            }
            (Addrs::V6(t, _), false) | (Addrs::V6(_, t), true) => {
                l.s("src=").ip6(t.0).s(" dst=").ip6(t.1);
                (t.2, t.3)
            }
        };
        if e.l4 == L4::Icmp {
            l.s(if reply { echo.1 } else { echo.0 })
                .s(" code=0 id=")
                .u(sport as u64);
        } else {
            l.s(" sport=").u(sport as u64).s(" dport=").u(dport as u64);
        }
        let c = if reply { e.rc } else { e.oc };
        l.s(" packets=").u(c.0).s(" bytes=").u(c.1).s(" ");
    };
    tuple(&mut l, false);
    if e.unreplied {
        l.s("[UNREPLIED] ");
    }
    tuple(&mut l, true);
    if e.assured {
        l.s("[ASSURED] ");
    }
    l.s("mark=0 use=1\n");
}

struct Gen<'a> {
    c: &'a Cluster,
    r: &'a Remotes,
    node: usize,
    format: Format,
    /// IPv6 lines per million (`--ipv6-share`).
    ipv6_ppm: u64,
}

const TCP_STATES: &[(&str, u64)] = &[
    ("ESTABLISHED", 432_000),
    ("ESTABLISHED", 432_000),
    ("ESTABLISHED", 432_000),
    ("ESTABLISHED", 432_000),
    ("TIME_WAIT", 120),
    ("TIME_WAIT", 120),
    ("CLOSE_WAIT", 60),
    ("FIN_WAIT", 120),
    ("LAST_ACK", 30),
    ("CLOSE", 10),
];

fn ppm(share: f64) -> u64 {
    (share * 1e6).round() as u64
}

impl Gen<'_> {
    /// The next line's entry: IPv6 for `ipv6_ppm` lines in a million. (No
    /// draw at all without IPv6, so such dumps are what they always were.)
    fn line_entry(&self, rng: &mut Rng) -> Entry {
        if !self.r.wide_internet.is_empty() && rng.below(1000) < 400 {
            if let Some(e) = self.wide_egress(rng) {
                return e;
            }
        }
        if self.ipv6_ppm > 0 && rng.below(1_000_000) < self.ipv6_ppm {
            self.entry6(rng)
        } else {
            self.entry(rng)
        }
    }

    /// An IPv6 flow of a dual-stack cluster. No NAT: pods have global
    /// addresses, and the reply goes back to the original source.
    fn entry6(&self, rng: &mut Rng) -> Entry {
        let v6 = self
            .c
            .v6
            .as_ref()
            .expect("IPv6 lines need a dual-stack cluster");
        let r6 = &self.r.v6;
        let me = v6.node_ip[self.node];
        let six = |a: u32| v6.of(a).unwrap_or(me);
        let swap = |t: Tuple6| (t.1, t.0, t.3, t.2);
        let roll = rng.below(1000);
        let mut l4 = L4::Tcp;
        let mut down = false;
        let mut max_packets = 50_000;
        let orig: Tuple6 = 'pick: {
            let Some(lp) = self.local_pod(rng) else {
                break 'pick self.node_flow6(rng);
            };
            let src = six(lp.ip);
            let sport = Self::ephemeral(rng);
            match roll {
                // Local pod → pod on another node, then on this node.
                0..=449 => {
                    let op = if roll < 350 {
                        self.other_pod(rng)
                    } else {
                        self.local_pod(rng)
                    };
                    let Some(op) = op else {
                        break 'pick self.node_flow6(rng);
                    };
                    if rng.chance(100) {
                        l4 = L4::Udp;
                    }
                    (src, six(op.ip), sport, op.port)
                }
                // Pod on another node → local pod.
                450..=599 => match self.other_pod(rng) {
                    Some(op) => (six(op.ip), src, sport, lp.port),
                    None => self.node_flow6(rng),
                },
                // AWS (S3 downloads, EC2 in and out of the region), GCP, internet.
                600..=899 => {
                    let (pool, port) = match roll {
                        600..=699 => {
                            down = true;
                            max_packets = 500_000;
                            (&r6.s3, 443)
                        }
                        700..=749 => (&r6.aws_region, 443),
                        750..=779 => (&r6.aws_other, 443),
                        780..=809 => (&r6.gcp, 443),
                        _ => {
                            if rng.chance(200) {
                                l4 = L4::Udp; // QUIC
                            }
                            (&r6.internet, *rng.pick(&[443u16, 443, 443, 80]))
                        }
                    };
                    (src, pool[rng.skewed(pool.len())], sport, port)
                }
                // The node's own IPv6 traffic.
                900..=969 => self.node_flow6(rng),
                // ICMPv6 echo.
                _ => {
                    l4 = L4::Icmp;
                    max_packets = 10;
                    let dst = if rng.chance(500) {
                        r6.internet[rng.skewed(r6.internet.len())]
                    } else {
                        self.other_pod(rng).map_or(me, |p| six(p.ip))
                    };
                    (src, dst, rng.range(1, 65535) as u16, 0)
                }
            }
        };
        let reply = if l4 == L4::Icmp {
            (orig.1, orig.0, orig.2, 0)
        } else {
            swap(orig)
        };
        self.finish(rng, l4, Addrs::V6(orig, reply), max_packets, down)
    }

    /// Another node's kubelet traffic to this node, or this node to AWS.
    fn node_flow6(&self, rng: &mut Rng) -> Tuple6 {
        let v6 = self.c.v6.as_ref().expect("dual-stack cluster");
        let me = v6.node_ip[self.node];
        let sport = Self::ephemeral(rng);
        if rng.chance(500) {
            let other = v6.node_ip[rng.below(v6.node_ip.len() as u64) as usize];
            (other, me, sport, 10250)
        } else {
            let r = &self.r.v6.aws_region;
            (me, r[rng.skewed(r.len())], sport, 443)
        }
    }

    fn ephemeral(rng: &mut Rng) -> u16 {
        rng.range(32768, 60999) as u16
    }

    /// A running, non-hostNetwork pod on this node (none on an empty node).
    /// `--shape wide`: a local pod → one of many internet hosts, uniformly,
    /// SNAT to the node.
    fn wide_egress(&self, rng: &mut Rng) -> Option<Entry> {
        let lp = self.local_pod(rng)?;
        let hosts = &self.r.wide_internet;
        let dst = hosts[rng.below(hosts.len() as u64) as usize];
        let sport = Self::ephemeral(rng);
        let port = *rng.pick(&[443u16, 443, 443, 80, 8443]);
        let nport = Self::ephemeral(rng);
        let addrs = Addrs::V4(
            (lp.ip, dst, sport, port),
            (dst, self.node_ip(), port, nport),
        );
        Some(self.finish(rng, L4::Tcp, addrs, 50_000, false))
    }

    fn local_pod(&self, rng: &mut Rng) -> Option<&Pod> {
        let pods = &self.c.nodes[self.node].pods;
        (!pods.is_empty()).then(|| &self.c.pods[*rng.pick(pods)])
    }

    fn other_pod(&self, rng: &mut Rng) -> Option<&Pod> {
        for _ in 0..8 {
            let n = rng.below(self.c.nodes.len() as u64) as usize;
            if n != self.node && !self.c.nodes[n].pods.is_empty() {
                return Some(&self.c.pods[*rng.pick(&self.c.nodes[n].pods)]);
            }
        }
        None
    }

    fn node_ip(&self) -> u32 {
        self.c.nodes[self.node].ip
    }

    /// Counters: log-uniform packet counts, realistic sizes; `down` makes the
    /// reply direction the heavy one (downloads).
    fn counters(rng: &mut Rng, max_packets: u64, down: bool) -> ((u64, u64), (u64, u64)) {
        let p1 = rng.log_uniform(max_packets).max(1);
        let p2 = (p1 as f64 * (0.5 + rng.below(1000) as f64 / 1000.0)) as u64 + 1;
        let small = |rng: &mut Rng, p: u64| p * rng.range(52, 120);
        let big = |rng: &mut Rng, p: u64| p * rng.range(400, 1448) + 60;
        if down {
            ((p1, small(rng, p1)), (p2, big(rng, p2)))
        } else if rng.chance(500) {
            ((p1, big(rng, p1)), (p2, small(rng, p2)))
        } else {
            (
                (p1, small(rng, p1) + rng.below(4000)),
                (p2, small(rng, p2) + rng.below(8000)),
            )
        }
    }

    fn entry(&self, rng: &mut Rng) -> Entry {
        let node_ip = self.node_ip();
        let roll = rng.below(1000);
        let mut l4 = L4::Tcp;
        let mut down = false;
        let mut max_packets = 50_000;
        // (orig src, orig dst, sport, dport), (reply src, reply dst)
        let (orig, reply) = 'pick: {
            let local = self.local_pod(rng);
            let Some(lp) = local else {
                break 'pick self.node_flow(rng);
            };
            let sport = Self::ephemeral(rng);
            match roll {
                // Local pod → pod on another node; no NAT.
                0..=179 => match self.other_pod(rng) {
                    Some(op) => (
                        (lp.ip, op.ip, sport, op.port),
                        (op.ip, lp.ip, op.port, sport),
                    ),
                    None => self.node_flow(rng),
                },
                // Local pod → local pod.
                180..=239 => {
                    let op = self.local_pod(rng).unwrap_or(lp);
                    (
                        (lp.ip, op.ip, sport, op.port),
                        (op.ip, lp.ip, op.port, sport),
                    )
                }
                // Pod on another node → local pod.
                240..=329 => match self.other_pod(rng) {
                    Some(op) => (
                        (op.ip, lp.ip, sport, lp.port),
                        (lp.ip, op.ip, lp.port, sport),
                    ),
                    None => self.node_flow(rng),
                },
                // Local pod → ClusterIP (DNAT to a backend anywhere).
                330..=469 => {
                    if self.c.routable.is_empty() {
                        break 'pick self.node_flow(rng);
                    }
                    let s = &self.c.services[self.c.routable[rng.skewed(self.c.routable.len())]];
                    let be = &self.c.pods[*rng.pick(&s.backends)];
                    (
                        (lp.ip, s.ip.unwrap_or(0), sport, s.port),
                        (be.ip, lp.ip, s.target_port, sport),
                    )
                }
                // DNS to kube-dns.
                470..=569 => {
                    let s = &self.c.services[self.c.dns];
                    if s.backends.is_empty() {
                        break 'pick self.node_flow(rng);
                    }
                    let be = &self.c.pods[*rng.pick(&s.backends)];
                    l4 = if rng.chance(30) { L4::Tcp } else { L4::Udp };
                    max_packets = 4;
                    (
                        (lp.ip, ip(172, 20, 0, 10), sport, 53),
                        (be.ip, lp.ip, 53, sport),
                    )
                }
                // Node and hostNetwork flows.
                570..=629 => self.node_flow(rng),
                // Pod → database in the VPC, SNAT to the node.
                630..=669 => {
                    let dst = self.r.vpc_private[rng.skewed(self.r.vpc_private.len())];
                    let port = *rng.pick(&[5432u16, 6379, 3306, 9092]);
                    let nport = Self::ephemeral(rng);
                    ((lp.ip, dst, sport, port), (dst, node_ip, port, nport))
                }
                // Leaving the VPC: SNAT, the reply goes to the node IP.
                670..=959 => {
                    let (pool, port) = match roll {
                        670..=769 => {
                            down = true;
                            max_packets = 500_000;
                            (&self.r.s3, 443)
                        }
                        770..=819 => (&self.r.aws_region, 443),
                        820..=859 => (&self.r.aws_other, 443),
                        860..=884 => (&self.r.gcp, 443),
                        885..=909 => (&self.r.azure, 443),
                        _ => (&self.r.internet, *rng.pick(&[443u16, 443, 443, 80, 22])),
                    };
                    let dst = pool[rng.skewed(pool.len())];
                    let nport = if rng.chance(700) {
                        sport
                    } else {
                        Self::ephemeral(rng)
                    };
                    ((lp.ip, dst, sport, port), (dst, node_ip, port, nport))
                }
                // Ingress from the internet through a NodePort.
                960..=974 => {
                    let src = self.r.internet[rng.below(self.r.internet.len() as u64) as usize];
                    let np = rng.range(30000, 32767) as u16;
                    ((src, node_ip, sport, np), (lp.ip, src, lp.port, sport))
                }
                // A pod deleted since the snapshot talking to the internet.
                975..=984 => {
                    let src = if self.c.stale.is_empty() {
                        lp.ip
                    } else {
                        *rng.pick(&self.c.stale)
                    };
                    let dst = self.r.internet[rng.skewed(self.r.internet.len())];
                    ((src, dst, sport, 443), (dst, node_ip, 443, sport))
                }
                // Instance metadata service.
                985..=994 => {
                    max_packets = 12;
                    let md = ip(169, 254, 169, 254);
                    ((lp.ip, md, sport, 80), (md, lp.ip, 80, sport))
                }
                // ICMP echo.
                _ => {
                    l4 = L4::Icmp;
                    max_packets = 10;
                    let dst = if rng.chance(500) {
                        self.r.internet[rng.skewed(self.r.internet.len())]
                    } else {
                        self.other_pod(rng).map(|p| p.ip).unwrap_or(node_ip)
                    };
                    let id = rng.range(1, 65535) as u16;
                    let rdst = if dst >> 24 == 10 { lp.ip } else { node_ip };
                    ((lp.ip, dst, id, 0), (dst, rdst, id, 0))
                }
            }
        };
        self.finish(rng, l4, Addrs::V4(orig, reply), max_packets, down)
    }

    /// Counters, state, flags and timeout for the tuples picked.
    fn finish(&self, rng: &mut Rng, l4: L4, addrs: Addrs, max_packets: u64, down: bool) -> Entry {
        let (mut oc, mut rc) = if max_packets <= 4 {
            // DNS: small queries, larger answers.
            let p = rng.range(1, max_packets);
            ((p, p * rng.range(60, 90)), (p, p * rng.range(90, 400)))
        } else {
            Self::counters(rng, max_packets, down)
        };
        let mut unreplied = false;
        let (mut state, mut timeout) = *rng.pick(TCP_STATES);
        let mut assured = true;
        match l4 {
            L4::Tcp => {
                if rng.chance(20) {
                    unreplied = true;
                    state = "SYN_SENT";
                    timeout = 120;
                    assured = false;
                    oc = (rng.range(1, 3), 0);
                    oc.1 = oc.0 * 60;
                    rc = (0, 0);
                }
            }
            L4::Udp => {
                timeout = 180;
                if rng.chance(20) {
                    unreplied = true;
                    timeout = 30;
                    rc = (0, 0);
                }
                assured = !unreplied && oc.0 > 1 && rc.0 > 1;
                if !assured {
                    timeout = 30;
                }
            }
            L4::Icmp => {
                timeout = 30;
                assured = false;
                rc = oc;
            }
        }
        if rng.chance(20) {
            // Counters zeroed by an earlier `conntrack -L -z`.
            oc = (0, 0);
            rc = (0, 0);
        }
        timeout = rng.range(
            timeout.saturating_sub(timeout / 3),
            timeout.saturating_sub(1).max(1),
        );
        Entry {
            l4,
            addrs,
            oc,
            rc,
            unreplied,
            state,
            timeout,
            assured,
        }
    }

    /// The node's own traffic (kubelet, hostNetwork pods): node IP as source,
    /// or another node talking to the kubelet.
    fn node_flow(&self, rng: &mut Rng) -> (Tuple, Tuple) {
        let me = self.node_ip();
        let sport = Self::ephemeral(rng);
        match rng.below(4) {
            0 => {
                // Control plane endpoint (EKS ENI in the VPC).
                let api = ip(10, 0, 255, 10 + rng.below(2) as u8);
                ((me, api, sport, 443), (api, me, 443, sport))
            }
            1 => {
                let other = &self.c.nodes[rng.below(self.c.nodes.len() as u64) as usize];
                ((other.ip, me, sport, 10250), (me, other.ip, 10250, sport))
            }
            2 => {
                // kube-proxy / aws-node talking to the API via the service IP.
                let api = ip(10, 0, 255, 10);
                ((me, ip(172, 20, 0, 1), sport, 443), (api, me, 443, sport))
            }
            _ => {
                let dst = self.r.aws_region[rng.skewed(self.r.aws_region.len())];
                ((me, dst, sport, 443), (dst, me, 443, sport))
            }
        }
    }
}

const CHUNK: u64 = 32 * 1024;

/// The baseline's own random stream (`--baseline`), apart from the dump's.
const BASELINE_STREAM: u64 = 0x6261_7365_6c69_6e65;

/// The baseline line(s) for one dump entry (`--baseline`): the same
/// connection earlier, or none, or one with larger counters, and now and
/// then an entry that ended before the dump.
fn baseline_entries(g: &Gen, e: &Entry, rng: &mut Rng, out: &mut Vec<u8>) {
    let roll = rng.below(1000);
    let earlier = |c: (u64, u64), num: u64| (c.0 * num / 10, c.1 * num / 10);
    let counters = match roll {
        0..50 => None, // new in the dump
        50..70 => Some(((e.oc.0 + 5, e.oc.1 + 5000), (e.rc.0 + 5, e.rc.1 + 5000))), // reset
        70..170 => Some((e.oc, e.rc)), // unchanged
        _ => {
            let num = rng.range(1, 9);
            Some((earlier(e.oc, num), earlier(e.rc, num)))
        }
    };
    if let Some((oc, rc)) = counters {
        let b = Entry {
            oc,
            rc,
            timeout: e.timeout + 60,
            ..*e
        };
        write_entry(out, &b, g.format);
    }
    if rng.chance(50) {
        let ended = g.line_entry(rng);
        write_entry(out, &ended, g.format);
    }
}

/// Generates chunks in parallel while a writer thread drains them in order,
/// so CPU and disk overlap. With `baseline`, the earlier snapshot of the
/// same entries goes to that file.
fn write_dump(path: &Path, g: &Gen, seed: u64, lines: u64, baseline: Option<&Path>) -> Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let bf = match baseline {
        Some(p) => Some(File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => None,
    };
    stream_dump(f, bf, g, seed, lines).with_context(|| format!("writing {}", path.display()))
}

/// The lines of one node's dump, in order, to `out` (and its baseline's
/// to `bf`).
fn stream_dump(
    out: impl Write + Send,
    bf: Option<File>,
    g: &Gen,
    seed: u64,
    lines: u64,
) -> std::io::Result<()> {
    let with_base = bf.is_some();
    let chunks = lines.div_ceil(CHUNK);
    let batch = (rayon::current_num_threads() as u64 * 2).max(2);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Vec<u8>, Vec<u8>)>>(2);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<()> {
            let mut w = BufWriter::with_capacity(1 << 20, out);
            let mut bw = bf.map(|f| BufWriter::with_capacity(1 << 20, f));
            for bufs in rx {
                for (b, base) in bufs {
                    w.write_all(&b)?;
                    if let Some(bw) = bw.as_mut() {
                        bw.write_all(&base)?;
                    }
                }
            }
            if let Some(bw) = bw.as_mut() {
                bw.flush()?;
            }
            w.flush()
        });
        let mut start = 0;
        while start < chunks {
            let end = (start + batch).min(chunks);
            let bufs: Vec<(Vec<u8>, Vec<u8>)> = (start..end)
                .into_par_iter()
                .map(|ci| {
                    let mut rng = Rng::derive(seed, 100 + g.node as u64, ci);
                    let mut brng = Rng::derive(seed ^ BASELINE_STREAM, 100 + g.node as u64, ci);
                    let n = CHUNK.min(lines - ci * CHUNK);
                    let mut buf = Vec::with_capacity(n as usize * 220);
                    let mut base = Vec::new();
                    if with_base {
                        base.reserve(n as usize * 220);
                    }
                    for _ in 0..n {
                        let e = g.line_entry(&mut rng);
                        write_entry(&mut buf, &e, g.format);
                        if with_base {
                            baseline_entries(g, &e, &mut brng, &mut base);
                        }
                    }
                    (buf, base)
                })
                .collect();
            if tx.send(bufs).is_err() {
                break; // the writer failed; its error is reported below
            }
            start = end;
        }
        drop(tx);
        writer.join().expect("writer thread panicked")
    })
}

/// Dates the baseline `gap` seconds before its dump.
fn date_baseline(dump: &Path, baseline: &Path, gap: u64) -> Result<()> {
    let at = fs::metadata(dump)?.modified()?;
    let earlier = at
        .checked_sub(std::time::Duration::from_secs(gap))
        .context("--baseline-gap reaches before the epoch")?;
    File::options()
        .write(true)
        .open(baseline)?
        .set_modified(earlier)
        .with_context(|| format!("setting the time of {}", baseline.display()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let t0 = std::time::Instant::now();
    let cluster = build_cluster(&args)?;
    let pools = match &args.ranges {
        Some(dir) => file_pools(dir, &args.region)?,
        None => builtin_pools(),
    };
    let rem = remotes(args.seed, &pools, args.shape);

    let dumps = args.out.join("dumps");
    fs::create_dir_all(&dumps).with_context(|| format!("creating {}", dumps.display()))?;
    write_json(
        &args.out.join("inventory.json"),
        &inventory_json(&cluster, &args),
    )?;

    let baselines = args.out.join("baseline");
    if args.baseline {
        fs::create_dir_all(&baselines)
            .with_context(|| format!("creating {}", baselines.display()))?;
    }
    // The dump and, with --baseline, its earlier snapshot.
    let write_pair = |path: &Path, g: &Gen, lines: u64| -> Result<()> {
        let base = args
            .baseline
            .then(|| baselines.join(path.file_name().unwrap()));
        write_dump(path, g, args.seed, lines, base.as_deref())?;
        if let Some(b) = &base {
            date_baseline(path, b, args.baseline_gap)?;
        }
        Ok(())
    };
    let mut written = Vec::new();
    match &args.single_node {
        Some(name) => {
            let node = if name.is_empty() {
                0
            } else {
                cluster
                    .nodes
                    .iter()
                    .position(|n| &n.name == name)
                    .with_context(|| format!("--single-node {name}: no such node"))?
            };
            let g = Gen {
                c: &cluster,
                r: &rem,
                node,
                format: args.format,
                ipv6_ppm: ppm(args.ipv6_share),
            };
            if args.dump_to_stdout {
                eprintln!("gen: node {}", cluster.nodes[node].name);
                match stream_dump(std::io::stdout(), None, &g, args.seed, args.lines) {
                    // The reader stopped early (`| head`): its choice.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    r => r.context("writing the dump to stdout")?,
                }
                written.push((node, PathBuf::from("-"), args.lines));
            } else {
                let path = dumps.join(format!("{}.txt", cluster.nodes[node].name));
                write_pair(&path, &g, args.lines)?;
                written.push((node, path, args.lines));
            }
        }
        None => {
            let n = cluster.nodes.len() as u64;
            for node in 0..cluster.nodes.len() {
                let lines = args.lines / n + u64::from((node as u64) < args.lines % n);
                let g = Gen {
                    c: &cluster,
                    r: &rem,
                    node,
                    format: args.format,
                    ipv6_ppm: ppm(args.ipv6_share),
                };
                let path = dumps.join(format!("{}.txt", cluster.nodes[node].name));
                write_pair(&path, &g, lines)?;
                written.push((node, path, lines));
            }
        }
    }

    let mut manifest = json!({
        "seed": args.seed,
        "nodes": cluster.nodes.len(),
        "pods": cluster.pods.len(),
        "services": cluster.services.len(),
        "lines": args.lines,
        "format": match args.format { Format::Default => "default", Format::Extended => "extended" },
        "ranges": args.ranges.as_ref().map(|p| p.display().to_string()),
        "region": args.region,
        "inventory": "inventory.json",
        "dumps": written.iter().map(|(n, p, l)| json!({
            "node": cluster.nodes[*n].name,
            "path": p.strip_prefix(&args.out).unwrap_or(p).display().to_string(),
            "lines": l,
        })).collect::<Vec<_>>(),
    });
    if let Some(v6) = &cluster.v6 {
        // Only for dual-stack runs: single-stack manifests stay as they were.
        manifest["ipv6_share"] = json!(args.ipv6_share);
        manifest["ipv6_cluster_prefix"] = json!(format!("{}/56", ip6_str(v6.cluster)));
    }
    if args.shape == Shape::Wide {
        manifest["shape"] = json!("wide");
    }
    if args.baseline {
        // Only with --baseline: other manifests stay as they were.
        manifest["baseline"] = json!({
            "dir": "baseline",
            "gap_seconds": args.baseline_gap,
        });
    }
    write_json(&args.out.join("manifest.json"), &manifest)?;
    if let Some((n, _, _)) = written
        .first()
        .filter(|_| args.single_node.is_some() && !args.dump_to_stdout)
    {
        println!("{}", cluster.nodes[*n].name);
    }
    eprintln!(
        "gen: {} nodes, {} pods, {} services, {} lines in {} dump(s) under {} ({:.2} s)",
        cluster.nodes.len(),
        cluster.pods.len(),
        cluster.services.len(),
        args.lines,
        written.len(),
        args.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec![
            "gen",
            "--nodes",
            "12",
            "--pods",
            "400",
            "--out",
            "/nonexistent",
        ];
        v.extend_from_slice(extra);
        Args::parse_from(v)
    }

    fn lines(a: &Args, node: usize, n: u64, chunk: u64) -> String {
        let c = build_cluster(a).unwrap();
        let r = remotes(a.seed, &builtin_pools(), a.shape);
        let g = Gen {
            c: &c,
            r: &r,
            node,
            format: a.format,
            ipv6_ppm: ppm(a.ipv6_share),
        };
        let mut rng = Rng::derive(a.seed, 100 + node as u64, chunk);
        let mut buf = Vec::new();
        for _ in 0..n {
            write_entry(&mut buf, &g.line_entry(&mut rng), a.format);
        }
        String::from_utf8(buf).unwrap()
    }

    /// `n` entries of node `node` with each one's line.
    fn entries(a: &Args, c: &Cluster, node: usize, n: u64) -> Vec<(Entry, String)> {
        let r = remotes(a.seed, &builtin_pools(), a.shape);
        let g = Gen {
            c,
            r: &r,
            node,
            format: a.format,
            ipv6_ppm: ppm(a.ipv6_share),
        };
        let mut rng = Rng::derive(a.seed, 100 + node as u64, 0);
        (0..n)
            .map(|_| {
                let e = g.line_entry(&mut rng);
                let mut buf = Vec::new();
                write_entry(&mut buf, &e, a.format);
                (e, String::from_utf8(buf).unwrap().trim_end().to_string())
            })
            .collect()
    }

    fn field<'a>(line: &'a str, key: &str, nth: usize) -> &'a str {
        line.split(' ')
            .filter_map(|t| t.strip_prefix(key))
            .nth(nth)
            .unwrap_or_else(|| panic!("no {key} #{nth} in {line}"))
    }

    #[test]
    fn a_streamed_dump_is_its_chunks_in_order() {
        let a = args(&[]);
        let c = build_cluster(&a).unwrap();
        let r = remotes(a.seed, &builtin_pools(), a.shape);
        let g = Gen {
            c: &c,
            r: &r,
            node: 1,
            format: a.format,
            ipv6_ppm: ppm(a.ipv6_share),
        };
        let mut out = Vec::new();
        stream_dump(&mut out, None, &g, a.seed, CHUNK + 100).unwrap();
        let want = lines(&a, 1, CHUNK, 0) + &lines(&a, 1, 100, 1);
        assert!(String::from_utf8(out).unwrap() == want);
        // stdout holds one dump only
        assert!(Args::try_parse_from(["gen", "--out", "x", "--dump-to-stdout"]).is_err());
        assert!(
            Args::try_parse_from(["gen", "--out", "x", "--single-node", "--dump-to-stdout"])
                .unwrap()
                .dump_to_stdout
        );
    }

    #[test]
    fn baseline_is_an_earlier_snapshot_and_leaves_the_dump_alone() {
        use kubenetmon::label::baseline::{self, Delta};
        use kubenetmon::label::pipeline::{Options, Quiet};
        let a = args(&[]);
        let c = build_cluster(&a).unwrap();
        let r = remotes(a.seed, &builtin_pools(), a.shape);
        let g = Gen {
            c: &c,
            r: &r,
            node: 3,
            format: a.format,
            ipv6_ppm: 0,
        };
        let dir = tempfile::tempdir().unwrap();
        let (plain, dump, base) = (
            dir.path().join("plain.txt"),
            dir.path().join("dump.txt"),
            dir.path().join("base.txt"),
        );
        let n = 2 * CHUNK + 1000;
        write_dump(&plain, &g, a.seed, n, None).unwrap();
        write_dump(&dump, &g, a.seed, n, Some(&base)).unwrap();
        assert_eq!(fs::read(&plain).unwrap(), fs::read(&dump).unwrap());
        // The same again: deterministic.
        let base2 = dir.path().join("base2.txt");
        write_dump(&dump, &g, a.seed, n, Some(&base2)).unwrap();
        assert_eq!(fs::read(&base).unwrap(), fs::read(&base2).unwrap());
        date_baseline(&dump, &base, 300).unwrap();
        let mtime = |p: &Path| fs::metadata(p).unwrap().modified().unwrap();
        assert_eq!(
            mtime(&dump).duration_since(mtime(&base)).unwrap().as_secs(),
            300
        );

        // What label --baseline makes of the pair: the shares written.
        let text = fs::read(&base).unwrap();
        let b =
            baseline::load(&text[..], "base", None, Options::with_window(2), &mut Quiet).unwrap();
        assert_eq!(b.read.malformed, 0);
        let m = b.into_matcher(false);
        let dump_text = fs::read_to_string(&dump).unwrap();
        let (mut new, mut reset, mut unchanged, mut matched) = (0u64, 0u64, 0u64, 0u64);
        for (i, line) in dump_text.lines().enumerate() {
            let f = kubenetmon::conntrack::parse_line(line.as_bytes(), i as u64 + 1)
                .unwrap()
                .unwrap();
            match m.compare(&f) {
                Delta::New => new += 1,
                Delta::Reset => reset += 1,
                Delta::Unchanged => unchanged += 1,
                Delta::Matched { .. } => matched += 1,
            }
        }
        let t = m.tally();
        let per_mille = |k: u64| k * 1000 / n;
        // 5 % new, 2 % reset, 10 % unchanged (less the zero-counter
        // entries, which stay zero: matched), the rest smaller; 5 % ended.
        assert!((40..=60).contains(&per_mille(new)), "new {new}");
        assert!((13..=27).contains(&per_mille(reset)), "reset {reset}");
        assert!(
            (80..=110).contains(&per_mille(unchanged)),
            "unchanged {unchanged}"
        );
        assert!(per_mille(matched) > 780, "matched {matched}");
        assert!((40..=60).contains(&per_mille(t.ended)), "ended {}", t.ended);
        assert_eq!(t.entries, t.matched + t.reset + t.ended + t.duplicate);
    }

    #[test]
    fn same_seed_same_output_other_seed_other_output() {
        let a = args(&["--seed", "7"]);
        assert_eq!(lines(&a, 3, 2000, 0), lines(&a, 3, 2000, 0));
        assert_ne!(
            lines(&a, 3, 2000, 0),
            lines(&args(&["--seed", "8"]), 3, 2000, 0)
        );
        assert_eq!(
            inventory_json(&build_cluster(&a).unwrap(), &a),
            inventory_json(&build_cluster(&a).unwrap(), &a)
        );
    }

    #[test]
    fn lines_have_conntrack_shape() {
        let text = lines(&args(&[]), 0, 5000, 0);
        let mut protos = HashSet::new();
        for l in text.lines() {
            let head: Vec<&str> = l.split_whitespace().take(2).collect();
            assert!(
                matches!(head[..], ["tcp", "6"] | ["udp", "17"] | ["icmp", "1"]),
                "{l}"
            );
            protos.insert(head[0].to_string());
            assert_eq!(l.matches("src=").count(), 2, "{l}");
            assert_eq!(l.matches("packets=").count(), 2, "{l}");
            assert!(l.ends_with(" mark=0 use=1"), "{l}");
            if l.contains("[UNREPLIED]") {
                assert_eq!(field(l, "packets=", 1), "0", "{l}");
            }
        }
        assert_eq!(protos.len(), 3);
        assert!(text.contains("[UNREPLIED]"));
        assert!(text.contains("packets=0 bytes=0 src="));
        let ext = lines(&args(&["--format", "extended"]), 0, 50, 0);
        assert!(ext.lines().all(|l| l.starts_with("ipv4     2 ")));
    }

    #[test]
    fn every_line_parses_back_to_what_was_written() {
        for format in ["default", "extended"] {
            let text = lines(&args(&["--format", format]), 1, 3000, 5);
            for (i, l) in text.lines().enumerate() {
                let f = kubenetmon::conntrack::parse_line(l.as_bytes(), i as u64 + 1)
                    .unwrap_or_else(|e| panic!("{l}: {e}"))
                    .unwrap_or_else(|| panic!("not a flow: {l}"));
                assert_eq!(f.orig.src.to_string(), field(l, "src=", 0), "{l}");
                assert_eq!(f.orig.dst.to_string(), field(l, "dst=", 0), "{l}");
                assert_eq!(f.reply.src.to_string(), field(l, "src=", 1), "{l}");
                assert_eq!(f.reply.dst.to_string(), field(l, "dst=", 1), "{l}");
                let c = f.reply.counters.unwrap();
                assert_eq!(c.bytes.to_string(), field(l, "bytes=", 1), "{l}");
            }
        }
    }

    #[test]
    fn nat_follows_the_cluster() {
        let a = args(&[]);
        let c = build_cluster(&a).unwrap();
        let node_ip = ip_str(c.nodes[0].ip);
        let pod_ips: HashSet<String> = c.pods.iter().map(|p| ip_str(p.ip)).collect();
        let (mut clusterip, mut snat) = (0, 0);
        for l in lines(&a, 0, 5000, 0).lines() {
            let dst: std::net::Ipv4Addr = field(l, "dst=", 0).parse().unwrap();
            if dst.octets()[..2] == [172, 20] && dst != std::net::Ipv4Addr::new(172, 20, 0, 1) {
                // ClusterIP: the reply comes from a backing pod.
                assert!(pod_ips.contains(field(l, "src=", 1)), "{l}");
                clusterip += 1;
            } else if !dst.is_private() && !dst.is_link_local() && !l.starts_with("icmp") {
                // Leaving the VPC from a pod: SNAT to the node's IP.
                if field(l, "src=", 0).starts_with("10.244.") {
                    assert_eq!(field(l, "dst=", 1), node_ip, "{l}");
                    snat += 1;
                }
            }
        }
        assert!(clusterip > 100 && snat > 100, "{clusterip} {snat}");
    }

    #[test]
    fn inventory_has_kubectl_shape_and_ip_sharing() {
        let a = args(&[]);
        let c = build_cluster(&a).unwrap();
        let v = inventory_json(&c, &a);
        assert_eq!(v["kind"], "List");
        assert_eq!(v["apiVersion"], "v1");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), c.pods.len() + c.nodes.len() + c.services.len());
        assert_eq!(c.pods.len(), 400);
        let kinds = |k: &str| items.iter().filter(|i| i["kind"] == k).count();
        assert_eq!(kinds("Node"), 12);
        assert_eq!(kinds("Pod"), 400);
        let node = items.iter().find(|i| i["kind"] == "Node").unwrap();
        assert!(node["spec"]["providerID"]
            .as_str()
            .unwrap()
            .starts_with("aws:///us-east-1"));
        assert_eq!(node["status"]["addresses"][0]["type"], "InternalIP");
        let node_ips: HashSet<&str> = items
            .iter()
            .filter(|i| i["kind"] == "Node")
            .map(|i| i["status"]["addresses"][0]["address"].as_str().unwrap())
            .collect();
        let pods: Vec<&Value> = items.iter().filter(|i| i["kind"] == "Pod").collect();
        let host_net = pods.iter().filter(|p| p["spec"]["hostNetwork"] == true);
        assert!(host_net
            .clone()
            .all(|p| node_ips.contains(p["status"]["podIP"].as_str().unwrap())));
        assert!(host_net.count() >= 12);
        let running: HashSet<&str> = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Running" && p["spec"]["hostNetwork"] != true)
            .map(|p| p["status"]["podIP"].as_str().unwrap())
            .collect();
        let reused = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Succeeded")
            .filter(|p| running.contains(p["status"]["podIP"].as_str().unwrap()))
            .count();
        assert!(reused > 0);
        assert!(pods
            .iter()
            .any(|p| p["metadata"]["labels"]["control-plane-id"].is_string()));
        assert!(pods
            .iter()
            .any(|p| p["metadata"]["labels"]["k8s-app"].is_string()));
        let kube_dns = items
            .iter()
            .find(|i| i["kind"] == "Service" && i["metadata"]["name"] == "kube-dns")
            .unwrap();
        assert_eq!(kube_dns["spec"]["clusterIPs"][0], "172.20.0.10");
    }

    type AnyTuple = (std::net::IpAddr, std::net::IpAddr, u16, u16);

    #[test]
    fn ipv6_lines_parse_back_to_the_tuples_written() {
        use kubenetmon::conntrack::{Family, Icmp, IcmpTuples};
        use kubenetmon::model::Protocol;
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        for format in ["default", "extended"] {
            let a = args(&["--format", format, "--ipv6-share", "0.5"]);
            let c = build_cluster(&a).unwrap();
            let (mut v6, mut icmp6) = (0, 0);
            for (i, (e, l)) in entries(&a, &c, 2, 4000).iter().enumerate() {
                let f = kubenetmon::conntrack::parse_line(l.as_bytes(), i as u64 + 1)
                    .unwrap_or_else(|err| panic!("{l}: {err}"))
                    .unwrap_or_else(|| panic!("not a flow: {l}"));
                let (o, r): (AnyTuple, AnyTuple) = match e.addrs {
                    Addrs::V4(o, r) => {
                        let t = |t: Tuple| {
                            let ip = |a: u32| IpAddr::V4(Ipv4Addr::from(a));
                            (ip(t.0), ip(t.1), t.2, t.3)
                        };
                        (t(o), t(r))
                    }
                    Addrs::V6(o, r) => {
                        v6 += 1;
                        assert_eq!(f.family, Family::Ipv6, "{l}");
                        assert_eq!(l.starts_with("ipv6     10 "), format == "extended", "{l}");
                        let t = |t: Tuple6| {
                            let ip = |a: u128| IpAddr::V6(Ipv6Addr::from(a));
                            (ip(t.0), ip(t.1), t.2, t.3)
                        };
                        (t(o), t(r))
                    }
                };
                assert_eq!((f.orig.src, f.orig.dst), (o.0, o.1), "{l}");
                assert_eq!((f.reply.src, f.reply.dst), (r.0, r.1), "{l}");
                if e.l4 == L4::Icmp {
                    let (req, rep) = if f.family == Family::Ipv6 {
                        icmp6 += 1;
                        assert_eq!(f.protocol, Protocol::Icmpv6, "{l}");
                        (128, 129)
                    } else {
                        (8, 0)
                    };
                    let echo = |icmp_type, id| Icmp {
                        icmp_type,
                        code: 0,
                        id,
                    };
                    assert_eq!(
                        f.icmp,
                        Some(IcmpTuples {
                            orig: echo(req, o.2),
                            reply: echo(rep, r.2)
                        }),
                        "{l}"
                    );
                } else {
                    assert_eq!((f.orig.sport, f.orig.dport), (Some(o.2), Some(o.3)), "{l}");
                    assert_eq!(
                        (f.reply.sport, f.reply.dport),
                        (Some(r.2), Some(r.3)),
                        "{l}"
                    );
                }
                let c = |(packets, bytes)| Some(kubenetmon::model::Counters { packets, bytes });
                assert_eq!(
                    (f.orig.counters, f.reply.counters),
                    (c(e.oc), c(e.rc)),
                    "{l}"
                );
            }
            assert!((1700..2300).contains(&v6), "{v6} IPv6 lines of 4000");
            assert!(icmp6 > 0);
        }
    }

    #[test]
    fn dual_stack_inventory_lists_both_families_and_ipv6_flows_use_them() {
        let a = args(&["--ipv6-share", "0.3"]);
        let c = build_cluster(&a).unwrap();
        let plan = c.v6.as_ref().expect("dual-stack");
        let v = inventory_json(&c, &a);
        let items = v["items"].as_array().unwrap();
        let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().map(u128::from).unwrap();
        let mut node_v6 = HashSet::new();
        for n in items.iter().filter(|i| i["kind"] == "Node") {
            let internal: Vec<&str> = n["status"]["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["type"] == "InternalIP")
                .map(|a| a["address"].as_str().unwrap())
                .collect();
            assert_eq!(internal.len(), 2, "{internal:?}");
            assert!(internal[0].parse::<std::net::Ipv4Addr>().is_ok());
            // Inside the cluster's /56.
            assert_eq!(v6(internal[1]) >> 72, plan.cluster >> 72, "{}", internal[1]);
            assert!(node_v6.insert(v6(internal[1])), "duplicate {}", internal[1]);
        }
        let mut pod_v6 = HashSet::new();
        for (p, item) in c
            .pods
            .iter()
            .zip(items.iter().filter(|i| i["kind"] == "Pod"))
        {
            let ips = item["status"]["podIPs"].as_array().unwrap();
            assert_eq!(ips.len(), 2);
            assert_eq!(ips[0]["ip"], ip_str(p.ip));
            assert_eq!(item["status"]["podIP"], ip_str(p.ip));
            let a = v6(ips[1]["ip"].as_str().unwrap());
            if p.host_network {
                assert_eq!(a, plan.node_ip[p.node]);
            } else {
                // From its node's /80.
                assert_eq!(a >> 48, plan.node_prefix[p.node] >> 48);
            }
            assert_eq!(
                item["status"]["hostIPs"][1]["ip"],
                ip6_str(plan.node_ip[p.node])
            );
            pod_v6.insert(a);
        }
        // Running pods own distinct addresses, as in IPv4.
        let running: Vec<&Pod> = c
            .pods
            .iter()
            .filter(|p| !p.host_network && p.phase == "Running")
            .collect();
        let distinct: HashSet<u128> = running.iter().map(|p| plan.of(p.ip).unwrap()).collect();
        assert_eq!(distinct.len(), running.len());
        // The IPv6 flows start or end at the inventory's pods and nodes.
        let known: HashSet<u128> = pod_v6.union(&node_v6).copied().collect();
        let mut remote_aws = 0;
        for (e, l) in entries(&a, &c, 0, 3000) {
            if let Addrs::V6(o, r) = e.addrs {
                assert!(known.contains(&o.0) || known.contains(&o.1), "{l}");
                // No NAT.
                assert_eq!((r.0, r.1), (o.1, o.0), "{l}");
                remote_aws += usize::from(o.1 >> 112 == 0x2600 && !known.contains(&o.1));
            }
        }
        assert!(remote_aws > 50, "{remote_aws}");
        // Single-stack without the option.
        let a = args(&[]);
        let c = build_cluster(&a).unwrap();
        assert!(c.v6.is_none());
        let v = inventory_json(&c, &a);
        let pod = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "Pod")
            .unwrap();
        assert_eq!(pod["status"]["podIPs"].as_array().unwrap().len(), 1);
        assert!(Args::try_parse_from(["gen", "--out", "x", "--ipv6-share", "1.5"]).is_err());
    }
}
