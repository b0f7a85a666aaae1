//! SPEC §6.2: custom locations — `--location CIDR=CLOUD/REGION` places a
//! peered VPC, another account or a data centre. A location is checked
//! before the private set and the range table ([`classify_located`]).

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use thiserror::Error;

use super::remote::{classify_remote, Basis, PrivateNets, RemoteClass, SameCloudEmptyRegion};
use crate::model::{normalize, ConnectionClass, LocalSite, Owner, Region, RemoteSite};
use crate::ranges::{parse_cidr, PrefixMap, RangeTable};

/// `--location CIDR=CLOUD/REGION`, parsed; CLOUD and REGION normalised
/// like the range files' names (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationSpec {
    pub net: IpNet,
    pub cloud: String,
    pub region: String,
    /// The option's text, for messages.
    pub text: String,
}

impl FromStr for LocationSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let form = || {
            format!(
                "{s:?} is not CIDR=CLOUD/REGION (e.g. 10.20.0.0/16=aws/eu-west-1 or \
                 192.168.0.0/16=onprem/dc1)"
            )
        };
        let (cidr, place) = s.split_once('=').ok_or_else(form)?;
        let net = parse_cidr(cidr)?;
        let (cloud, region) = place.split_once('/').ok_or_else(form)?;
        let (cloud, region) = (normalize(cloud), normalize(region));
        if cloud.is_empty() || region.is_empty() {
            return Err(format!("{s:?}: the cloud and the region must not be empty"));
        }
        if region.contains('/') {
            return Err(form());
        }
        Ok(LocationSpec {
            net,
            cloud,
            region,
            text: s.to_string(),
        })
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("--location {first} and --location {second} place {net} in two different locations")]
pub struct LocationConflict {
    pub net: IpNet,
    pub first: String,
    pub second: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    cloud: String,
    region: String,
}

/// The run's locations; the longest CIDR wins.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    map: PrefixMap<Place>,
}

impl Locations {
    /// No locations.
    pub fn none() -> Locations {
        Locations::default()
    }

    /// The same CIDR twice with different places is an error; twice with the
    /// same place is fine. Host bits are cleared.
    pub fn new(specs: &[LocationSpec]) -> Result<Locations, LocationConflict> {
        let mut seen: Vec<(IpNet, &LocationSpec)> = Vec::with_capacity(specs.len());
        for s in specs {
            let net = s.net.trunc();
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == net) {
                if (&first.cloud, &first.region) != (&s.cloud, &s.region) {
                    return Err(LocationConflict {
                        net,
                        first: first.text.clone(),
                        second: s.text.clone(),
                    });
                }
                continue;
            }
            seen.push((net, s));
        }
        Ok(Locations {
            map: PrefixMap::new(seen.into_iter().map(|(net, s)| {
                (
                    net,
                    Place {
                        cloud: s.cloud.clone(),
                        region: s.region.clone(),
                    },
                )
            })),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The location holding `ip` as §3.9 would answer for a range match:
    /// its cloud and region, no service, and the class by §3.9's rules
    /// (same cloud and region, or `global` → `INTRA_REGION`; same cloud,
    /// other region → `INTER_REGION`; other cloud → `PUBLIC_INTERNET`).
    #[inline]
    pub fn classify<'a>(&'a self, ip: IpAddr, local: &LocalSite) -> Option<RemoteClass<'a>> {
        if self.map.is_empty() {
            return None;
        }
        let (net, place) = self.map.get(ip)?;
        let owner = Owner::from_text(&place.cloud);
        let region = Region::from_name(&place.region);
        let class = if owner != Owner::Cloud(local.cloud) {
            ConnectionClass::PublicInternet
        } else {
            match region {
                Region::Global => ConnectionClass::IntraRegion,
                Region::Named(r) if r == local.region => ConnectionClass::IntraRegion,
                // (Region::Unknown cannot happen: the region is never empty.)
                Region::Named(_) | Region::Unknown => ConnectionClass::InterRegion,
            }
        };
        Some(RemoteClass {
            site: Some(RemoteSite {
                owner,
                region,
                service: "",
            }),
            basis: Basis::Location(net),
            class,
        })
    }

    /// The longest location CIDR holding `ip`, with its cloud and region
    /// (for `classify` without a local site).
    pub fn lookup(&self, ip: IpAddr) -> Option<(IpNet, &str, &str)> {
        self.map
            .get(ip)
            .map(|(n, p)| (n, p.cloud.as_str(), p.region.as_str()))
    }

    /// Every location as `(CIDR, cloud, region)`.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &str, &str)> + '_ {
        self.map
            .iter()
            .map(|(n, p)| (n, p.cloud.as_str(), p.region.as_str()))
    }
}

