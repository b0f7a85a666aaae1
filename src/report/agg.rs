//! Streaming aggregation of rows (SPEC §9.2, §9.3): every section of the
//! report is a sum of integer byte counts, kept per cloud and per charge
//! ([`Charged`]), so sums are exact and prices are applied once, at the
//! end ([`Charged::cost`]). Groups, zones and apps are interned strings;
//! no row is ever held.

use rustc_hash::FxHashMap;

use super::prices::{cloud_index, Prices, Rate, UNIT_BYTES};
use crate::model::{Cloud, ConnectionClass, Direction};

/// One output row, as the report needs it: borrowed from a CSV record, a
/// Parquet batch or a labelled flow, so the three inputs share this code.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// `intervalStartTime`, Unix seconds.
    pub interval_start: i64,
    pub class: ConnectionClass,
    pub direction: Direction,
    /// The `CROSS_AZ` flag: `None` when absent (a zone unknown).
    pub cross_az: Option<bool>,
    /// The `NAT_GATEWAY` flag is `true`.
    pub nat_gateway: bool,
    pub local_cloud: &'a str,
    pub local_region: &'a str,
    pub local_zone: &'a str,
    pub remote_zone: &'a str,
    /// The local side's namespace, app, pod or node (`--by`).
    pub group: &'a str,
    pub local_app: &'a str,
    pub remote_app: &'a str,
    pub remote_cloud: &'a str,
    pub remote_region: &'a str,
    pub remote_service: &'a str,
    pub bytes: u64,
}

/// Services an AWS gateway endpoint carries past a NAT gateway (§9.3.6).
pub const GATEWAY_SERVICES: [&str; 2] = ["s3", "dynamodb"];

/// Bytes by cloud and by what they are charged for. A row adds its bytes
/// to every charge it incurs (§9.2: components add up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Charged([[u128; Rate::COUNT]; 3]);

impl Charged {
    #[inline]
    fn add(&mut self, cloud: usize, rate: Rate, bytes: u64) {
        self.0[cloud][rate.index()] += u128::from(bytes);
    }

    pub fn merge(&mut self, other: &Charged) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += *y;
            }
        }
    }

    /// Bytes charged at `rate`, all clouds.
    pub fn bytes(&self, rate: Rate) -> u128 {
        self.0.iter().map(|c| c[rate.index()]).sum()
    }

    /// The cost of the charges of `rates` (bytes / 2^30 × price, summed).
    pub fn cost_of(&self, prices: &Prices, rates: &[Rate]) -> f64 {
        let mut total = 0.0;
        for cloud in Cloud::ALL {
            let bytes = &self.0[cloud_index(cloud)];
            for &rate in rates {
                let b = bytes[rate.index()];
                if b > 0 {
                    total += b as f64 / UNIT_BYTES * prices.get(cloud, rate);
                }
            }
        }
        total
    }

    /// The cost of every charge.
    pub fn cost(&self, prices: &Prices) -> f64 {
        self.cost_of(prices, &Rate::ALL)
    }
}

/// Rows, bytes by direction, and their charges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub rows: u64,
    pub bytes_out: u128,
    pub bytes_in: u128,
    pub charged: Charged,
}

impl Totals {
    #[inline]
    fn add_bytes(&mut self, direction: Direction, bytes: u64) {
        self.rows += 1;
        match direction {
            Direction::Out => self.bytes_out += u128::from(bytes),
            Direction::In => self.bytes_in += u128::from(bytes),
        }
    }

    pub fn merge(&mut self, other: &Totals) {
        self.rows += other.rows;
        self.bytes_out += other.bytes_out;
        self.bytes_in += other.bytes_in;
        self.charged.merge(&other.charged);
    }

    pub fn bytes(&self) -> u128 {
        self.bytes_out + self.bytes_in
    }
}

/// Strings seen, each stored once.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn get(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// The local cloud and region of rows, with how many rows each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Site {
    pub cloud: String,
    pub region: String,
    pub rows: u64,
}

