//! SPEC §8: deltas between cumulative snapshots (`label DUMP --baseline PREV`).
//!
//! Plain `conntrack -L` snapshots carry lifetime counters (§1.4), so the
//! bytes of an interval are DUMP − PREV for every connection in both.
//! [`load`] reads PREV (in parallel chunks, merged in input order) into a
//! [`Baseline`]; [`Baseline::into_matcher`] indexes it once DUMP's first
//! entry says whether the conntrack id belongs in the key; the pipeline
//! then asks [`Matcher::compare`] about every DUMP entry before any §3
//! rule, and [`Matcher::tally`] says what became of PREV's entries.
//!
//! The map is one hash table of `u32` indices into a `Vec` of 96-byte
//! entries (key, four counters, id, state): an index map. At a million
//! entries that is ~96 MB of entries and ~10 MB of table, where a
//! `HashMap<ConnectionKey, counters>` would hold ~200 MB of buckets, half
//! of them empty (docs/performance.md).

use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::sync::atomic::{AtomicU8, Ordering};

use hashbrown::hash_table::{Entry as Slot, HashTable};
use rayon::prelude::*;
use rustc_hash::FxHasher;
use thiserror::Error;

use super::node::{NodeVotes, Tally, Voter};
use super::pipeline::{Observer, Options, PipelineError};
use crate::conntrack::{parse_chunk, parse_line, Chunk, ChunkReader, ConnectionKey, Flow};
use crate::inventory::Inventory;
use crate::model::Counters;

/// A flow's four counters: original packets and bytes, reply packets and
/// bytes. A side without counters (accounting off) counts as zeros (§8).
pub type Four = [u64; 4];

/// The counters §8 compares.
pub fn four(flow: &Flow) -> Four {
    let o = flow.orig.counters.unwrap_or_default();
    let r = flow.reply.counters.unwrap_or_default();
    [o.packets, o.bytes, r.packets, r.bytes]
}

/// What SPEC §8 makes of one DUMP entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    /// Not in PREV: the entry keeps its own counters.
    New,
    /// In PREV, but a counter went down: a new connection on a reused
    /// tuple, which keeps its own counters.
    Reset,
    /// In PREV, nothing moved, and the entry is not zero on its own:
    /// `ignored.unchanged`, before any §3 rule.
    Unchanged,
    /// The delta (DUMP − PREV), labelled as usual.
    Matched { orig: Counters, reply: Counters },
}

/// §8 for one DUMP entry with counters `cur` whose key is in PREV with
/// counters `prev`. Pure.
///
/// An entry that is zero on its own (and PREV's too) is `Matched` with a
/// zero delta, so §3 counts it as `zero_counters`, as before.
pub fn delta(cur: Four, prev: Four) -> Delta {
    if cur.iter().zip(&prev).any(|(c, p)| c < p) {
        return Delta::Reset;
    }
    let d = [
        cur[0] - prev[0],
        cur[1] - prev[1],
        cur[2] - prev[2],
        cur[3] - prev[3],
    ];
    if d == [0; 4] && cur != [0; 4] {
        return Delta::Unchanged;
    }
    Delta::Matched {
        orig: Counters {
            packets: d[0],
            bytes: d[1],
        },
        reply: Counters {
            packets: d[2],
            bytes: d[3],
        },
    }
}

/// What became of PREV's entries, and what was read: the `baseline`
/// object of the summary (SPEC §8; the keys after `duplicate` are extras).
/// `entries = matched + reset + ended + duplicate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaselineCounts {
    /// PREV's lines that parsed as flows.
    pub entries: u64,
    /// A DUMP entry took its delta from it.
    pub matched: u64,
    /// Only DUMP entries whose counters went down had its key.
    pub reset: u64,
    /// No DUMP entry had its key: the connection ended in between.
    pub ended: u64,
    /// A later PREV line had the same key (the later line wins).
    pub duplicate: u64,
    /// DUMP entries whose key is not in PREV (their own counters).
    pub new: u64,
    /// PREV's lines, every kind.
    pub lines: u64,
    /// PREV's malformed lines.
    pub malformed: u64,
    /// Dumps compared with a baseline.
    pub dumps: u64,
    /// Of those, the ones whose key included the conntrack id (both dumps
    /// carry ids).
    pub dumps_keyed_by_id: u64,
}

