//! `label --clickhouse`: the options validated into a plan, the table
//! checked before labelling, the sink started, and what the user is told
//! (progress, the end-of-run line, and how far a failed run got).

use std::fmt;
use std::time::{Duration, Instant};

use kubenetmon::clickhouse::{
    prepare_table, BatchReport, ClickHouseError, ClickHouseSink, Client, ClientOptions, Create,
    Deduplication, Endpoint, InsertHandle, InsertObserver, InsertStats, SinkOptions, TableName,
    TableReport, DEDUP_WINDOW, UNKNOWN_TABLE,
};
use kubenetmon::model::RunMeta;
use kubenetmon::output::{Schema, Sink};

use super::clickhouse_args::ClickHouseArgs;
use crate::cli::UsageError;

pub const USER_ENV: &str = "KUBENETMON_CLICKHOUSE_USER";
pub const PASSWORD_ENV: &str = "KUBENETMON_CLICKHOUSE_PASSWORD";

/// `--clickhouse` and its options, validated.
#[derive(Debug)]
pub struct ClickHousePlan {
    pub endpoint: Endpoint,
    /// `None`: the schema's table ([`Schema::table`]).
    pub table: Option<TableName>,
    pub create_table: bool,
    pub batch_rows: u64,
    pub client: ClientOptions,
    /// What a re-run needs to label the same rows (stdin without --timestamp).
    pub rerun_note: Option<String>,
}

fn env_text(name: &str) -> Result<Option<String>, UsageError> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(UsageError::new(format!("{name} is not valid UTF-8")))
        }
    }
}

impl ClickHousePlan {
    /// `None` without `--clickhouse`. Mistakes are usage errors (exit 2),
    /// worded without the password.
    pub fn new(args: &ClickHouseArgs) -> Result<Option<ClickHousePlan>, UsageError> {
        let Some(raw) = &args.url else {
            return Ok(None);
        };
        let endpoint = Endpoint::parse(&raw.0)
            .map_err(|e| UsageError::new(e.to_string()))?
            .or_credentials(env_text(USER_ENV)?, env_text(PASSWORD_ENV)?);
        let table = args
            .table
            .as_deref()
            .map(TableName::parse)
            .transpose()
            .map_err(|e| UsageError::new(format!("--table: {e}")))?;
        Ok(Some(ClickHousePlan {
            endpoint,
            table,
            create_table: args.create_table,
            batch_rows: args.batch_rows,
            client: ClientOptions {
                timeout: Duration::from_secs(args.clickhouse_timeout),
                retries: args.retries,
                ..ClientOptions::default()
            },
            rerun_note: None,
        }))
    }

    pub fn table(&self, schema: Schema) -> TableName {
        self.table.clone().unwrap_or(TableName {
            database: None,
            name: schema.table().to_string(),
        })
    }
}

/// An error with what to do about it on the next line.
#[derive(Debug)]
struct WithHint {
    error: String,
    hint: String,
}

impl fmt::Display for WithHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  {}", self.error, self.hint)
    }
}

impl std::error::Error for WithHint {}

fn with_hint(error: &anyhow::Error, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(WithHint {
        error: format!("{error:#}"),
        hint: hint.into(),
    })
}

/// The table the rows go into, checked; then the sink that feeds it.
pub struct Target {
    endpoint: Endpoint,
    table: TableName,
    schema: Schema,
    batch_rows: u64,
    report: TableReport,
    dry_run: bool,
    client: Option<Client>,
    handle: Option<InsertHandle>,
    started: Option<Instant>,
    /// What a re-run needs to label the same rows (stdin without --timestamp).
    rerun_note: Option<String>,
}

impl Target {
    /// Connects, checks the table (creating it with `--create-table`,
    /// except in a dry run) and says what it found.
    pub fn connect(plan: &ClickHousePlan, schema: Schema, dry_run: bool) -> anyhow::Result<Target> {
        let table = plan.table(schema);
        let context = || format!("ClickHouse {}", plan.endpoint);
        let client = Client::new(plan.endpoint.clone(), plan.client.clone())
            .map_err(|e| anyhow::Error::new(e).context(context()))?;
        let create = match (plan.create_table, dry_run) {
            (false, _) => Create::No,
            (true, false) => Create::Yes,
            (true, true) => Create::WouldCreate,
        };
        let retries = plan.client.retries;
        let mut before_retry = |retry: u32, error: &ClickHouseError, pause: Duration| {
            warn!(
                "ClickHouse {}: {error}; retry {retry} of {retries} in {:.0} s",
                plan.endpoint,
                pause.as_secs_f64()
            );
        };
        let report = match prepare_table(&client, schema, &table, create, &mut before_retry) {
            Ok(r) => r,
            Err(e) => {
                let code = e.code();
                let err = anyhow::Error::new(e).context(context());
                return Err(if code == Some(UNKNOWN_TABLE) {
                    with_hint(
                        &err,
                        "give --create-table to create it from the shipped DDL, \
                         or --table to name another (docs/clickhouse.md)",
                    )
                } else {
                    err
                });
            }
        };
        let t = &table;
        let server = &report.server;
        note!(
            "ClickHouse {}: server {}, user {}, database {}",
            plan.endpoint,
            server.version,
            server.user,
            t.database.as_deref().unwrap_or(&server.database)
        );
        if report.created {
            note!(
                "created table {t} (SummingMergeTree, non_replicated_deduplication_window = {DEDUP_WINDOW})"
            );
        }
        if report.would_create {
            note!("dry run: table {t} does not exist; --create-table would create it");
        }
        match report.deduplication {
            Deduplication::Yes => {}
            Deduplication::WindowZero => warn_loud!(
                "table {t} is a plain {} with non_replicated_deduplication_window = 0: a retried \
                 batch, or this command run twice, would insert rows twice. Set it with \
                 `ALTER TABLE {} MODIFY SETTING non_replicated_deduplication_window = {DEDUP_WINDOW}` \
                 (docs/clickhouse.md)",
                report.engine,
                t.sql()
            ),
            Deduplication::Unknown if !report.would_create => note!(
                "table {t} is a {} table: repeated inserts are dropped only if the tables behind \
                 it deduplicate (replicated ones do by default; docs/clickhouse.md)",
                if report.engine.is_empty() { "?" } else { &report.engine }
            ),
            Deduplication::Unknown => {}
        }
        if !report.extra_columns.is_empty() {
            note!(
                "table {t} has columns the rows do not fill (they get their defaults): {}",
                report.extra_columns.join(", ")
            );
        }
        if dry_run && !report.would_create {
            note!("dry run: table {t} takes {schema} rows; nothing inserted");
        }
        Ok(Target {
            endpoint: plan.endpoint.clone(),
            table,
            schema,
            batch_rows: plan.batch_rows,
            report,
            dry_run,
            client: Some(client),
            handle: None,
            started: None,
            rerun_note: plan.rerun_note.clone(),
        })
    }

