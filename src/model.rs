//! Small value types shared by every stage. Strings appear only at the edges
//! (`as_str` / `FromStr`), so an invalid class or direction cannot be built.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An enum whose variants have fixed names, with `ALL` (in declaration
/// order, which is also the discriminant order), `COUNT`, `as_str`,
/// `index` and `Display` generated from one list — so arrays sized
/// `[_; COUNT]` and indexed by `index()` follow the enum, and a new
/// variant cannot compile into an index panic or a missing name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($name::$variant),+].len()] = [$($name::$variant),+];
            pub const COUNT: usize = Self::ALL.len();

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Position in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

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

named_enum! {
    /// SPEC §3.9's classes, as the `connectionClass` column spells them.
    pub enum ConnectionClass {
        IntraVpc => "INTRA_VPC",
        IntraRegion => "INTRA_REGION",
        InterRegion => "INTER_REGION",
        PublicInternet => "PUBLIC_INTERNET",
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

/// Who owns an address: one of the clouds whose ranges we load, or a name
/// the user gave a `--location` (SPEC §6.2: any name, e.g. `onprem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner<'a> {
    Cloud(Cloud),
    Custom(&'a str),
}

impl<'a> Owner<'a> {
    pub fn as_str(&self) -> &'a str {
        match *self {
            Owner::Cloud(c) => c.as_str(),
            Owner::Custom(s) => s,
        }
    }
}

impl<'a> Owner<'a> {
    /// From the text of a cloud column: one of ours, else a custom name.
    pub fn from_text(text: &'a str) -> Owner<'a> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .map_or(Owner::Custom(text), Owner::Cloud)
    }
}

/// A region as the range files give it. `global` and "no region" are
/// rules of their own in SPEC §3.9, so they are not just strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region<'a> {
    /// The prefix carries no region (an error for the local cloud).
    Unknown,
    /// `global`: reachable in every region.
    Global,
    Named(&'a str),
}

impl<'a> Region<'a> {
    /// From a normalised region name.
    pub fn from_name(name: &'a str) -> Region<'a> {
        match name {
            "" => Region::Unknown,
            "global" => Region::Global,
            n => Region::Named(n),
        }
    }

    pub fn as_str(&self) -> &'a str {
        match *self {
            Region::Unknown => "",
            Region::Global => "global",
            Region::Named(n) => n,
        }
    }
}

/// Where the far end of a flow is, when anything is known: its owner,
/// region and cloud service (`""` when the range names none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSite<'a> {
    pub owner: Owner<'a>,
    pub region: Region<'a>,
    pub service: &'a str,
}

impl<'a> RemoteSite<'a> {
    /// From the texts of the `remoteCloud`, `remoteRegion` and
    /// `remoteCloudService` columns; `None` when the cloud is empty.
    pub fn from_text(cloud: &'a str, region: &'a str, service: &'a str) -> Option<RemoteSite<'a>> {
        (!cloud.is_empty()).then(|| RemoteSite {
            owner: Owner::from_text(cloud),
            region: Region::from_name(region),
            service,
        })
    }
}

/// The `connectionFlags` map of a flow (SPEC §6.3): a set of flag names,
/// each true or false. A bit set over the run's [`FlagNames`], so a flow's
/// flags are two words and cost no allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FlagSet {
    present: u64,
    value: u64,
}

/// Flag name ids are indexes into [`FlagNames`]; at most this many.
pub const MAX_FLAGS: usize = 64;

impl FlagSet {
    pub const EMPTY: FlagSet = FlagSet {
        present: 0,
        value: 0,
    };

    /// Sets flag `id` (an index into the run's [`FlagNames`]) to `value`.
    #[inline]
    pub fn set(&mut self, id: FlagId, value: bool) {
        let bit = 1u64 << id.0;
        self.present |= bit;
        if value {
            self.value |= bit;
        } else {
            self.value &= !bit;
        }
    }

    /// Sets every flag whose bit is in `bits` (bit `i` = flag id `i`) to true.
    #[inline]
    pub(crate) fn set_true_bits(&mut self, bits: u64) {
        self.present |= bits;
        self.value |= bits;
    }

    #[inline]
    pub fn get(self, id: FlagId) -> Option<bool> {
        let bit = 1u64 << id.0;
        (self.present & bit != 0).then_some(self.value & bit != 0)
    }

    pub fn is_empty(self) -> bool {
        self.present == 0
    }

    pub fn len(self) -> usize {
        self.present.count_ones() as usize
    }

    /// The flags that are set, in id order — which is the names' byte
    /// order, since [`FlagNames`] is sorted.
    pub fn iter(self) -> impl Iterator<Item = (FlagId, bool)> {
        let mut rest = self.present;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let i = rest.trailing_zeros() as u8;
                rest &= rest - 1;
                let id = FlagId(i);
                (id, self.value & (1 << i) != 0)
            })
        })
    }
}

/// Index of a flag name in the run's [`FlagNames`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlagId(u8);

