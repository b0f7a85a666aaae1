//! SPEC §6.3: the `connectionFlags` of a labelled flow.
//!
//! A run compiles its flag options into [`FlagRules`] once; the labeller
//! asks it for each flow's [`FlagSet`]. The names live in the rules'
//! [`FlagNames`] (sorted, so sets iterate in output order), which the
//! sinks get through `RunMeta` to write the keys. A new rule goes in
//! [`FlagRules::flags_of`] and gets its name registered in
//! [`FlagRules::new`]; nothing else changes.
//!
//! The rules:
//! - `CROSS_AZ` (on by default): present when both endpoints' zones are
//!   known (§6.1), `true` when they differ.
//! - `NAT_GATEWAY` (`--nat-gateway`): `true` when the local endpoint opened
//!   the connection and the remote is neither private/local, nor a pod, nor
//!   in a `--location`; except a same-cloud, same-region remote whose
//!   service a `--gateway-endpoint` names. Never `false`.
//! - user flags (`--flag NAME=CIDR`): `true` when the remote IP is inside
//!   one of NAME's CIDRs. Never `false`.
//!
//! Per flow this is two string compares, a couple of branches and at most
//! one small longest-prefix lookup; nothing is allocated.

use std::str::FromStr;

use ipnet::IpNet;
use thiserror::Error;

use crate::model::{
    normalize, FlagId, FlagNames, FlagSet, LabelledFlow, LocalSite, Owner, Region, MAX_FLAGS,
};
use crate::ranges::{parse_cidr, PrefixMap};

use super::remote::{Basis, RemoteClass};

/// Built-in flag names; `--flag` may not use them.
pub const CROSS_AZ: &str = "CROSS_AZ";
pub const NAT_GATEWAY: &str = "NAT_GATEWAY";
pub const BUILTIN_FLAGS: [&str; 2] = [CROSS_AZ, NAT_GATEWAY];

/// What the flag rules may look at, beyond the labelled flow itself.
#[derive(Debug, Clone, Copy)]
pub struct FlagInput<'f, 'a> {
    pub flow: &'f LabelledFlow<'a>,
    /// The local endpoint is the original source (§3.6: local = src), i.e.
    /// it opened the connection.
    pub initiated_locally: bool,
    pub remote: &'f RemoteClass<'a>,
    pub local: &'f LocalSite,
}

/// `--flag NAME=CIDR`, parsed and checked: NAME matches `[A-Z][A-Z0-9_]*`
/// and is not a built-in name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFlag {
    pub name: String,
    pub net: IpNet,
}

impl FromStr for UserFlag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, cidr) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?} is not NAME=CIDR (e.g. NLB=10.0.100.0/24)"))?;
        let name = name.trim();
        let mut chars = name.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(format!(
                "flag name {name:?} must match [A-Z][A-Z0-9_]* (e.g. NLB, VPC_ENDPOINT)"
            ));
        }
        if BUILTIN_FLAGS.contains(&name) {
            return Err(format!(
                "{name} is a built-in flag; choose another name for --flag"
            ));
        }
        Ok(UserFlag {
            name: name.to_string(),
            net: parse_cidr(cidr)?,
        })
    }
}

/// The flag options of a run, before compiling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagConfig {
    /// `CROSS_AZ` (on unless `--no-flags`).
    pub cross_az: bool,
    /// `--nat-gateway`.
    pub nat_gateway: bool,
    /// `--gateway-endpoint SERVICE` (normalised when compiled).
    pub gateway_endpoints: Vec<String>,
    /// `--flag NAME=CIDR`; a name may come with several CIDRs.
    pub user: Vec<UserFlag>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FlagError {
    #[error("{count} distinct flag names; at most {MAX_FLAGS} fit in connectionFlags")]
    TooMany { count: usize },
}

/// The flag rules of a run.
#[derive(Debug, Clone, Default)]
pub struct FlagRules {
    names: FlagNames,
    cross_az: Option<FlagId>,
    nat_gateway: Option<FlagId>,
    /// Normalised service names that bypass the NAT gateway.
    gateway_endpoints: Vec<String>,
    /// For every `--flag` CIDR, the bits of all user flags whose CIDRs
    /// hold it (its own and those of enclosing CIDRs), so the longest
    /// match answers every user flag at once.
    user: PrefixMap<u64>,
}

/// What the summary counts of a flow's flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlagTally {
    /// `CROSS_AZ`: `None` when absent (a zone unknown, or the flag off).
    pub cross_az: Option<bool>,
    pub nat_gateway: bool,
}

impl FlagRules {
    /// No flags at all: upstream's empty map (`--no-flags`).
    pub fn none() -> FlagRules {
        FlagRules::default()
    }

