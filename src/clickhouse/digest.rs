//! `insert_deduplication_token` of a batch: SHA-256 of the batch's rows,
//! value by value, and of its number (SPEC §10). The rows are hashed, not
//! the Parquet bytes, so the token stays the same whatever the encoder
//! does with them (another arrow version, another compression), and two
//! batches of equal rows at different positions of a run stay distinct.

use std::net::Ipv6Addr;

use ring::digest::{Context, SHA256};

use crate::model::{FlagNames, LabelledFlow, RunMeta};
use crate::output::cells::{flow_ipv6, flow_port, flow_text, run_text};
use crate::output::schema::{Field, Schema, Scope};
use crate::output::TimeBucket;

/// Bumped whenever the encoding below changes meaning.
const VERSION: &[u8] = b"kubenetmon rows v1\0";
/// Bytes gathered before they are hashed (one `update` per 64 KiB).
const CHUNK: usize = 64 * 1024;

/// The running digest of one batch.
pub struct BatchDigest {
    ctx: Context,
    buf: Vec<u8>,
    /// The schema's per-flow and per-row fields, in column order.
    flow_fields: Vec<Field>,
    row_fields: Vec<Field>,
    names: FlagNames,
    interval_seconds: u16,
    last: Option<(i64, TimeBucket)>,
}

impl BatchDigest {
    /// A digest that starts with the schema (names and types) and the
    /// run's constant columns.
    pub fn new(schema: Schema, meta: &RunMeta) -> BatchDigest {
        let mut d = BatchDigest {
            ctx: Context::new(&SHA256),
            buf: Vec::with_capacity(CHUNK + 1024),
            flow_fields: Vec::new(),
            row_fields: Vec::new(),
            names: meta.flag_names.clone(),
            interval_seconds: meta.interval_seconds,
            last: None,
        };
        d.buf.extend_from_slice(VERSION);
        for c in schema.columns() {
            d.text(c.name);
            d.text(c.clickhouse_type);
            match c.scope() {
                Scope::Run => match c.field {
                    Field::IntervalSeconds => d
                        .buf
                        .extend_from_slice(&meta.interval_seconds.to_le_bytes()),
                    Field::Run(t) => d.text(run_text(t, meta)),
                    // Run-scoped columns are exactly these two kinds.
                    other => unreachable!("{other:?} is not a per-run column"),
                },
                Scope::Flow => d.flow_fields.push(c.field),
                Scope::Row => d.row_fields.push(c.field),
            }
        }
        d
    }

