//! The output columns, defined once. Both writers iterate [`COLUMNS`] and
//! `docs/schema.md` embeds [`clickhouse_ddl`]'s text (a test keeps them equal),
//! so the order, names and types cannot drift apart.

/// What a column holds; the writers switch on this, never on the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Date,
    IntervalStartTime,
    IntervalSeconds,
    Environment,
    Proto,
    ConnectionClass,
    ConnectionFlags,
    Direction,
    LocalCloud,
    LocalRegion,
    LocalCluster,
    LocalCell,
    LocalAvailabilityZone,
    LocalNode,
    LocalInstanceId,
    LocalNamespace,
    LocalPod,
    LocalIpv4,
    LocalPort,
    LocalApp,
    RemoteCloud,
    RemoteRegion,
    RemoteCluster,
    RemoteCell,
    RemoteAvailabilityZone,
    RemoteNode,
    RemoteInstanceId,
    RemoteNamespace,
    RemotePod,
    RemoteIpv4,
    RemotePort,
    RemoteApp,
    RemoteCloudService,
    Bytes,
    Packets,
}

/// Physical shape of a column, shared by the CSV and Parquet writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ClickHouse `Date`; Parquet `Date32`; CSV `YYYY-MM-DD`.
    Date,
    /// ClickHouse `DateTime`; Parquet timestamp (seconds, UTC); CSV `YYYY-MM-DD HH:MM:SS`.
    DateTime,
    UInt16,
    UInt64,
    /// Text; Parquet dictionary-encoded `Utf8`.
    String,
    /// `Map(String, Bool)`; Parquet MAP; CSV `{}`.
    Flags,
    /// `Enum('out','in')`, written as its text.
    Direction,
    /// ClickHouse `IPv4`, written as a dotted quad.
    Ipv4,
}

/// Whose value a column carries: constant for the run, shared by a flow's
/// two rows, or different in the `out` and `in` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Run,
    Flow,
    Row,
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
    pub kind: Kind,
    pub scope: Scope,
    /// One line for `docs/schema.md`.
    pub meaning: &'static str,
}

const LC: &str = "LowCardinality(String)";
const Z: &str = "ZSTD(1)";

macro_rules! col {
    ($name:literal, $ty:expr, $codec:expr, $field:ident, $kind:ident, $scope:ident, $meaning:literal) => {
        Column {
            name: $name,
            clickhouse_type: $ty,
            codec: $codec,
            field: Field::$field,
            kind: Kind::$kind,
            scope: Scope::$scope,
            meaning: $meaning,
        }
    };
}