/// Everything the report is computed from.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    pub rows: u64,
    pub first_interval: Option<i64>,
    pub last_interval: Option<i64>,
    pub sites: Vec<Site>,
    /// By class × direction (`[out, in]`).
    pub by_class: [[Totals; 2]; ConnectionClass::COUNT],
    /// `INTRA_VPC` rows without a `CROSS_AZ` flag, charged as if they all
    /// crossed a zone (an upper bound).
    pub unknown_zone: Totals,
    strings: Interner,
    groups: FxHashMap<u32, Totals>,
    /// `CROSS_AZ` rows by (local zone, remote zone) and (local app, remote
    /// app), charged for the crossing only.
    zone_pairs: FxHashMap<(u32, u32), Totals>,
    app_pairs: FxHashMap<(u32, u32), Totals>,
    /// `NAT_GATEWAY` rows to a same-region gateway service, by
    /// [`GATEWAY_SERVICES`] index, charged for the NAT gateway only.
    pub savings: [Totals; GATEWAY_SERVICES.len()],
    /// Rows whose local cloud has no prices, by cloud name.
    pub unpriced: Vec<(String, u64)>,
    /// Cache: the previous row's site and group.
    last_site: usize,
    last_group: Option<(Box<str>, u32)>,
}

fn direction_index(d: Direction) -> usize {
    match d {
        Direction::Out => 0,
        Direction::In => 1,
    }
}

/// A cloud column's text as a priced cloud (exact names only: they are ours).
fn priced_cloud(text: &str) -> Option<usize> {
    Cloud::ALL
        .into_iter()
        .find(|c| c.as_str() == text)
        .map(cloud_index)
}

impl Aggregate {
    /// Adds one row.
    pub fn add(&mut self, row: &Row<'_>) {
        self.rows += 1;
        let t = row.interval_start;
        self.first_interval = Some(self.first_interval.map_or(t, |f| f.min(t)));
        self.last_interval = Some(self.last_interval.map_or(t, |l| l.max(t)));
        self.count_site(row.local_cloud, row.local_region);

        let d = direction_index(row.direction);
        let cloud = priced_cloud(row.local_cloud);
        // The charges of this row (§9.2), at most three.
        let mut rates: [Option<Rate>; 3] = [None; 3];
        if row.cross_az == Some(true) {
            rates[0] = Some(match row.direction {
                Direction::Out => Rate::CrossAzOut,
                Direction::In => Rate::CrossAzIn,
            });
        }
        if row.direction == Direction::Out {
            rates[1] = match row.class {
                ConnectionClass::InterRegion => Some(Rate::InterRegionOut),
                ConnectionClass::PublicInternet => Some(Rate::InternetOut),
                ConnectionClass::IntraVpc | ConnectionClass::IntraRegion => None,
            };
        }
        if row.nat_gateway {
            rates[2] = Some(Rate::NatGateway);
        }
        let charge = |totals: &mut Totals, only: Option<Rate>| {
            totals.add_bytes(row.direction, row.bytes);
            if let Some(c) = cloud {
                for rate in rates.iter().flatten() {
                    if only.is_none_or(|o| o == *rate) {
                        totals.charged.add(c, *rate, row.bytes);
                    }
                }
            }
        };

        charge(&mut self.by_class[row.class.index()][d], None);
        let group = self.group_id(row.group);
        charge(self.groups.entry(group).or_default(), None);

        if row.cross_az == Some(true) {
            let crossing = rates[0];
            let key = (
                self.strings.intern(row.local_zone),
                self.strings.intern(row.remote_zone),
            );
            charge(self.zone_pairs.entry(key).or_default(), crossing);
            let key = (
                self.strings.intern(row.local_app),
                self.strings.intern(row.remote_app),
            );
            charge(self.app_pairs.entry(key).or_default(), crossing);
        }
        if row.class == ConnectionClass::IntraVpc && row.cross_az.is_none() {
            self.unknown_zone.add_bytes(row.direction, row.bytes);
            if let Some(c) = cloud {
                let rate = match row.direction {
                    Direction::Out => Rate::CrossAzOut,
                    Direction::In => Rate::CrossAzIn,
                };
                self.unknown_zone.charged.add(c, rate, row.bytes);
            }
        }
        if row.nat_gateway
            && !row.remote_cloud.is_empty()
            && row.remote_cloud == row.local_cloud
            && row.remote_region == row.local_region
        {
            if let Some(i) = GATEWAY_SERVICES
                .iter()
                .position(|s| *s == row.remote_service)
            {
                charge(&mut self.savings[i], Some(Rate::NatGateway));
            }
        }
        if cloud.is_none() {
            match self.unpriced.iter_mut().find(|(n, _)| n == row.local_cloud) {
                Some((_, n)) => *n += 1,
                None => self.unpriced.push((row.local_cloud.to_string(), 1)),
            }
        }
    }

