//! The output columns, defined once. A [`Schema`] is a value: both writers
//! iterate its [`Schema::columns`], and `docs/schema.md` embeds each
//! schema's [`Schema::ddl`] text (a test keeps them equal), so the order,
//! names and types cannot drift apart. A new column is a [`Field`] variant
//! and a row in `UPSTREAM_COLUMNS`; the writers' exhaustive matches then
//! say what else must handle it.

/// What a column holds. The writers match on this exhaustively (never on
/// the name, never with a catch-all arm), so a new column does not compile
/// until every writer handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// ClickHouse `Date`; Parquet `Date32`; CSV `YYYY-MM-DD`.
    Date,
    /// ClickHouse `DateTime`; Parquet timestamp (seconds, UTC); CSV `YYYY-MM-DD HH:MM:SS`.
    IntervalStartTime,
    /// `UInt16`, the same in every row of a run.
    IntervalSeconds,
    /// A text column whose value is the same in every row of a run.
    Run(RunText),
    /// A text column whose value belongs to a flow.
    Text(FlowText),
    /// `Map(String, Bool)`; Parquet MAP; CSV `{'NAME':true}`.
    ConnectionFlags,
    /// `Enum('out','in')`, written as its text.
    Direction,
    /// An endpoint's address.
    Ip(Side, IpType),
    /// An endpoint's port, `UInt16`.
    Port(Side),
    Bytes,
    Packets,
}

/// The per-run text columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunText {
    Environment,
    LocalCloud,
    LocalRegion,
    LocalCluster,
    LocalCell,
    RemoteCluster,
    RemoteCell,
}

/// The per-flow text columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowText {
    Proto,
    ConnectionClass,
    AvailabilityZone(Side),
    Node(Side),
    InstanceId(Side),
    Namespace(Side),
    Pod(Side),
    App(Side),
    RemoteCloud,
    RemoteRegion,
    RemoteCloudService,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Local,
    Remote,
}

/// How an address column is typed in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpType {
    /// ClickHouse `IPv4` (upstream's table): IPv4 only.
    V4,
    /// ClickHouse `IPv6` (SPEC §7's dual table): IPv4 as `::ffff:a.b.c.d`.
    V6,
}

/// Whose value a column carries: constant for the run, shared by a flow's
/// two rows, or different in the `out` and `in` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Run,
    Flow,
    Row,
}

