//! The table rows go into: its name, and whether its columns can take
//! this schema's rows (`DESCRIBE TABLE` checked before anything is sent).

use std::fmt;

use serde::Deserialize;

use super::url::is_identifier;
use crate::output::schema::{Field, IpType, Schema};

/// `[database.]table`, each part a plain identifier (so it needs no
/// escaping in SQL beyond backquotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub database: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn parse(text: &str) -> Result<TableName, String> {
        let (database, name) = match text.split_once('.') {
            Some((d, n)) => (Some(d), n),
            None => (None, text),
        };
        let ok = database.is_none_or(is_identifier) && is_identifier(name);
        if !ok {
            return Err(format!(
                "table {text:?}: expected NAME or DATABASE.NAME, each of letters, digits and '_' \
                 (not starting with a digit)"
            ));
        }
        Ok(TableName {
            database: database.map(str::to_string),
            name: name.to_string(),
        })
    }

    /// As SQL: `` `db`.`name` `` (the database only when it was given).
    pub fn sql(&self) -> String {
        match &self.database {
            Some(d) => format!("`{d}`.`{}`", self.name),
            None => format!("`{}`", self.name),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.database {
            Some(d) => write!(f, "{d}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One row of `DESCRIBE TABLE ... FORMAT JSONEachRow`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DescribedColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// `DEFAULT`, `MATERIALIZED`, `ALIAS`, `EPHEMERAL` or empty.
    #[serde(default)]
    pub default_type: String,
}

/// What is wrong with the table for this schema's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnProblem {
    Missing {
        column: &'static str,
        expected: &'static str,
    },
    WrongType {
        column: &'static str,
        expected: &'static str,
        actual: String,
    },
    /// MATERIALIZED or ALIAS: an INSERT cannot write it.
    NotWritable { column: &'static str, kind: String },
}

impl fmt::Display for ColumnProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnProblem::Missing { column, expected } => {
                write!(f, "no column `{column}` (expected {expected})")
            }
            ColumnProblem::WrongType {
                column,
                expected,
                actual,
            } => write!(
                f,
                "column `{column}` is {actual}, which cannot hold this schema's {expected}"
            ),
            ColumnProblem::NotWritable { column, kind } => {
                write!(
                    f,
                    "column `{column}` is {kind}, so an INSERT cannot write it"
                )
            }
        }
    }
}

/// Compares the table's columns with the schema's. Types need not be
/// identical, only able to hold every value the rows carry (a `String`
/// for a `LowCardinality(String)`, `DateTime('UTC')` for `DateTime`, a
/// wider integer, an `Enum16` with both directions). Columns the schema
/// does not have are left to their defaults.
pub fn check_columns(schema: Schema, table: &[DescribedColumn]) -> Vec<ColumnProblem> {
    let mut problems = Vec::new();
    for c in schema.columns() {
        let Some(t) = table.iter().find(|t| t.name == c.name) else {
            problems.push(ColumnProblem::Missing {
                column: c.name,
                expected: c.clickhouse_type,
            });
            continue;
        };
        if matches!(t.default_type.as_str(), "MATERIALIZED" | "ALIAS") {
            problems.push(ColumnProblem::NotWritable {
                column: c.name,
                kind: t.default_type.clone(),
            });
        } else if !holds(c.field, &t.type_name) {
            problems.push(ColumnProblem::WrongType {
                column: c.name,
                expected: c.clickhouse_type,
                actual: t.type_name.clone(),
            });
        }
    }
    problems
}

/// `Wrapper(inner)` → `inner`.
fn unwrap_type<'a>(t: &'a str, wrapper: &str) -> Option<&'a str> {
    t.strip_prefix(wrapper)?
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::trim)
}

