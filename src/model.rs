//! Small value types shared by every stage. Strings appear only at the edges
//! (`as_str` / `FromStr`), so an invalid class or direction cannot be built.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A cloud provider as the output columns spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Gcp, Cloud::Azure];

    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Cloud {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match normalize(s).as_str() {
            "aws" | "amazon" => Ok(Cloud::Aws),
            "gcp" | "gce" | "google" => Ok(Cloud::Gcp),
            "azure" => Ok(Cloud::Azure),
            other => Err(format!(
                "unknown cloud {other:?} (expected aws, gcp or azure)"
            )),
        }
    }
}

/// SPEC §2: names are compared lower-cased with spaces removed.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectionClass {
    IntraVpc,
    IntraRegion,
    InterRegion,
    PublicInternet,
}

impl ConnectionClass {
    pub const ALL: [ConnectionClass; 4] = [
        ConnectionClass::IntraVpc,
        ConnectionClass::IntraRegion,
        ConnectionClass::InterRegion,
        ConnectionClass::PublicInternet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionClass::IntraVpc => "INTRA_VPC",
            ConnectionClass::IntraRegion => "INTRA_REGION",
            ConnectionClass::InterRegion => "INTER_REGION",
            ConnectionClass::PublicInternet => "PUBLIC_INTERNET",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ConnectionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Output row direction (ClickHouse `Enum('out','in')`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Out,
    In,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }
}

/// Layer-4 protocol of a conntrack entry. Numbers are IANA protocol numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Sctp,
    Dccp,
    Gre,
    Udplite,
    /// `unknown` in conntrack's output, or any other number.
    Other(u8),
}

impl Protocol {
    pub fn from_number(n: u8) -> Protocol {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            1 => Protocol::Icmp,
            58 => Protocol::Icmpv6,
            132 => Protocol::Sctp,
            33 => Protocol::Dccp,
            47 => Protocol::Gre,
            136 => Protocol::Udplite,
            n => Protocol::Other(n),
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Icmp => 1,
            Protocol::Icmpv6 => 58,
            Protocol::Sctp => 132,
            Protocol::Dccp => 33,
            Protocol::Gre => 47,
            Protocol::Udplite => 136,
            Protocol::Other(n) => n,
        }
    }

    /// Name as conntrack prints it (`unknown` for anything else).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::Sctp => "sctp",
            Protocol::Dccp => "dccp",
            Protocol::Gre => "gre",
            Protocol::Udplite => "udplite",
            Protocol::Other(_) => "unknown",
        }
    }
}

/// Packet and byte counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// One side of a labelled flow. Strings borrow from the inventory, so
/// labelling allocates nothing per flow; empty string = unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint<'a> {
    pub ip: IpAddr,
    pub port: u16,
    pub availability_zone: &'a str,
    pub node: &'a str,
    pub instance_id: &'a str,
    pub namespace: &'a str,
    pub pod: &'a str,
    pub app: &'a str,
}

impl<'a> Endpoint<'a> {
    pub fn bare(ip: IpAddr, port: u16) -> Self {
        Endpoint {
            ip,
            port,
            availability_zone: "",
            node: "",
            instance_id: "",
            namespace: "",
            pod: "",
            app: "",
        }
    }
}

/// A flow the labeller accepted: becomes two output rows (`out`, `in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelledFlow<'a> {
    /// Observation time, Unix seconds (UTC).
    pub observed_at: i64,
    pub proto: Protocol,
    pub class: ConnectionClass,
    pub local: Endpoint<'a>,
    pub remote: Endpoint<'a>,
    /// Empty when the remote matched no range.
    pub remote_cloud: &'a str,
    pub remote_region: &'a str,
    pub remote_service: &'a str,
    pub out: Counters,
    pub inbound: Counters,
}

/// Per-run constant columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMeta {
    pub environment: String,
    pub local_cloud: String,
    pub local_region: String,
    pub local_cluster: String,
    pub interval_seconds: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_lowercases_and_strips_spaces() {
        assert_eq!(normalize("Germany West Central"), "germanywestcentral");
        assert_eq!(normalize("US-East-1"), "us-east-1");
    }

    #[test]
    fn protocol_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(Protocol::from_number(n).number(), n);
        }
        assert_eq!(Protocol::from_number(6), Protocol::Tcp);
        assert_eq!(Protocol::from_number(250).as_str(), "unknown");
    }

    #[test]
    fn cloud_parses_case_insensitively() {
        assert_eq!("AWS".parse::<Cloud>().unwrap(), Cloud::Aws);
        assert_eq!("gce".parse::<Cloud>().unwrap(), Cloud::Gcp);
        assert!("ibm".parse::<Cloud>().is_err());
    }
}
