//! Rows straight into ClickHouse over its HTTP interface (SPEC §10).
//!
//! - [`url`]: the `--clickhouse` URL and its credentials; the password is a
//!   [`Secret`] that no message prints.
//! - [`client`]: queries and inserts, retried with backoff on what a retry
//!   can fix (connection errors, timeouts, 5xx), not on what it cannot
//!   (`X-ClickHouse-Exception-Code`: unknown table, type mismatch, ...).
//! - [`table`]: the table's name and whether its columns take our rows.
//! - [`digest`]: each batch's `insert_deduplication_token`, so a retried
//!   batch, or the same command run twice, inserts nothing twice.
//! - [`sink`]: the [`crate::output::Sink`] that batches rows into Parquet
//!   bodies and sends them from a thread of its own.
//!
//! [`prepare_table`] runs before any row is labelled: it checks the
//! connection and the table, and creates the table when asked.

pub mod client;
pub mod digest;
pub mod sink;
pub mod table;
pub mod url;

use serde::Deserialize;
use thiserror::Error;

pub use client::{ClickHouseError, Client, ClientOptions};
pub use sink::{
    BatchReport, ClickHouseSink, InsertHandle, InsertObserver, InsertStats, Silent, SinkOptions,
};
pub use table::{ColumnProblem, Deduplication, DescribedColumn, TableName};
pub use url::{redact, Endpoint, Secret, UrlError};

use crate::output::Schema;

/// `non_replicated_deduplication_window` of the tables `--create-table`
/// makes: as many blocks as recent ClickHouse keeps for replicated tables.
pub const DEDUP_WINDOW: u64 = 10_000;

/// Exception code of a table that does not exist.
pub const UNKNOWN_TABLE: u32 = 60;

/// The `CREATE TABLE` `--create-table` runs: the shipped DDL (SPEC §4,
/// docs/schema.md) for `table`, deduplicating repeated inserts.
pub fn create_table_sql(schema: Schema, table: &TableName) -> String {
    schema.ddl_with_settings(
        &table.sql(),
        &format!("non_replicated_deduplication_window = {DEDUP_WINDOW}"),
    )
}

/// A cluster (docs/clickhouse.md): on every node, `{table}_local`, a
/// `ReplicatedSummingMergeTree` with the shipped columns, keys and TTL;
/// and `{table}`, the Distributed table rows are inserted into. Its
/// sharding key is a function of sorting-key columns, so rows that sum
/// together meet on one shard, and deterministic, so a retried batch is
/// split the same way and each shard recognises its part by the token.
pub fn cluster_ddl(schema: Schema, database: &str, cluster: &str) -> [String; 2] {
    let table = schema.table();
    let local = schema
        .ddl_for(&format!("{database}.{table}_local ON CLUSTER {cluster}"))
        .replace(
            "ENGINE = SummingMergeTree((bytes, packets))",
            "ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', \
             '{replica}', (bytes, packets))",
        );
    let distributed = format!(
        "CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {cluster}\n\
         AS {database}.{table}_local\n\
         ENGINE = Distributed({cluster}, {database}, {table}_local, cityHash64(localNode, localPod));\n"
    );
    [local, distributed]
}

/// What the server said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub database: String,
    pub user: String,
}

/// What to do when the table does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// It is an error.
    No,
    /// Create it.
    Yes,
    /// Say it would be created (`--dry-run --create-table`).
    WouldCreate,
}

/// The table as found (or made) before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub server: ServerInfo,
    /// Created by this call.
    pub created: bool,
    /// Absent, and `Create::WouldCreate` was asked.
    pub would_create: bool,
    /// `system.tables.engine`; empty when unknown.
    pub engine: String,
    pub deduplication: Deduplication,
    /// Columns of the table that our rows do not fill (left to their defaults).
    pub extra_columns: Vec<String>,
}

#[derive(Debug, Error)]
pub enum PrepareError {
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
    #[error("table {table} cannot take {schema} rows: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Columns {
        table: String,
        schema: Schema,
        problems: Vec<ColumnProblem>,
    },
}

impl PrepareError {
    pub fn code(&self) -> Option<u32> {
        match self {
            PrepareError::ClickHouse(e) => e.code(),
            PrepareError::Columns { .. } => None,
        }
    }
}

fn json_rows<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<Vec<T>, ClickHouseError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| ClickHouseError::Answer {
                what: what.to_string(),
                message: format!("{e} in {l:?}"),
            })
        })
        .collect()
}