    /// The sink that inserts the rows (once per run).
    pub fn sink(&mut self, meta: &RunMeta, verbose: bool) -> anyhow::Result<Box<dyn Sink>> {
        let client = self
            .client
            .take()
            .ok_or_else(|| anyhow::anyhow!("the ClickHouse sink was already started"))?;
        let opts = SinkOptions {
            table: self.table.clone(),
            schema: self.schema,
            batch_rows: self.batch_rows,
        };
        let observer = Box::new(Progress { verbose });
        let (sink, handle) = ClickHouseSink::start(client, opts, meta, observer)?;
        self.handle = Some(handle);
        self.started = Some(Instant::now());
        Ok(Box::new(sink))
    }

    fn stats(&self) -> InsertStats {
        self.handle
            .as_ref()
            .map(InsertHandle::stats)
            .unwrap_or_default()
    }

    /// The end-of-run summary line.
    pub fn summary_line(&self) -> String {
        if self.dry_run {
            return format!(
                "  clickhouse: dry run, nothing inserted into {} at {}",
                self.table, self.endpoint
            );
        }
        let s = self.stats();
        format!(
            "  clickhouse: {} into {} at {}",
            amount(&s),
            self.table,
            self.endpoint
        )
    }

    /// The `clickhouse` object of `--summary-json`.
    pub fn json(&self) -> serde_json::Value {
        let s = self.stats();
        let wall = self.started.map(|t| t.elapsed()).unwrap_or_default();
        serde_json::json!({
            "table": self.table.to_string(),
            "dry_run": self.dry_run,
            "created": self.report.created,
            "batches": s.batches,
            "rows": s.rows,
            "bytes": s.bytes,
            "attempts": s.attempts,
            "seconds_in_requests": s.request_time.as_secs_f64(),
            "seconds_waiting_for_server": s.wait_time.as_secs_f64(),
            "seconds_since_first_row": wall.as_secs_f64(),
        })
    }

    /// A failed run, told with how far it got and whether a re-run is safe.
    pub fn explain_failure(&self, err: anyhow::Error) -> anyhow::Error {
        if self.handle.is_none() {
            return err;
        }
        let s = self.stats();
        let got = if s.batches == 0 {
            format!("Nothing went into {} before the failure.", self.table)
        } else {
            format!(
                "{} went into {} before the failure.",
                amount(&s),
                self.table
            )
        };
        let safe = match self.report.deduplication {
            Deduplication::Yes => {
                "Running the same command again is safe: the server recognises the batches it \
                 already has by their insert_deduplication_token and does not insert them twice."
                    .to_string()
            }
            Deduplication::WindowZero => format!(
                "Running it again would insert those rows twice: {} does not deduplicate \
                 (set non_replicated_deduplication_window, docs/clickhouse.md).",
                self.table
            ),
            Deduplication::Unknown => format!(
                "Running the same command again is safe if the tables behind {} deduplicate \
                 (replicated tables do by default).",
                self.table
            ),
        };
        let mut hint = format!("{got} {safe}");
        if let Some(note) = &self.rerun_note {
            hint.push(' ');
            hint.push_str(note);
        }
        with_hint(&err, hint)
    }
}

fn amount(s: &InsertStats) -> String {
    format!(
        "{} batch{}, {} rows, {} bytes of Parquet",
        s.batches,
        if s.batches == 1 { "" } else { "es" },
        s.rows,
        s.bytes
    )
}

/// Retries always (unless -q), each batch with -v.
struct Progress {
    verbose: bool,
}

impl InsertObserver for Progress {
    fn inserted(&mut self, b: &BatchReport) {
        if self.verbose {
            let retried = if b.attempts > 1 {
                format!(", {} attempts", b.attempts)
            } else {
                String::new()
            };
            note!(
                "ClickHouse: batch {} inserted: {} rows, {} bytes, {:.2} s{retried}",
                b.number,
                b.rows,
                b.bytes,
                b.elapsed.as_secs_f64()
            );
        }
    }

    fn retrying(
        &mut self,
        number: u64,
        retry: u32,
        retries: u32,
        error: &ClickHouseError,
        pause: Duration,
    ) {
        warn!(
            "ClickHouse: batch {number}: {error}; retry {retry} of {retries} in {:.0} s",
            pause.as_secs_f64()
        );
    }
}
