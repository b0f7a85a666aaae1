//! SPEC §6.1: the zone map — the availability zone of an address that is
//! no pod of the inventory (a database, a load balancer, a node of another
//! cluster), from `aws ec2 describe-subnets --output json` files
//! (`--subnets`) and `--zone CIDR=ZONE` entries. Lookups are longest-prefix
//! ([`crate::ranges::PrefixMap`]).
//!
//! Every entry remembers where it came from, so a CIDR given two different
//! zones is an error naming both sources, and a broken file names the
//! entry (`Subnets[3].CidrBlock`).

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

use ipnet::IpNet;
use serde_json::Value;
use thiserror::Error;

use crate::io::open_input;
use crate::ranges::{parse_cidr, PrefixMap};

/// Where a zone-map entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneSource {
    /// An entry of a `--subnets` file: its path, the JSON path of the CIDR
    /// (`Subnets[3].CidrBlock`) and the subnet's `SubnetId` when it has one.
    File {
        path: String,
        entry: String,
        subnet_id: Option<String>,
    },
    /// A `--zone` option, as given.
    Option(String),
}

impl fmt::Display for ZoneSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneSource::File {
                path,
                entry,
                subnet_id: Some(id),
            } => write!(f, "{path}: {entry} ({id})"),
            ZoneSource::File { path, entry, .. } => write!(f, "{path}: {entry}"),
            ZoneSource::Option(text) => write!(f, "--zone {text}"),
        }
    }
}

#[derive(Debug, Error)]
pub enum ZoneError {
    #[error("{path}: cannot read the subnets file")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON (line {line}, column {column}): {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: not `aws ec2 describe-subnets --output json` output: {reason} \
         (expected {{\"Subnets\": [...]}} or a bare array of subnets)"
    )]
    Shape { path: String, reason: String },
    #[error("{path}: {entry}: {reason}")]
    Entry {
        path: String,
        entry: String,
        reason: String,
    },
    #[error(transparent)]
    Conflict(Box<ZoneConflict>),
}

/// One CIDR given two different zones.
#[derive(Debug, Error)]
#[error("{net} is in zone {first_zone:?} by {first} and in zone {second_zone:?} by {second}")]
pub struct ZoneConflict {
    pub net: IpNet,
    pub first_zone: String,
    pub first: ZoneSource,
    pub second_zone: String,
    pub second: ZoneSource,
}

impl ZoneError {
    /// A conflict between two `--zone` options is a usage mistake (exit
    /// code 2); everything else involves a file (exit code 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ZoneError::Conflict(c)
                if matches!((&c.first, &c.second), (ZoneSource::Option(_), ZoneSource::Option(_)))
        )
    }
}

/// `--zone CIDR=ZONE`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    pub net: IpNet,
    pub zone: String,
    /// The option's text, for messages.
    pub text: String,
}

impl FromStr for ZoneSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (cidr, zone) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?} is not CIDR=ZONE (e.g. 10.0.32.0/19=us-east-1a)"))?;
        let net = parse_cidr(cidr)?;
        let zone = zone.trim();
        if zone.is_empty() {
            return Err(format!("{s:?}: the zone is empty"));
        }
        Ok(ZoneSpec {
            net,
            zone: zone.to_string(),
            text: s.to_string(),
        })
    }
}

/// One CIDR of a subnets file with its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetCidr {
    pub net: IpNet,
    pub zone: String,
    /// JSON path of the CIDR, e.g. `Subnets[3].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock`.
    pub entry: String,
    pub subnet_id: Option<String>,
}

