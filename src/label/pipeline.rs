//! Drives the labeller over whole dumps: chunks of lines are parsed and
//! labelled in parallel (rayon), then handed to the sink in input order, so
//! the output is the same at any thread count. Memory is bounded by the
//! window (a few chunks per thread), never by the dump — and, with
//! `--baseline`, by PREV's map ([`super::baseline`]).

use std::io::{self, BufRead};

use rayon::prelude::*;
use thiserror::Error;

use super::baseline::{first_flow_has_id, Baseline, BaselineCounts, Delta, Matcher};
use super::{label_flow, Context, ErrorKind, IgnoreReason, LabelError, Outcome, Summary};
use crate::conntrack::{
    parse_chunk, Chunk, ChunkReader, EventKind, Malformed, ParseError, DEFAULT_CHUNK_BYTES,
};
use crate::model::LabelledFlow;
use crate::output::{OutputError, Sink};

#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("{file}: read error")]
    Read { file: String, source: io::Error },
    #[error("{file}:{line}: malformed line (--strict): {reason}")]
    Strict {
        file: String,
        line: u64,
        reason: ParseError,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What the pipeline tells its caller as it goes (messages, progress).
/// The library prints nothing itself.
pub trait Observer {
    /// A malformed line, in input order.
    fn malformed(&mut self, _file: &str, _m: &Malformed) {}
    /// The first flow of the run whose direction cannot be told.
    fn first_label_error(&mut self, _file: &str, _line: u64, _e: &LabelError) {}
    /// After every window: the totals so far.
    fn progress(&mut self, _so_far: &Summary) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// How the pipeline runs. Parallelism is whatever rayon pool it is called
/// in; the window should match that pool's size.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Chunks parsed per parallel step; bounds memory with the chunk size.
    pub window: usize,
    /// First malformed line is fatal.
    pub strict: bool,
    /// Bytes of whole lines per chunk.
    pub chunk_bytes: usize,
}

impl Options {
    /// Two chunks in flight per worker thread, so no worker waits for the
    /// slowest chunk of a window.
    pub fn for_threads(threads: usize) -> Options {
        Options::with_window(2 * threads.max(1))
    }

    pub fn with_window(window: usize) -> Options {
        Options {
            window: window.max(1),
            strict: false,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
        }
    }
}

struct ChunkOut<'a> {
    summary: Summary,
    labelled: Vec<LabelledFlow<'a>>,
    malformed: Vec<Malformed>,
    /// First label error of each kind in the chunk (line, error).
    first_errors: [Option<(u64, LabelError)>; ErrorKind::COUNT],
}

fn process<'a>(
    chunk: &Chunk,
    ctx: Option<&Context<'a>>,
    baseline: Option<&Matcher>,
) -> ChunkOut<'a> {
    let mut parsed = parse_chunk(chunk);
    let mut summary = Summary::default();
    summary.lines = parsed.lines;
    summary.flows = parsed.flows.len() as u64;
    summary.malformed = parsed.malformed.len() as u64;
    summary.flows_with_counters = parsed.flows.iter().filter(|f| f.has_counters()).count() as u64;
    summary.final_flows = parsed
        .flows
        .iter()
        .filter(|f| !matches!(f.event, Some(EventKind::New | EventKind::Update)))
        .count() as u64;
    summary.earliest_event = parsed.flows.iter().filter_map(|f| f.timestamp).min();
    let mut labelled = Vec::new();
    let mut first_errors = [None; ErrorKind::COUNT];
    if baseline.is_some() {
        summary.baseline = Some(BaselineCounts::default());
    }
    if ctx.is_some() {
        labelled.reserve(parsed.flows.len());
    }
    for flow in &mut parsed.flows {
        // SPEC §8 before any §3 rule. `[NEW]`/`[UPDATE]` events carry no
        // final counters (§1.4): they are not compared, and stay
        // `event_not_final`.
        if let (Some(m), false) = (
            baseline,
            matches!(flow.event, Some(EventKind::New | EventKind::Update)),
        ) {
            match m.compare(flow) {
                Delta::New => {
                    if let Some(b) = summary.baseline.as_mut() {
                        b.new += 1;
                    }
                }
                Delta::Reset => {}
                Delta::Unchanged => {
                    if ctx.is_some() {
                        summary.record(&Outcome::Ignored(IgnoreReason::Unchanged));
                    }
                    continue;
                }
                Delta::Matched { orig, reply } => {
                    flow.orig.counters = Some(orig);
                    flow.reply.counters = Some(reply);
                }
            }
        }
        if let Some(ctx) = ctx {
            let outcome = label_flow(flow, ctx);
            summary.record(&outcome);
            match outcome {
                Outcome::Labelled(l) => {
                    summary.record_flags(ctx.flags.tally(l.flags), l.out.bytes, l.inbound.bytes);
                    labelled.push(l);
                }
                Outcome::Error(e) => {
                    let slot = &mut first_errors[e.kind().index()];
                    if slot.is_none() {
                        *slot = Some((flow.line, e));
                    }
                }
                Outcome::Ignored(_) => {}
            }
        }
    }
    ChunkOut {
        summary,
        labelled,
        malformed: parsed.malformed,
        first_errors,
    }
}

