//! `kubenetmon classify`'s answer for one input token (SPEC §5, §5.2, §6):
//! parse it as an address, look it up in the range table, classify it as
//! §3.9 (after §6.2's locations) does when the local site is known, give
//! its zone (§6.1) and location (§6.2), and name its holder in the
//! inventory. Pure; the subcommand (`src/cli/classify.rs`) reads the tokens
//! and prints the answers. In the library so that a fuzz target can call it.

use std::net::IpAddr;

use crate::inventory::{Inventory, Node};
use crate::label::{
    canonical, classified_as, classify_located, Basis, LabelIndex, LocalSite, Locations, PodSlot,
    PrivateNets, RemoteClass, SameCloudEmptyRegion,
};
use crate::ranges::RangeTable;
use crate::zones::ZoneMap;

/// What one input turned into. (Unboxed: nearly every answer is `Found`.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Answer<'a> {
    Found {
        ip: IpAddr,
        cloud: String,
        region: String,
        service: String,
        /// The matching prefix (or §3.9's basis), empty when none.
        prefix: String,
        /// §3.9's connection class; only with a local site.
        class: Option<&'static str>,
        /// §6.1: the zone map's answer (`None` without a zone map).
        zone: Option<String>,
        /// §6.2: the `--location` CIDR holding the address (`None` without
        /// locations).
        location: Option<String>,
        /// §3.9 refused to classify (a same-cloud prefix with no region).
        error: Option<String>,
        /// Who has the address in the inventory, when one was given.
        owner: Option<Owner<'a>>,
    },
    Unparsable {
        input: String,
    },
}

/// An address's holder in the inventory: a node's InternalIP comes first
/// (hostNetwork pods share it, so no pod is named), then §3.5's pod choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    Node(&'a Node),
    Pod {
        namespace: &'a str,
        name: &'a str,
        /// `spec.nodeName`; empty when unscheduled.
        node: &'a str,
        /// That node's zone; empty when unknown.
        zone: &'a str,
    },
    /// Several pods that are neither Succeeded nor Failed (§3.5's `multiple_pods`).
    MultiplePods(usize),
}

/// Who has `ip` in `inv`; IPv4-mapped IPv6 counts as its IPv4 address.
pub fn owner<'a>(ip: IpAddr, inv: &'a Inventory, pods: &LabelIndex<'a>) -> Option<Owner<'a>> {
    let ip = ip.to_canonical();
    if let Some(node) = inv.node_by_internal_ip(ip) {
        return Some(Owner::Node(node));
    }
    Some(match *pods.pod(ip)? {
        PodSlot::One(p) => Owner::Pod {
            namespace: p.namespace,
            name: p.name,
            node: p.node,
            zone: p.zone,
        },
        PodSlot::Multiple(n) => Owner::MultiplePods(n),
    })
}

impl<'a> Owner<'a> {
    /// `namespace/name`.
    pub fn pod(&self) -> Option<String> {
        match self {
            Owner::Pod {
                namespace, name, ..
            } => Some(format!("{namespace}/{name}")),
            _ => None,
        }
    }

    pub fn node(&self) -> Option<&'a str> {
        match *self {
            Owner::Node(n) => Some(n.name.as_str()),
            Owner::Pod { node: n, .. } => Some(n).filter(|n| !n.is_empty()),
            Owner::MultiplePods(_) => None,
        }
    }

    pub fn zone(&self) -> &'a str {
        match *self {
            Owner::Node(n) => n.zone(),
            Owner::Pod { zone, .. } => zone,
            Owner::MultiplePods(_) => "",
        }
    }

    pub fn multiple(&self) -> Option<usize> {
        match *self {
            Owner::MultiplePods(n) => Some(n),
            _ => None,
        }
    }
}

/// What `classify` looks addresses up in.
pub struct Lookup<'a> {
    pub table: &'a RangeTable,
    pub local: Option<&'a LocalSite>,
    pub private: &'a PrivateNets,
    /// `None` without --subnets/--zone.
    pub zones: Option<&'a ZoneMap>,
    pub locations: &'a Locations,
    /// The inventory and its pod index, when `--inventory` was given.
    pub pods: Option<(&'a Inventory, LabelIndex<'a>)>,
}

