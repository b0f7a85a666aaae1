//! SPEC §3: labelling one flow observed on one node. Pure: no I/O.
//!
//! [`label_flow`] is the whole of §3 in one function so each rule has one
//! home; [`Summary`] counts what happened to every line of a run and
//! serialises to the §5.1 JSON contract. [`pipeline`] drives it over dumps.

pub mod baseline;
pub mod flags;
mod index;
pub mod location;
pub mod node;
pub mod pipeline;
pub mod remote;
mod summary;

use std::net::IpAddr;

pub use flags::{FlagConfig, FlagError, FlagInput, FlagRules, FlagTally, UserFlag};
pub use index::{LabelIndex, PodInfo, PodSlot};
pub use location::{classify_located, LocationConflict, LocationSpec, Locations};
pub use remote::{classify_remote, Basis, PrivateNets, RemoteClass, SameCloudEmptyRegion};
pub use summary::Summary;

pub use crate::model::LocalSite;

use crate::conntrack::{EventKind, Flow};
use crate::model::{Counters, Endpoint, FlagSet, LabelledFlow, Protocol};
use crate::ranges::RangeTable;
use crate::zones::ZoneMap;

crate::model::named_enum! {
    /// Why a flow produced no rows although nothing is wrong with it.
    /// Names are the §5.1 JSON keys, in its order.
    pub enum IgnoreReason {
        /// All four counters zero, or accounting off.
        ZeroCounters => "zero_counters",
        /// Not TCP or UDP.
        Protocol => "protocol",
        /// A loopback address (127.0.0.0/8, ::1) in any address field.
        Loopback => "loopback",
        /// UDP while `--ignore-udp` is set.
        UdpIgnored => "udp_ignored",
        /// An IPv6 address anywhere (upstream does not label IPv6 yet).
        Ipv6 => "ipv6",
        /// The original or reply source is a node's InternalIP.
        NodeFlow => "node_flow",
        /// A `conntrack -E` `[NEW]`/`[UPDATE]` event (§1.4): not the final counters.
        EventNotFinal => "event_not_final",
        /// `--baseline`: a delta of all zeros (SPEC §8), before any §3 rule.
        Unchanged => "unchanged",
    }
}

crate::model::named_enum! {
    /// The kinds of [`LabelError`], named as in §5.1.
    pub enum ErrorKind {
        UnknownDirection => "unknown_direction",
        MultiplePods => "multiple_pods",
        SameCloudEmptyRegion => "same_cloud_empty_region",
    }
}

impl ErrorKind {
    /// What a user should know about an error kind when it first occurs.
    pub fn hint(self) -> &'static str {
        match self {
            ErrorKind::UnknownDirection => {
                "if the summary counts many, check the dump's node (NODE=FILE or --node) and \
                 take the inventory closer to the dump's time"
            }
            ErrorKind::MultiplePods => {
                "several live pods in the inventory share one IP; take the inventory closer to \
                 the dump's time"
            }
            ErrorKind::SameCloudEmptyRegion => {
                "a prefix of the local cloud has no region in the range files"
            }
        }
    }
}

/// A flow that could not be labelled (upstream's errors). Counted, not fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("cannot tell the direction of {src} -> {dst}, as neither end is a pod on this node and not exactly one end is a known pod elsewhere")]
    UnknownDirection { src: IpAddr, dst: IpAddr },
    #[error("{count} pods that are neither Succeeded nor Failed share IP {ip}")]
    MultiplePods { ip: IpAddr, count: usize },
    #[error(transparent)]
    SameCloudEmptyRegion(#[from] SameCloudEmptyRegion),
}

impl LabelError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LabelError::UnknownDirection { .. } => ErrorKind::UnknownDirection,
            LabelError::MultiplePods { .. } => ErrorKind::MultiplePods,
            LabelError::SameCloudEmptyRegion(_) => ErrorKind::SameCloudEmptyRegion,
        }
    }
}

/// What happened to one flow. Returned by value: boxing the large variant
/// would allocate once per flow on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Labelled(LabelledFlow<'a>),
    Ignored(IgnoreReason),
    Error(LabelError),
}

/// Where a flow's observation time comes from (SPEC §5 `--timestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// `--timestamp`: every flow gets this time, event timestamps included.
    Fixed(i64),
    /// The flow's own event timestamp when it has one, else this time
    /// (the dump's modification time, or now for stdin).
    EventOr(i64),
}

impl TimeSource {
    fn at(self, flow: &Flow) -> i64 {
        match self {
            TimeSource::Fixed(t) => t,
            TimeSource::EventOr(t) => flow.timestamp.unwrap_or(t),
        }
    }
}

/// Everything §3 needs to label the flows of one dump.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The node the dump was taken on (its `metadata.name`).
    pub node: &'a str,
    /// Built once per run from the inventory ([`LabelIndex::new`]).
    pub index: &'a LabelIndex<'a>,
    pub table: &'a RangeTable,
    pub local: &'a LocalSite,
    pub private: &'a PrivateNets,
    /// §6.1: zones of addresses that are no pod (empty: none).
    pub zones: &'a ZoneMap,
    /// §6.2: `--location`s (empty: none).
    pub locations: &'a Locations,
    pub flags: &'a FlagRules,
    pub ignore_udp: bool,
    pub time: TimeSource,
}

/// Applies SPEC §3 to one flow.
pub fn label_flow<'a>(flow: &Flow, ctx: &Context<'a>) -> Outcome<'a> {
    match label_inner(flow, ctx) {
        Ok(l) => Outcome::Labelled(l),
        Err(Skip::Ignored(r)) => Outcome::Ignored(r),
        Err(Skip::Error(e)) => Outcome::Error(e),
    }
}

