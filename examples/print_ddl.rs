//! Prints the ClickHouse `CREATE TABLE` statements the output loads into:
//! `cargo run --example print_ddl [upstream|dual]` (default: both).
use kubenetmon::output::Schema;

fn main() {
    let which: Vec<Schema> = match std::env::args().nth(1) {
        Some(s) => vec![s.parse().unwrap_or_else(|e| panic!("{e}"))],
        None => Schema::ALL.to_vec(),
    };
    for (i, s) in which.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print!("{}", s.ddl());
    }
}
