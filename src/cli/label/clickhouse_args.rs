//! `label`'s ClickHouse options (SPEC §10), flattened into [`super::args::LabelArgs`].

use std::fmt;

use clap::Args;

use kubenetmon::clickhouse::redact;

/// The `--clickhouse` value as given. Debug shows it redacted, so a
/// printed `LabelArgs` cannot show a password.
#[derive(Clone)]
pub struct RawUrl(pub String);

impl fmt::Debug for RawUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawUrl({:?})", redact(&self.0))
    }
}

fn raw_url(s: &str) -> Result<RawUrl, std::convert::Infallible> {
    Ok(RawUrl(s.to_string()))
}

#[derive(Debug, Args)]
#[command(next_help_heading = "ClickHouse (SPEC §10)")]
pub struct ClickHouseArgs {
    /// Insert the rows into ClickHouse over HTTP(S): http(s)://[USER[:PASSWORD]@]HOST[:PORT][/?database=DB]
    /// (ports 8123 and 8443 by default). USER and PASSWORD may come from
    /// KUBENETMON_CLICKHOUSE_USER and KUBENETMON_CLICKHOUSE_PASSWORD instead. Works with -o
    /// (file and ClickHouse in one run) and --dry-run (checks the connection and the table,
    /// inserts nothing)
    #[arg(
        long = "clickhouse",
        value_name = "URL",
        env = "KUBENETMON_CLICKHOUSE_URL",
        hide_env_values = true,
        value_parser = raw_url
    )]
    pub url: Option<RawUrl>,
    /// Table to insert into, [DATABASE.]NAME; a Distributed table feeds a cluster
    /// [default: network_flows_0, or network_flows_dual for the dual schema]
    #[arg(long, value_name = "[DB.]TABLE", requires = "url")]
    pub table: Option<String>,
    /// Create the table if it does not exist, from the shipped DDL, with
    /// non_replicated_deduplication_window set so repeated inserts are dropped
    #[arg(long, requires = "url")]
    pub create_table: bool,
    /// Rows per INSERT (rounded down to even: a flow's two rows stay together); one batch is
    /// sent while the next is labelled
    #[arg(long, value_name = "N", default_value_t = 1_000_000, requires = "url",
          value_parser = clap::value_parser!(u64).range(2..))]
    pub batch_rows: u64,
    /// Retries of a request that failed on a connection error, a timeout or a 5xx, after
    /// pauses of 1 s, 2 s, 4 s, ...
    #[arg(long, value_name = "N", default_value_t = 5, requires = "url")]
    pub retries: u32,
    /// Time limit of one request to ClickHouse (a timed-out INSERT is retried; the retry is
    /// deduplicated if the first one went in after all)
    #[arg(long, value_name = "SECONDS", default_value_t = 300, requires = "url",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub clickhouse_timeout: u64,
}
