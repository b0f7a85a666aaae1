//! Drives the labeller over whole dumps: chunks of lines are parsed and
//! labelled in parallel (rayon), then handed to the sink in input order, so
//! the output is the same at any thread count. Memory is bounded by the
//! window (a few chunks per thread), never by the dump.

use std::io::{self, BufRead};

use rayon::prelude::*;
use thiserror::Error;

use super::{label_flow, Context, ErrorKind, LabelError, Outcome, Summary};
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

fn process<'a>(chunk: &Chunk, ctx: Option<&Context<'a>>) -> ChunkOut<'a> {
    let parsed = parse_chunk(chunk);
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
    let mut labelled = Vec::new();
    let mut first_errors = [None; ErrorKind::COUNT];
    if let Some(ctx) = ctx {
        labelled.reserve(parsed.flows.len());
        for flow in &parsed.flows {
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
    mut sink: Option<&mut dyn Sink>,
    opts: Options,
    observer: &mut (dyn Observer + Send),
) -> Result<Summary, PipelineError> {
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
        let previous = std::mem::take(&mut pending);
        let (written, outs) = rayon::join(
            || write(&mut sink, previous),
            || {
                chunks
                    .par_iter()
                    .map(|c| process(c, ctx))
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
        let summary = pool
            .install(|| {
                // Tiny chunks so that many chunks run in parallel.
                run_dump(
                    text.as_bytes(),
                    "d.txt",
                    Some(&ctx),
                    Some(sink.as_mut()),
                    Options {
                        window,
                        strict: false,
                        chunk_bytes: 256,
                    },
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