    fn text(&mut self, s: &str) {
        self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn ip(&mut self, ip: Ipv6Addr) {
        self.buf.extend_from_slice(&ip.octets());
    }

    /// Adds flows (two rows each) in the order they are written.
    pub fn add(&mut self, flows: &[LabelledFlow<'_>]) {
        for flow in flows {
            self.add_flow(flow);
            if self.buf.len() >= CHUNK {
                self.ctx.update(&self.buf);
                self.buf.clear();
            }
        }
    }

    fn add_flow(&mut self, flow: &LabelledFlow<'_>) {
        // The writer has already rejected times a DateTime cannot hold.
        let bucket = match self.last {
            Some((t, b)) if t == flow.observed_at => b,
            _ => {
                let b =
                    TimeBucket::of(flow.observed_at, self.interval_seconds).unwrap_or(TimeBucket {
                        day: 0,
                        interval_start: 0,
                    });
                self.last = Some((flow.observed_at, b));
                b
            }
        };
        for i in 0..self.flow_fields.len() {
            match self.flow_fields[i] {
                Field::Date => self.buf.extend_from_slice(&bucket.day.to_le_bytes()),
                Field::IntervalStartTime => self
                    .buf
                    .extend_from_slice(&bucket.interval_start.to_le_bytes()),
                Field::Text(t) => self.text(flow_text(t, flow)),
                // IPv4 as its mapped form: the schema, hashed first, says
                // which column type it was.
                Field::Ip(side, _) => self.ip(flow_ipv6(side, flow)),
                Field::Port(side) => self
                    .buf
                    .extend_from_slice(&flow_port(side, flow).to_le_bytes()),
                Field::ConnectionFlags => {
                    self.buf.push(flow.flags.len() as u8);
                    for (id, v) in flow.flags.iter() {
                        let name = self.names.name(id);
                        self.buf
                            .extend_from_slice(&(name.len() as u32).to_le_bytes());
                        self.buf.extend_from_slice(name.as_bytes());
                        self.buf.push(u8::from(v));
                    }
                }
                f @ (Field::IntervalSeconds
                | Field::Run(_)
                | Field::Direction
                | Field::Bytes
                | Field::Packets) => unreachable!("{f:?} is not a per-flow column"),
            }
        }
        for counters in [flow.out, flow.inbound] {
            for i in 0..self.row_fields.len() {
                match self.row_fields[i] {
                    // the row's position says out or in
                    Field::Direction => {}
                    Field::Bytes => self.buf.extend_from_slice(&counters.bytes.to_le_bytes()),
                    Field::Packets => self.buf.extend_from_slice(&counters.packets.to_le_bytes()),
                    f => unreachable!("{f:?} is not a per-row column"),
                }
            }
        }
    }

    /// The token: hex SHA-256 of everything added, then the batch number.
    pub fn finish(mut self, batch: u64) -> String {
        self.buf.extend_from_slice(b"batch\0");
        self.buf.extend_from_slice(&batch.to_le_bytes());
        self.ctx.update(&self.buf);
        let digest = self.ctx.finish();
        let mut hex = String::with_capacity(64);
        for b in digest.as_ref() {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
        }
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cloud, ConnectionClass, Counters, Endpoint, LocalSite, Protocol};
    use std::net::{IpAddr, Ipv4Addr};

    fn meta() -> RunMeta {
        RunMeta {
            environment: "production".into(),
            local: LocalSite {
                cloud: Cloud::Aws,
                region: "us-east-1".into(),
            },
            cluster: "c".into(),
            interval_seconds: 60,
            flag_names: FlagNames::new(["CROSS_AZ".to_string()]).unwrap(),
        }
    }

    fn flow(pod: &str, bytes: u64) -> LabelledFlow<'_> {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 244, 1, 11));
        let mut f = LabelledFlow::new(
            1_700_000_000,
            Protocol::Tcp,
            ConnectionClass::IntraVpc,
            Endpoint {
                pod,
                ..Endpoint::bare(ip, 80)
            },
            Endpoint::bare(ip, 443),
        );
        f.out = Counters { packets: 1, bytes };
        f
    }

    fn token(schema: Schema, meta: &RunMeta, flows: &[LabelledFlow<'_>], batch: u64) -> String {
        let mut d = BatchDigest::new(schema, meta);
        d.add(flows);
        d.finish(batch)
    }

    #[test]
    fn equal_rows_and_number_give_equal_tokens_anything_else_differs() {
        let m = meta();
        let a = [flow("a", 10), flow("b", 20)];
        let base = token(Schema::Upstream, &m, &a, 1);
        assert_eq!(base.len(), 64);
        assert!(base.bytes().all(|b| b.is_ascii_hexdigit()));
        // same rows from other strings (other addresses), split differently
        let (pa, pb) = (String::from("a"), String::from("b"));
        let mut d = BatchDigest::new(Schema::Upstream, &m);
        d.add(&[flow(&pa, 10)]);
        d.add(&[flow(&pb, 20)]);
        assert_eq!(d.finish(1), base);

        let mut others = vec![
            token(Schema::Upstream, &m, &a, 2),
            token(Schema::Dual, &m, &a, 1),
            token(Schema::Upstream, &m, &[flow("a", 10), flow("b", 21)], 1),
            token(Schema::Upstream, &m, &[flow("b", 20), flow("a", 10)], 1),
            token(Schema::Upstream, &m, &[flow("ab", 10), flow("", 20)], 1),
            token(Schema::Upstream, &m, &a[..1], 1),
        ];
        let mut later = a;
        later[1].observed_at += 60;
        others.push(token(Schema::Upstream, &m, &later, 1));
        let mut flagged = a;
        flagged[0]
            .flags
            .set(m.flag_names.id("CROSS_AZ").unwrap(), true);
        others.push(token(Schema::Upstream, &m, &flagged, 1));
        let mut env = m.clone();
        env.environment = "staging".into();
        others.push(token(Schema::Upstream, &env, &a, 1));
        let mut interval = m.clone();
        interval.interval_seconds = 300;
        others.push(token(Schema::Upstream, &interval, &a, 1));
        let mut swapped = a;
        swapped[0].inbound = swapped[0].out;
        swapped[0].out = Counters::default();
        others.push(token(Schema::Upstream, &m, &swapped, 1));
        for (i, t) in others.iter().enumerate() {
            assert_ne!(*t, base, "variant {i}");
        }
        others.sort();
        others.dedup();
        assert_eq!(others.len(), 11, "every variant has its own token");
    }

    #[test]
    fn same_bucket_same_token() {
        // 20 s apart, one minute: the rows are equal, so is the token
        let m = meta();
        let a = [flow("a", 10)];
        let mut b = a;
        b[0].observed_at += 10;
        assert_eq!(
            token(Schema::Upstream, &m, &a, 1),
            token(Schema::Upstream, &m, &b, 1)
        );
    }
}