impl BaselineCounts {
    pub fn merge(&mut self, o: &BaselineCounts) {
        self.entries += o.entries;
        self.matched += o.matched;
        self.reset += o.reset;
        self.ended += o.ended;
        self.duplicate += o.duplicate;
        self.new += o.new;
        self.lines += o.lines;
        self.malformed += o.malformed;
        self.dumps += o.dumps;
        self.dumps_keyed_by_id += o.dumps_keyed_by_id;
    }
}

/// What reading PREV found, besides its entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineRead {
    pub lines: u64,
    pub flows: u64,
    pub malformed: u64,
    /// Flows with a conntrack `id=` (`-o id`).
    pub with_ids: u64,
    /// The latest event timestamp (`conntrack -E -o timestamp`), if any:
    /// PREV's observation time under §5's rules.
    pub latest_event: Option<i64>,
    /// §5's node votes, when an inventory was given to [`load`].
    pub votes: Option<NodeVotes>,
}

/// Why PREV cannot be used.
#[derive(Debug, Error)]
pub enum BaselineError {
    #[error(transparent)]
    Read(#[from] PipelineError),
    #[error("{file}: more than {limit} entries; a baseline this large does not fit the index")]
    TooLarge { file: String, limit: u64 },
}

const UNMATCHED: u8 = 0;
const RESET: u8 = 1;
/// The highest state a lookup can set, so it is stored, not max-ed.
const MATCHED: u8 = 2;
const DUPLICATE: u8 = 3;

/// One PREV entry. 96 bytes (a unit test keeps it so).
struct Entry {
    key: ConnectionKey,
    counters: Four,
    id: u32,
    has_id: bool,
    /// `UNMATCHED`…`DUPLICATE`; set by lookups from several threads.
    state: AtomicU8,
}

impl Entry {
    fn of(flow: &Flow) -> Entry {
        Entry {
            key: flow.connection_key(),
            counters: four(flow),
            id: flow.id.unwrap_or(0),
            has_id: flow.id.is_some(),
            state: AtomicU8::new(UNMATCHED),
        }
    }