/// §3.9 with §6.2's locations first: a remote inside a location gets that
/// location; anything else is classified by [`classify_remote`].
#[inline]
pub fn classify_located<'a>(
    ip: IpAddr,
    local: &'a LocalSite,
    locations: &'a Locations,
    private: &PrivateNets,
    table: &'a RangeTable,
) -> Result<RemoteClass<'a>, SameCloudEmptyRegion> {
    match locations.classify(ip, local) {
        Some(rc) => Ok(rc),
        None => classify_remote(ip, local, private, table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cloud;
    use crate::ranges::Detail;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn local() -> LocalSite {
        LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        }
    }

    fn locations(specs: &[&str]) -> Locations {
        let specs: Vec<LocationSpec> = specs.iter().map(|s| s.parse().unwrap()).collect();
        Locations::new(&specs).unwrap()
    }

    #[test]
    fn specs_are_normalised_or_refused() {
        let s: LocationSpec = "10.20.0.0/16=AWS/EU-West-1".parse().unwrap();
        assert_eq!(
            (s.net.to_string(), s.cloud.as_str(), s.region.as_str()),
            ("10.20.0.0/16".into(), "aws", "eu-west-1")
        );
        let s: LocationSpec = "192.168.0.0/16=On Prem/DC 1".parse().unwrap();
        assert_eq!((s.cloud.as_str(), s.region.as_str()), ("onprem", "dc1"));
        for bad in [
            "10.20.0.0/16",
            "10.20.0.0/16=aws",
            "10.20.0.0/16=/eu-west-1",
            "10.20.0.0/16=aws/",
            "10.20.0.0/16=aws/eu/west",
            "10.20.0.0/99=aws/eu-west-1",
        ] {
            assert!(bad.parse::<LocationSpec>().is_err(), "{bad}");
        }
    }

    /// SPEC §6.2: a location is checked before the private set and the range
    /// table, and gets §3.9's classes.
    #[test]
    fn location_comes_before_the_private_set_and_the_ranges() {
        let l = local();
        let locs = locations(&[
            "10.20.0.0/16=aws/eu-west-1",
            "10.21.0.0/16=aws/us-east-1",
            "192.168.0.0/16=onprem/dc1",
            "192.168.7.0/24=onprem/dc2",
            "52.216.0.0/16=gcp/global",
            "52.217.0.0/16=aws/global",
        ]);
        let table = RangeTable::from_entries(vec![(
            "52.216.0.0/15".parse().unwrap(),
            Detail {
                cloud: Cloud::Aws,
                service: "s3".into(),
                region: "us-east-1".into(),
            },
        )]);
        let private = PrivateNets::upstream();
        let at = |a: &str| {
            let r = classify_located(ip(a), &l, &locs, &private, &table).unwrap();
            let s = r.site.unwrap();
            (
                s.owner.as_str(),
                s.region.as_str(),
                s.service,
                r.class,
                r.basis.location().map(|n| n.to_string()),
            )
        };
        use ConnectionClass::*;
        // 10.20/16 is private, but the location wins.
        assert_eq!(
            at("10.20.1.1"),
            (
                "aws",
                "eu-west-1",
                "",
                InterRegion,
                Some("10.20.0.0/16".into())
            )
        );
        assert_eq!(at("10.21.1.1").3, IntraRegion);
        assert_eq!(
            at("192.168.1.1"),
            (
                "onprem",
                "dc1",
                "",
                PublicInternet,
                Some("192.168.0.0/16".into())
            )
        );
        // Longest prefix among locations.
        assert_eq!(at("192.168.7.9").1, "dc2");
        // Before the range table too: an S3 prefix placed in another cloud.
        assert_eq!(at("52.216.1.1").3, PublicInternet);
        assert_eq!(at("52.217.1.1").3, IntraRegion);
        assert_eq!(
            locs.lookup(ip("192.168.7.9")),
            Some(("192.168.7.0/24".parse().unwrap(), "onprem", "dc2"))
        );
        assert_eq!(locs.lookup(ip("10.0.0.1")), None);
        assert_eq!(locs.len(), 6);
        // Outside every location: §3.9 as before.
        assert_eq!(at("10.0.0.1"), ("aws", "us-east-1", "", IntraVpc, None));
        let none = Locations::none();
        let r = classify_located(ip("52.216.1.1"), &l, &none, &private, &table).unwrap();
        assert_eq!(
            (r.class, r.basis.prefix().unwrap().to_string()),
            (IntraRegion, "52.216.0.0/15".into())
        );
    }

    #[test]
    fn one_cidr_in_two_locations_is_an_error_naming_both() {
        let specs: Vec<LocationSpec> = [
            "10.20.0.0/16=aws/eu-west-1",
            "10.20.0.0/16=AWS/eu-west-1",
            "10.20.9.9/16=aws/eu-west-2",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert!(Locations::new(&specs[..2]).is_ok());
        let e = Locations::new(&specs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--location 10.20.0.0/16=aws/eu-west-1 and --location 10.20.9.9/16=aws/eu-west-2 \
             place 10.20.0.0/16 in two different locations"
        );
    }
}
