//! Conntrack parsing throughput on a generated 100k-line default-format
//! dump: per line, per chunk (single thread), and chunks in parallel with
//! rayon on 2 threads. `cargo bench --bench parse`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubenetmon::conntrack::render::synthetic_dump;
use kubenetmon::conntrack::{parse_chunk, parse_line, Chunk, ChunkReader};
use rayon::prelude::*;
use std::hint::black_box;

const LINES: usize = 100_000;

fn chunks(data: &[u8]) -> Vec<Chunk> {
    ChunkReader::new(data).map(|c| c.unwrap()).collect()
}

fn bench(c: &mut Criterion) {
    let data = synthetic_dump(LINES, 42);
    if let Ok(path) = std::env::var("KUBENETMON_BENCH_DUMP") {
        // For comparing with `wc -l` on the very same bytes.
        std::fs::write(path, &data).unwrap();
    }
    let mut g = c.benchmark_group("conntrack");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);

    g.bench_function("parse_line/1 thread", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (i, line) in data.split(|&c| c == b'\n').enumerate() {
                if let Ok(Some(f)) = parse_line(line, i as u64 + 1) {
                    n += f.orig.sport.unwrap_or(0) as usize;
                }
            }
            black_box(n)
        })
    });

    g.bench_function("chunk+parse_chunk/1 thread", |b| {
        b.iter(|| {
            let mut flows = 0;
            for ch in ChunkReader::new(&data[..]) {
                flows += parse_chunk(&ch.unwrap()).flows.len();
            }
            assert_eq!(flows, LINES);
            black_box(flows)
        })
    });

    let pre = chunks(&data);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    g.bench_function("parse_chunk/rayon 2 threads", |b| {
        b.iter(|| {
            let flows: usize =
                pool.install(|| pre.par_iter().map(|c| parse_chunk(c).flows.len()).sum());
            assert_eq!(flows, LINES);
            black_box(flows)
        })
    });
    g.bench_function("parse_chunk/rayon 2 threads, 256 KiB chunks", |b| {
        let small: Vec<Chunk> = ChunkReader::with_chunk_bytes(&data[..], 256 << 10)
            .map(|c| c.unwrap())
            .collect();
        b.iter(|| {
            let flows: usize =
                pool.install(|| small.par_iter().map(|c| parse_chunk(c).flows.len()).sum());
            black_box(flows)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