impl Field {
    pub fn scope(self) -> Scope {
        match self {
            Field::IntervalSeconds | Field::Run(_) => Scope::Run,
            Field::Date
            | Field::IntervalStartTime
            | Field::Text(_)
            | Field::ConnectionFlags
            | Field::Ip(..)
            | Field::Port(_) => Scope::Flow,
            Field::Direction | Field::Bytes | Field::Packets => Scope::Row,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Name exactly as in upstream's `network_flows_0`.
    pub name: &'static str,
    /// Type in the DDL this project ships.
    pub clickhouse_type: &'static str,
    /// Compression codec in the DDL (upstream's choice).
    pub codec: &'static str,
    pub field: Field,
    /// One line for `docs/schema.md`.
    pub meaning: &'static str,
}

impl Column {
    pub fn scope(&self) -> Scope {
        self.field.scope()
    }
}

const LC: &str = "LowCardinality(String)";
const Z: &str = "ZSTD(1)";

macro_rules! col {
    ($name:literal, $ty:expr, $codec:expr, $field:expr, $meaning:literal) => {
        Column {
            name: $name,
            clickhouse_type: $ty,
            codec: $codec,
            field: $field,
            meaning: $meaning,
        }
    };
}

use Field::{Ip, Port, Run, Text};
use FlowText::*;
use Side::{Local, Remote};

/// SPEC §4, in output order: upstream's `network_flows_0`.
const UPSTREAM_COLUMNS: &[Column] = &[
    col!(
        "date",
        "Date",
        "Delta(2), ZSTD(1)",
        Field::Date,
        "UTC day of the observation time; the partition key"
    ),
    col!(
        "intervalStartTime",
        "DateTime",
        "Delta(4), ZSTD(1)",
        Field::IntervalStartTime,
        "observation time rounded down to a multiple of intervalSeconds since the Unix epoch (UTC)"
    ),
    col!(
        "intervalSeconds",
        "UInt16",
        "Delta(2), ZSTD(1)",
        Field::IntervalSeconds,
        "length of the interval (`--interval-seconds`, default 60)"
    ),
    col!(
        "environment",
        LC,
        Z,
        Run(RunText::Environment),
        "`--environment` (development, staging, production, ...)"
    ),
    col!("proto", LC, Z, Text(Proto), "`tcp` or `udp`"),
    col!(
        "connectionClass",
        LC,
        Z,
        Text(ConnectionClass),
        "`INTRA_VPC`, `INTRA_REGION`, `INTER_REGION` or `PUBLIC_INTERNET`"
    ),
    col!(
        "connectionFlags",
        "Map(LowCardinality(String), Bool)",
        Z,
        Field::ConnectionFlags,
        "SPEC §6.3 flags of the flow (`CROSS_AZ`, `NAT_GATEWAY`, `--flag` names); `{}` with none"
    ),
    col!(
        "direction",
        "Enum('out' = 1, 'in' = 2)",
        Z,
        Field::Direction,
        "`out`: bytes sent by the local endpoint; `in`: bytes it received"
    ),
    col!(
        "localCloud",
        LC,
        Z,
        Run(RunText::LocalCloud),
        "cloud of the cluster (`aws`, `gcp`, `azure`)"
    ),
    col!(
        "localRegion",
        LC,
        Z,
        Run(RunText::LocalRegion),
        "region of the cluster"
    ),
    col!(
        "localCluster",
        LC,
        Z,
        Run(RunText::LocalCluster),
        "`--cluster`"
    ),
    col!("localCell", LC, Z, Run(RunText::LocalCell), "always empty"),
    col!(
        "localAvailabilityZone",
        LC,
        Z,
        Text(AvailabilityZone(Local)),
        "the local pod's node's zone label, else the `--subnets`/`--zone` zone of its IP (SPEC §6.1)"
    ),
    col!(
        "localNode",
        "String",
        Z,
        Text(Node(Local)),
        "node of the local pod"
    ),
    col!(
        "localInstanceID",
        "String",
        Z,
        Text(InstanceId(Local)),
        "label `control-plane-id` of the local pod"
    ),
    col!(
        "localNamespace",
        LC,
        Z,
        Text(Namespace(Local)),
        "namespace of the local pod"
    ),
    col!(
        "localPod",
        "String",
        Z,
        Text(Pod(Local)),
        "name of the local pod"
    ),
    col!(
        "localIPv4",
        "IPv4",
        "Delta(4), ZSTD(1)",
        Ip(Local, IpType::V4),
        "local IP address"
    ),
    col!(
        "localPort",
        "UInt16",
        "Delta(2), ZSTD(1)",
        Port(Local),
        "local port"
    ),
    col!(
        "localApp",
        "String",
        Z,
        Text(App(Local)),
        "label `app.kubernetes.io/name` (else `k8s-app`) of the local pod"
    ),
    col!(
        "remoteCloud",
        LC,
        Z,
        Text(RemoteCloud),
        "cloud owning the remote address; empty when no range matched"
    ),
    col!(
        "remoteRegion",
        LC,
        Z,
        Text(RemoteRegion),
        "region of the remote address (`global` for global ranges)"
    ),
    col!(
        "remoteCluster",
        LC,
        Z,
        Run(RunText::RemoteCluster),
        "always `UNKNOWN` (SPEC §3.10)"
    ),
    col!(
        "remoteCell",
        LC,
        Z,
        Run(RunText::RemoteCell),
        "always empty"
    ),
    col!(
        "remoteAvailabilityZone",
        LC,
        Z,
        Text(AvailabilityZone(Remote)),
        "the remote pod's node's zone label, else the `--subnets`/`--zone` zone of its IP (SPEC §6.1)"
    ),
    col!(
        "remoteNode",
        "String",
        Z,
        Text(Node(Remote)),
        "node of the remote pod"
    ),
    col!(
        "remoteInstanceID",
        "String",
        Z,
        Text(InstanceId(Remote)),
        "label `control-plane-id` of the remote pod"
    ),
    col!(
        "remoteNamespace",
        LC,
        Z,
        Text(Namespace(Remote)),
        "namespace of the remote pod"
    ),
    col!(
        "remotePod",
        "String",
        Z,
        Text(Pod(Remote)),
        "name of the remote pod"
    ),
    col!(
        "remoteIPv4",
        "IPv4",
        "Delta(4), ZSTD(1)",
        Ip(Remote, IpType::V4),
        "remote IP address"
    ),
    col!(
        "remotePort",
        "UInt16",
        "Delta(2), ZSTD(1)",
        Port(Remote),
        "remote port"
    ),
    col!(
        "remoteApp",
        "String",
        Z,
        Text(App(Remote)),
        "label `app.kubernetes.io/name` (else `k8s-app`) of the remote pod"
    ),
    col!(
        "remoteCloudService",
        LC,
        Z,
        Text(RemoteCloudService),
        "service of the matched range (`s3`, `ec2`, `googleservice`, ...); empty when none"
    ),
    col!(
        "bytes",
        "UInt64",
        "Delta(8), ZSTD(1)",
        Field::Bytes,
        "bytes in this row's direction"
    ),
    col!(
        "packets",
        "UInt64",
        "Delta(8), ZSTD(1)",
        Field::Packets,
        "packets in this row's direction"
    ),
];

/// Sparse primary index of upstream's table.
pub const PRIMARY_KEY: &[&str] = &[
    "date",
    "intervalStartTime",
    "direction",
    "proto",
    "localApp",
    "remoteApp",
    "localPod",
    "remotePod",
];

/// Rows older than this are deleted by the table's TTL.
pub const TTL_DAYS: u32 = 90;

/// An output schema: which columns, in which order, for which table.
/// A value the sinks receive, so one run can write either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Schema {
    /// SPEC §4: upstream's `network_flows_0`, IPv4 only.
    #[default]
    Upstream,
    /// SPEC §7: the same columns with `localIP`/`remoteIP` typed `IPv6`.
    Dual,
}

static DUAL_COLUMNS: std::sync::LazyLock<Vec<Column>> = std::sync::LazyLock::new(|| {
    UPSTREAM_COLUMNS
        .iter()
        .map(|c| match c.field {
            Field::Ip(side, IpType::V4) => Column {
                name: match side {
                    Side::Local => "localIP",
                    Side::Remote => "remoteIP",
                },
                clickhouse_type: "IPv6",
                codec: "ZSTD(1)",
                field: Field::Ip(side, IpType::V6),
                meaning: match side {
                    Side::Local => "local IP address; IPv4 as `::ffff:a.b.c.d`",
                    Side::Remote => "remote IP address; IPv4 as `::ffff:a.b.c.d`",
                },
            },
            _ => *c,
        })
        .collect()
});

impl Schema {
    pub const ALL: [Schema; 2] = [Schema::Upstream, Schema::Dual];