enum Skip {
    Ignored(IgnoreReason),
    Error(LabelError),
}

impl From<IgnoreReason> for Skip {
    fn from(r: IgnoreReason) -> Self {
        Skip::Ignored(r)
    }
}

impl From<LabelError> for Skip {
    fn from(e: LabelError) -> Self {
        Skip::Error(e)
    }
}

/// The agent-side filters and §3.1–3.3: the ignore rules, in order.
/// Separate from labelling so node inference can apply the same filters.
pub fn ignore_reason(
    flow: &Flow,
    index: &LabelIndex<'_>,
    ignore_udp: bool,
) -> Option<IgnoreReason> {
    if matches!(flow.event, Some(EventKind::New | EventKind::Update)) {
        return Some(IgnoreReason::EventNotFinal);
    }
    let zero = |c: Option<Counters>| c.is_none_or(|c| c.packets == 0 && c.bytes == 0);
    if zero(flow.orig.counters) && zero(flow.reply.counters) {
        return Some(IgnoreReason::ZeroCounters);
    }
    if !matches!(flow.protocol, Protocol::Tcp | Protocol::Udp) {
        return Some(IgnoreReason::Protocol);
    }
    let addrs = [flow.orig.src, flow.orig.dst, flow.reply.src, flow.reply.dst];
    if addrs.iter().any(IpAddr::is_loopback) {
        return Some(IgnoreReason::Loopback);
    }
    if ignore_udp && flow.protocol == Protocol::Udp {
        return Some(IgnoreReason::UdpIgnored);
    }
    if addrs.iter().any(IpAddr::is_ipv6) {
        return Some(IgnoreReason::Ipv6);
    }
    if index.is_node_ip(flow.orig.src) || index.is_node_ip(flow.reply.src) {
        return Some(IgnoreReason::NodeFlow);
    }
    None
}

fn label_inner<'a>(flow: &Flow, ctx: &Context<'a>) -> Result<LabelledFlow<'a>, Skip> {
    if let Some(r) = ignore_reason(flow, ctx.index, ctx.ignore_udp) {
        return Err(r.into());
    }
    // §3.4: the destination is the reply's source, i.e. after DNAT.
    let src = (flow.orig.src, flow.orig.sport.unwrap_or(0));
    let dst = (flow.reply.src, flow.reply.sport.unwrap_or(0));
    let ps = pod_at(ctx.index, src.0)?;
    let pd = pod_at(ctx.index, dst.0)?;
    let on_n = |p: Option<PodInfo<'_>>| p.is_some_and(|p| p.node == ctx.node);
    // §3.6, rules in order.
    let local_is_src = if on_n(ps) {
        true
    } else if on_n(pd) {
        false
    } else if ps.is_none() && pd.is_some() {
        true
    } else if ps.is_some() && pd.is_none() {
        false
    } else {
        return Err(LabelError::UnknownDirection {
            src: src.0,
            dst: dst.0,
        }
        .into());
    };
    let orig = flow.orig.counters.unwrap_or_default();
    let reply = flow.reply.counters.unwrap_or_default();
    // §3.7
    let (mut local, mut remote, remote_pod, out, inbound) = if local_is_src {
        (endpoint(src, ps), endpoint(dst, pd), pd, orig, reply)
    } else {
        (endpoint(dst, pd), endpoint(src, ps), ps, reply, orig)
    };
    // §3.9, after §6.2's locations; a remote that has a pod is INTRA_VPC
    // before any location (§6.3, §7).
    let rc = match remote_pod {
        Some(_) => RemoteClass::intra_vpc(ctx.local, Basis::Pod),
        None => classify_located(remote.ip, ctx.local, ctx.locations, ctx.private, ctx.table)
            .map_err(LabelError::from)?,
    };
    // §6.1: a side without a known (pod) zone gets its subnet's.
    if !ctx.zones.is_empty() {
        for side in [&mut local, &mut remote] {
            if side.availability_zone.is_empty() {
                side.availability_zone = ctx.zones.zone_of(side.ip).unwrap_or("");
            }
        }
    }
    let mut labelled = LabelledFlow {
        observed_at: ctx.time.at(flow),
        proto: flow.protocol,
        class: rc.class,
        local,
        remote,
        remote_site: rc.site,
        flags: FlagSet::EMPTY,
        out,
        inbound,
    };
    // §6.3
    labelled.flags = ctx.flags.flags_of(&FlagInput {
        flow: &labelled,
        initiated_locally: local_is_src,
        remote: &rc,
        local: ctx.local,
    });
    Ok(labelled)
}

/// §3.5: the pod on `ip` (the choice among candidates is made in [`LabelIndex`]).
#[inline]
fn pod_at<'a>(index: &LabelIndex<'a>, ip: IpAddr) -> Result<Option<PodInfo<'a>>, LabelError> {
    match index.pod(ip) {
        None => Ok(None),
        Some(PodSlot::One(p)) => Ok(Some(*p)),
        Some(PodSlot::Multiple(count)) => Err(LabelError::MultiplePods { ip, count: *count }),
    }
}

/// §3.8: the attributes of one side.
#[inline]
fn endpoint<'a>((ip, port): (IpAddr, u16), pod: Option<PodInfo<'a>>) -> Endpoint<'a> {
    match pod {
        None => Endpoint::bare(ip, port),
        Some(p) => Endpoint {
            ip,
            port,
            availability_zone: p.zone,
            node: p.node,
            instance_id: p.instance_id,
            namespace: p.namespace,
            pod: p.name,
            app: p.app,
        },
    }
}

#[cfg(test)]
mod tests;