/// Reads `aws ec2 describe-subnets --output json` output (or a bare array
/// of its subnet objects): every subnet's `CidrBlock` and the
/// `Ipv6CidrBlock` of each of its IPv6 associations, with its
/// `AvailabilityZone`. Other fields are ignored. `name` is used in errors.
pub fn parse_subnets(text: &[u8], name: &str) -> Result<Vec<SubnetCidr>, ZoneError> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    let doc: Value = serde_json::from_slice(text).map_err(|e| ZoneError::Json {
        path: name.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let shape = |reason: &str| ZoneError::Shape {
        path: name.to_string(),
        reason: reason.to_string(),
    };
    let (base, subnets) = match &doc {
        Value::Array(a) => ("", a),
        Value::Object(o) => match o.get("Subnets") {
            Some(Value::Array(a)) => ("Subnets", a),
            Some(_) => return Err(shape("\"Subnets\" is not an array")),
            None => return Err(shape("the object has no \"Subnets\" key")),
        },
        _ => return Err(shape("the document is neither an object nor an array")),
    };
    if subnets.is_empty() {
        return Err(shape(
            "it lists no subnets (check the describe-subnets filters)",
        ));
    }
    let mut out = Vec::with_capacity(subnets.len() * 2);
    for (i, subnet) in subnets.iter().enumerate() {
        let at = format!("{base}[{i}]");
        let entry_err = |entry: String, reason: String| ZoneError::Entry {
            path: name.to_string(),
            entry,
            reason,
        };
        let Value::Object(obj) = subnet else {
            return Err(entry_err(at, "not a subnet object".into()));
        };
        let zone = match obj.get("AvailabilityZone") {
            Some(Value::String(z)) if !z.trim().is_empty() => z.trim().to_string(),
            Some(Value::String(_)) => {
                return Err(entry_err(format!("{at}.AvailabilityZone"), "empty".into()))
            }
            Some(_) => {
                return Err(entry_err(
                    format!("{at}.AvailabilityZone"),
                    "not a string".into(),
                ))
            }
            None => return Err(entry_err(at, "has no AvailabilityZone".into())),
        };
        let subnet_id = match obj.get("SubnetId") {
            Some(Value::String(id)) => Some(id.clone()),
            _ => None,
        };
        let cidr = |entry: String, v: &Value| -> Result<SubnetCidr, ZoneError> {
            let Value::String(text) = v else {
                return Err(entry_err(entry, "not a string".into()));
            };
            let net = IpNet::from_str(text.trim())
                .map_err(|_| entry_err(entry.clone(), format!("{text:?} is not a CIDR")))?;
            Ok(SubnetCidr {
                net,
                zone: zone.clone(),
                entry,
                subnet_id: subnet_id.clone(),
            })
        };
        let before = out.len();
        match obj.get("CidrBlock") {
            // IPv6-only subnets have no IPv4 block.
            None | Some(Value::Null) => {}
            Some(v) => out.push(cidr(format!("{at}.CidrBlock"), v)?),
        }
        match obj.get("Ipv6CidrBlockAssociationSet") {
            None | Some(Value::Null) => {}
            Some(Value::Array(set)) => {
                for (j, assoc) in set.iter().enumerate() {
                    let at6 = format!("{at}.Ipv6CidrBlockAssociationSet[{j}]");
                    let Value::Object(a) = assoc else {
                        return Err(entry_err(at6, "not an association object".into()));
                    };
                    // A block that left the subnet may belong to another one now.
                    let state = a
                        .get("Ipv6CidrBlockState")
                        .and_then(|s| s.get("State"))
                        .and_then(Value::as_str);
                    if matches!(state, Some("disassociated" | "failed")) {
                        continue;
                    }
                    match a.get("Ipv6CidrBlock") {
                        Some(v) => out.push(cidr(format!("{at6}.Ipv6CidrBlock"), v)?),
                        None => {
                            return Err(entry_err(at6, "has no Ipv6CidrBlock".into()));
                        }
                    }
                }
            }
            Some(_) => {
                return Err(entry_err(
                    format!("{at}.Ipv6CidrBlockAssociationSet"),
                    "not an array".into(),
                ))
            }
        }
        if out.len() == before && !has_dead_ipv6_block(obj) {
            return Err(entry_err(
                at,
                "has neither a CidrBlock nor an Ipv6CidrBlock".into(),
            ));
        }
    }
    Ok(out)
}

/// A subnet whose only IPv6 block was disassociated is no error: it just
/// adds nothing.
fn has_dead_ipv6_block(obj: &serde_json::Map<String, Value>) -> bool {
    obj.get("Ipv6CidrBlockAssociationSet")
        .and_then(Value::as_array)
        .is_some_and(|set| !set.is_empty())
}

/// Reads a subnets file (`-` = stdin; gzip and zstd are decompressed).
pub fn read_subnets(path: &Path) -> Result<Vec<SubnetCidr>, ZoneError> {
    let name = if crate::io::is_stdio(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let io_err = |source| ZoneError::Io {
        path: name.clone(),
        source,
    };
    let mut text = Vec::new();
    open_input(path)
        .map_err(|e| match e {
            crate::io::IoError::Open { source, .. } => io_err(source),
            other => io_err(std::io::Error::other(other.to_string())),
        })?
        .read_to_end(&mut text)
        .map_err(io_err)?;
    parse_subnets(&text, &name)
}

/// The compiled zone map.
#[derive(Debug, Clone, Default)]
pub struct ZoneMap {
    map: PrefixMap<u32>,
    /// Distinct zone names; the map's values index them.
    zones: Vec<String>,
}

impl ZoneMap {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of CIDRs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The zone of the longest CIDR holding `ip`.
    #[inline]
    pub fn zone_of(&self, ip: IpAddr) -> Option<&str> {
        self.map.value(ip).map(|&z| self.zones[z as usize].as_str())
    }

    /// The longest CIDR holding `ip`, and its zone.
    pub fn lookup(&self, ip: IpAddr) -> Option<(IpNet, &str)> {
        self.map
            .get(ip)
            .map(|(net, &z)| (net, self.zones[z as usize].as_str()))
    }

    /// Distinct zone names, sorted.
    pub fn zones(&self) -> Vec<&str> {
        let mut z: Vec<&str> = self.zones.iter().map(String::as_str).collect();
        z.sort_unstable();
        z
    }
}

/// Collects entries from files and options, refusing a CIDR with two zones.
#[derive(Debug, Default)]
pub struct ZoneMapBuilder {
    entries: Vec<(IpNet, String, ZoneSource)>,
    by_net: HashMap<IpNet, usize>,
    warnings: Vec<String>,
}

impl ZoneMapBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one CIDR. The same CIDR with the same zone again is fine; with
    /// another zone it is an error naming both sources. Host bits are
    /// cleared with a warning.
    pub fn add(&mut self, net: IpNet, zone: &str, source: ZoneSource) -> Result<(), ZoneError> {
        let trunc = net.trunc();
        if trunc != net {
            self.warnings
                .push(format!("{source}: {net} has host bits set; using {trunc}"));
        }
        if let Some(&i) = self.by_net.get(&trunc) {
            let (_, first_zone, first) = &self.entries[i];
            if first_zone != zone {
                return Err(ZoneError::Conflict(Box::new(ZoneConflict {
                    net: trunc,
                    first_zone: first_zone.clone(),
                    first: first.clone(),
                    second_zone: zone.to_string(),
                    second: source,
                })));
            }
            return Ok(());
        }
        self.by_net.insert(trunc, self.entries.len());
        self.entries.push((trunc, zone.to_string(), source));
        Ok(())
    }

    /// Adds every CIDR of a `--subnets` file.
    pub fn add_subnets_file(&mut self, path: &Path) -> Result<usize, ZoneError> {
        let cidrs = read_subnets(path)?;
        let name = if crate::io::is_stdio(path) {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let n = cidrs.len();
        for c in cidrs {
            self.add(
                c.net,
                &c.zone,
                ZoneSource::File {
                    path: name.clone(),
                    entry: c.entry,
                    subnet_id: c.subnet_id,
                },
            )?;
        }
        Ok(n)
    }

    /// Adds a `--zone` option.
    pub fn add_spec(&mut self, spec: &ZoneSpec) -> Result<(), ZoneError> {
        self.add(spec.net, &spec.zone, ZoneSource::Option(spec.text.clone()))
    }

    /// Warnings so far (host bits cleared).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn build(self) -> ZoneMap {
        let mut zones: Vec<String> = Vec::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let entries: Vec<(IpNet, u32)> = self
            .entries
            .into_iter()
            .map(|(net, zone, _)| {
                let id = *ids.entry(zone.clone()).or_insert_with(|| {
                    zones.push(zone);
                    (zones.len() - 1) as u32
                });
                (net, id)
            })
            .collect();
        ZoneMap {
            map: PrefixMap::new(entries),
            zones,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const SUBNETS: &str = r#"{
        "Subnets": [
            {"AvailabilityZone": "us-east-1a", "CidrBlock": "10.0.0.0/19",
             "SubnetId": "subnet-a", "Ipv6CidrBlockAssociationSet": [
                {"AssociationId": "x", "Ipv6CidrBlock": "2600:1f18:1:a00::/64",
                 "Ipv6CidrBlockState": {"State": "associated"}},
                {"AssociationId": "y", "Ipv6CidrBlock": "2600:1f18:1:dead::/64",
                 "Ipv6CidrBlockState": {"State": "disassociated"}}
             ], "Tags": [{"Key": "Name", "Value": "a"}]},
            {"AvailabilityZone": "us-east-1b", "CidrBlock": "10.0.32.0/19"},
            {"AvailabilityZone": "us-east-1c", "CidrBlock": null, "Ipv6Native": true,
             "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18:1:c00::/64"}]}
        ]
    }"#;

    #[test]
    fn describe_subnets_gives_ipv4_and_every_live_ipv6_block() {
        let c = parse_subnets(SUBNETS.as_bytes(), "s.json").unwrap();
        let got: Vec<String> = c
            .iter()
            .map(|c| format!("{} {} {}", c.net, c.zone, c.entry))
            .collect();
        assert_eq!(
            got,
            [
                "10.0.0.0/19 us-east-1a Subnets[0].CidrBlock",
                "2600:1f18:1:a00::/64 us-east-1a Subnets[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock",
                "10.0.32.0/19 us-east-1b Subnets[1].CidrBlock",
                "2600:1f18:1:c00::/64 us-east-1c Subnets[2].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock",
            ]
        );
        assert_eq!(c[0].subnet_id.as_deref(), Some("subnet-a"));
        assert_eq!(c[2].subnet_id, None);
    }

    #[test]
    fn a_bare_array_of_subnets_is_accepted() {
        let c = parse_subnets(
            br#"[{"AvailabilityZone": "eu-west-1b", "CidrBlock": "10.1.0.0/20"}]"#,
            "bare.json",
        )
        .unwrap();
        assert_eq!(
            (c[0].net.to_string(), c[0].entry.as_str()),
            ("10.1.0.0/20".into(), "[0].CidrBlock")
        );
    }

    #[test]
    fn bad_files_name_the_file_and_the_entry() {
        let err = |text: &str| {
            parse_subnets(text.as_bytes(), "f.json")
                .unwrap_err()
                .to_string()
        };
        let e = err("{\"Subnets\": [");
        assert!(
            e.starts_with("f.json: not valid JSON (line 1, column 13)"),
            "{e}"
        );
        let e = err(r#"{"Vpcs": []}"#);
        assert!(
            e.contains("f.json: not `aws ec2 describe-subnets") && e.contains("no \"Subnets\" key"),
            "{e}"
        );
        assert!(err(r#"{"Subnets": {}}"#).contains("\"Subnets\" is not an array"));
        assert!(err(r#"{"Subnets": []}"#).contains("lists no subnets"));
        assert!(err("42").contains("neither an object nor an array"));
        let ok = r#"{"AvailabilityZone": "a", "CidrBlock": "10.0.0.0/24"}"#;
        assert_eq!(
            err(&format!(
                r#"{{"Subnets": [{ok}, {ok}, {ok}, {{"AvailabilityZone": "a", "CidrBlock": "10.0.3.0/33"}}]}}"#
            )),
            "f.json: Subnets[3].CidrBlock: \"10.0.3.0/33\" is not a CIDR"
        );
        assert_eq!(
            err(r#"[{"CidrBlock": "10.0.0.0/24"}]"#),
            "f.json: [0]: has no AvailabilityZone"
        );
        assert_eq!(
            err(r#"[{"AvailabilityZone": 3, "CidrBlock": "10.0.0.0/24"}]"#),
            "f.json: [0].AvailabilityZone: not a string"
        );
        assert_eq!(
            err(r#"[{"AvailabilityZone": "a", "CidrBlock": 10}]"#),
            "f.json: [0].CidrBlock: not a string"
        );
        assert_eq!(err(r#"["subnet-1"]"#), "f.json: [0]: not a subnet object");
        assert_eq!(
            err(r#"[{"AvailabilityZone": "a"}]"#),
            "f.json: [0]: has neither a CidrBlock nor an Ipv6CidrBlock"
        );
        assert_eq!(
            err(r#"[{"AvailabilityZone": "a", "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600::/200"}]}]"#),
            "f.json: [0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock: \"2600::/200\" is not a CIDR"
        );
        assert_eq!(
            err(r#"[{"AvailabilityZone": "a", "Ipv6CidrBlockAssociationSet": {}}]"#),
            "f.json: [0].Ipv6CidrBlockAssociationSet: not an array"
        );
    }

    #[test]
    fn zone_specs_parse_or_say_why_not() {
        let s: ZoneSpec = "10.0.64.0/19=us-east-1c".parse().unwrap();
        assert_eq!(
            (s.net.to_string(), s.zone.as_str()),
            ("10.0.64.0/19".into(), "us-east-1c")
        );
        let s: ZoneSpec = "10.0.9.9=z".parse().unwrap();
        assert_eq!(s.net.to_string(), "10.0.9.9/32");
        assert!("10.0.0.0/16"
            .parse::<ZoneSpec>()
            .unwrap_err()
            .contains("CIDR=ZONE"));
        assert!("10.0.0.0/16="
            .parse::<ZoneSpec>()
            .unwrap_err()
            .contains("empty"));
        assert!("ten=us-east-1a"
            .parse::<ZoneSpec>()
            .unwrap_err()
            .contains("not a CIDR"));
    }

    #[test]
    fn lookups_are_longest_prefix_across_sources() {
        let mut b = ZoneMapBuilder::new();
        for c in parse_subnets(SUBNETS.as_bytes(), "s.json").unwrap() {
            b.add(c.net, &c.zone, ZoneSource::Option(c.entry)).unwrap();
        }
        b.add_spec(&"10.0.0.0/16=us-east-1x".parse().unwrap())
            .unwrap();
        let m = b.build();
        assert_eq!(m.len(), 5);
        assert_eq!(m.zone_of(ip("10.0.1.1")), Some("us-east-1a"));
        assert_eq!(m.zone_of(ip("10.0.40.1")), Some("us-east-1b"));
        assert_eq!(m.zone_of(ip("10.0.200.1")), Some("us-east-1x"));
        assert_eq!(m.zone_of(ip("10.1.0.1")), None);
        assert_eq!(m.zone_of(ip("2600:1f18:1:c00::5")), Some("us-east-1c"));
        assert_eq!(m.zone_of(ip("2600:1f18:1:dead::5")), None);
        let (net, zone) = m.lookup(ip("10.0.33.3")).unwrap();
        assert_eq!(
            (net.to_string(), zone),
            ("10.0.32.0/19".into(), "us-east-1b")
        );
        assert_eq!(
            m.zones(),
            ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1x"]
        );
    }

    #[test]
    fn one_cidr_with_two_zones_names_both_sources() {
        let mut b = ZoneMapBuilder::new();
        let file = ZoneSource::File {
            path: "s.json".into(),
            entry: "Subnets[1].CidrBlock".into(),
            subnet_id: Some("subnet-b".into()),
        };
        b.add("10.0.32.0/19".parse().unwrap(), "us-east-1b", file.clone())
            .unwrap();
        // The same zone again is no conflict.
        b.add_spec(&"10.0.32.0/19=us-east-1b".parse().unwrap())
            .unwrap();
        let e = b
            .add_spec(&"10.0.32.7/19=us-east-1c".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "10.0.32.0/19 is in zone \"us-east-1b\" by s.json: Subnets[1].CidrBlock (subnet-b) \
             and in zone \"us-east-1c\" by --zone 10.0.32.7/19=us-east-1c"
        );
        assert!(!e.is_usage());
        assert_eq!(b.warnings().len(), 1);
        assert!(b.warnings()[0].contains("host bits"), "{:?}", b.warnings());
        let mut b = ZoneMapBuilder::new();
        b.add_spec(&"10.9.0.0/16=a".parse().unwrap()).unwrap();
        assert!(b
            .add_spec(&"10.9.0.0/16=b".parse().unwrap())
            .unwrap_err()
            .is_usage());
    }
}
