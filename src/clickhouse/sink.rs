//! The ClickHouse [`Sink`]: rows are encoded as Parquet into a body of
//! `batch_rows` rows; a finished body goes to a sender thread through a
//! rendezvous channel, so one batch is in flight while the next is
//! labelled, and memory holds at most two batches (the one being sent
//! and the one being filled or waiting to be handed over).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::client::{ClickHouseError, Client};
use super::digest::BatchDigest;
use super::table::TableName;
use crate::model::{LabelledFlow, RunMeta};
use crate::output::{Finished, OutputError, ParquetWriter, Pending, Schema, Sink};

/// What the sink writes, and where.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    pub table: TableName,
    pub schema: Schema,
    /// Rows per INSERT; rounded down to even (a flow's two rows stay in
    /// one batch), at least 2.
    pub batch_rows: u64,
}

/// One batch, as the server acknowledged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchReport {
    /// 1-based, in input order.
    pub number: u64,
    pub rows: u64,
    /// Bytes of the Parquet body.
    pub bytes: u64,
    pub attempts: u32,
    /// In requests, pauses between retries excluded.
    pub elapsed: Duration,
}

/// Hears about batches as the sender thread sends them. Called from that
/// thread; the library prints nothing itself.
pub trait InsertObserver: Send {
    fn inserted(&mut self, _batch: &BatchReport) {}
    /// Batch `number` failed with a transient `error`; retry `retry` of
    /// `retries` follows after `pause`.
    fn retrying(
        &mut self,
        _number: u64,
        _retry: u32,
        _retries: u32,
        _error: &ClickHouseError,
        _pause: Duration,
    ) {
    }
}

/// An observer that ignores everything.
pub struct Silent;
impl InsertObserver for Silent {}

/// What went in so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertStats {
    /// Batches the server acknowledged.
    pub batches: u64,
    pub rows: u64,
    /// Parquet bytes sent in acknowledged batches.
    pub bytes: u64,
    /// Requests, retries included.
    pub attempts: u64,
    /// Time the sender spent in requests (the server's work and the network).
    pub request_time: Duration,
    /// Time the labelling side waited for the sender: handing over a
    /// batch while the previous one was still in flight, and the last one.
    pub wait_time: Duration,
}