/// Checks the connection (and the credentials), then the table: that it
/// exists (else creates it, with [`Create::Yes`]), that its columns take
/// `schema`'s rows, and whether its engine deduplicates repeated inserts.
/// `before_retry` hears of retried requests (number, error, pause).
pub fn prepare_table(
    client: &Client,
    schema: Schema,
    table: &TableName,
    create: Create,
    before_retry: &mut dyn FnMut(u32, &ClickHouseError, std::time::Duration),
) -> Result<TableReport, PrepareError> {
    let what = "connection check";
    let info = client.query(
        what,
        "SELECT version() AS version, currentDatabase() AS database, currentUser() AS user \
         FORMAT JSONEachRow",
        before_retry,
    )?;
    let server =
        json_rows::<ServerInfo>(what, &info)?
            .pop()
            .ok_or_else(|| ClickHouseError::Answer {
                what: what.into(),
                message: "no row".into(),
            })?;
    type OnRetry<'r> = &'r mut dyn FnMut(u32, &ClickHouseError, std::time::Duration);
    let describe = |before_retry: OnRetry<'_>| -> Result<Vec<DescribedColumn>, ClickHouseError> {
        let what = format!("DESCRIBE TABLE {table}");
        let sql = format!("DESCRIBE TABLE {} FORMAT JSONEachRow", table.sql());
        let text = client.query(&what, &sql, before_retry)?;
        json_rows(&what, &text)
    };
    let mut report = TableReport {
        server,
        created: false,
        would_create: false,
        engine: String::new(),
        deduplication: Deduplication::Unknown,
        extra_columns: Vec::new(),
    };
    let columns = match describe(before_retry) {
        Ok(c) => c,
        Err(e) if e.code() == Some(UNKNOWN_TABLE) && create == Create::WouldCreate => {
            report.would_create = true;
            report.deduplication = Deduplication::Yes;
            return Ok(report);
        }
        Err(e) if e.code() == Some(UNKNOWN_TABLE) && create == Create::Yes => {
            client.query(
                &format!("CREATE TABLE {table}"),
                &create_table_sql(schema, table),
                before_retry,
            )?;
            report.created = true;
            describe(before_retry)?
        }
        Err(e) => return Err(e.into()),
    };
    let problems = table::check_columns(schema, &columns);
    if !problems.is_empty() {
        return Err(PrepareError::Columns {
            table: table.to_string(),
            schema,
            problems,
        });
    }
    report.extra_columns = columns
        .iter()
        .filter(|c| !schema.names().any(|n| n == c.name))
        .map(|c| c.name.clone())
        .collect();
    // Best effort: a user without access to system tables still inserts.
    let database = match &table.database {
        Some(d) => format!("'{d}'"),
        None => "currentDatabase()".to_string(),
    };
    #[derive(Deserialize)]
    struct Engine {
        engine: String,
        engine_full: String,
    }
    let what = "engine check";
    let engine = client
        .query(
            what,
            &format!(
                "SELECT engine, engine_full FROM system.tables \
                 WHERE database = {database} AND name = '{}' FORMAT JSONEachRow",
                table.name
            ),
            before_retry,
        )
        .and_then(|t| json_rows::<Engine>(what, &t));
    let window = client
        .query(
            what,
            "SELECT value FROM system.merge_tree_settings \
             WHERE name = 'non_replicated_deduplication_window' FORMAT TabSeparated",
            before_retry,
        )
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if let Ok(Some(e)) = engine.map(|mut v| v.pop()) {
        report.deduplication = table::deduplication(&e.engine, &e.engine_full, window);
        report.engine = e.engine;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/clickhouse.md"))
            .expect("docs/clickhouse.md")
    }

    #[test]
    fn create_table_is_the_shipped_ddl_with_the_window() {
        let t = TableName::parse("net.flows").unwrap();
        let sql = create_table_sql(Schema::Upstream, &t);
        let shipped = Schema::Upstream.ddl_for("`net`.`flows`");
        assert_eq!(
            sql,
            shipped.replace(
                "ttl_only_drop_parts = 1;",
                "ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;"
            )
        );
        assert!(doc().contains("non_replicated_deduplication_window = 10000"));
    }

    #[test]
    fn docs_embed_the_cluster_ddl_verbatim() {
        let doc = doc();
        for ddl in cluster_ddl(Schema::Upstream, "net", "my_cluster") {
            assert!(
                doc.contains(&format!("```sql\n{ddl}```")),
                "docs/clickhouse.md must contain, in a ```sql block, exactly:\n{ddl}"
            );
        }
        let [local, _] = cluster_ddl(Schema::Upstream, "net", "my_cluster");
        assert!(local.contains("ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', (bytes, packets))"));
        assert!(local.contains("`remoteCloudService`"));
    }
}