    fn count_site(&mut self, cloud: &str, region: &str) {
        let same = |s: &Site| s.cloud == cloud && s.region == region;
        if let Some(s) = self.sites.get_mut(self.last_site) {
            if same(s) {
                s.rows += 1;
                return;
            }
        }
        match self.sites.iter().position(same) {
            Some(i) => {
                self.sites[i].rows += 1;
                self.last_site = i;
            }
            None => {
                self.sites.push(Site {
                    cloud: cloud.to_string(),
                    region: region.to_string(),
                    rows: 1,
                });
                self.last_site = self.sites.len() - 1;
            }
        }
    }

    /// Rows come in runs of the same group (a flow's two rows, a pod's
    /// flows), so the previous answer is tried before the hash map.
    #[inline]
    fn group_id(&mut self, group: &str) -> u32 {
        if let Some((name, id)) = &self.last_group {
            if **name == *group {
                return *id;
            }
        }
        let id = self.strings.intern(group);
        self.last_group = Some((group.into(), id));
        id
    }

    /// Adds everything `other` counted (the partial sums of other blocks,
    /// row groups or files), in any order: the result does not depend on it.
    pub fn merge(&mut self, other: Aggregate) {
        self.rows += other.rows;
        self.first_interval = match (self.first_interval, other.first_interval) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_interval = match (self.last_interval, other.last_interval) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for s in other.sites {
            match self
                .sites
                .iter_mut()
                .find(|m| m.cloud == s.cloud && m.region == s.region)
            {
                Some(m) => m.rows += s.rows,
                None => self.sites.push(s),
            }
        }
        for (a, b) in self.by_class.iter_mut().zip(&other.by_class) {
            a[0].merge(&b[0]);
            a[1].merge(&b[1]);
        }
        self.unknown_zone.merge(&other.unknown_zone);
        for (id, t) in &other.groups {
            let id = self.strings.intern(other.strings.get(*id));
            self.groups.entry(id).or_default().merge(t);
        }
        for (mine, theirs) in [
            (&mut self.zone_pairs, &other.zone_pairs),
            (&mut self.app_pairs, &other.app_pairs),
        ] {
            for ((a, b), t) in theirs {
                let key = (
                    self.strings.intern(other.strings.get(*a)),
                    self.strings.intern(other.strings.get(*b)),
                );
                mine.entry(key).or_default().merge(t);
            }
        }
        for (a, b) in self.savings.iter_mut().zip(&other.savings) {
            a.merge(b);
        }
        for (name, n) in other.unpriced {
            match self.unpriced.iter_mut().find(|(m, _)| *m == name) {
                Some((_, m)) => *m += n,
                None => self.unpriced.push((name, n)),
            }
        }
        self.last_group = None;
    }

    /// Everything summed over classes and directions.
    pub fn total(&self) -> Totals {
        let mut t = Totals::default();
        for c in &self.by_class {
            t.merge(&c[0]);
            t.merge(&c[1]);
        }
        t
    }