    pub fn as_str(self) -> &'static str {
        match self {
            Schema::Upstream => "upstream",
            Schema::Dual => "dual",
        }
    }

    /// The columns, in output order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Schema::Upstream => UPSTREAM_COLUMNS,
            Schema::Dual => &DUAL_COLUMNS,
        }
    }

    /// The table name this project's DDL creates.
    pub fn table(self) -> &'static str {
        match self {
            Schema::Upstream => "network_flows_0",
            Schema::Dual => "network_flows_dual",
        }
    }

    /// Column names in order, as the CSV header and Parquet schema spell them.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.columns().iter().map(|c| c.name)
    }

    /// The sparse primary index (upstream's; no address column is in it).
    pub fn primary_key(self) -> &'static [&'static str] {
        PRIMARY_KEY
    }

    /// The sorting key: the primary key, then every other column but the
    /// summed counters, in table order — so only truly identical rows are
    /// summed.
    pub fn order_by(self) -> Vec<&'static str> {
        let mut key: Vec<&'static str> = PRIMARY_KEY.to_vec();
        key.extend(
            self.columns()
                .iter()
                .filter(|c| c.field != Field::Bytes && c.field != Field::Packets)
                .map(|c| c.name)
                .filter(|n| !PRIMARY_KEY.contains(n)),
        );
        key
    }

    /// The `CREATE TABLE` statement shipped in `docs/schema.md`.
    pub fn ddl(self) -> String {
        self.ddl_for(self.table())
    }

    /// [`Self::ddl`] for another table name (e.g. `db.table`).
    pub fn ddl_for(self, table: &str) -> String {
        self.ddl_with_settings(table, "")
    }

    /// [`Self::ddl_for`] with more table settings (`name = value, ...`)
    /// after the shipped ones.
    pub fn ddl_with_settings(self, table: &str, extra_settings: &str) -> String {
        let columns = self.columns();
        let width = columns.iter().map(|c| c.name.len() + 2).max().unwrap_or(0);
        let mut s = format!("CREATE TABLE IF NOT EXISTS {table}\n(\n");
        for (i, c) in columns.iter().enumerate() {
            let sep = if i + 1 == columns.len() { "" } else { "," };
            let quoted = format!("`{}`", c.name);
            s.push_str(&format!(
                "    {quoted:<width$} {} CODEC({}){sep}\n",
                c.clickhouse_type, c.codec
            ));
        }
        s.push_str(")\nENGINE = SummingMergeTree((bytes, packets))\nPARTITION BY date\n");
        s.push_str(&format!("PRIMARY KEY ({})\n", PRIMARY_KEY.join(", ")));
        s.push_str(&format!("ORDER BY ({})\n", self.order_by().join(", ")));
        let extra = if extra_settings.is_empty() {
            String::new()
        } else {
            format!(", {extra_settings}")
        };
        s.push_str(&format!(
            "TTL intervalStartTime + toIntervalDay({TTL_DAYS})\n\
             SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1{extra};\n"
        ));
        s
    }
}

