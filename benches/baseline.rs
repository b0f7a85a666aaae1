//! `label --baseline` (SPEC §8) throughput, excluding I/O: reading PREV
//! into its map (parse + entries + node votes), indexing it, comparing
//! DUMP's entries with it, and the whole parse-only pass with and without
//! a baseline. Run: `cargo bench --bench baseline`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use kubenetmon::conntrack::render::{render, synthetic_dump, Format};
use kubenetmon::conntrack::{parse_chunk, Chunk, Flow};
use kubenetmon::label::baseline::{load, Baseline};
use kubenetmon::label::pipeline::{run_dump, run_dump_against, Options, Quiet};
use kubenetmon::model::Counters;

const LINES: usize = 200_000;

fn flows(text: &[u8]) -> Vec<Flow> {
    parse_chunk(&Chunk {
        first_line: 1,
        data: text.to_vec(),
        overlong: None,
    })
    .flows
}

/// The same connections earlier: counters halved, every 20th absent.
fn earlier(dump: &[Flow]) -> Vec<u8> {
    let half = |c: Option<Counters>| {
        c.map(|c| Counters {
            packets: c.packets / 2,
            bytes: c.bytes / 2,
        })
    };
    let mut out = String::new();
    for (i, f) in dump.iter().enumerate() {
        if i % 20 == 0 {
            continue;
        }
        let mut f = f.clone();
        f.orig.counters = half(f.orig.counters);
        f.reply.counters = half(f.reply.counters);
        render(&f, Format::Default, &mut out);
        out.push('\n');
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let dump = synthetic_dump(LINES, 11);
    let dump_flows = flows(&dump);
    let prev = earlier(&dump_flows);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let opts = Options::for_threads(2);
    let loaded = || -> Baseline {
        pool.install(|| load(&prev[..], "prev", None, opts, &mut Quiet).unwrap())
    };

    let mut g = c.benchmark_group("baseline");
    g.sample_size(20);
    g.throughput(Throughput::Elements(LINES as u64));
    g.bench_function("load (parse + entries), 2 threads", |b| {
        b.iter(|| black_box(loaded()))
    });
    g.bench_function("index (hash + table), 2 threads", |b| {
        b.iter_batched(
            loaded,
            |base| pool.install(|| black_box(base.into_matcher(false))),
            BatchSize::LargeInput,
        )
    });
    let m = pool.install(|| loaded().into_matcher(false));
    g.bench_function("compare, 1 thread", |b| {
        b.iter(|| {
            for f in &dump_flows {
                black_box(m.compare(f));
            }
        })
    });
    g.bench_function("parse-only pass, no baseline, 2 threads", |b| {
        b.iter(|| pool.install(|| run_dump(&dump[..], "d", None, None, opts, &mut Quiet).unwrap()))
    });
    g.bench_function("parse-only pass + load + index + compare, 2 threads", |b| {
        b.iter(|| {
            pool.install(|| {
                let base = load(&prev[..], "prev", None, opts, &mut Quiet).unwrap();
                run_dump_against(&dump[..], "d", None, Some(base), None, opts, &mut Quiet).unwrap()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