/// The answer for one input (an argument, or a token of stdin): leading
/// and trailing blanks are ignored; anything but an IPv4 or IPv6 address is
/// [`Answer::Unparsable`].
pub fn answer<'a>(input: &str, at: &Lookup<'a>) -> Answer<'a> {
    let Ok(ip) = input.trim().parse::<IpAddr>() else {
        return Answer::Unparsable {
            input: input.to_string(),
        };
    };
    // SPEC §7: an IPv4-mapped address is its IPv4 address everywhere; a
    // NAT64 address is classified (locations, private set, ranges) by the
    // IPv4 address in its last 32 bits. `ip` stays as written.
    let host = canonical(ip);
    let by = classified_as(ip);
    let owner = at
        .pods
        .as_ref()
        .and_then(|(inv, idx)| owner(host, inv, idx));
    // §6.1: the pod's (or node's) zone first, then the zone map.
    let zone = at.zones.map(|z| {
        owner
            .map(|o| o.zone())
            .filter(|z| !z.is_empty())
            .or_else(|| z.zone_of(host))
            .unwrap_or_default()
            .to_string()
    });
    let in_location = at.locations.lookup(by);
    let location = (!at.locations.is_empty())
        .then(|| in_location.map_or(String::new(), |(net, _, _)| net.to_string()));
    let looked_up = |error: Option<String>| match in_location {
        // §6.2 without a local site: the location's place, no class.
        Some((_, cloud, region)) => Answer::Found {
            ip,
            cloud: cloud.to_string(),
            region: region.to_string(),
            service: String::new(),
            prefix: String::new(),
            class: None,
            zone: zone.clone(),
            location: location.clone(),
            error,
            owner,
        },
        None => {
            let m = at.table.lookup(by);
            Answer::Found {
                ip,
                cloud: m.map_or("", |m| m.detail.cloud.as_str()).to_string(),
                region: m.map_or("", |m| m.detail.region.as_str()).to_string(),
                service: m.map_or("", |m| m.detail.service.as_str()).to_string(),
                prefix: m.map_or(String::new(), |m| m.prefix.to_string()),
                class: None,
                zone: zone.clone(),
                location: location.clone(),
                error,
                owner,
            }
        }
    };
    match at.local {
        None => looked_up(None),
        Some(local) => match classified(ip, local, owner.as_ref(), at) {
            Ok(r) => Answer::Found {
                ip,
                cloud: r.site.map_or("", |s| s.owner.as_str()).to_string(),
                region: r.site.map_or("", |s| s.region.as_str()).to_string(),
                service: r.site.map_or("", |s| s.service).to_string(),
                prefix: r.basis.prefix().map_or(String::new(), |p| p.to_string()),
                class: Some(r.class.as_str()),
                zone,
                location,
                error: None,
                owner,
            },
            Err(e) => looked_up(Some(e.to_string())),
        },
    }
}

/// §3.9 after §6.2's locations, as `label` does: a pod's address is
/// `INTRA_VPC` whatever its range (§7: EKS IPv6 pods have public addresses).
fn classified<'a>(
    ip: IpAddr,
    local: &'a LocalSite,
    owner: Option<&Owner<'_>>,
    at: &Lookup<'a>,
) -> Result<RemoteClass<'a>, SameCloudEmptyRegion> {
    match owner {
        Some(Owner::Pod { .. }) => Ok(RemoteClass::intra_vpc(local, Basis::Pod)),
        _ => classify_located(ip, local, at.locations, at.private, at.table),
    }
}

/// The tokens of one line of address input: whitespace-separated, a `#`
/// starting a comment to the end of the line.
pub fn tokens(line: &str) -> impl Iterator<Item = &str> {
    line.split('#').next().unwrap_or("").split_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cloud;
    use crate::ranges::Detail;

    fn table() -> RangeTable {
        RangeTable::from_entries(vec![(
            "52.216.0.0/15".parse().unwrap(),
            Detail {
                cloud: Cloud::Aws,
                service: "s3".into(),
                region: "us-east-1".into(),
            },
        )])
    }

    #[test]
    fn tokens_split_on_blanks_and_stop_at_a_comment() {
        let t: Vec<&str> = tokens(" 10.0.0.1\t2600::1  # 1.2.3.4 later").collect();
        assert_eq!(t, ["10.0.0.1", "2600::1"]);
        assert_eq!(tokens("# only a comment").count(), 0);
        assert_eq!(tokens("").count(), 0);
    }

    #[test]
    fn answers_without_and_with_a_local_site() {
        let (table, private, locations) = (table(), PrivateNets::upstream(), Locations::default());
        let mut at = Lookup {
            table: &table,
            local: None,
            private: &private,
            zones: None,
            locations: &locations,
            pods: None,
        };
        let Answer::Found {
            ip,
            cloud,
            region,
            prefix,
            class,
            zone,
            location,
            owner,
            ..
        } = answer(" 52.216.1.2 ", &at)
        else {
            panic!("an address")
        };
        assert_eq!(ip.to_string(), "52.216.1.2");
        assert_eq!((cloud.as_str(), region.as_str()), ("aws", "us-east-1"));
        assert_eq!(
            (prefix.as_str(), class, owner),
            ("52.216.0.0/15", None, None)
        );
        assert_eq!((zone, location), (None, None));

        let local = LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        };
        at.local = Some(&local);
        let class_of = |input: &str| match answer(input, &at) {
            Answer::Found { class, .. } => class,
            Answer::Unparsable { .. } => panic!("{input} parses"),
        };
        assert_eq!(class_of("52.216.1.2"), Some("INTRA_REGION"));
        assert_eq!(class_of("10.1.2.3"), Some("INTRA_VPC"));
        assert_eq!(class_of("8.8.8.8"), Some("PUBLIC_INTERNET"));
    }

    #[test]
    fn anything_but_an_address_is_unparsable() {
        let (table, private, locations) = (table(), PrivateNets::upstream(), Locations::default());
        let at = Lookup {
            table: &table,
            local: None,
            private: &private,
            zones: None,
            locations: &locations,
            pods: None,
        };
        for input in ["10.0.0.256", "", "fe80::1%eth0", "1.2.3.4/32", "host"] {
            match answer(input, &at) {
                Answer::Unparsable { input: i } => assert_eq!(i, input),
                Answer::Found { ip, .. } => panic!("{input:?} gave {ip}"),
            }
        }
    }
}