/// Reads, parses and (given a context) labels one dump, writing labelled
/// flows to `sink` in input order. Without a context it only parses
/// (`label --dry-run` without an inventory).
pub fn run_dump<'a, R: BufRead>(
    input: R,
    file: &str,
    ctx: Option<&Context<'a>>,
    sink: Option<&mut dyn Sink>,
    opts: Options,
    observer: &mut (dyn Observer + Send),
) -> Result<Summary, PipelineError> {
    run_dump_against(input, file, ctx, None, sink, opts, observer)
}

/// [`run_dump`] with a baseline (SPEC §8, `--baseline`): every entry is
/// compared with PREV before labelling, and the summary gets its
/// `baseline` counts and `ignored.unchanged`. PREV is indexed when the
/// dump's first flow shows whether the id belongs in the key, and freed
/// when the dump is done.
pub fn run_dump_against<'a, R: BufRead>(
    input: R,
    file: &str,
    ctx: Option<&Context<'a>>,
    baseline: Option<Baseline>,
    mut sink: Option<&mut dyn Sink>,
    opts: Options,
    observer: &mut (dyn Observer + Send),
) -> Result<Summary, PipelineError> {
    let mut unindexed = baseline;
    let mut matcher: Option<Matcher> = None;
    let mut total = Summary::default();
    let mut reader = ChunkReader::with_chunk_bytes(input, opts.chunk_bytes);
    let window = opts.window.max(1);
    let mut seen_errors = [false; ErrorKind::COUNT];
    // A two-stage pipeline inside the caller's rayon pool: window k is
    // written to the sink while window k+1 is parsed and labelled, so the
    // sink (single-threaded in parts) does not leave the other cores idle.
    // Rows still reach the sink in input order.
    let mut pending: Vec<Vec<LabelledFlow<'a>>> = Vec::new();
    let write = |sink: &mut Option<&mut dyn Sink>,
                 batches: Vec<Vec<LabelledFlow<'a>>>|
     -> Result<(), OutputError> {
        if let Some(sink) = sink.as_deref_mut() {
            for b in &batches {
                sink.write_batch(b)?;
            }
        }
        Ok(())
    };
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
        if unindexed.is_some() {
            if let Some(ids) = first_flow_has_id(&chunks) {
                matcher = unindexed.take().map(|b| b.into_matcher(ids));
            }
        }
        let matcher = matcher.as_ref();
        let previous = std::mem::take(&mut pending);
        let (written, outs) = rayon::join(
            || write(&mut sink, previous),
            || {
                chunks
                    .par_iter()
                    .map(|c| process(c, ctx, matcher))
                    .collect::<Vec<ChunkOut<'a>>>()
            },
        );
        written?;
        drop(chunks);
        for out in outs {
            for m in &out.malformed {
                if opts.strict {
                    return Err(PipelineError::Strict {
                        file: file.to_string(),
                        line: m.line,
                        reason: m.reason.clone(),
                    });
                }
                observer.malformed(file, m);
            }
            for (k, e) in out.first_errors.iter().enumerate() {
                if let (Some((line, e)), false) = (e, seen_errors[k]) {
                    seen_errors[k] = true;
                    observer.first_label_error(file, *line, e);
                }
            }
            if sink.is_some() && !out.labelled.is_empty() {
                pending.push(out.labelled);
            }
            total.merge(&out.summary);
        }
        total.rows = 2 * total.labelled;
        observer.progress(&total);
    }
    write(&mut sink, pending)?;
    total.rows = 2 * total.labelled;
    // A dump without flows: PREV is indexed only to be tallied.
    if let Some(b) = unindexed.take() {
        matcher = Some(b.into_matcher(false));
    }
    if let Some(m) = &matcher {
        let new = total.baseline.map_or(0, |b| b.new);
        total.baseline = Some(BaselineCounts { new, ..m.tally() });
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Inventory, Node, Pod, PodPhase};
    use crate::label::{FlagRules, LabelIndex, LocalSite, Locations, PrivateNets, TimeSource};
    use crate::model::{Cloud, ConnectionClass};
    use crate::output::{Finished, Pending};
    use crate::ranges::RangeTable;
    use crate::zones::ZoneMap;
    use std::sync::{Arc, Mutex};

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

    fn line(src: &str, dst: &str, bytes: u64) -> String {
        format!(
            "tcp      6 117 TIME_WAIT src={src} dst={dst} sport=1000 dport=80 packets=2 bytes={bytes} \
             src={dst} dst={src} sport=80 dport=1000 packets=1 bytes=10 [ASSURED] mark=0 use=1\n"
        )
    }

    /// A dump with many flows, a malformed line, and known per-flow bytes.
    fn dump(n: usize) -> String {
        let mut s = String::new();
        for i in 0..n {
            s += &line(
                "10.244.1.11",
                &format!("203.0.113.{}", i % 250 + 1),
                i as u64 + 1,
            );
            if i == n / 2 {
                s += "this is not a conntrack line\n";
            }
        }
        s += "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.\n";
        s
    }

    #[derive(Default)]
    struct Collect {
        flows: Vec<(u64, String)>,
    }

    struct SharedSink(Arc<Mutex<Collect>>);

    impl Sink for SharedSink {
        fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
            let mut c = self.0.lock().unwrap();
            for f in flows {
                c.flows.push((f.out.bytes, f.remote.ip.to_string()));
            }
            Ok(())
        }
        fn finish(self: Box<Self>) -> Result<Finished, OutputError> {
            Ok(Finished {
                rows: 2 * self.0.lock().unwrap().flows.len() as u64,
                pending: Pending::none(),
            })
        }
    }

    #[derive(Default)]
    struct Record {
        malformed: Vec<(String, u64)>,
        first_errors: Vec<ErrorKind>,
    }

    impl Observer for Record {
        fn malformed(&mut self, file: &str, m: &Malformed) {
            self.malformed.push((file.to_string(), m.line));
        }
        fn first_label_error(&mut self, _file: &str, _line: u64, e: &LabelError) {
            self.first_errors.push(e.kind());
        }
    }

    fn run(text: &str, threads: usize, window: usize) -> (Summary, Vec<(u64, String)>, Record) {
        run_against(text, None, threads, window)
    }

    fn run_against(
        text: &str,
        prev: Option<&str>,
        threads: usize,
        window: usize,
    ) -> (Summary, Vec<(u64, String)>, Record) {
        let inv = inv();
        let index = LabelIndex::new(&inv);
        let table = RangeTable::default();
        let local = LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        };
        let private = PrivateNets::upstream();
        let ctx = Context {
            node: "node-a",
            index: &index,
            table: &table,
            local: &local,
            private: &private,
            zones: &ZoneMap::default(),
            locations: &Locations::none(),
            flags: &FlagRules::none(),
            ignore_udp: false,
            time: TimeSource::Fixed(0),
        };
        let shared = Arc::new(Mutex::new(Collect::default()));
        let mut sink: Box<dyn Sink> = Box::new(SharedSink(shared.clone()));
        let mut rec = Record::default();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        // Tiny chunks so that many chunks run in parallel.
        let opts = Options {
            window,
            strict: false,
            chunk_bytes: 256,
        };
        let summary = pool
            .install(|| {
                let baseline = prev.map(|p| {
                    crate::label::baseline::load(p.as_bytes(), "p.txt", None, opts, &mut rec)
                        .unwrap()
                });
                run_dump_against(
                    text.as_bytes(),
                    "d.txt",
                    Some(&ctx),
                    baseline,
                    Some(sink.as_mut()),
                    opts,
                    &mut rec,
                )
            })
            .unwrap();
        assert_eq!(sink.finish().unwrap().rows, summary.rows);
        let flows = std::mem::take(&mut shared.lock().unwrap().flows);
        (summary, flows, rec)
    }

    #[test]
    fn output_order_and_totals_do_not_depend_on_threads() {
        let text = dump(500);
        let (s1, f1, r1) = run(&text, 1, 1);
        let (s4, f4, r4) = run(&text, 4, 8);
        assert_eq!(s1, s4);
        assert_eq!(f1, f4);
        assert_eq!(f1.len(), 500);
        // Input order: the i-th flow carried i+1 bytes out.
        for (i, (bytes, _)) in f1.iter().enumerate() {
            assert_eq!(*bytes, i as u64 + 1);
        }
        assert_eq!(s1.lines, 502);
        assert_eq!(s1.flows, 500);
        assert_eq!(s1.malformed, 1);
        assert_eq!(s1.labelled, 500);
        assert_eq!(s1.rows, 1000);
        let (out, inb) = s1.bytes(ConnectionClass::PublicInternet);
        assert_eq!(out, (1..=500).sum::<u64>());
        assert_eq!(inb, 5000);
        assert_eq!(r1.malformed, vec![("d.txt".to_string(), 252)]);
        assert_eq!(r1.malformed, r4.malformed);
    }

    /// `line` with the original tuple's counters `packets`/`bytes` and the
    /// reply's `rp`/`rb`, source port `sport`.
    fn counted(src: &str, dst: &str, sport: u16, o: (u64, u64), r: (u64, u64)) -> String {
        format!(
            "tcp      6 117 ESTABLISHED src={src} dst={dst} sport={sport} dport=80 packets={} bytes={} \
             src={dst} dst={src} sport=80 dport={sport} packets={} bytes={} [ASSURED] mark=0 use=1\n",
            o.0, o.1, r.0, r.1
        )
    }

    #[test]
    fn baseline_deltas_are_labelled_and_counted() {
        let pod = "10.244.1.11";
        let remote = "203.0.113.7";
        let node = "10.0.1.10";
        let prev = [
            counted(pod, remote, 1, (10, 1000), (10, 5000)), // grows by 5/500, 2/3000
            counted(pod, remote, 2, (10, 1000), (10, 5000)), // unchanged
            counted(pod, remote, 3, (10, 1000), (10, 5000)), // reset: 1/60, 1/52
            counted(pod, remote, 4, (10, 1000), (10, 5000)), // ended
            counted(pod, remote, 6, (0, 0), (0, 0)),         // zero on its own, both
            counted(node, remote, 7, (1, 60), (1, 60)),      // node flow, unchanged
        ]
        .concat();
        let dump = [
            counted(pod, remote, 1, (15, 1500), (12, 8000)),
            counted(pod, remote, 2, (10, 1000), (10, 5000)),
            counted(pod, remote, 3, (1, 60), (1, 52)),
            counted(pod, remote, 5, (2, 120), (1, 40)), // new
            counted(pod, remote, 6, (0, 0), (0, 0)),
            counted(node, remote, 7, (1, 60), (1, 60)),
        ]
        .concat();
        let (s, flows, _) = run_against(&dump, Some(&prev), 2, 2);
        // Rows: the delta, the reset entry's and the new entry's own counters.
        let mut bytes: Vec<u64> = flows.iter().map(|f| f.0).collect();
        bytes.sort();
        assert_eq!(bytes, vec![60, 120, 500]);
        let (out, inb) = s.bytes(ConnectionClass::PublicInternet);
        assert_eq!((out, inb), (500 + 60 + 120, 3000 + 52 + 40));
        // Unchanged comes before §3: the node flow is `unchanged`, not `node_flow`.
        assert_eq!(s.ignored(IgnoreReason::Unchanged), 2);
        assert_eq!(s.ignored(IgnoreReason::NodeFlow), 0);
        // Zero on its own stays `zero_counters`, and counts as matched.
        assert_eq!(s.ignored(IgnoreReason::ZeroCounters), 1);
        let b = s.baseline.unwrap();
        assert_eq!(
            (b.entries, b.matched, b.reset, b.ended, b.duplicate, b.new),
            (6, 4, 1, 1, 0, 1)
        );
        assert_eq!((s.flows, s.labelled, s.rows), (6, 3, 6));
        assert_eq!((b.lines, b.dumps, b.dumps_keyed_by_id), (6, 1, 0));
        // The same at any thread count and window.
        let (s1, mut f1, _) = run_against(&dump, Some(&prev), 1, 1);
        f1.sort();
        let mut f2 = flows.clone();
        f2.sort();
        assert_eq!((s1, f1), (s, f2));
    }

    #[test]
    fn baseline_against_events_parse_only_and_an_empty_dump() {
        let pod = "10.244.1.11";
        let remote = "203.0.113.7";
        let prev = [
            counted(pod, remote, 1, (10, 1000), (10, 5000)),
            counted(pod, remote, 2, (10, 1000), (10, 5000)),
        ]
        .concat();
        // [NEW]/[UPDATE] events are not compared; [DESTROY] is.
        let events = format!(
            "    [NEW] {}  [UPDATE] {}[DESTROY] {}",
            counted(pod, remote, 1, (1, 60), (0, 0)),
            counted(pod, remote, 2, (11, 1100), (10, 5000)),
            counted(pod, remote, 2, (12, 1200), (11, 5100)),
        );
        let (s, flows, _) = run_against(&events, Some(&prev), 2, 2);
        assert_eq!(flows, vec![(200, remote.to_string())]);
        assert_eq!(s.ignored(IgnoreReason::EventNotFinal), 2);
        let b = s.baseline.unwrap();
        assert_eq!((b.matched, b.ended, b.new), (1, 1, 0));

        // Without an inventory: PREV is compared, ignored counts stay 0.
        let opts = Options::with_window(2);
        let base =
            crate::label::baseline::load(prev.as_bytes(), "p", None, opts, &mut Quiet).unwrap();
        let dump = counted(pod, remote, 2, (10, 1000), (10, 5000));
        let s = run_dump_against(
            dump.as_bytes(),
            "d",
            None,
            Some(base),
            None,
            opts,
            &mut Quiet,
        )
        .unwrap();
        assert_eq!(s.total_ignored(), 0);
        let b = s.baseline.unwrap();
        assert_eq!((b.entries, b.matched, b.ended), (2, 1, 1));

        // An empty dump: every PREV entry ended.
        let base =
            crate::label::baseline::load(prev.as_bytes(), "p", None, opts, &mut Quiet).unwrap();
        let s = run_dump_against(&b""[..], "d", None, Some(base), None, opts, &mut Quiet).unwrap();
        let b = s.baseline.unwrap();
        assert_eq!((b.entries, b.ended, b.matched), (2, 2, 0));
        // No baseline, no baseline object.
        let s = run_dump(dump.as_bytes(), "d", None, None, opts, &mut Quiet).unwrap();
        assert_eq!(s.baseline, None);
    }

    #[test]
    fn first_error_of_each_kind_is_reported_once() {
        let mut text = String::new();
        for _ in 0..50 {
            text += &line("198.51.100.1", "203.0.113.1", 5);
        }
        let (s, _, rec) = run(&text, 2, 4);
        assert_eq!(s.errors(ErrorKind::UnknownDirection), 50);
        assert_eq!(rec.first_errors, vec![ErrorKind::UnknownDirection]);
    }

    #[test]
    fn strict_names_file_line_and_reason() {
        let text = dump(20);
        let err = run_dump(
            text.as_bytes(),
            "x.txt",
            None,
            None,
            Options {
                window: 2,
                strict: true,
                chunk_bytes: 256,
            },
            &mut Quiet,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x.txt:12: malformed line"), "{msg}");
    }

    #[test]
    fn parse_only_counts_lines_flows_malformed() {
        let text = dump(30);
        let s = run_dump(
            text.as_bytes(),
            "x",
            None,
            None,
            Options::with_window(4),
            &mut Quiet,
        )
        .unwrap();
        assert_eq!((s.lines, s.flows, s.malformed), (32, 30, 1));
        assert_eq!(s.final_flows, 30);
        assert_eq!((s.labelled, s.rows, s.total_ignored()), (0, 0, 0));
        assert_eq!(s.flows_with_counters, 30);
    }
}