/// The type without `LowCardinality(...)` and `Nullable(...)` around it.
fn bare(t: &str) -> &str {
    let mut t = t.trim();
    loop {
        match unwrap_type(t, "LowCardinality").or_else(|| unwrap_type(t, "Nullable")) {
            Some(inner) => t = inner,
            None => return t,
        }
    }
}

/// Bits of an integer type and whether it is signed.
fn integer(t: &str) -> Option<(u32, bool)> {
    let (signed, bits) = match t.strip_prefix("UInt") {
        Some(b) => (false, b),
        None => (true, t.strip_prefix("Int")?),
    };
    bits.parse().ok().map(|b| (b, signed))
}

/// An integer type that holds every unsigned `bits`-bit value.
fn holds_unsigned(t: &str, bits: u32) -> bool {
    match integer(t) {
        Some((b, false)) => b >= bits,
        Some((b, true)) => b > bits,
        None => false,
    }
}

/// Can a column of type `t` hold every value `field` writes?
fn holds(field: Field, t: &str) -> bool {
    let t = bare(t);
    let is_string = t == "String";
    match field {
        Field::Date => t == "Date" || t == "Date32",
        Field::IntervalStartTime => {
            t == "DateTime" || t.starts_with("DateTime(") || t.starts_with("DateTime64(")
        }
        Field::IntervalSeconds | Field::Port(_) => holds_unsigned(t, 16),
        Field::Bytes | Field::Packets => holds_unsigned(t, 64),
        Field::Run(_) | Field::Text(_) => is_string,
        Field::Direction => {
            is_string
                || ((t.starts_with("Enum8(") || t.starts_with("Enum16(") || t.starts_with("Enum("))
                    && t.contains("'out'")
                    && t.contains("'in'"))
        }
        Field::ConnectionFlags => unwrap_type(t, "Map").is_some_and(|kv| {
            kv.rsplit_once(',')
                .is_some_and(|(k, v)| bare(k) == "String" && v.trim() == "Bool")
        }),
        Field::Ip(_, IpType::V4) => t == "IPv4" || is_string,
        Field::Ip(_, IpType::V6) => t == "IPv6" || is_string,
    }
}

/// A plain (non-replicated) MergeTree drops repeated inserts only with
/// `non_replicated_deduplication_window` > 0; replicated and shared
/// (ClickHouse Cloud) engines deduplicate by default; for a Distributed
/// table the tables behind it decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deduplication {
    /// The engine deduplicates inserts by token.
    Yes,
    /// A plain MergeTree whose window is 0: a retried batch would count twice.
    WindowZero,
    /// Distributed or another engine: not known from here.
    Unknown,
}