    fn id(&self) -> Option<u32> {
        self.has_id.then_some(self.id)
    }
}

/// PREV, read: its entries in input order, not yet indexed, because how
/// they are keyed depends on DUMP (SPEC §8 adds the id when both dumps
/// carry ids).
pub struct Baseline {
    entries: Vec<Entry>,
    pub read: BaselineRead,
}

struct Part {
    lines: u64,
    malformed: Vec<crate::conntrack::Malformed>,
    entries: Vec<Entry>,
    with_ids: u64,
    latest_event: Option<i64>,
    votes: Option<Tally>,
}

fn read_chunk(chunk: &Chunk, voter: Option<&Voter<'_>>) -> Part {
    let parsed = parse_chunk(chunk);
    let votes = voter.map(|v| {
        let mut t = v.tally();
        for f in &parsed.flows {
            v.add_flow(&mut t, f);
        }
        t
    });
    Part {
        lines: parsed.lines,
        with_ids: parsed.flows.iter().filter(|f| f.id.is_some()).count() as u64,
        latest_event: parsed.flows.iter().filter_map(|f| f.timestamp).max(),
        entries: parsed.flows.iter().map(Entry::of).collect(),
        malformed: parsed.malformed,
        votes,
    }
}

/// Reads PREV. Malformed lines go to `observer` as in any dump (with
/// `opts.strict` the first is an error). With an `inventory`, §5's node
/// votes are counted in the same pass, so a baseline of another node can
/// be told.
pub fn load<R: BufRead>(
    input: R,
    file: &str,
    inventory: Option<&Inventory>,
    opts: Options,
    observer: &mut (dyn Observer + Send),
) -> Result<Baseline, BaselineError> {
    let mut reader = ChunkReader::with_chunk_bytes(input, opts.chunk_bytes);
    let window = opts.window.max(1);
    let voter = inventory.map(Voter::new);
    let mut acc = Accumulated {
        entries: Vec::new(),
        read: BaselineRead::default(),
        votes: voter.as_ref().map(Voter::tally),
    };
    // Window k is merged (a sequential copy into the one Vec) while window
    // k+1 is parsed, as the labelling pipeline writes while it parses.
    let mut pending: Vec<Part> = Vec::new();
    loop {
        let mut chunks = Vec::with_capacity(window);
        for c in reader.by_ref().take(window) {
            chunks.push(c.map_err(|source| PipelineError::Read {
                file: file.to_string(),
                source,
            })?);
        }
        if chunks.is_empty() {
            break;
        }
        let previous = std::mem::take(&mut pending);
        let (merged, parts) = rayon::join(
            || acc.add(previous, file, opts.strict, observer),
            || {
                chunks
                    .par_iter()
                    .map(|c| read_chunk(c, voter.as_ref()))
                    .collect::<Vec<Part>>()
            },
        );
        merged?;
        pending = parts;
    }
    acc.add(pending, file, opts.strict, observer)?;
    let Accumulated {
        mut entries,
        mut read,
        votes,
    } = acc;
    entries.shrink_to_fit();
    read.votes = voter.as_ref().zip(votes.as_ref()).map(|(v, t)| v.votes(t));
    Ok(Baseline { entries, read })
}

/// What [`load`] has merged so far.
struct Accumulated {
    entries: Vec<Entry>,
    read: BaselineRead,
    votes: Option<Tally>,
}

impl Accumulated {
    /// Appends parts in input order, so that the index's "later line wins"
    /// is the file's order; malformed lines go to the observer.
    fn add(
        &mut self,
        parts: Vec<Part>,
        file: &str,
        strict: bool,
        observer: &mut (dyn Observer + Send),
    ) -> Result<(), BaselineError> {
        for part in parts {
            for m in &part.malformed {
                if strict {
                    return Err(PipelineError::Strict {
                        file: file.to_string(),
                        line: m.line,
                        reason: m.reason.clone(),
                    }
                    .into());
                }
                observer.malformed(file, m);
            }
            let read = &mut self.read;
            read.lines += part.lines;
            read.malformed += part.malformed.len() as u64;
            read.flows += part.entries.len() as u64;
            read.with_ids += part.with_ids;
            read.latest_event = read.latest_event.max(part.latest_event);
            if let (Some(all), Some(v)) = (self.votes.as_mut(), &part.votes) {
                all.merge(v);
            }
            self.entries.extend(part.entries);
            if self.entries.len() as u64 > u64::from(u32::MAX) {
                return Err(BaselineError::TooLarge {
                    file: file.to_string(),
                    limit: u64::from(u32::MAX),
                });
            }
        }
        Ok(())
    }
}

impl Baseline {
    /// Every entry of PREV has a conntrack id (`conntrack -L -o id`).
    pub fn carries_ids(&self) -> bool {
        self.read.flows > 0 && self.read.with_ids == self.read.flows
    }

    /// Indexes PREV for one DUMP. The id is part of the key when both
    /// dumps carry ids: PREV on every entry, DUMP on its first one
    /// (conntrack prints `id=` on every line or on none). A key seen again
    /// replaces the earlier entry, which counts as `duplicate`.
    pub fn into_matcher(self, dump_carries_ids: bool) -> Matcher {
        let use_ids = dump_carries_ids && self.carries_ids();
        let entries = self.entries;
        let hashes: Vec<u64> = entries
            .par_iter()
            .map(|e| hash_key(&e.key, if use_ids { e.id() } else { None }))
            .collect();
        let mut index: HashTable<u32> = HashTable::with_capacity(entries.len());
        for (i, &h) in hashes.iter().enumerate() {
            let e = &entries[i];
            let same = |&j: &u32| {
                let o = &entries[j as usize];
                o.key == e.key && (!use_ids || o.id() == e.id())
            };
            match index.entry(h, same, |&j| hashes[j as usize]) {
                Slot::Occupied(mut o) => {
                    entries[*o.get() as usize]
                        .state
                        .store(DUPLICATE, Ordering::Relaxed);
                    // `load` keeps the length within u32.
                    *o.get_mut() = i as u32;
                }
                Slot::Vacant(v) => {
                    v.insert(i as u32);
                }
            }
        }
        Matcher {
            entries,
            index,
            use_ids,
            read: self.read,
        }
    }
}

fn hash_key(key: &ConnectionKey, id: Option<u32>) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    id.hash(&mut h);
    h.finish()
}