    /// The groups, with their names.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &Totals)> {
        self.groups.iter().map(|(id, t)| (self.strings.get(*id), t))
    }

    /// `CROSS_AZ` rows by (local zone, remote zone).
    pub fn zone_pairs(&self) -> impl Iterator<Item = ((&str, &str), &Totals)> {
        self.pairs(&self.zone_pairs)
    }

    /// `CROSS_AZ` rows by (local app, remote app).
    pub fn app_pairs(&self) -> impl Iterator<Item = ((&str, &str), &Totals)> {
        self.pairs(&self.app_pairs)
    }

    fn pairs<'s>(
        &'s self,
        map: &'s FxHashMap<(u32, u32), Totals>,
    ) -> impl Iterator<Item = ((&'s str, &'s str), &'s Totals)> {
        map.iter()
            .map(|((a, b), t)| ((self.strings.get(*a), self.strings.get(*b)), t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn row(class: ConnectionClass, direction: Direction, bytes: u64) -> Row<'static> {
        Row {
            interval_start: 1_700_000_000,
            class,
            direction,
            cross_az: None,
            nat_gateway: false,
            local_cloud: "aws",
            local_region: "us-east-1",
            local_zone: "",
            remote_zone: "",
            group: "shop",
            local_app: "web",
            remote_app: "",
            remote_cloud: "aws",
            remote_region: "us-east-1",
            remote_service: "",
            bytes,
        }
    }

    fn cost_of(rows: &[Row<'_>]) -> f64 {
        let mut a = Aggregate::default();
        for r in rows {
            a.add(r);
        }
        a.total().charged.cost(&Prices::built_in())
    }

    use ConnectionClass::*;
    use Direction::{In, Out};

    /// SPEC §9.2, one component at a time, on AWS's built-in prices.
    #[test]
    fn each_component_costs_bytes_over_2_30_times_its_rate() {
        // same-zone, intra-region services and ingress cost nothing
        assert_eq!(cost_of(&[row(IntraVpc, Out, 5 * GIB)]), 0.0);
        assert_eq!(cost_of(&[row(IntraRegion, Out, 5 * GIB)]), 0.0);
        assert_eq!(cost_of(&[row(PublicInternet, In, 5 * GIB)]), 0.0);
        assert_eq!(cost_of(&[row(InterRegion, In, 5 * GIB)]), 0.0);
        // INTER_REGION out: 0.02 per GiB
        assert_eq!(cost_of(&[row(InterRegion, Out, 2 * GIB)]), 0.04);
        // PUBLIC_INTERNET out: 0.09 per GiB; half a GiB
        assert_eq!(cost_of(&[row(PublicInternet, Out, GIB / 2)]), 0.045);
        // CROSS_AZ: out and in rows, 0.01 each
        let cross = |d| Row {
            cross_az: Some(true),
            ..row(IntraVpc, d, GIB)
        };
        assert_eq!(cost_of(&[cross(Out)]), 0.01);
        assert_eq!(cost_of(&[cross(In)]), 0.01);
        // CROSS_AZ false costs nothing
        let same = Row {
            cross_az: Some(false),
            ..row(IntraVpc, Out, GIB)
        };
        assert_eq!(cost_of(&[same]), 0.0);
        // NAT_GATEWAY: both directions, 0.045, on top of the internet price
        let nat = |d| Row {
            nat_gateway: true,
            ..row(PublicInternet, d, 4 * GIB)
        };
        assert_eq!(cost_of(&[nat(In)]), 4.0 * 0.045);
        assert_eq!(cost_of(&[nat(Out)]), 4.0 * 0.09 + 4.0 * 0.045);
    }

    #[test]
    fn costs_follow_the_rows_cloud() {
        let on = |cloud, class, d| Row {
            local_cloud: cloud,
            cross_az: Some(true),
            ..row(class, d, GIB)
        };
        // GCP charges cross-zone egress only; Azure no cross-zone at all
        assert_eq!(cost_of(&[on("gcp", IntraVpc, Out)]), 0.01);
        assert_eq!(cost_of(&[on("gcp", IntraVpc, In)]), 0.0);
        assert_eq!(cost_of(&[on("azure", IntraVpc, Out)]), 0.0);
        assert_eq!(cost_of(&[on("gcp", PublicInternet, Out)]), 0.01 + 0.12);
        assert_eq!(cost_of(&[on("azure", PublicInternet, Out)]), 0.087);
    }

    #[test]
    fn a_cloud_without_prices_costs_nothing_and_is_counted() {
        let mut a = Aggregate::default();
        let r = Row {
            local_cloud: "oci",
            ..row(PublicInternet, Out, GIB)
        };
        a.add(&r);
        a.add(&r);
        a.add(&row(PublicInternet, Out, GIB));
        assert_eq!(a.total().charged.cost(&Prices::built_in()), 0.09);
        assert_eq!(a.unpriced, [("oci".to_string(), 2)]);
        assert_eq!(a.total().bytes_out, 3 * u128::from(GIB));
    }

    /// Sums are of bytes, not of rounded costs: a million rows of 1 KiB
    /// cost what 1 GiB / 1024 × 1 M costs.
    #[test]
    fn sums_are_exact_over_rows() {
        let mut a = Aggregate::default();
        for _ in 0..(1 << 20) {
            a.add(&row(PublicInternet, Out, 1024));
        }
        assert_eq!(a.total().charged.bytes(Rate::InternetOut), u128::from(GIB));
        assert_eq!(a.total().charged.cost(&Prices::built_in()), 0.09);
        // u64::MAX bytes twice do not overflow
        let mut b = Aggregate::default();
        b.add(&row(PublicInternet, Out, u64::MAX));
        b.add(&row(PublicInternet, Out, u64::MAX));
        assert_eq!(b.total().bytes_out, 2 * u128::from(u64::MAX));
    }

    #[test]
    fn unknown_zones_are_bounded_by_the_cross_az_price() {
        let mut a = Aggregate::default();
        a.add(&row(IntraVpc, Out, 3 * GIB));
        a.add(&row(IntraVpc, In, GIB));
        a.add(&Row {
            cross_az: Some(false),
            ..row(IntraVpc, Out, 7 * GIB)
        });
        a.add(&row(PublicInternet, Out, 7 * GIB));
        assert_eq!(a.unknown_zone.bytes_out, 3 * u128::from(GIB));
        assert_eq!(a.unknown_zone.bytes_in, u128::from(GIB));
        assert_eq!(
            a.unknown_zone.charged.cost(&Prices::built_in()),
            3.0 * 0.01 + 0.01
        );
    }

    #[test]
    fn pairs_and_savings() {
        let mut a = Aggregate::default();
        let cross = Row {
            cross_az: Some(true),
            local_zone: "us-east-1a",
            remote_zone: "us-east-1b",
            remote_app: "postgres",
            ..row(IntraVpc, Out, 2 * GIB)
        };
        a.add(&cross);
        a.add(&Row {
            direction: In,
            ..cross
        });
        let s3 = Row {
            nat_gateway: true,
            remote_service: "s3",
            ..row(IntraRegion, In, 10 * GIB)
        };
        a.add(&s3);
        // another region's S3 is not saved by a gateway endpoint
        a.add(&Row {
            remote_region: "us-west-2",
            ..s3
        });
        let zones: Vec<_> = a.zone_pairs().collect();
        assert_eq!(zones.len(), 1);
        assert_eq!(zones[0].0, ("us-east-1a", "us-east-1b"));
        assert_eq!(zones[0].1.bytes(), 4 * u128::from(GIB));
        assert_eq!(zones[0].1.charged.cost(&Prices::built_in()), 0.04);
        let apps: Vec<_> = a.app_pairs().collect();
        assert_eq!(apps[0].0, ("web", "postgres"));
        assert_eq!(a.savings[0].bytes(), 10 * u128::from(GIB));
        assert_eq!(a.savings[0].charged.cost(&Prices::built_in()), 10.0 * 0.045);
        assert_eq!(a.savings[1].rows, 0);
    }

    #[test]
    fn merging_partial_sums_equals_one_pass() {
        let rows: Vec<Row<'static>> = (0..40u64)
            .map(|i| Row {
                group: ["a", "b", "c"][(i % 3) as usize],
                cross_az: [None, Some(true), Some(false)][(i % 3) as usize],
                local_zone: ["z1", "z2"][(i % 2) as usize],
                interval_start: 1_700_000_000 + (i as i64 % 7) * 60,
                ..row(
                    ConnectionClass::ALL[(i % 4) as usize],
                    [Out, In][(i % 2) as usize],
                    i * 1000,
                )
            })
            .collect();
        let mut one = Aggregate::default();
        rows.iter().for_each(|r| one.add(r));
        let mut parts = Aggregate::default();
        for chunk in rows.chunks(7).rev() {
            let mut p = Aggregate::default();
            chunk.iter().for_each(|r| p.add(r));
            parts.merge(p);
        }
        assert_eq!(one.rows, parts.rows);
        assert_eq!(one.by_class, parts.by_class);
        assert_eq!(one.unknown_zone, parts.unknown_zone);
        assert_eq!(
            (one.first_interval, one.last_interval),
            (parts.first_interval, parts.last_interval)
        );
        let sorted = |a: &Aggregate| {
            let mut g: Vec<(String, Totals)> =
                a.groups().map(|(n, t)| (n.to_string(), *t)).collect();
            g.sort_by(|x, y| x.0.cmp(&y.0));
            let mut z: Vec<(String, String, Totals)> = a
                .zone_pairs()
                .map(|((x, y), t)| (x.to_string(), y.to_string(), *t))
                .collect();
            z.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
            (g, z)
        };
        assert_eq!(sorted(&one), sorted(&parts));
    }
}
