//! Run counters and their §5.1 JSON form.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::baseline::BaselineCounts;
use super::{ErrorKind, FlagTally, IgnoreReason, Outcome};
use crate::model::ConnectionClass;

/// What happened to every line of a run. Per-chunk summaries are merged in
/// input order, so the totals do not depend on the thread count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every input line, blank and summary lines included.
    pub lines: u64,
    /// Lines that parsed as flows.
    pub flows: u64,
    pub malformed: u64,
    ignored: [u64; IgnoreReason::COUNT],
    errors: [u64; ErrorKind::COUNT],
    /// Flows that produced rows.
    pub labelled: u64,
    /// Rows written (or, in a dry run, that would have been).
    pub rows: u64,
    /// Bytes and packets by class × direction (`[out, in]`).
    bytes: [[u64; 2]; ConnectionClass::COUNT],
    packets: [[u64; 2]; ConnectionClass::COUNT],
    /// Bytes `[out, in]` of labelled flows by their `CROSS_AZ` flag
    /// (SPEC §6.3): true, false, absent.
    cross_az: [[u64; 2]; 3],
    /// Bytes `[out, in]` of labelled flows with `NAT_GATEWAY` true.
    nat_gateway: [u64; 2],
    /// Flows that carried counters (`packets=`/`bytes=`); zero means
    /// accounting is off on the node.
    pub flows_with_counters: u64,
    /// Flows that carry counters when accounting is on: listing lines and
    /// `[DESTROY]` events. `[NEW]`/`[UPDATE]` events never do (§1.4), so
    /// they say nothing about whether accounting is off.
    pub final_flows: u64,
    /// The earliest observation time of a labelled flow (Unix seconds), so
    /// the CLI can warn about rows the table's 90-day TTL would delete.
    pub oldest_observation: Option<i64>,
    /// The earliest event timestamp of any flow (`conntrack -E -o
    /// timestamp`), for `--baseline`'s time check.
    pub earliest_event: Option<i64>,
    /// `--baseline` (SPEC §8): what the comparison with PREV found;
    /// `None` without a baseline, and then absent from the JSON.
    pub baseline: Option<BaselineCounts>,
}

impl Summary {
    pub fn ignored(&self, r: IgnoreReason) -> u64 {
        self.ignored[r.index()]
    }

    pub fn errors(&self, k: ErrorKind) -> u64 {
        self.errors[k.index()]
    }

    /// Bytes `(out, in)` of one class.
    pub fn bytes(&self, c: ConnectionClass) -> (u64, u64) {
        let [o, i] = self.bytes[c.index()];
        (o, i)
    }

    /// Packets `(out, in)` of one class.
    pub fn packets(&self, c: ConnectionClass) -> (u64, u64) {
        let [o, i] = self.packets[c.index()];
        (o, i)
    }

    /// Bytes `(out, in)` of labelled flows whose `CROSS_AZ` is `Some(v)`,
    /// or absent for `None` (a zone unknown, or the flag off).
    pub fn cross_az_bytes(&self, value: Option<bool>) -> (u64, u64) {
        let [o, i] = self.cross_az[cross_az_slot(value)];
        (o, i)
    }

    /// Bytes `(out, in)` of labelled flows with `NAT_GATEWAY` true.
    pub fn nat_gateway_bytes(&self) -> (u64, u64) {
        let [o, i] = self.nat_gateway;
        (o, i)
    }

    /// Counts a labelled flow's built-in flags (after [`Self::record`]).
    #[inline]
    pub fn record_flags(&mut self, tally: FlagTally, out: u64, inbound: u64) {
        let c = &mut self.cross_az[cross_az_slot(tally.cross_az)];
        c[0] += out;
        c[1] += inbound;
        if tally.nat_gateway {
            self.nat_gateway[0] += out;
            self.nat_gateway[1] += inbound;
        }
    }