/// SPEC §4, in output order.
pub const COLUMNS: &[Column] = &[
    col!(
        "date",
        "Date",
        "Delta(2), ZSTD(1)",
        Date,
        Date,
        Flow,
        "UTC day of the observation time; the partition key"
    ),
    col!(
        "intervalStartTime",
        "DateTime",
        "Delta(4), ZSTD(1)",
        IntervalStartTime,
        DateTime,
        Flow,
        "observation time rounded down to a multiple of intervalSeconds since the Unix epoch (UTC)"
    ),
    col!(
        "intervalSeconds",
        "UInt16",
        "Delta(2), ZSTD(1)",
        IntervalSeconds,
        UInt16,
        Run,
        "length of the interval (`--interval-seconds`, default 60)"
    ),
    col!(
        "environment",
        LC,
        Z,
        Environment,
        String,
        Run,
        "`--environment` (development, staging, production, ...)"
    ),
    col!("proto", LC, Z, Proto, String, Flow, "`tcp` or `udp`"),
    col!(
        "connectionClass",
        LC,
        Z,
        ConnectionClass,
        String,
        Flow,
        "`INTRA_VPC`, `INTRA_REGION`, `INTER_REGION` or `PUBLIC_INTERNET`"
    ),
    col!(
        "connectionFlags",
        "Map(LowCardinality(String), Bool)",
        Z,
        ConnectionFlags,
        Flags,
        Run,
        "reserved by upstream for per-connection flags; always empty"
    ),
    col!(
        "direction",
        "Enum('out' = 1, 'in' = 2)",
        Z,
        Direction,
        Direction,
        Row,
        "`out`: bytes sent by the local endpoint; `in`: bytes it received"
    ),
    col!(
        "localCloud",
        LC,
        Z,
        LocalCloud,
        String,
        Run,
        "cloud of the cluster (`aws`, `gcp`, `azure`)"
    ),
    col!(
        "localRegion",
        LC,
        Z,
        LocalRegion,
        String,
        Run,
        "region of the cluster"
    ),
    col!(
        "localCluster",
        LC,
        Z,
        LocalCluster,
        String,
        Run,
        "`--cluster`"
    ),
    col!("localCell", LC, Z, LocalCell, String, Run, "always empty"),
    col!(
        "localAvailabilityZone",
        LC,
        Z,
        LocalAvailabilityZone,
        String,
        Flow,
        "zone label of the local pod's node"
    ),
    col!(
        "localNode",
        "String",
        Z,
        LocalNode,
        String,
        Flow,
        "node of the local pod"
    ),
    col!(
        "localInstanceID",
        "String",
        Z,
        LocalInstanceId,
        String,
        Flow,
        "label `control-plane-id` of the local pod"
    ),
    col!(
        "localNamespace",
        LC,
        Z,
        LocalNamespace,
        String,
        Flow,
        "namespace of the local pod"
    ),
    col!(
        "localPod",
        "String",
        Z,
        LocalPod,
        String,
        Flow,
        "name of the local pod"
    ),
    col!(
        "localIPv4",
        "IPv4",
        "Delta(4), ZSTD(1)",
        LocalIpv4,
        Ipv4,
        Flow,
        "local IP address"
    ),
    col!(
        "localPort",
        "UInt16",
        "Delta(2), ZSTD(1)",
        LocalPort,
        UInt16,
        Flow,
        "local port"
    ),
    col!(
        "localApp",
        "String",
        Z,
        LocalApp,
        String,
        Flow,
        "label `app.kubernetes.io/name` (else `k8s-app`) of the local pod"
    ),
    col!(
        "remoteCloud",
        LC,
        Z,
        RemoteCloud,
        String,
        Flow,
        "cloud owning the remote address; empty when no range matched"
    ),
    col!(
        "remoteRegion",
        LC,
        Z,
        RemoteRegion,
        String,
        Flow,
        "region of the remote address (`global` for global ranges)"
    ),
    col!(
        "remoteCluster",
        LC,
        Z,
        RemoteCluster,
        String,
        Run,
        "always `UNKNOWN` (SPEC §3.10)"
    ),
    col!("remoteCell", LC, Z, RemoteCell, String, Run, "always empty"),
    col!(
        "remoteAvailabilityZone",
        LC,
        Z,
        RemoteAvailabilityZone,
        String,
        Flow,
        "zone label of the remote pod's node"
    ),
    col!(
        "remoteNode",
        "String",
        Z,
        RemoteNode,
        String,
        Flow,
        "node of the remote pod"
    ),
    col!(
        "remoteInstanceID",
        "String",
        Z,
        RemoteInstanceId,
        String,
        Flow,
        "label `control-plane-id` of the remote pod"
    ),
    col!(
        "remoteNamespace",
        LC,
        Z,
        RemoteNamespace,
        String,
        Flow,
        "namespace of the remote pod"
    ),
    col!(
        "remotePod",
        "String",
        Z,
        RemotePod,
        String,
        Flow,
        "name of the remote pod"
    ),
    col!(
        "remoteIPv4",
        "IPv4",
        "Delta(4), ZSTD(1)",
        RemoteIpv4,
        Ipv4,
        Flow,
        "remote IP address"
    ),
    col!(
        "remotePort",
        "UInt16",
        "Delta(2), ZSTD(1)",
        RemotePort,
        UInt16,
        Flow,
        "remote port"
    ),
    col!(
        "remoteApp",
        "String",
        Z,
        RemoteApp,
        String,
        Flow,
        "label `app.kubernetes.io/name` (else `k8s-app`) of the remote pod"
    ),
    col!(
        "remoteCloudService",
        LC,
        Z,
        RemoteCloudService,
        String,
        Flow,
        "service of the matched range (`s3`, `ec2`, `googleservice`, ...); empty when none"
    ),
    col!(
        "bytes",
        "UInt64",
        "Delta(8), ZSTD(1)",
        Bytes,
        UInt64,
        Row,
        "bytes in this row's direction"
    ),
    col!(
        "packets",
        "UInt64",
        "Delta(8), ZSTD(1)",
        Packets,
        UInt64,
        Row,
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

/// The table's name in upstream and in our DDL.
pub const TABLE: &str = "network_flows_0";

/// Rows older than this are deleted by the table's TTL.
pub const TTL_DAYS: u32 = 90;

/// The sorting key: the primary key, then every other column but the summed
/// counters, in table order — so only truly identical rows are summed.
pub fn order_by() -> Vec<&'static str> {
    let mut key: Vec<&'static str> = PRIMARY_KEY.to_vec();
    key.extend(
        COLUMNS
            .iter()
            .filter(|c| c.field != Field::Bytes && c.field != Field::Packets)
            .map(|c| c.name)
            .filter(|n| !PRIMARY_KEY.contains(n)),
    );
    key
}

/// The `CREATE TABLE` statement shipped in `docs/schema.md`.
pub fn clickhouse_ddl() -> String {
    let width = COLUMNS.iter().map(|c| c.name.len() + 2).max().unwrap_or(0);
    let mut s = format!("CREATE TABLE IF NOT EXISTS {TABLE}\n(\n");
    for (i, c) in COLUMNS.iter().enumerate() {
        let sep = if i + 1 == COLUMNS.len() { "" } else { "," };
        let quoted = format!("`{}`", c.name);
        s.push_str(&format!(
            "    {quoted:<width$} {} CODEC({}){sep}\n",
            c.clickhouse_type, c.codec
        ));
    }
    s.push_str(")\nENGINE = SummingMergeTree((bytes, packets))\nPARTITION BY date\n");
    s.push_str(&format!("PRIMARY KEY ({})\n", PRIMARY_KEY.join(", ")));
    s.push_str(&format!("ORDER BY ({})\n", order_by().join(", ")));
    s.push_str(&format!(
        "TTL intervalStartTime + toIntervalDay({TTL_DAYS})\n\
         SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;\n"
    ));
    s
}

/// Column names in order, as the CSV header and Parquet schema spell them.
pub fn names() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_five_columns_in_spec_order() {
        let names: Vec<_> = names().collect();
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
        assert_eq!(&names[32..], &["remoteCloudService", "bytes", "packets"]);
    }

    #[test]
    fn names_and_fields_are_unique() {
        for (i, a) in COLUMNS.iter().enumerate() {
            for b in &COLUMNS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.field, b.field);
            }
        }
    }

    #[test]
    fn only_direction_and_counters_differ_between_a_flows_rows() {
        let row: Vec<_> = COLUMNS
            .iter()
            .filter(|c| c.scope == Scope::Row)
            .map(|c| c.name)
            .collect();
        assert_eq!(row, ["direction", "bytes", "packets"]);
    }

    #[test]
    fn order_by_covers_every_non_counter_column_once() {
        let key = order_by();
        assert_eq!(key.len(), COLUMNS.len() - 2);
        assert_eq!(&key[..PRIMARY_KEY.len()], PRIMARY_KEY);
        assert!(!key.contains(&"bytes") && !key.contains(&"packets"));
    }

    #[test]
    fn docs_embed_the_ddl_verbatim() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md"))
            .expect("docs/schema.md");
        let ddl = clickhouse_ddl();
        assert!(
            doc.contains(&format!("```sql\n{ddl}```")),
            "docs/schema.md must contain, in a ```sql block, exactly:\n{ddl}"
        );
        // and its column table lists every column, in order, with its type
        let mut rest = doc.as_str();
        for c in COLUMNS {
            let cell = format!("| `{}` | `{}` |", c.name, c.clickhouse_type);
            let at = rest
                .find(&cell)
                .unwrap_or_else(|| panic!("docs/schema.md: no row {cell} after the previous one"));
            rest = &rest[at + cell.len()..];
        }
    }
}