    pub fn new(config: &FlagConfig) -> Result<FlagRules, FlagError> {
        let mut names: Vec<String> = config.user.iter().map(|f| f.name.clone()).collect();
        if config.cross_az {
            names.push(CROSS_AZ.into());
        }
        if config.nat_gateway {
            names.push(NAT_GATEWAY.into());
        }
        let names = FlagNames::new(names).map_err(|count| FlagError::TooMany { count })?;
        let id = |n: &str| names.id(n).expect("registered above");
        let mut masks: Vec<(IpNet, u64)> = Vec::new();
        for f in &config.user {
            let net = f.net.trunc();
            let bit = id(&f.name).bit();
            match masks.iter_mut().find(|(n, _)| *n == net) {
                Some((_, m)) => *m |= bit,
                None => masks.push((net, bit)),
            }
        }
        // Nested CIDRs: a longest match must also answer the enclosing ones.
        let user = PrefixMap::new(masks.iter().map(|&(net, _)| {
            let all = masks
                .iter()
                .filter(|(outer, _)| outer.contains(&net))
                .fold(0, |acc, (_, m)| acc | m);
            (net, all)
        }));
        let mut gateway_endpoints: Vec<String> = config
            .gateway_endpoints
            .iter()
            .map(|s| normalize(s))
            .collect();
        gateway_endpoints.sort();
        gateway_endpoints.dedup();
        Ok(FlagRules {
            cross_az: config.cross_az.then(|| id(CROSS_AZ)),
            nat_gateway: config.nat_gateway.then(|| id(NAT_GATEWAY)),
            gateway_endpoints,
            user,
            names,
        })
    }

    /// The names a [`FlagSet`] of these rules refers to.
    pub fn names(&self) -> &FlagNames {
        &self.names
    }

    pub fn cross_az(&self) -> bool {
        self.cross_az.is_some()
    }

    pub fn nat_gateway(&self) -> bool {
        self.nat_gateway.is_some()
    }

    /// The flags of one flow.
    #[inline]
    pub fn flags_of(&self, input: &FlagInput<'_, '_>) -> FlagSet {
        let mut set = FlagSet::EMPTY;
        let flow = input.flow;
        if let Some(id) = self.cross_az {
            let (l, r) = (flow.local.availability_zone, flow.remote.availability_zone);
            if !l.is_empty() && !r.is_empty() {
                set.set(id, l != r);
            }
        }
        if let Some(id) = self.nat_gateway {
            if input.initiated_locally && self.through_nat(input) {
                set.set(id, true);
            }
        }
        if let Some(&bits) = self.user.value(flow.remote.ip) {
            set.set_true_bits(bits);
        }
        set
    }

    /// A connection the local side opened leaves through the NAT gateway
    /// unless it stays in the VPC (private, a pod), goes to a `--location`
    /// (peering, VPN: not the NAT gateway's route), or to a service a
    /// gateway endpoint carries in the local region.
    #[inline]
    fn through_nat(&self, input: &FlagInput<'_, '_>) -> bool {
        match input.remote.basis {
            Basis::Private | Basis::Pod | Basis::Location(_) => false,
            Basis::Range(_) | Basis::NoMatch => !self.gateway_endpoint(input),
        }
    }

    #[inline]
    fn gateway_endpoint(&self, input: &FlagInput<'_, '_>) -> bool {
        if self.gateway_endpoints.is_empty() {
            return false;
        }
        let Some(site) = input.remote.site else {
            return false;
        };
        site.owner == Owner::Cloud(input.local.cloud)
            && site.region == Region::Named(&input.local.region)
            && self.gateway_endpoints.iter().any(|s| s == site.service)
    }