/// From `system.tables`' `engine` and `engine_full`, and the server's
/// default `non_replicated_deduplication_window`.
pub fn deduplication(engine: &str, engine_full: &str, server_window: u64) -> Deduplication {
    if engine.starts_with("Replicated") || engine.starts_with("Shared") {
        return Deduplication::Yes;
    }
    if !engine.ends_with("MergeTree") {
        return Deduplication::Unknown;
    }
    let key = "non_replicated_deduplication_window";
    let window = engine_full
        .find(key)
        .and_then(|at| {
            let rest = engine_full[at + key.len()..].trim_start();
            let rest = rest.strip_prefix('=')?.trim_start();
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .unwrap_or(server_window);
    if window > 0 {
        Deduplication::Yes
    } else {
        Deduplication::WindowZero
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(schema: Schema) -> Vec<DescribedColumn> {
        schema
            .columns()
            .iter()
            .map(|c| DescribedColumn {
                name: c.name.to_string(),
                // as DESCRIBE spells our DDL's types
                type_name: c.clickhouse_type.replace("Enum(", "Enum8("),
                default_type: String::new(),
            })
            .collect()
    }

    #[test]
    fn our_own_ddl_passes_for_both_schemas() {
        for schema in Schema::ALL {
            assert_eq!(check_columns(schema, &described(schema)), []);
        }
        // but the IPv4 table does not take dual rows, nor the other way round
        let p = check_columns(Schema::Dual, &described(Schema::Upstream));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].to_string().contains("no column `localIP`"), "{}", p[0]);
    }

    #[test]
    fn compatible_types_pass_and_others_are_named() {
        let mut t = described(Schema::Upstream);
        let set = |t: &mut Vec<DescribedColumn>, name: &str, ty: &str| {
            t.iter_mut().find(|c| c.name == name).unwrap().type_name = ty.into();
        };
        for (name, ty) in [
            ("environment", "String"),
            ("localPod", "LowCardinality(String)"),
            ("intervalStartTime", "DateTime('UTC')"),
            ("date", "Date32"),
            ("localPort", "UInt32"),
            ("remotePort", "Int32"),
            ("bytes", "UInt128"),
            ("direction", "Enum16('in' = 2, 'out' = 1, 'other' = 3)"),
            ("connectionFlags", "Map(String, Bool)"),
            ("localIPv4", "String"),
            ("packets", "Nullable(UInt64)"),
        ] {
            set(&mut t, name, ty);
        }
        assert_eq!(check_columns(Schema::Upstream, &t), []);
        for (name, ty) in [
            ("bytes", "UInt32"),
            ("packets", "Int64"),
            ("localPort", "Int16"),
            ("remotePort", "UInt8"),
            ("direction", "Enum8('out' = 1)"),
            ("connectionFlags", "Map(String, UInt8)"),
            ("localIPv4", "IPv6"),
            ("date", "DateTime"),
            ("proto", "FixedString(3)"),
        ] {
            let mut t = described(Schema::Upstream);
            set(&mut t, name, ty);
            let p = check_columns(Schema::Upstream, &t);
            assert_eq!(p.len(), 1, "{name} {ty}: {p:?}");
            let text = p[0].to_string();
            assert!(text.contains(name) && text.contains(ty), "{text}");
        }
        let mut t = described(Schema::Upstream);
        t.retain(|c| c.name != "remoteApp");
        t[0].default_type = "MATERIALIZED".into();
        let p = check_columns(Schema::Upstream, &t);
        assert_eq!(
            p.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "column `date` is MATERIALIZED, so an INSERT cannot write it",
                "no column `remoteApp` (expected String)"
            ]
        );
    }

    #[test]
    fn table_names() {
        let t = TableName::parse("net.network_flows_0").unwrap();
        assert_eq!(t.database.as_deref(), Some("net"));
        assert_eq!(t.sql(), "`net`.`network_flows_0`");
        assert_eq!(t.to_string(), "net.network_flows_0");
        assert_eq!(TableName::parse("flows").unwrap().sql(), "`flows`");
        for bad in ["", "a.b.c", "a-b", "db.", ".t", "t;DROP", "a`b"] {
            assert!(TableName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn which_engines_deduplicate() {
        use Deduplication::*;
        let rsmt = "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/t', '{replica}', (bytes, packets))";
        assert_eq!(deduplication("ReplicatedSummingMergeTree", rsmt, 0), Yes);
        assert_eq!(deduplication("SharedSummingMergeTree", "", 0), Yes);
        let plain = "SummingMergeTree((bytes, packets)) PARTITION BY date ORDER BY x SETTINGS index_granularity = 8192";
        assert_eq!(deduplication("SummingMergeTree", plain, 0), WindowZero);
        assert_eq!(deduplication("SummingMergeTree", plain, 100), Yes);
        let with = format!("{plain}, non_replicated_deduplication_window = 10000");
        assert_eq!(deduplication("SummingMergeTree", &with, 0), Yes);
        let off = format!("{plain}, non_replicated_deduplication_window = 0");
        assert_eq!(deduplication("SummingMergeTree", &off, 100), WindowZero);
        assert_eq!(
            deduplication("Distributed", "Distributed(c, db, t, rand())", 0),
            Unknown
        );
    }
}
