//! Times the conntrack reader on a whole file, 1 thread and 2 threads, in
//! wall and CPU time, for comparing with `wc -l` on the same bytes; and the
//! general parser alone (no fast path) on one thread.
//!
//! ```sh
//! cargo run --release --example conntrack_throughput -- gen /tmp/dump.txt 1000000
//! # dual-stack: 30 % IPv6 lines; `--format extended|proc` for other layouts
//! cargo run --release --example conntrack_throughput -- gen /tmp/dual.txt 1000000 --ipv6-share 0.3
//! cargo run --release --example conntrack_throughput -- /tmp/dump.txt
//! ```

use std::time::Instant;

use kubenetmon::conntrack::render::{synthetic_dump_with, Format, Synthetic};
use kubenetmon::conntrack::{parse_chunk, parse_line_general, ChunkReader};
use rayon::prelude::*;

/// CPU time of every live thread of the process (the scheduler's account,
/// ns resolution), so busy neighbours on the machine do not inflate it.
fn cpu_seconds() -> f64 {
    let mut total = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            let p = t.path().join("schedstat");
            if let Some(ns) = std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            {
                total += ns;
            }
        }
    }
    total as f64 / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("gen") {
        gen(&args[1..]);
        return;
    }
    let path = args
        .first()
        .expect("usage: conntrack_throughput FILE [ROUNDS]");
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let data = std::fs::read(path).expect("read dump");
    let mb = data.len() as f64 / 1e6;
    let lines = memchr::memchr_iter(b'\n', &data).count() as f64;
    println!("{path}: {mb:.1} MB, {lines} lines, best of {rounds} rounds");

    let run = |name: &str, f: &dyn Fn() -> usize| {
        let mut best_wall = f64::MAX;
        let mut best_cpu = f64::MAX;
        for _ in 0..rounds {
            let c0 = cpu_seconds();
            let t0 = Instant::now();
            let n = std::hint::black_box(f());
            let wall = t0.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - c0;
            assert!(n > 0);
            best_wall = best_wall.min(wall);
            best_cpu = best_cpu.min(cpu);
        }
        println!(
            "{name:<34} wall {:>7.1} ms {:>6.0} MB/s {:>5.2} M lines/s | CPU {:>7.1} ms {:>6.0} MB/s per CPU-s",
            best_wall * 1e3,
            mb / best_wall,
            lines / best_wall / 1e6,
            best_cpu * 1e3,
            mb / best_cpu,
        );
    };

    run("newline count (wc -l loop)", &|| {
        memchr::memchr_iter(b'\n', &data).count()
    });
    run("ChunkReader+parse_chunk, 1 thread", &|| {
        ChunkReader::new(&data[..])
            .map(|c| parse_chunk(&c.unwrap()).flows.len())
            .sum()
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    run("ChunkReader+parse_chunk, 2 threads", &|| {
        pool.install(|| {
            ChunkReader::new(&data[..])
                .par_bridge()
                .map(|c| parse_chunk(&c.unwrap()).flows.len())
                .sum()
        })
    });
    run("general parser only, 1 thread", &|| {
        data.split(|&c| c == b'\n')
            .enumerate()
            .filter(|(i, l)| matches!(parse_line_general(l, *i as u64 + 1), Ok(Some(_))))
            .count()
    });
}

/// `gen FILE [LINES] [--ipv6-share F] [--format default|extended|proc]`
fn gen(args: &[String]) {
    let usage = "usage: conntrack_throughput gen FILE [LINES] [--ipv6-share F] [--format default|extended|proc]";
    let path = args.first().expect(usage);
    let mut lines = 1_000_000;
    let mut opts = Synthetic::default();
    let mut rest = args[1..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--ipv6-share" => {
                opts.ipv6_share = rest.next().and_then(|v| v.parse().ok()).expect(usage);
            }
            "--format" => {
                opts.format = match rest.next().map(String::as_str) {
                    Some("default") => Format::Default,
                    Some("extended") => Format::Extended,
                    Some("proc") => Format::Proc,
                    _ => panic!("{usage}"),
                }
            }
            n => lines = n.parse().expect(usage),
        }
    }
    std::fs::write(path, synthetic_dump_with(lines, 42, opts)).expect("write dump");
}