impl std::fmt::Display for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Schema {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schema::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown schema {s:?} (expected upstream or dual)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_five_columns_in_spec_order() {
        let names: Vec<_> = Schema::Upstream.names().collect();
        assert_eq!(names.len(), 35);
        assert_eq!(
            &names[..8],
            &[
                "date",
                "intervalStartTime",
                "intervalSeconds",
                "environment",
                "proto",
                "connectionClass",
                "connectionFlags",
                "direction"
            ]
        );
        assert_eq!(names[17], "localIPv4");
        assert_eq!(names[22], "remoteCluster");
        assert_eq!(names[29], "remoteIPv4");
        assert_eq!(&names[32..], &["remoteCloudService", "bytes", "packets"]);
    }

    #[test]
    fn dual_differs_only_in_the_two_address_columns() {
        let up = Schema::Upstream.columns();
        let dual = Schema::Dual.columns();
        assert_eq!(up.len(), dual.len());
        let differ: Vec<_> = up
            .iter()
            .zip(dual)
            .filter(|(a, b)| a.name != b.name)
            .map(|(a, b)| (a.name, b.name, b.clickhouse_type))
            .collect();
        assert_eq!(
            differ,
            [
                ("localIPv4", "localIP", "IPv6"),
                ("remoteIPv4", "remoteIP", "IPv6")
            ]
        );
        assert_eq!(Schema::Dual.table(), "network_flows_dual");
        assert_eq!("DUAL".parse::<Schema>(), Ok(Schema::Dual));
        assert!("v6"
            .parse::<Schema>()
            .unwrap_err()
            .contains("upstream or dual"));
    }

    #[test]
    fn names_and_fields_are_unique() {
        for schema in Schema::ALL {
            let columns = schema.columns();
            for (i, a) in columns.iter().enumerate() {
                for b in &columns[i + 1..] {
                    assert_ne!(a.name, b.name);
                    assert_ne!(a.field, b.field);
                }
            }
        }
    }

    #[test]
    fn only_direction_and_counters_differ_between_a_flows_rows() {
        for schema in Schema::ALL {
            let row: Vec<_> = schema
                .columns()
                .iter()
                .filter(|c| c.scope() == Scope::Row)
                .map(|c| c.name)
                .collect();
            assert_eq!(row, ["direction", "bytes", "packets"]);
        }
    }

    #[test]
    fn order_by_covers_every_non_counter_column_once() {
        for schema in Schema::ALL {
            let key = schema.order_by();
            assert_eq!(key.len(), schema.columns().len() - 2);
            assert_eq!(&key[..PRIMARY_KEY.len()], PRIMARY_KEY);
            assert!(!key.contains(&"bytes") && !key.contains(&"packets"));
        }
    }

    #[test]
    fn docs_embed_the_ddl_verbatim() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md"))
            .expect("docs/schema.md");
        for schema in Schema::ALL {
            let ddl = schema.ddl();
            assert!(
                doc.contains(&format!("```sql\n{ddl}```")),
                "docs/schema.md must contain, in a ```sql block, exactly:\n{ddl}"
            );
        }
        // and its column table lists every upstream column, in order, with its type
        let mut rest = doc.as_str();
        for c in Schema::Upstream.columns() {
            let cell = format!("| `{}` | `{}` |", c.name, c.clickhouse_type);
            let at = rest
                .find(&cell)
                .unwrap_or_else(|| panic!("docs/schema.md: no row {cell} after the previous one"));
            rest = &rest[at + cell.len()..];
        }
    }
}