    pub fn total_ignored(&self) -> u64 {
        self.ignored.iter().sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Counts one labelling outcome (the flow itself is counted by the caller).
    pub fn record(&mut self, outcome: &Outcome<'_>) {
        match outcome {
            Outcome::Labelled(l) => {
                self.labelled += 1;
                self.oldest_observation = Some(
                    self.oldest_observation
                        .map_or(l.observed_at, |t| t.min(l.observed_at)),
                );
                let c = l.class.index();
                self.bytes[c][0] += l.out.bytes;
                self.bytes[c][1] += l.inbound.bytes;
                self.packets[c][0] += l.out.packets;
                self.packets[c][1] += l.inbound.packets;
            }
            Outcome::Ignored(r) => self.ignored[r.index()] += 1,
            Outcome::Error(e) => self.errors[e.kind().index()] += 1,
        }
    }

    pub fn merge(&mut self, other: &Summary) {
        self.lines += other.lines;
        self.flows += other.flows;
        self.malformed += other.malformed;
        for (a, b) in self.ignored.iter_mut().zip(other.ignored) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        self.labelled += other.labelled;
        self.rows += other.rows;
        for c in 0..ConnectionClass::COUNT {
            for d in 0..2 {
                self.bytes[c][d] += other.bytes[c][d];
                self.packets[c][d] += other.packets[c][d];
            }
        }
        for v in 0..3 {
            for d in 0..2 {
                self.cross_az[v][d] += other.cross_az[v][d];
            }
        }
        for d in 0..2 {
            self.nat_gateway[d] += other.nat_gateway[d];
        }
        self.flows_with_counters += other.flows_with_counters;
        self.final_flows += other.final_flows;
        self.oldest_observation = match (self.oldest_observation, other.oldest_observation) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.earliest_event = match (self.earliest_event, other.earliest_event) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(o) = &other.baseline {
            self.baseline.get_or_insert_with(Default::default).merge(o);
        }
    }

    /// The §5.1 document (plus `packets` by class, `flags` — bytes by
    /// `CROSS_AZ` true/false/unknown and `NAT_GATEWAY` true — and
    /// `flows_with_counters`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("summary serialises")
    }
}

fn cross_az_slot(value: Option<bool>) -> usize {
    match value {
        Some(true) => 0,
        Some(false) => 1,
        None => 2,
    }
}

#[derive(serde::Serialize)]
struct OutIn {
    out: u64,
    #[serde(rename = "in")]
    inbound: u64,
}

impl OutIn {
    fn of([out, inbound]: [u64; 2]) -> OutIn {
        OutIn { out, inbound }
    }
}

/// `"flags"`: bytes by the built-in flags of §6.3.
struct FlagBytes<'s>(&'s Summary);

impl Serialize for FlagBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct CrossAz {
            #[serde(rename = "true")]
            yes: OutIn,
            #[serde(rename = "false")]
            no: OutIn,
            unknown: OutIn,
        }
        #[derive(serde::Serialize)]
        struct Nat {
            #[serde(rename = "true")]
            yes: OutIn,
        }
        let c = &self.0.cross_az;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(
            "CROSS_AZ",
            &CrossAz {
                yes: OutIn::of(c[0]),
                no: OutIn::of(c[1]),
                unknown: OutIn::of(c[2]),
            },
        )?;
        m.serialize_entry(
            "NAT_GATEWAY",
            &Nat {
                yes: OutIn::of(self.0.nat_gateway),
            },
        )?;
        m.end()
    }
}

struct Named<'s, T: Copy, const N: usize>(&'s [u64; N], [T; N], fn(T) -> &'static str);

impl<T: Copy, const N: usize> Serialize for Named<'_, T, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(N))?;
        for (k, v) in self.1.iter().zip(self.0) {
            m.serialize_entry((self.2)(*k), v)?;
        }
        m.end()
    }
}

struct ByClass<'s>(&'s [[u64; 2]; ConnectionClass::COUNT]);

impl Serialize for ByClass<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(ConnectionClass::COUNT))?;
        for c in ConnectionClass::ALL {
            m.serialize_entry(c.as_str(), &OutIn::of(self.0[c.index()]))?;
        }
        m.end()
    }
}

/// SPEC §8's keys first, then the extras (docs/label.md).
struct BaselineJson<'s>(&'s BaselineCounts);