/// Whether a dump carries conntrack ids, from its first flow among these
/// chunks (`None`: no flow in them).
pub fn first_flow_has_id(chunks: &[Chunk]) -> Option<bool> {
    chunks.iter().find_map(|c| {
        let mut line_no = c.first_line;
        c.data.split(|&b| b == b'\n').find_map(|line| {
            line_no += 1;
            match parse_line(line, line_no - 1) {
                Ok(Some(f)) => Some(f.id.is_some()),
                _ => None,
            }
        })
    })
}

/// PREV, indexed for one DUMP. Shared by the pipeline's threads.
pub struct Matcher {
    entries: Vec<Entry>,
    index: HashTable<u32>,
    use_ids: bool,
    read: BaselineRead,
}

impl Matcher {
    /// Whether the conntrack id is part of the key for this dump pair.
    pub fn keyed_by_id(&self) -> bool {
        self.use_ids
    }

    /// §8 for one DUMP entry, and a note on its PREV entry for [`Matcher::tally`].
    pub fn compare(&self, flow: &Flow) -> Delta {
        let key = flow.connection_key();
        let id = if self.use_ids { flow.id } else { None };
        let found = self.index.find(hash_key(&key, id), |&i| {
            let e = &self.entries[i as usize];
            e.key == key && (!self.use_ids || e.id() == id)
        });
        let Some(&i) = found else {
            return Delta::New;
        };
        let e = &self.entries[i as usize];
        let d = delta(four(flow), e.counters);
        match d {
            Delta::Reset => {
                e.state.fetch_max(RESET, Ordering::Relaxed);
            }
            _ => e.state.store(MATCHED, Ordering::Relaxed),
        }
        d
    }

