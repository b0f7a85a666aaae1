//! SPEC §5 `--node` inference: the node a dump was taken on is the one
//! whose pods and InternalIP occur in the most flows, if it is clearly
//! ahead (at least twice the runner-up's count).
//!
//! It needs a pass over the whole dump before labelling can start (the
//! direction rules of §3.6 depend on the node), so an inferred dump is
//! read twice; stdin, which cannot be read twice, needs `--node`.

use std::collections::HashMap;
use std::io::BufRead;
use std::net::IpAddr;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use thiserror::Error;

use super::pipeline::{Options, PipelineError};
use crate::conntrack::{parse_chunk, ChunkReader, Flow};
use crate::inventory::Inventory;

/// How often each node's pods and InternalIPs occur in a dump's flows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeVotes {
    /// Node name → number of flows that mention it (once per flow).
    pub counts: HashMap<String, u64>,
}

/// The outcome of node inference (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeGuess {
    Node(String),
    /// No flow mentions any node of the inventory.
    Nothing,
    /// The winner has fewer than twice the runner-up's flows.
    Ambiguous {
        first: (String, u64),
        second: (String, u64),
    },
}

/// Most nodes a flow can vote for (four addresses, each an InternalIP's
/// node and the nodes of the pods on it); more are not counted.
const MAX_VOTES: usize = 8;

/// The votes of §5's inference, precomputed: every address that votes,
/// resolved once to the nodes it votes for (the InternalIP's node first,
/// then its pods' nodes, as the inventory lists them), as small ids. A
/// flow then costs four lookups and no strings. Build one per pass.
pub struct Voter<'a> {
    names: Vec<&'a str>,
    /// Address → `ids[start..start + len]`.
    by_ip: FxHashMap<IpAddr, (u32, u32)>,
    ids: Vec<u32>,
}

/// Votes per node id of a [`Voter`]; add up with [`Tally::merge`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(Vec<u64>);

impl Tally {
    pub fn merge(&mut self, other: &Tally) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a += b;
        }
    }
}

impl<'a> Voter<'a> {
    pub fn new(inv: &'a Inventory) -> Voter<'a> {
        let mut v = Voter {
            names: Vec::new(),
            by_ip: FxHashMap::default(),
            ids: Vec::new(),
        };
        let mut name_ids: HashMap<&'a str, u32> = HashMap::new();
        let ips = inv
            .nodes()
            .iter()
            .flat_map(|n| n.internal_ips.iter())
            .chain(inv.pods().iter().flat_map(|p| p.ips.iter()));
        for &ip in ips {
            if v.by_ip.contains_key(&ip) {
                continue;
            }
            let start = v.ids.len() as u32;
            let node = inv.node_by_internal_ip(ip).map(|n| n.name.as_str());
            for name in node.into_iter().chain(
                inv.pods_by_ip(ip)
                    .map(|p| p.node_name.as_str())
                    .filter(|s| !s.is_empty()),
            ) {
                let next = v.names.len() as u32;
                let id = *name_ids.entry(name).or_insert(next);
                if id == next {
                    v.names.push(name);
                }
                v.ids.push(id);
            }
            let len = v.ids.len() as u32 - start;
            if len > 0 {
                v.by_ip.insert(ip, (start, len));
            }
        }
        v
    }

    pub fn tally(&self) -> Tally {
        Tally(vec![0; self.names.len()])
    }

    /// One vote for each node the flow mentions (once per flow).
    #[inline]
    pub fn add_flow(&self, t: &mut Tally, f: &Flow) {
        let mut hit = [u32::MAX; MAX_VOTES];
        let mut n = 0;
        for ip in [f.orig.src, f.orig.dst, f.reply.src, f.reply.dst] {
            let Some(&(start, len)) = self.by_ip.get(&ip) else {
                continue;
            };
            for &id in &self.ids[start as usize..(start + len) as usize] {
                if n < MAX_VOTES && !hit[..n].contains(&id) {
                    hit[n] = id;
                    n += 1;
                }
            }
        }
        if t.0.len() < self.names.len() {
            t.0.resize(self.names.len(), 0);
        }
        for &id in &hit[..n] {
            t.0[id as usize] += 1;
        }
    }

    /// The votes by node name (nodes without a vote left out).
    pub fn votes(&self, t: &Tally) -> NodeVotes {
        NodeVotes {
            counts: t
                .0
                .iter()
                .zip(&self.names)
                .filter(|(c, _)| **c > 0)
                .map(|(c, name)| (name.to_string(), *c))
                .collect(),
        }
    }
}

impl NodeVotes {
    /// Nodes by descending count (ties by name, for stable messages).
    pub fn ranked(&self) -> Vec<(String, u64)> {
        let mut v: Vec<_> = self.counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// The node the dump was taken on, if the votes are clear: the winner
    /// needs at least twice the runner-up's count.
    pub fn decide(&self) -> NodeGuess {
        let ranked = self.ranked();
        match ranked.as_slice() {
            [] => NodeGuess::Nothing,
            [(_, 0), ..] => NodeGuess::Nothing,
            [(name, _)] => NodeGuess::Node(name.clone()),
            [first, second, ..] => {
                if first.1 >= 2 * second.1 {
                    NodeGuess::Node(first.0.clone())
                } else {
                    NodeGuess::Ambiguous {
                        first: first.clone(),
                        second: second.clone(),
                    }
                }
            }
        }
    }
}

/// First pass for node inference: counts, per node, the flows that mention
/// one of its pods or its InternalIP. Malformed lines are skipped here (the
/// labelling pass reports them).
pub fn count_node_votes<R: BufRead>(
    input: R,
    file: &str,
    inv: &Inventory,
    opts: Options,
) -> Result<NodeVotes, PipelineError> {
    let mut reader = ChunkReader::with_chunk_bytes(input, opts.chunk_bytes);
    let voter = Voter::new(inv);
    let mut total = voter.tally();
    loop {
        let mut chunks = Vec::with_capacity(opts.window.max(1));
        for c in reader.by_ref().take(opts.window.max(1)) {
            chunks.push(c.map_err(|source| PipelineError::Read {
                file: file.to_string(),
                source,
            })?);
        }
        if chunks.is_empty() {
            return Ok(voter.votes(&total));
        }
        let parts: Vec<Tally> = chunks
            .par_iter()
            .map(|c| {
                let mut t = voter.tally();
                for f in &parse_chunk(c).flows {
                    voter.add_flow(&mut t, f);
                }
                t
            })
            .collect();
        for p in &parts {
            total.merge(p);
        }
    }
}

/// Why a dump's node could not be inferred.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NodeError {
    #[error(
        "{file}: cannot infer the node: no flow mentions a pod or InternalIP of a node in \
         the inventory; give --node NODE or NODE={file}"
    )]
    Nothing { file: String },
    #[error(
        "{file}: cannot infer the node: {} ({} flows) is not clearly ahead of {} ({} flows); \
         give --node NODE or NODE={file}",
        first.0, first.1, second.0, second.1
    )]
    Ambiguous {
        file: String,
        first: (String, u64),
        second: (String, u64),
    },
}