impl Serialize for BaselineJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.0;
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("entries", &b.entries)?;
        m.serialize_entry("matched", &b.matched)?;
        m.serialize_entry("reset", &b.reset)?;
        m.serialize_entry("ended", &b.ended)?;
        m.serialize_entry("duplicate", &b.duplicate)?;
        m.serialize_entry("new", &b.new)?;
        m.serialize_entry("lines", &b.lines)?;
        m.serialize_entry("malformed", &b.malformed)?;
        m.serialize_entry("dumps", &b.dumps)?;
        m.serialize_entry("dumps_keyed_by_id", &b.dumps_keyed_by_id)?;
        m.end()
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("lines", &self.lines)?;
        m.serialize_entry("flows", &self.flows)?;
        m.serialize_entry("malformed", &self.malformed)?;
        m.serialize_entry(
            "ignored",
            &Named(&self.ignored, IgnoreReason::ALL, IgnoreReason::as_str),
        )?;
        m.serialize_entry(
            "errors",
            &Named(&self.errors, ErrorKind::ALL, ErrorKind::as_str),
        )?;
        m.serialize_entry("labelled", &self.labelled)?;
        m.serialize_entry("rows", &self.rows)?;
        m.serialize_entry("bytes", &ByClass(&self.bytes))?;
        m.serialize_entry("packets", &ByClass(&self.packets))?;
        m.serialize_entry("flags", &FlagBytes(self))?;
        m.serialize_entry("flows_with_counters", &self.flows_with_counters)?;
        if let Some(b) = &self.baseline {
            m.serialize_entry("baseline", &BaselineJson(b))?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::LabelError;

    #[test]
    fn discriminant_order_matches_the_names() {
        for (i, r) in IgnoreReason::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let names: Vec<_> = IgnoreReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "zero_counters",
                "protocol",
                "loopback",
                "udp_ignored",
                "ipv6",
                "node_flow",
                "event_not_final",
                "unchanged"
            ]
        );
        for (i, k) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }

    #[test]
    fn json_has_every_contract_key() {
        let mut s = Summary {
            lines: 10,
            flows: 8,
            malformed: 1,
            rows: 4,
            ..Default::default()
        };
        s.record(&Outcome::Ignored(IgnoreReason::NodeFlow));
        s.record(&Outcome::Ignored(IgnoreReason::EventNotFinal));
        s.record(&Outcome::Error(LabelError::MultiplePods {
            ip: "10.0.0.1".parse().unwrap(),
            count: 2,
        }));
        let v = s.to_json();
        assert_eq!(v["lines"], 10);
        assert_eq!(v["flows"], 8);
        assert_eq!(v["malformed"], 1);
        assert_eq!(v["rows"], 4);
        assert_eq!(v["labelled"], 0);
        for k in [
            "zero_counters",
            "protocol",
            "loopback",
            "udp_ignored",
            "ipv6",
            "node_flow",
            "event_not_final",
            "unchanged",
        ] {
            assert!(v["ignored"][k].is_u64(), "ignored.{k}");
        }
        // §5.1's order, SPEC §8's `unchanged` last (the text keeps the
        // order; a `Value` sorts its keys).
        let text = serde_json::to_string(&s).unwrap();
        let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
        assert!(at("zero_counters") < at("node_flow"));
        assert!(at("event_not_final") < at("unchanged"));
        assert!(at("unchanged") < at("errors"));
        // No baseline given: no baseline object.
        assert!(v.get("baseline").is_none());
        assert_eq!(v["ignored"]["node_flow"], 1);
        assert_eq!(v["ignored"]["event_not_final"], 1);
        assert_eq!(v["ignored"]["ipv6"], 0);
        assert_eq!(v["errors"]["multiple_pods"], 1);
        assert_eq!(v["errors"]["unknown_direction"], 0);
        assert_eq!(v["errors"]["same_cloud_empty_region"], 0);
        for c in [
            "INTRA_VPC",
            "INTRA_REGION",
            "INTER_REGION",
            "PUBLIC_INTERNET",
        ] {
            assert_eq!(v["bytes"][c]["out"], 0);
            assert_eq!(v["bytes"][c]["in"], 0);
        }
    }

    #[test]
    fn flag_bytes_by_cross_az_value_and_nat_gateway() {
        let mut s = Summary::default();
        let t = |cross_az, nat_gateway| FlagTally {
            cross_az,
            nat_gateway,
        };
        s.record_flags(t(Some(true), false), 10, 1);
        s.record_flags(t(Some(true), true), 20, 2);
        s.record_flags(t(Some(false), false), 40, 4);
        s.record_flags(t(None, true), 80, 8);
        assert_eq!(s.cross_az_bytes(Some(true)), (30, 3));
        assert_eq!(s.cross_az_bytes(Some(false)), (40, 4));
        assert_eq!(s.cross_az_bytes(None), (80, 8));
        assert_eq!(s.nat_gateway_bytes(), (100, 10));
        let mut m = s.clone();
        m.merge(&s);
        assert_eq!(m.cross_az_bytes(Some(true)), (60, 6));
        assert_eq!(m.nat_gateway_bytes(), (200, 20));
        let v = s.to_json();
        assert_eq!(v["flags"]["CROSS_AZ"]["true"]["out"], 30);
        assert_eq!(v["flags"]["CROSS_AZ"]["true"]["in"], 3);
        assert_eq!(v["flags"]["CROSS_AZ"]["false"]["out"], 40);
        assert_eq!(v["flags"]["CROSS_AZ"]["unknown"]["in"], 8);
        assert_eq!(v["flags"]["NAT_GATEWAY"]["true"]["out"], 100);
        assert_eq!(v["flags"]["NAT_GATEWAY"]["true"]["in"], 10);
        // §5.1's keys are still all there, in order.
        let text = serde_json::to_string(&s).unwrap();
        let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX);
        let keys = [
            "lines",
            "flows",
            "malformed",
            "ignored",
            "errors",
            "labelled",
            "rows",
            "bytes",
            "packets",
            "flags",
            "flows_with_counters",
        ];
        assert!(keys.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    }

    #[test]
    fn baseline_object_follows_spec_8() {
        let s = Summary {
            baseline: Some(BaselineCounts {
                entries: 10,
                matched: 5,
                reset: 2,
                ended: 2,
                duplicate: 1,
                new: 4,
                lines: 11,
                malformed: 1,
                dumps: 1,
                dumps_keyed_by_id: 1,
            }),
            ..Default::default()
        };
        let v = s.to_json();
        let b = &v["baseline"];
        for (k, n) in [
            ("entries", 10),
            ("matched", 5),
            ("reset", 2),
            ("ended", 2),
            ("duplicate", 1),
            ("new", 4),
            ("lines", 11),
            ("malformed", 1),
            ("dumps", 1),
            ("dumps_keyed_by_id", 1),
        ] {
            assert_eq!(b[k], n, "baseline.{k}");
        }
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.find("\"entries\"").unwrap() < text.find("\"duplicate\"").unwrap());
        // Summed over dumps.
        let mut t = s.clone();
        t.merge(&s);
        assert_eq!(t.baseline.unwrap().entries, 20);
        assert_eq!(t.baseline.unwrap().dumps, 2);
        let mut u = Summary::default();
        u.merge(&Summary::default());
        assert_eq!(u.baseline, None);
    }

    #[test]
    fn merge_adds_everything() {
        let mut a = Summary {
            lines: 1,
            flows: 1,
            ..Default::default()
        };
        a.record(&Outcome::Ignored(IgnoreReason::Ipv6));
        let mut b = a.clone();
        b.malformed = 3;
        b.flows_with_counters = 2;
        b.final_flows = 3;
        b.oldest_observation = Some(500);
        b.earliest_event = Some(700);
        a.merge(&b);
        assert_eq!(a.earliest_event, Some(700));
        assert_eq!((a.lines, a.flows, a.malformed), (2, 2, 3));
        assert_eq!(a.ignored(IgnoreReason::Ipv6), 2);
        assert_eq!(a.flows_with_counters, 2);
        assert_eq!(a.final_flows, 3);
        assert_eq!(a.oldest_observation, Some(500));
        let mut c = Summary {
            oldest_observation: Some(400),
            ..Default::default()
        };
        c.merge(&a);
        assert_eq!(c.oldest_observation, Some(400));
    }
}