    /// The built-in flags of `set`, for the summary.
    #[inline]
    pub fn tally(&self, set: FlagSet) -> FlagTally {
        FlagTally {
            cross_az: self.cross_az.and_then(|id| set.get(id)),
            nat_gateway: self.nat_gateway.and_then(|id| set.get(id)).unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::model::{Cloud, ConnectionClass, Endpoint, Protocol, RemoteSite};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn local_site() -> LocalSite {
        LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        }
    }

    fn flow<'a>(local_zone: &'a str, remote: &str, remote_zone: &'a str) -> LabelledFlow<'a> {
        let mut l = Endpoint::bare(ip("10.244.1.11"), 41000);
        l.availability_zone = local_zone;
        let mut r = Endpoint::bare(ip(remote), 443);
        r.availability_zone = remote_zone;
        LabelledFlow::new(0, Protocol::Tcp, ConnectionClass::IntraVpc, l, r)
    }

    fn rules(config: FlagConfig) -> FlagRules {
        FlagRules::new(&config).unwrap()
    }

    /// The flags as `NAME=value` in key order.
    fn text(rules: &FlagRules, set: FlagSet) -> Vec<String> {
        set.iter()
            .map(|(id, v)| format!("{}={v}", rules.names().name(id)))
            .collect()
    }

    fn class<'a>(basis: Basis, site: Option<RemoteSite<'a>>) -> RemoteClass<'a> {
        RemoteClass {
            site,
            basis,
            class: ConnectionClass::PublicInternet,
        }
    }

    fn aws<'a>(region: &'a str, service: &'a str) -> Option<RemoteSite<'a>> {
        Some(RemoteSite {
            owner: Owner::Cloud(Cloud::Aws),
            region: Region::Named(region),
            service,
        })
    }

    #[test]
    fn cross_az_needs_both_zones_and_compares_them() {
        let r = rules(FlagConfig {
            cross_az: true,
            ..Default::default()
        });
        let l = local_site();
        let rc = class(Basis::Private, None);
        let of = |f: &LabelledFlow<'_>| {
            text(
                &r,
                r.flags_of(&FlagInput {
                    flow: f,
                    initiated_locally: true,
                    remote: &rc,
                    local: &l,
                }),
            )
        };
        assert_eq!(
            of(&flow("us-east-1a", "10.0.1.5", "us-east-1b")),
            ["CROSS_AZ=true"]
        );
        assert_eq!(
            of(&flow("us-east-1a", "10.0.1.5", "us-east-1a")),
            ["CROSS_AZ=false"]
        );
        assert!(of(&flow("us-east-1a", "10.0.1.5", "")).is_empty());
        assert!(of(&flow("", "10.0.1.5", "us-east-1a")).is_empty());
        assert_eq!(
            r.tally(r.flags_of(&FlagInput {
                flow: &flow("a", "10.0.1.5", "b"),
                initiated_locally: false,
                remote: &rc,
                local: &l,
            })),
            FlagTally {
                cross_az: Some(true),
                nat_gateway: false
            }
        );
    }

    /// NAT_GATEWAY: only connections the local side opened, to remotes that
    /// are neither private, a pod, nor a location.
    #[test]
    fn nat_gateway_is_for_locally_initiated_non_vpc_traffic() {
        let r = rules(FlagConfig {
            nat_gateway: true,
            ..Default::default()
        });
        let l = local_site();
        let f = flow("", "203.0.113.9", "");
        let nat = |basis: Basis, initiated_locally: bool| {
            let rc = class(basis, aws("eu-west-1", "amazon"));
            r.flags_of(&FlagInput {
                flow: &f,
                initiated_locally,
                remote: &rc,
                local: &l,
            })
        };
        let net: IpNet = "203.0.113.0/24".parse().unwrap();
        assert_eq!(text(&r, nat(Basis::Range(net), true)), ["NAT_GATEWAY=true"]);
        assert_eq!(text(&r, nat(Basis::NoMatch, true)), ["NAT_GATEWAY=true"]);
        for (basis, initiated) in [
            (Basis::Range(net), false),
            (Basis::NoMatch, false),
            (Basis::Private, true),
            (Basis::Pod, true),
            (Basis::Location(net), true),
        ] {
            assert!(nat(basis, initiated).is_empty(), "{basis:?} {initiated}");
        }
        assert!(r.tally(nat(Basis::NoMatch, true)).nat_gateway);
        assert_eq!(r.tally(nat(Basis::NoMatch, true)).cross_az, None);
        // Off unless asked for.
        let off = rules(FlagConfig::default());
        let rc = class(Basis::NoMatch, None);
        assert!(off
            .flags_of(&FlagInput {
                flow: &f,
                initiated_locally: true,
                remote: &rc,
                local: &l,
            })
            .is_empty());
    }

    /// `--gateway-endpoint s3`: same-cloud, same-region S3 bypasses the NAT
    /// gateway; S3 of another region, or another service, does not.
    #[test]
    fn gateway_endpoints_bypass_the_nat_gateway_in_the_local_region_only() {
        let r = rules(FlagConfig {
            nat_gateway: true,
            gateway_endpoints: vec!["S3".into(), "dynamodb".into()],
            ..Default::default()
        });
        let l = local_site();
        let f = flow("", "52.216.1.1", "");
        let net: IpNet = "52.216.0.0/15".parse().unwrap();
        let nat = |site: Option<RemoteSite<'_>>| {
            let rc = class(Basis::Range(net), site);
            r.tally(r.flags_of(&FlagInput {
                flow: &f,
                initiated_locally: true,
                remote: &rc,
                local: &l,
            }))
            .nat_gateway
        };
        assert!(!nat(aws("us-east-1", "s3")));
        assert!(!nat(aws("us-east-1", "dynamodb")));
        assert!(nat(aws("eu-west-1", "s3")));
        assert!(nat(aws("us-east-1", "ec2")));
        assert!(nat(Some(RemoteSite {
            owner: Owner::Cloud(Cloud::Aws),
            region: Region::Global,
            service: "s3",
        })));
        assert!(nat(Some(RemoteSite {
            owner: Owner::Cloud(Cloud::Gcp),
            region: Region::Named("us-east-1"),
            service: "s3",
        })));
        assert!(nat(None));
    }

    #[test]
    fn user_flags_mark_remotes_inside_their_cidrs() {
        let flag = |s: &str| s.parse::<UserFlag>().unwrap();
        let r = rules(FlagConfig {
            cross_az: true,
            user: vec![
                flag("NLB=10.0.100.0/24"),
                flag("NLB=10.0.101.0/24"),
                flag("VPC_ENDPOINT=10.0.0.0/16"),
                flag("A1=10.0.100.128/25"),
            ],
            ..Default::default()
        });
        assert_eq!(
            r.names().iter().collect::<Vec<_>>(),
            ["A1", "CROSS_AZ", "NLB", "VPC_ENDPOINT"]
        );
        let l = local_site();
        let rc = class(Basis::Private, None);
        let of = |remote: &str| {
            let f = flow("us-east-1a", remote, "us-east-1a");
            text(
                &r,
                r.flags_of(&FlagInput {
                    flow: &f,
                    initiated_locally: true,
                    remote: &rc,
                    local: &l,
                }),
            )
        };
        assert_eq!(
            of("10.0.100.5"),
            ["CROSS_AZ=false", "NLB=true", "VPC_ENDPOINT=true"]
        );
        assert_eq!(
            of("10.0.100.200"),
            ["A1=true", "CROSS_AZ=false", "NLB=true", "VPC_ENDPOINT=true"]
        );
        assert_eq!(
            of("10.0.101.1"),
            ["CROSS_AZ=false", "NLB=true", "VPC_ENDPOINT=true"]
        );
        assert_eq!(of("10.0.7.1"), ["CROSS_AZ=false", "VPC_ENDPOINT=true"]);
        assert_eq!(of("10.1.0.1"), ["CROSS_AZ=false"]);
        // The local address does not matter.
        let mut f = flow("", "8.8.8.8", "");
        f.local.ip = ip("10.0.100.5");
        assert!(r
            .flags_of(&FlagInput {
                flow: &f,
                initiated_locally: true,
                remote: &rc,
                local: &l,
            })
            .is_empty());
    }

    /// `--no-flags`: nothing, whatever the flow.
    #[test]
    fn no_flags_gives_the_empty_map() {
        let r = FlagRules::none();
        assert!(r.names().is_empty());
        let l = local_site();
        let rc = class(Basis::NoMatch, None);
        let f = flow("us-east-1a", "203.0.113.9", "us-east-1b");
        let set = r.flags_of(&FlagInput {
            flow: &f,
            initiated_locally: true,
            remote: &rc,
            local: &l,
        });
        assert!(set.is_empty());
        assert_eq!(r.tally(set), FlagTally::default());
    }

    #[test]
    fn user_flag_names_are_checked() {
        let ok: UserFlag = "VPC_ENDPOINT2=10.0.200.0/24".parse().unwrap();
        assert_eq!(ok.name, "VPC_ENDPOINT2");
        for bad in [
            "nlb=10.0.0.0/8",
            "1NLB=10.0.0.0/8",
            "N-LB=10.0.0.0/8",
            "=10.0.0.0/8",
            "Nlb=10.0.0.0/8",
        ] {
            let e = bad.parse::<UserFlag>().unwrap_err();
            assert!(e.contains("[A-Z][A-Z0-9_]*"), "{bad}: {e}");
        }
        for builtin in ["CROSS_AZ=10.0.0.0/8", "NAT_GATEWAY=10.0.0.0/8"] {
            assert!(builtin
                .parse::<UserFlag>()
                .unwrap_err()
                .contains("built-in"));
        }
        assert!("NLB".parse::<UserFlag>().unwrap_err().contains("NAME=CIDR"));
        assert!("NLB=10.0.0.0/40"
            .parse::<UserFlag>()
            .unwrap_err()
            .contains("not a CIDR"));
    }

    #[test]
    fn too_many_flag_names_is_an_error() {
        let user: Vec<UserFlag> = (0..64)
            .map(|i| format!("F{i}=10.{i}.0.0/16").parse().unwrap())
            .collect();
        let e = FlagRules::new(&FlagConfig {
            cross_az: true,
            user,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e, FlagError::TooMany { count: 65 });
    }
}
