//! Prints the ClickHouse `CREATE TABLE` statement the output loads into.
fn main() {
    print!("{}", kubenetmon::output::schema::clickhouse_ddl());
}
