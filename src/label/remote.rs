//! SPEC §3.9: classifying the remote end of a flow by its IP address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::model::{Cloud, ConnectionClass, LocalSite, Owner, Region, RemoteSite};
use crate::ranges::RangeTable;

/// Addresses treated as private / local (no range lookup, `INTRA_VPC`).
#[derive(Debug, Clone)]
pub struct PrivateNets {
    extra: Vec<IpNet>,
}

impl Default for PrivateNets {
    fn default() -> Self {
        Self::upstream()
    }
}

impl PrivateNets {
    /// Upstream's set, our default.
    pub fn upstream() -> Self {
        PrivateNets { extra: Vec::new() }
    }

    /// Upstream's set plus the user's `--private-cidr`s (e.g. 100.64.0.0/10).
    pub fn with_extra(extra: impl IntoIterator<Item = IpNet>) -> Self {
        PrivateNets {
            extra: extra.into_iter().map(|n| n.trunc()).collect(),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let builtin = match ip {
            IpAddr::V4(v4) => is_private_v4(v4),
            IpAddr::V6(v6) => is_private_v6(v6),
        };
        builtin || self.extra.iter().any(|n| n.contains(&ip))
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    match a {
        10 | 127 | 239 => true,
        172 => (16..=31).contains(&b),
        192 => b == 168,
        169 => b == 254,
        0 => ip.is_unspecified(),
        224 => b == 0 && c == 0,
        // 232/8 is source-specific multicast, except its reserved first /24.
        232 => !(b == 0 && c == 0),
        _ => false,
    }
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || ip.is_loopback()
        || ip.is_unspecified()
}

/// How §3.9 reached its answer: what a connection flag rule, `classify`
/// and the summary need to know beyond the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Private or local address (§3.9 first rule): no lookup was made.
    Private,
    /// The remote endpoint is a pod of the inventory: `INTRA_VPC` whatever
    /// its address, before any location (SPEC §6.3, §7).
    Pod,
    /// Inside this `--location` CIDR (SPEC §6.2), checked before the
    /// private set and the range table.
    Location(IpNet),
    /// The longest range-table prefix that holds the address.
    Range(IpNet),
    /// No prefix holds it.
    NoMatch,
}

impl Basis {
    /// The matched prefix, if a range matched.
    pub fn prefix(self) -> Option<IpNet> {
        match self {
            Basis::Range(p) => Some(p),
            Basis::Private | Basis::Pod | Basis::Location(_) | Basis::NoMatch => None,
        }
    }

    /// The matched `--location` CIDR, if one matched.
    pub fn location(self) -> Option<IpNet> {
        match self {
            Basis::Location(p) => Some(p),
            Basis::Private | Basis::Pod | Basis::Range(_) | Basis::NoMatch => None,
        }
    }
}

/// What §3.9 says about a remote address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteClass<'a> {
    /// `None` when the address matched no range.
    pub site: Option<RemoteSite<'a>>,
    pub basis: Basis,
    pub class: ConnectionClass,
}

