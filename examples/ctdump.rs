//! Parses conntrack dumps and prints flows and malformed lines (debug aid).
use kubenetmon::conntrack::{parse_chunk, ChunkReader};
fn main() {
    for path in std::env::args().skip(1) {
        let r = kubenetmon::io::open_input(std::path::Path::new(&path)).unwrap();
        for chunk in ChunkReader::new(r) {
            let p = parse_chunk(&chunk.unwrap());
            println!(
                "{path}: lines={} flows={} malformed={} blank={} summary={}",
                p.lines,
                p.flows.len(),
                p.malformed.len(),
                p.blank,
                p.summary
            );
            for m in &p.malformed {
                println!("  MALFORMED {m}");
            }
            if std::env::var("SHOW").is_ok() {
                for f in &p.flows {
                    println!("  {f:?}");
                }
            }
        }
    }
}