/// An inferred node and the number of flows that mention it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred {
    pub node: String,
    pub flows: u64,
}

/// Infers the node of one dump (see the module documentation).
pub fn infer_node<R: BufRead>(
    input: R,
    file: &str,
    inv: &Inventory,
    opts: Options,
) -> Result<Result<Inferred, NodeError>, PipelineError> {
    let votes = count_node_votes(input, file, inv, opts)?;
    Ok(match votes.decide() {
        NodeGuess::Node(node) => Ok(Inferred {
            flows: votes.counts[&node],
            node,
        }),
        NodeGuess::Nothing => Err(NodeError::Nothing {
            file: file.to_string(),
        }),
        NodeGuess::Ambiguous { first, second } => Err(NodeError::Ambiguous {
            file: file.to_string(),
            first,
            second,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Node, Pod, PodPhase};

    fn inv() -> Inventory {
        let pod = |name: &str, node: &str, ip: &str| Pod {
            name: name.into(),
            namespace: "ns".into(),
            node_name: node.into(),
            phase: PodPhase::Running,
            ips: vec![ip.parse().unwrap()],
            ..Default::default()
        };
        let node = |name: &str, ip: &str| Node {
            name: name.into(),
            internal_ips: vec![ip.parse().unwrap()],
            ..Default::default()
        };
        Inventory::from_objects(
            vec![
                pod("a1", "node-a", "10.244.1.11"),
                pod("a2", "node-a", "10.244.1.12"),
                pod("b1", "node-b", "10.244.2.12"),
            ],
            vec![node("node-a", "10.0.1.10"), node("node-b", "10.0.2.20")],
            vec![],
        )
        .unwrap()
    }

    fn line(src: &str, dst: &str) -> String {
        format!(
            "tcp      6 117 TIME_WAIT src={src} dst={dst} sport=1000 dport=80 packets=2 bytes=7 \
             src={dst} dst={src} sport=80 dport=1000 packets=1 bytes=10 [ASSURED] mark=0 use=1\n"
        )
    }

    #[test]
    fn node_votes_pick_the_clear_winner_and_refuse_close_calls() {
        let inv = inv();
        let count = |text: &str| {
            count_node_votes(text.as_bytes(), "x", &inv, Options::with_window(2)).unwrap()
        };
        // Three flows mention node-a's pods, one of them also node-b's pod.
        let mut text = line("10.244.1.11", "203.0.113.1");
        text += &line("10.244.1.12", "203.0.113.1");
        text += &line("10.244.1.11", "10.244.2.12");
        let v = count(&text);
        assert_eq!(v.counts["node-a"], 3);
        assert_eq!(v.counts["node-b"], 1);
        assert_eq!(v.decide(), NodeGuess::Node("node-a".into()));
        // InternalIP counts too; 3 vs 2 is not a clear win.
        text += &line("10.0.2.20", "203.0.113.1");
        let v = count(&text);
        assert_eq!(
            v.decide(),
            NodeGuess::Ambiguous {
                first: ("node-a".into(), 3),
                second: ("node-b".into(), 2)
            }
        );
        // Exactly twice is enough.
        text += &line("10.244.1.12", "203.0.113.9");
        assert_eq!(count(&text).decide(), NodeGuess::Node("node-a".into()));
        assert_eq!(count("").decide(), NodeGuess::Nothing);
        assert_eq!(
            count(&line("198.51.100.1", "203.0.113.1")).decide(),
            NodeGuess::Nothing
        );
    }

    #[test]
    fn shared_addresses_vote_once_per_node_and_flow() {
        let pod = |name: &str, node: &str, ip: &str, phase| Pod {
            name: name.into(),
            namespace: "ns".into(),
            node_name: node.into(),
            phase,
            ips: vec![ip.parse().unwrap()],
            ..Default::default()
        };
        let node = |name: &str, ip: &str| Node {
            name: name.into(),
            internal_ips: vec![ip.parse().unwrap()],
            ..Default::default()
        };
        let inv = Inventory::from_objects(
            vec![
                pod("a1", "node-a", "10.244.1.11", PodPhase::Running),
                // hostNetwork: the node's own address.
                pod("h", "node-a", "10.0.1.10", PodPhase::Running),
                // A finished pod elsewhere whose IP was reused.
                pod("old", "node-b", "10.244.1.11", PodPhase::Succeeded),
                // Not scheduled: no vote.
                pod("p", "", "10.244.3.3", PodPhase::Pending),
            ],
            vec![node("node-a", "10.0.1.10"), node("node-b", "10.0.2.20")],
            vec![],
        )
        .unwrap();
        let mut text = line("10.244.1.11", "203.0.113.1"); // a, b
        text += &line("10.0.1.10", "10.244.1.11"); // a (twice over), b
        text += &line("10.244.3.3", "203.0.113.1"); // nobody
        text += &line("10.0.2.20", "10.0.2.20"); // b once
        let v = count_node_votes(text.as_bytes(), "x", &inv, Options::with_window(2)).unwrap();
        let want: HashMap<String, u64> = [("node-a".to_string(), 2), ("node-b".to_string(), 3)]
            .into_iter()
            .collect();
        assert_eq!(v.counts, want);
        // Per chunk and merged, the same.
        let voter = Voter::new(&inv);
        let mut total = voter.tally();
        for l in text.lines() {
            let mut t = voter.tally();
            let f = crate::conntrack::parse_line(l.as_bytes(), 1)
                .unwrap()
                .unwrap();
            voter.add_flow(&mut t, &f);
            total.merge(&t);
        }
        assert_eq!(voter.votes(&total), v);
    }

    #[test]
    fn inference_names_the_file_and_the_two_leaders() {
        let inv = inv();
        let mut text = line("10.244.1.11", "203.0.113.1");
        text += &line("10.244.2.12", "203.0.113.1");
        let got = infer_node(text.as_bytes(), "d.txt", &inv, Options::with_window(2)).unwrap();
        let msg = got.unwrap_err().to_string();
        assert!(
            msg.starts_with("d.txt: cannot infer the node: node-a (1 flows) is not clearly ahead of node-b (1 flows)"),
            "{msg}"
        );
        text += &line("10.244.1.12", "203.0.113.1");
        text += &line("10.244.1.12", "203.0.113.2");
        let got = infer_node(text.as_bytes(), "d.txt", &inv, Options::with_window(2)).unwrap();
        assert_eq!(
            got,
            Ok(Inferred {
                node: "node-a".into(),
                flows: 3
            })
        );
        let got = infer_node("".as_bytes(), "e.txt", &inv, Options::with_window(2)).unwrap();
        assert_eq!(
            got,
            Err(NodeError::Nothing {
                file: "e.txt".into()
            })
        );
    }
}