impl FlagId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// This id's bit in a bit set of flags.
    pub(crate) fn bit(self) -> u64 {
        1u64 << self.0
    }

    pub(crate) fn from_index(i: u8) -> FlagId {
        debug_assert!(usize::from(i) < MAX_FLAGS);
        FlagId(i)
    }
}

/// The flag names of a run, sorted by bytes (SPEC §6.3: keys are written
/// in byte order), so a [`FlagSet`] iterates in output order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagNames {
    names: Vec<String>,
}

impl FlagNames {
    /// Sorts and de-duplicates; `Err` with the count when there are more
    /// than [`MAX_FLAGS`].
    pub fn new(names: impl IntoIterator<Item = String>) -> Result<FlagNames, usize> {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        names.dedup();
        if names.len() > MAX_FLAGS {
            return Err(names.len());
        }
        Ok(FlagNames { names })
    }

    pub fn id(&self, name: &str) -> Option<FlagId> {
        self.names
            .binary_search_by(|n| n.as_str().cmp(name))
            .ok()
            .map(|i| FlagId(i as u8))
    }

    pub fn name(&self, id: FlagId) -> &str {
        &self.names[id.index()]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
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
    /// `None` when the remote matched no range.
    pub remote_site: Option<RemoteSite<'a>>,
    pub flags: FlagSet,
    pub out: Counters,
    pub inbound: Counters,
}

impl<'a> LabelledFlow<'a> {
    /// A flow with no remote site and no flags: for tests and generators.
    pub fn new(
        observed_at: i64,
        proto: Protocol,
        class: ConnectionClass,
        local: Endpoint<'a>,
        remote: Endpoint<'a>,
    ) -> LabelledFlow<'a> {
        LabelledFlow {
            observed_at,
            proto,
            class,
            local,
            remote,
            remote_site: None,
            flags: FlagSet::EMPTY,
            out: Counters::default(),
            inbound: Counters::default(),
        }
    }

    /// `remoteCloud`: the owner's name, `""` when unknown.
    pub fn remote_cloud(&self) -> &'a str {
        self.remote_site.map_or("", |s| s.owner.as_str())
    }

    pub fn remote_region(&self) -> &'a str {
        self.remote_site.map_or("", |s| s.region.as_str())
    }

    pub fn remote_service(&self) -> &'a str {
        self.remote_site.map_or("", |s| s.service)
    }
}

/// The local side: our cloud and normalised region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSite {
    pub cloud: Cloud,
    pub region: String,
}

/// Per-run constant columns, and the names the flows' flag sets refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMeta {
    pub environment: String,
    pub local: LocalSite,
    pub cluster: String,
    pub interval_seconds: u16,
    pub flag_names: FlagNames,
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
    fn flag_sets_iterate_in_name_order() {
        let names =
            FlagNames::new(["NLB", "CROSS_AZ", "NAT_GATEWAY", "NLB"].map(String::from)).unwrap();
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            ["CROSS_AZ", "NAT_GATEWAY", "NLB"]
        );
        let id = |n: &str| names.id(n).unwrap();
        let mut set = FlagSet::EMPTY;
        assert!(set.is_empty());
        set.set(id("NLB"), true);
        set.set(id("CROSS_AZ"), true);
        set.set(id("CROSS_AZ"), false);
        assert_eq!(set.get(id("NAT_GATEWAY")), None);
        assert_eq!(set.get(id("CROSS_AZ")), Some(false));
        let listed: Vec<(&str, bool)> = set.iter().map(|(i, v)| (names.name(i), v)).collect();
        assert_eq!(listed, [("CROSS_AZ", false), ("NLB", true)]);
        assert_eq!(set.len(), 2);
        assert_eq!(names.id("OTHER"), None);
        let many = FlagNames::new((0..65).map(|i| format!("F{i}")));
        assert_eq!(many, Err(65));
    }

    #[test]
    fn flag_sets_iterate_their_flags_in_id_order() {
        let names = FlagNames::new(["B".to_string(), "A".into(), "C".into()]).unwrap();
        let (a, b, c) = (
            names.id("A").unwrap(),
            names.id("B").unwrap(),
            names.id("C").unwrap(),
        );
        let mut s = FlagSet::EMPTY;
        assert_eq!(s.iter().count(), 0);
        s.set(c, false);
        s.set(a, true);
        s.set_true_bits(b.bit());
        let got: Vec<(&str, bool)> = s.iter().map(|(id, v)| (names.name(id), v)).collect();
        assert_eq!(got, [("A", true), ("B", true), ("C", false)]);
        s.set(a, false);
        assert_eq!((s.get(a), s.get(c), s.len()), (Some(false), Some(false), 3));
        let mut top = FlagSet::EMPTY;
        top.set(FlagId::from_index(63), true);
        assert_eq!(
            top.iter()
                .map(|(id, v)| (id.index(), v))
                .collect::<Vec<_>>(),
            [(63, true)]
        );
    }

    #[test]
    fn cloud_parses_case_insensitively() {
        assert_eq!("AWS".parse::<Cloud>().unwrap(), Cloud::Aws);
        assert_eq!("gce".parse::<Cloud>().unwrap(), Cloud::Gcp);
        assert!("ibm".parse::<Cloud>().is_err());
    }
}