#[derive(Default)]
struct Shared {
    stats: Mutex<InsertStats>,
    failed: AtomicBool,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut InsertStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Reads the sink's progress from outside it (the sink itself disappears
/// into the pipeline): for the end-of-run report, and for saying how far
/// a failed run got.
#[derive(Clone)]
pub struct InsertHandle(Arc<Shared>);

impl InsertHandle {
    pub fn stats(&self) -> InsertStats {
        *self.0.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Batch {
    number: u64,
    rows: u64,
    body: Bytes,
    token: String,
}

pub struct ClickHouseSink {
    name: String,
    schema: Schema,
    meta: RunMeta,
    flows_per_batch: usize,
    writer: Option<ParquetWriter<Vec<u8>>>,
    digest: Option<BatchDigest>,
    /// Flows in the batch being filled.
    flows: usize,
    next: u64,
    tx: Option<SyncSender<Batch>>,
    thread: Option<JoinHandle<Result<(), ClickHouseError>>>,
    shared: Arc<Shared>,
}

impl ClickHouseSink {
    /// Starts the sender thread. `client`'s table must already exist with
    /// compatible columns (see [`super::prepare_table`]).
    pub fn start(
        client: Client,
        opts: SinkOptions,
        meta: &RunMeta,
        observer: Box<dyn InsertObserver>,
    ) -> Result<(ClickHouseSink, InsertHandle), OutputError> {
        let name = format!("ClickHouse {}, table {}", client.endpoint(), opts.table);
        if opts.batch_rows < 2 {
            return Err(OutputError::Value {
                name,
                message: "a batch holds at least 2 rows (one flow)".into(),
            });
        }
        let shared = Arc::new(Shared::default());
        // Rendezvous: `send` returns once the sender has taken the batch,
        // i.e. when the previous one is done.
        let (tx, rx) = sync_channel::<Batch>(0);
        let columns: Vec<String> = opts.schema.names().map(|n| format!("`{n}`")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) FORMAT Parquet",
            opts.table.sql(),
            columns.join(", ")
        );
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("clickhouse-insert".into())
            .spawn(move || send_batches(&client, &sql, rx, &thread_shared, observer))
            .map_err(|source| OutputError::Write {
                name: name.clone(),
                source,
            })?;
        let sink = ClickHouseSink {
            name,
            schema: opts.schema,
            meta: meta.clone(),
            flows_per_batch: (opts.batch_rows / 2).min(usize::MAX as u64) as usize,
            writer: None,
            digest: None,
            flows: 0,
            next: 1,
            tx: Some(tx),
            thread: Some(thread),
            shared: shared.clone(),
        };
        Ok((sink, InsertHandle(shared)))
    }

    /// The sender's error, once it has stopped.
    fn sender_error(&mut self) -> OutputError {
        drop(self.tx.take());
        let source: Box<dyn std::error::Error + Send + Sync> =
            match self.thread.take().map(JoinHandle::join) {
                Some(Ok(Err(e))) => Box::new(e),
                Some(Ok(Ok(()))) | None => "the insert thread stopped early".into(),
                Some(Err(_)) => "the insert thread panicked".into(),
            };
        OutputError::Destination {
            name: self.name.clone(),
            source,
        }
    }

    /// Starts a batch (its writer and digest) unless one is open.
    fn open_batch(&mut self) -> Result<(), OutputError> {
        if self.writer.is_none() {
            let w = ParquetWriter::with_writer(
                Vec::with_capacity(1 << 20),
                self.name.clone(),
                self.schema,
                &self.meta,
            )?;
            self.writer = Some(w);
            self.digest = Some(BatchDigest::new(self.schema, &self.meta));
        }
        Ok(())
    }

    /// Finishes the current batch and hands it to the sender, waiting
    /// while the previous one is still in flight.
    fn ship(&mut self) -> Result<(), OutputError> {
        let (Some(writer), Some(digest)) = (self.writer.take(), self.digest.take()) else {
            return Ok(());
        };
        let (body, rows) = writer.into_inner()?;
        let batch = Batch {
            number: self.next,
            rows,
            token: digest.finish(self.next),
            body: Bytes::from(body),
        };
        self.next += 1;
        self.flows = 0;
        let waited = Instant::now();
        let sent = match &self.tx {
            Some(tx) => tx.send(batch).is_ok(),
            None => false,
        };
        let waited = waited.elapsed();
        self.shared.update(|s| s.wait_time += waited);
        if sent {
            Ok(())
        } else {
            Err(self.sender_error())
        }
    }
}

impl Sink for ClickHouseSink {
    fn write_batch(&mut self, flows: &[LabelledFlow<'_>]) -> Result<(), OutputError> {
        if self.shared.failed.load(Ordering::Relaxed) {
            return Err(self.sender_error());
        }
        let mut rest = flows;
        while !rest.is_empty() {
            let room = self.flows_per_batch - self.flows;
            let (seg, tail) = rest.split_at(room.min(rest.len()));
            self.open_batch()?;
            // The token's digest runs beside the Parquet encoding.
            if let (Some(w), Some(d)) = (self.writer.as_mut(), self.digest.as_mut()) {
                let (written, ()) = rayon::join(|| w.write_flows(seg), || d.add(seg));
                written?;
            }
            self.flows += seg.len();
            if self.flows >= self.flows_per_batch {
                self.ship()?;
            }
            rest = tail;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Finished, OutputError> {
        if self.flows > 0 {
            self.ship()?;
        }
        drop(self.tx.take());
        let waited = Instant::now();
        let joined = self.thread.take().map(JoinHandle::join);
        let waited = waited.elapsed();
        self.shared.update(|s| s.wait_time += waited);
        let source: Box<dyn std::error::Error + Send + Sync> = match joined {
            Some(Ok(Ok(()))) | None => {
                let rows = self
                    .shared
                    .stats
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .rows;
                return Ok(Finished {
                    rows,
                    pending: Pending::none(),
                });
            }
            Some(Ok(Err(e))) => Box::new(e),
            Some(Err(_)) => "the insert thread panicked".into(),
        };
        Err(OutputError::Destination {
            name: self.name.clone(),
            source,
        })
    }
}

impl Drop for ClickHouseSink {
    /// Unfinished (the run failed elsewhere): nothing more is sent, but the
    /// batch in flight is seen through, so the report of how far the run
    /// got is exact.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The sender thread: one INSERT per batch, in order, each retried on
/// transient errors; stops at the first batch that fails.
fn send_batches(
    client: &Client,
    sql: &str,
    rx: Receiver<Batch>,
    shared: &Shared,
    mut observer: Box<dyn InsertObserver>,
) -> Result<(), ClickHouseError> {
    let retries = client.options().retries;
    for batch in rx {
        let what = format!("INSERT of batch {} ({} rows)", batch.number, batch.rows);
        let settings = [
            ("insert_deduplication_token", batch.token.as_str()),
            // dedup by token, synchronously, also through a Distributed table
            ("insert_deduplicate", "1"),
            ("async_insert", "0"),
            ("insert_distributed_sync", "1"),
        ];
        let bytes = batch.body.len() as u64;
        let number = batch.number;
        let mut retried = 0u64;
        let result = client.insert(
            &what,
            sql,
            &settings,
            batch.body,
            &mut |retry, error, pause| {
                retried += 1;
                observer.retrying(number, retry, retries, error, pause);
            },
        );
        match result {
            Ok(answer) => {
                let report = BatchReport {
                    number,
                    rows: batch.rows,
                    bytes,
                    attempts: answer.attempts,
                    elapsed: answer.elapsed,
                };
                shared.update(|s| {
                    s.batches += 1;
                    s.rows += batch.rows;
                    s.bytes += bytes;
                    s.attempts += u64::from(answer.attempts);
                    s.request_time += answer.elapsed;
                });
                observer.inserted(&report);
            }
            Err(e) => {
                shared.update(|s| s.attempts += retried + 1);
                shared.failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
    Ok(())
}
