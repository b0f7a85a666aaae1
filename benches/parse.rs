//! Conntrack parsing throughput on a generated 100k-line default-format
//! dump: per line, per chunk (single thread), and chunks in parallel with
//! rayon on 2 threads; then the same dump with 30 % IPv6 lines (dual-stack),
//! in the default and the /proc layout. `cargo bench --bench parse`.

use criterion::{criterion_group, Criterion, Throughput};
use kubenetmon::conntrack::render::{synthetic_dump, synthetic_dump_with, Format, Synthetic};
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

    for (name, format) in [
        ("30 % IPv6", Format::Default),
        ("30 % IPv6, /proc", Format::Proc),
    ] {
        let dual = dual_stack(format);
        let mut g = c.benchmark_group(format!("conntrack, {name}"));
        g.throughput(Throughput::Bytes(dual.len() as u64));
        g.sample_size(20);
        g.bench_function("chunk+parse_chunk/1 thread", |b| {
            b.iter(|| {
                let mut flows = 0;
                for ch in ChunkReader::new(&dual[..]) {
                    flows += parse_chunk(&ch.unwrap()).flows.len();
                }
                assert_eq!(flows, LINES);
                black_box(flows)
            })
        });
        let pre = chunks(&dual);
        g.bench_function("parse_chunk/rayon 2 threads", |b| {
            b.iter(|| {
                let flows: usize =
                    pool.install(|| pre.par_iter().map(|c| parse_chunk(c).flows.len()).sum());
                assert_eq!(flows, LINES);
                black_box(flows)
            })
        });
        g.finish();
    }
}

/// The dual-stack case: 30 % of the lines IPv6.
fn dual_stack(format: Format) -> Vec<u8> {
    synthetic_dump_with(
        LINES,
        42,
        Synthetic {
            ipv6_share: 0.3,
            format,
        },
    )
}

/// CPU time of the calling thread (ns), from the scheduler's own account;
/// unlike wall time it is not inflated when other jobs share the cores.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time of the whole process (ns), 10 ms resolution.
fn process_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}

/// Prints throughput per CPU-second next to `wc -l`'s inner loop (newline
/// count with memchr) on the same bytes, so the ratio survives a busy host.
fn cpu_time_report() {
    for (name, data) in [
        ("default layout", synthetic_dump(LINES, 42)),
        ("30 % IPv6", dual_stack(Format::Default)),
        ("30 % IPv6, /proc", dual_stack(Format::Proc)),
    ] {
        cpu_time_report_on(name, &data);
    }
}

fn cpu_time_report_on(name: &str, data: &[u8]) {
    let mb = data.len() as f64 / 1e6;
    let rounds = 20;
    let per_cpu_second = |f: &dyn Fn() -> usize| -> Option<f64> {
        let t0 = thread_cpu_ns()?;
        for _ in 0..rounds {
            black_box(f());
        }
        Some((thread_cpu_ns()? - t0) as f64 / 1e9 / rounds as f64)
    };
    let wc = per_cpu_second(&|| memchr::memchr_iter(b'\n', data).count());
    let parse = per_cpu_second(&|| {
        ChunkReader::new(data)
            .map(|c| parse_chunk(&c.unwrap()).flows.len())
            .sum()
    });
    let (Some(wc), Some(parse)) = (wc, parse) else {
        return;
    };
    let pre = chunks(data);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let c0 = process_cpu_ns().unwrap_or(0);
    let w0 = std::time::Instant::now();
    for _ in 0..rounds {
        let n: usize = pool.install(|| pre.par_iter().map(|c| parse_chunk(c).flows.len()).sum());
        black_box(n);
    }
    let wall = w0.elapsed().as_secs_f64() / rounds as f64;
    let cpu = (process_cpu_ns().unwrap_or(0) - c0) as f64 / 1e9 / rounds as f64;
    eprintln!(
        "conntrack parse, {name}, {LINES} lines, {mb:.1} MB, per CPU-second:\n  \
         newline count (wc -l loop): {:>8.0} MB/s\n  \
         ChunkReader+parse_chunk, 1 thread: {:>8.0} MB/s, {:.2} M lines/s ({:.1}x wc -l)\n  \
         parse_chunk, rayon 2 threads: wall {:.0} MB/s, {:.0} MB/s per CPU-second (2 cores ideal: {:.0} MB/s)",
        mb / wc,
        mb / parse,
        LINES as f64 / parse / 1e6,
        parse / wc,
        mb / wall,
        mb / cpu.max(1e-9),
        2.0 * mb / cpu.max(1e-9),
    );
}

criterion_group!(benches, bench);

fn main() {
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