    /// What became of PREV's entries (call after the whole DUMP). `new`
    /// is the caller's count.
    pub fn tally(&self) -> BaselineCounts {
        let mut c = BaselineCounts {
            entries: self.entries.len() as u64,
            lines: self.read.lines,
            malformed: self.read.malformed,
            dumps: 1,
            dumps_keyed_by_id: u64::from(self.use_ids),
            ..BaselineCounts::default()
        };
        for e in &self.entries {
            match e.state.load(Ordering::Relaxed) {
                UNMATCHED => c.ended += 1,
                RESET => c.reset += 1,
                MATCHED => c.matched += 1,
                _ => c.duplicate += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::pipeline::Quiet;

    const TCP: &str = "tcp      6 431999 ESTABLISHED src=10.244.1.11 dst=52.216.10.20 sport=36560 dport=443 packets=6 bytes=399 src=52.216.10.20 dst=10.0.1.10 sport=443 dport=36560 packets=5 bytes=697 [ASSURED] mark=0 use=1";

    fn c(packets: u64, bytes: u64) -> Counters {
        Counters { packets, bytes }
    }

    /// TCP with other counters, source port and trailer.
    fn tcp(sport: u16, o: (u64, u64), r: (u64, u64), tail: &str) -> String {
        TCP.replace("sport=36560", &format!("sport={sport}"))
            .replace("dport=36560", &format!("dport={sport}"))
            .replace(
                "packets=6 bytes=399",
                &format!("packets={} bytes={}", o.0, o.1),
            )
            .replace(
                "packets=5 bytes=697",
                &format!("packets={} bytes={}", r.0, r.1),
            )
            .replace("use=1", &format!("use=1{tail}"))
    }

    fn load_text(text: &str) -> Baseline {
        let opts = Options {
            chunk_bytes: 300, // several chunks, merged in order
            ..Options::with_window(3)
        };
        load(text.as_bytes(), "prev.txt", None, opts, &mut Quiet).unwrap()
    }

    fn flow(line: &str) -> Flow {
        parse_line(line.as_bytes(), 1).unwrap().unwrap()
    }

    #[test]
    fn delta_of_each_case() {
        // Matched: every counter grew or stayed.
        assert_eq!(
            delta([10, 1000, 8, 5000], [6, 399, 5, 697]),
            Delta::Matched {
                orig: c(4, 601),
                reply: c(3, 4303)
            }
        );
        // One counter down is enough for a reset (a reused tuple).
        assert_eq!(delta([10, 1000, 8, 5000], [6, 399, 9, 697]), Delta::Reset);
        assert_eq!(delta([10, 398, 8, 5000], [6, 399, 5, 697]), Delta::Reset);
        // Nothing moved.
        assert_eq!(delta([6, 399, 5, 697], [6, 399, 5, 697]), Delta::Unchanged);
        // Zero on its own, zero before: matched, left to §3's zero_counters.
        assert_eq!(
            delta([0; 4], [0; 4]),
            Delta::Matched {
                orig: c(0, 0),
                reply: c(0, 0)
            }
        );
        // Zero now, counters before: a counter went down.
        assert_eq!(delta([0; 4], [1, 60, 0, 0]), Delta::Reset);
        // Only one direction moved.
        assert_eq!(
            delta([6, 399, 7, 900], [6, 399, 5, 697]),
            Delta::Matched {
                orig: c(0, 0),
                reply: c(2, 203)
            }
        );
    }

    #[test]
    fn a_side_without_counters_counts_as_zeros() {
        let noacct = "udp      17 29 src=10.244.1.11 dst=192.168.100.20 sport=40011 dport=5353 src=192.168.100.20 dst=192.168.100.1 sport=5353 dport=40011 mark=0 use=1";
        assert_eq!(four(&flow(noacct)), [0; 4]);
        let b = load_text(&format!("{noacct}\n"));
        let m = b.into_matcher(false);
        // Accounting on since: the whole counters are the delta.
        let later = noacct.replace("dport=5353 src=", "dport=5353 packets=2 bytes=66 src=");
        assert_eq!(
            m.compare(&flow(&later)),
            Delta::Matched {
                orig: c(2, 66),
                reply: c(0, 0)
            }
        );
    }

    #[test]
    fn compare_and_tally_each_case() {
        let prev = [
            tcp(1001, (6, 399), (5, 697), ""), // matched
            tcp(1002, (6, 399), (5, 697), ""), // reset: counters lower in DUMP
            tcp(1003, (6, 399), (5, 697), ""), // ended: not in DUMP
            tcp(1004, (6, 399), (5, 697), ""), // unchanged (still matched)
            tcp(1005, (1, 60), (0, 0), ""),    // superseded by the next line
            tcp(1005, (2, 120), (1, 52), ""),  // the later line wins
            tcp(1006, (0, 0), (0, 0), ""),     // zero on its own in both
        ]
        .join("\n");
        let b = load_text(&prev);
        assert_eq!((b.read.lines, b.read.flows, b.read.malformed), (7, 7, 0));
        assert!(!b.carries_ids());
        let m = b.into_matcher(false);
        assert_eq!(
            m.compare(&flow(&tcp(1001, (10, 1000), (8, 5000), ""))),
            Delta::Matched {
                orig: c(4, 601),
                reply: c(3, 4303)
            }
        );
        assert_eq!(
            m.compare(&flow(&tcp(1002, (1, 60), (1, 52), ""))),
            Delta::Reset
        );
        assert_eq!(
            m.compare(&flow(&tcp(1004, (6, 399), (5, 697), ""))),
            Delta::Unchanged
        );
        assert_eq!(
            m.compare(&flow(&tcp(1005, (3, 180), (1, 52), ""))),
            Delta::Matched {
                orig: c(1, 60),
                reply: c(0, 0)
            }
        );
        assert_eq!(
            m.compare(&flow(&tcp(1006, (0, 0), (0, 0), ""))),
            Delta::Matched {
                orig: c(0, 0),
                reply: c(0, 0)
            }
        );
        assert_eq!(
            m.compare(&flow(&tcp(2000, (1, 60), (0, 0), ""))),
            Delta::New
        );
        let t = m.tally();
        assert_eq!(
            (t.entries, t.matched, t.reset, t.ended, t.duplicate),
            (7, 4, 1, 1, 1)
        );
        assert_eq!(t.entries, t.matched + t.reset + t.ended + t.duplicate);
        assert_eq!((t.lines, t.dumps, t.dumps_keyed_by_id), (7, 1, 0));
    }

    #[test]
    fn a_dump_entry_seen_twice_is_compared_on_its_own_and_matched_wins() {
        let b = load_text(&tcp(1001, (6, 399), (5, 697), ""));
        let m = b.into_matcher(false);
        // Same key twice in DUMP: each compared with PREV.
        assert_eq!(
            m.compare(&flow(&tcp(1001, (1, 1), (1, 1), ""))),
            Delta::Reset
        );
        assert_eq!(
            m.compare(&flow(&tcp(1001, (7, 400), (5, 697), ""))),
            Delta::Matched {
                orig: c(1, 1),
                reply: c(0, 0)
            }
        );
        assert_eq!(
            m.compare(&flow(&tcp(1001, (1, 1), (1, 1), ""))),
            Delta::Reset
        );
        let t = m.tally();
        assert_eq!((t.matched, t.reset, t.ended), (1, 0, 0));
    }

    #[test]
    fn ids_are_in_the_key_only_when_both_dumps_carry_them() {
        let prev = [
            tcp(1001, (6, 399), (5, 697), " id=111"),
            tcp(1002, (6, 399), (5, 697), " id=222"),
        ]
        .join("\n");
        // Both with ids: a reused tuple has a new id, so it is new, and
        // PREV's entry ended.
        let m = load_text(&prev).into_matcher(true);
        assert!(m.keyed_by_id());
        assert_eq!(
            m.compare(&flow(&tcp(1001, (10, 1000), (8, 5000), " id=111"))),
            Delta::Matched {
                orig: c(4, 601),
                reply: c(3, 4303)
            }
        );
        assert_eq!(
            m.compare(&flow(&tcp(1002, (10, 1000), (8, 5000), " id=999"))),
            Delta::New
        );
        let t = m.tally();
        assert_eq!((t.matched, t.ended, t.dumps_keyed_by_id), (1, 1, 1));

        // Ids in PREV only (DUMP taken without -o id): matched on the tuple.
        let m = load_text(&prev).into_matcher(false);
        assert!(!m.keyed_by_id());
        assert_eq!(
            m.compare(&flow(&tcp(1002, (10, 1000), (8, 5000), ""))),
            Delta::Matched {
                orig: c(4, 601),
                reply: c(3, 4303)
            }
        );
        // Ids in DUMP only: PREV carries none, so the tuple again.
        let m = load_text(&tcp(1002, (6, 399), (5, 697), "")).into_matcher(true);
        assert!(!m.keyed_by_id());
        assert_eq!(
            m.compare(&flow(&tcp(1002, (10, 1000), (8, 5000), " id=999"))),
            Delta::Matched {
                orig: c(4, 601),
                reply: c(3, 4303)
            }
        );
        // PREV with ids on some entries only does not carry ids.
        let mixed = format!("{prev}\n{}", tcp(1003, (1, 1), (1, 1), ""));
        assert!(!load_text(&mixed).carries_ids());
    }

    #[test]
    fn with_ids_the_same_tuple_twice_is_two_entries_not_a_duplicate() {
        let prev = [
            tcp(1001, (6, 399), (5, 697), " id=111"),
            tcp(1001, (1, 60), (1, 52), " id=112"),
        ]
        .join("\n");
        let m = load_text(&prev).into_matcher(true);
        assert_eq!(
            m.compare(&flow(&tcp(1001, (7, 400), (5, 697), " id=111"))),
            Delta::Matched {
                orig: c(1, 1),
                reply: c(0, 0)
            }
        );
        let t = m.tally();
        assert_eq!((t.matched, t.ended, t.duplicate), (1, 1, 0));
        // Without ids in DUMP they are one key: the later line wins.
        let m = load_text(&prev).into_matcher(false);
        assert_eq!(
            m.compare(&flow(&tcp(1001, (2, 70), (1, 52), ""))),
            Delta::Matched {
                orig: c(1, 10),
                reply: c(0, 0)
            }
        );
        let t = m.tally();
        assert_eq!((t.matched, t.ended, t.duplicate), (1, 0, 1));
    }

    #[test]
    fn a_file_that_is_not_a_dump_is_counted_malformed_and_strict_stops() {
        let text = format!("{{\"kind\": \"List\"}}\n\n{TCP}\nnot a flow\n");
        let b = load_text(&text);
        assert_eq!((b.read.lines, b.read.flows, b.read.malformed), (4, 1, 2));
        let opts = Options {
            strict: true,
            ..Options::with_window(2)
        };
        let err = load(text.as_bytes(), "prev.txt", None, opts, &mut Quiet)
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("prev.txt:1: malformed line (--strict)"),
            "{err}"
        );
    }

    #[test]
    fn latest_event_timestamp_and_first_flow_ids() {
        let ev = |t: u64, id: &str| {
            format!(
                "[{t}.123456]\t[DESTROY] {}",
                tcp(1001, (6, 399), (5, 697), id)
            )
        };
        let b = load_text(&format!(
            "{}\n{}\n",
            ev(1_700_000_100, ""),
            ev(1_700_000_050, "")
        ));
        assert_eq!(b.read.latest_event, Some(1_700_000_100));
        assert_eq!(load_text(TCP).read.latest_event, None);
        let chunk = |s: &str| Chunk {
            first_line: 1,
            data: s.as_bytes().to_vec(),
            overlong: None,
        };
        assert_eq!(first_flow_has_id(&[chunk("\n\nnot a flow\n")]), None);
        let with_id = tcp(1, (1, 1), (1, 1), " id=5");
        assert_eq!(
            first_flow_has_id(&[chunk("junk\n"), chunk(&format!("\n{with_id}\n{TCP}\n"))]),
            Some(true)
        );
        assert_eq!(
            first_flow_has_id(&[chunk(&format!("{TCP}\n{with_id}\n"))]),
            Some(false)
        );
    }

    #[test]
    fn node_votes_are_counted_while_loading() {
        use crate::inventory::{Node, Pod, PodPhase};
        let inv = Inventory::from_objects(
            vec![Pod {
                name: "p".into(),
                namespace: "ns".into(),
                node_name: "node-a".into(),
                phase: PodPhase::Running,
                ips: vec!["10.244.1.11".parse().unwrap()],
                ..Default::default()
            }],
            vec![Node {
                name: "node-a".into(),
                internal_ips: vec!["10.0.1.10".parse().unwrap()],
                ..Default::default()
            }],
            vec![],
        )
        .unwrap();
        let text = format!("{TCP}\n{}\n", tcp(7, (1, 1), (1, 1), ""));
        let b = load(
            text.as_bytes(),
            "p",
            Some(&inv),
            Options::with_window(2),
            &mut Quiet,
        )
        .unwrap();
        assert_eq!(b.read.votes.unwrap().counts["node-a"], 2);
    }

    #[test]
    fn entry_is_small() {
        // A million of them is the 1 M-line baseline (SPEC §8 memory).
        assert_eq!(std::mem::size_of::<Entry>(), 96);
    }
}