impl<'a> RemoteClass<'a> {
    /// §3.9's first rule: the local cloud and region, no service, `INTRA_VPC`.
    pub fn intra_vpc(local: &'a LocalSite, basis: Basis) -> RemoteClass<'a> {
        RemoteClass {
            site: Some(RemoteSite {
                owner: Owner::Cloud(local.cloud),
                region: Region::Named(&local.region),
                service: "",
            }),
            basis,
            class: ConnectionClass::IntraVpc,
        }
    }
}

/// A same-cloud prefix without a region cannot be placed (upstream's error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("remote {ip} is in {cloud} prefix {prefix} which has no region")]
pub struct SameCloudEmptyRegion {
    pub ip: IpAddr,
    pub cloud: Cloud,
    pub prefix: IpNet,
}

/// Classifies `ip` as seen from `local`.
pub fn classify_remote<'a>(
    ip: IpAddr,
    local: &'a LocalSite,
    private: &PrivateNets,
    table: &'a RangeTable,
) -> Result<RemoteClass<'a>, SameCloudEmptyRegion> {
    if private.contains(ip) {
        return Ok(RemoteClass::intra_vpc(local, Basis::Private));
    }
    let Some(m) = table.lookup(ip) else {
        return Ok(RemoteClass {
            site: None,
            basis: Basis::NoMatch,
            class: ConnectionClass::PublicInternet,
        });
    };
    let d = m.detail;
    let region = Region::from_name(&d.region);
    let class = if d.cloud != local.cloud {
        ConnectionClass::PublicInternet
    } else {
        match region {
            Region::Unknown => {
                return Err(SameCloudEmptyRegion {
                    ip,
                    cloud: d.cloud,
                    prefix: m.prefix,
                })
            }
            Region::Global => ConnectionClass::IntraRegion,
            Region::Named(r) if r == local.region => ConnectionClass::IntraRegion,
            Region::Named(_) => ConnectionClass::InterRegion,
        }
    };
    Ok(RemoteClass {
        site: Some(RemoteSite {
            owner: Owner::Cloud(d.cloud),
            region,
            service: &d.service,
        }),
        basis: Basis::Range(m.prefix),
        class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranges::Detail;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> RangeTable {
        let d = |cloud, service: &str, region: &str| Detail {
            cloud,
            service: service.into(),
            region: region.into(),
        };
        RangeTable::from_entries(vec![
            (
                "52.216.0.0/15".parse().unwrap(),
                d(Cloud::Aws, "s3", "us-east-1"),
            ),
            (
                "52.216.8.0/24".parse().unwrap(),
                d(Cloud::Aws, "ec2", "us-east-1"),
            ),
            (
                "3.5.0.0/16".parse().unwrap(),
                d(Cloud::Aws, "amazon", "eu-west-1"),
            ),
            (
                "15.0.0.0/16".parse().unwrap(),
                d(Cloud::Aws, "amazon", "global"),
            ),
            ("16.0.0.0/16".parse().unwrap(), d(Cloud::Aws, "amazon", "")),
            (
                "34.1.208.0/20".parse().unwrap(),
                d(Cloud::Gcp, "googlecloud", "us-east1"),
            ),
            (
                "100.70.0.0/16".parse().unwrap(),
                d(Cloud::Aws, "ec2", "eu-west-1"),
            ),
        ])
    }

    fn local() -> LocalSite {
        LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        }
    }

    fn class(addr: &str, private: &PrivateNets) -> Result<ConnectionClass, SameCloudEmptyRegion> {
        let (t, l) = (table(), local());
        classify_remote(ip(addr), &l, private, &t).map(|r| r.class)
    }

    #[test]
    fn upstream_private_set() {
        let p = PrivateNets::upstream();
        for a in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "127.0.0.1",
            "127.9.9.9",
            "224.0.0.251",
            "239.1.2.3",
            "232.1.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
            "::",
        ] {
            assert!(p.contains(ip(a)), "{a} should be private");
        }
        for a in [
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "169.253.0.1",
            "0.0.0.1",
            "224.0.1.1",
            "232.0.0.5",
            "100.64.0.1",
            "8.8.8.8",
            "2600::1",
        ] {
            assert!(!p.contains(ip(a)), "{a} should not be private");
        }
    }

    #[test]
    fn private_cidr_extends_the_set() {
        let p = PrivateNets::with_extra(["100.64.0.0/10".parse().unwrap()]);
        assert!(p.contains(ip("100.70.1.1")));
        // Private wins over a range-table match: no lookup is made.
        assert_eq!(class("100.70.1.1", &p).unwrap(), ConnectionClass::IntraVpc);
        assert_eq!(
            class("100.70.1.1", &PrivateNets::upstream()).unwrap(),
            ConnectionClass::InterRegion
        );
    }

    #[test]
    fn private_remote_takes_local_cloud_and_region() {
        let (t, l) = (table(), local());
        let r = classify_remote(ip("10.0.0.1"), &l, &PrivateNets::upstream(), &t).unwrap();
        let s = r.site.unwrap();
        assert_eq!(
            (s.owner, s.region, s.service, r.basis, r.class),
            (
                Owner::Cloud(Cloud::Aws),
                Region::Named("us-east-1"),
                "",
                Basis::Private,
                ConnectionClass::IntraVpc
            )
        );
    }

    #[test]
    fn same_cloud_classes() {
        let p = PrivateNets::upstream();
        assert_eq!(
            class("52.216.1.1", &p).unwrap(),
            ConnectionClass::IntraRegion
        );
        assert_eq!(class("3.5.1.1", &p).unwrap(), ConnectionClass::InterRegion);
        assert_eq!(class("15.0.1.1", &p).unwrap(), ConnectionClass::IntraRegion);
        let err = class("16.0.1.1", &p).unwrap_err();
        assert_eq!(err.prefix.to_string(), "16.0.0.0/16");
    }

    #[test]
    fn other_cloud_and_misses_are_public_internet() {
        let p = PrivateNets::upstream();
        assert_eq!(
            class("34.1.208.9", &p).unwrap(),
            ConnectionClass::PublicInternet
        );
        let (t, l) = (table(), local());
        let r = classify_remote(ip("8.8.8.8"), &l, &p, &t).unwrap();
        assert_eq!((r.site, r.basis), (None, Basis::NoMatch));
        assert_eq!(r.class, ConnectionClass::PublicInternet);
        let r = classify_remote(ip("34.1.208.9"), &l, &p, &t).unwrap();
        let s = r.site.unwrap();
        assert_eq!(
            (s.owner, s.region),
            (Owner::Cloud(Cloud::Gcp), Region::Named("us-east1"))
        );
    }

    #[test]
    fn longest_prefix_gives_the_service() {
        let (t, l) = (table(), local());
        let r = classify_remote(ip("52.216.8.7"), &l, &PrivateNets::upstream(), &t).unwrap();
        assert_eq!(r.site.unwrap().service, "ec2");
        assert_eq!(r.basis.prefix().unwrap().to_string(), "52.216.8.0/24");
        let r = classify_remote(ip("52.217.0.1"), &l, &PrivateNets::upstream(), &t).unwrap();
        assert_eq!(r.site.unwrap().service, "s3");
    }
}
