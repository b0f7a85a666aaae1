//! SPEC §2's precedence: how entries for the same exact prefix replace one
//! another as the files are applied in order.

use ipnet::IpNet;

use super::fxhash::FxHashMap;
use super::{Detail, Provider, ProviderFile};
use crate::model::{normalize, Cloud};

/// A normalised entry plus the two Azure facts the replacement rules need,
/// which the normalised service alone cannot tell.
#[derive(Clone, Copy)]
struct Interned {
    id: u32,
    /// Azure: `properties.systemService` was non-empty.
    has_system_service: bool,
}

struct Merger {
    details: Vec<Detail>,
    by_detail: FxHashMap<Detail, u32>,
    /// Prefix → slot in `entries`, so output order is first-seen order.
    slots: FxHashMap<IpNet, u32>,
    entries: Vec<(IpNet, u32)>,
}

impl Merger {
    fn intern(&mut self, d: Detail) -> u32 {
        if let Some(&id) = self.by_detail.get(&d) {
            return id;
        }
        let id = self.details.len() as u32;
        self.details.push(d.clone());
        self.by_detail.insert(d, id);
        id
    }
}

/// AWS service priority: `s3` first, then every other service, then
/// `amazon`, then `ec2`.
fn aws_priority(service: &str) -> u8 {
    match service {
        "s3" => 3,
        "amazon" => 1,
        "ec2" => 0,
        _ => 2,
    }
}

/// Azure service name of a tag: its systemService, else by tag name.
fn azure_service(system_service: &str, tag: &str) -> String {
    let s = normalize(system_service);
    if !s.is_empty() {
        s
    } else if tag.to_ascii_lowercase().contains("azurecloud") {
        "azurecloud".to_string()
    } else {
        "azureservice".to_string()
    }
}

/// Azure rules (a)–(c): may the new entry replace the stored one (whatever
/// cloud it came from)? Names are compared normalised.
fn azure_replaces(stored: &Detail, new: &Detail, has_system_service: bool) -> bool {
    let generic = matches!(stored.service.as_str(), "azurecloud" | "azureservice" | "");
    let rule_a = generic && has_system_service;
    let rule_b = has_system_service && new.service == "azurestorage";
    let rule_c =
        stored.region == "global" && new.region != "global" && stored.service == new.service;
    rule_a || rule_b || rule_c
}

/// Merges the files in the order given; returns interned details and one
/// `(prefix, detail id)` per distinct prefix.
pub(super) fn merge(files: &[ProviderFile]) -> (Vec<Detail>, Vec<(IpNet, u32)>) {
    let total: usize = files.iter().map(|f| f.prefixes.len()).sum();
    let mut m = Merger {
        details: Vec::new(),
        by_detail: FxHashMap::default(),
        slots: FxHashMap::with_capacity_and_hasher(total, Default::default()),
        entries: Vec::with_capacity(total),
    };
    for file in files {
        // Prefixes of one tag / service share their names: normalise each
        // distinct raw triple once.
        // Consecutive prefixes usually share them (one Azure tag's list).
        let mut memo: FxHashMap<(&str, &str, &str), Interned> = FxHashMap::default();
        let mut last: Option<((&str, &str, &str), Interned)> = None;
        for p in &file.prefixes {
            let key = (p.service.as_str(), p.region.as_str(), p.tag.as_str());
            let cached = match last {
                Some((k, it)) if k == key => Some(it),
                _ => memo.get(&key).copied(),
            };
            let it = match cached {
                Some(it) => it,
                None => {
                    let (detail, has_system_service) = detail_of(file.provider, p);
                    let it = Interned {
                        id: m.intern(detail),
                        has_system_service,
                    };
                    memo.insert(key, it);
                    it
                }
            };
            last = Some((key, it));
            match m.slots.get(&p.net) {
                Some(&slot) => {
                    let stored_id = m.entries[slot as usize].1;
                    let stored = &m.details[stored_id as usize];
                    let new = &m.details[it.id as usize];
                    let replace = match file.provider {
                        Provider::Aws => {
                            aws_priority(&new.service) >= aws_priority(&stored.service)
                        }
                        Provider::Gcp | Provider::Google => true,
                        Provider::Azure => azure_replaces(stored, new, it.has_system_service),
                    };
                    if replace {
                        m.entries[slot as usize].1 = it.id;
                    }
                }
                None => {
                    m.slots.insert(p.net, m.entries.len() as u32);
                    m.entries.push((p.net, it.id));
                }
            }
        }
    }
    // Drop details no surviving entry uses (so `regions()` reflects the
    // table), renumbering the rest.
    let mut used = vec![u32::MAX; m.details.len()];
    let mut details = Vec::new();
    for (_, id) in &mut m.entries {
        let old = *id as usize;
        if used[old] == u32::MAX {
            used[old] = details.len() as u32;
            details.push(m.details[old].clone());
        }
        *id = used[old];
    }
    (details, m.entries)
}

fn detail_of(provider: Provider, p: &super::RawPrefix) -> (Detail, bool) {
    match provider {
        Provider::Aws => (
            Detail {
                cloud: Cloud::Aws,
                service: normalize(&p.service),
                region: normalize(&p.region),
            },
            false,
        ),
        Provider::Gcp => (
            Detail {
                cloud: Cloud::Gcp,
                service: normalize(&p.service),
                region: normalize(&p.region),
            },
            false,
        ),
        Provider::Google => (
            Detail {
                cloud: Cloud::Gcp,
                service: "googleservice".to_string(),
                region: "global".to_string(),
            },
            false,
        ),
        Provider::Azure => {
            let region = match normalize(&p.region) {
                r if r.is_empty() => "global".to_string(),
                r => r,
            };
            (
                Detail {
                    cloud: Cloud::Azure,
                    service: azure_service(&p.service, &p.tag),
                    region,
                },
                !p.service.trim().is_empty(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_provider, RangeTable};
    use super::*;

    fn aws(entries: &[(&str, &str, &str)]) -> ProviderFile {
        let items: Vec<String> = entries
            .iter()
            .map(|(p, region, service)| {
                let key = if p.contains(':') {
                    "ipv6_prefix"
                } else {
                    "ip_prefix"
                };
                format!(r#"{{"{key}":"{p}","region":"{region}","service":"{service}"}}"#)
            })
            .collect();
        let (v6, v4): (Vec<_>, Vec<_>) = items.into_iter().partition(|s| s.contains("ipv6_prefix"));
        let json = format!(
            r#"{{"prefixes":[{}],"ipv6_prefixes":[{}]}}"#,
            v4.join(","),
            v6.join(",")
        );
        parse_provider(Provider::Aws, json.as_bytes(), "aws").unwrap()
    }

    fn google(provider: Provider, entries: &[(&str, &str, &str)]) -> ProviderFile {
        let items: Vec<String> = entries
            .iter()
            .map(|(p, scope, service)| {
                let key = if p.contains(':') {
                    "ipv6Prefix"
                } else {
                    "ipv4Prefix"
                };
                format!(r#"{{"{key}":"{p}","scope":"{scope}","service":"{service}"}}"#)
            })
            .collect();
        let json = format!(r#"{{"prefixes":[{}]}}"#, items.join(","));
        parse_provider(provider, json.as_bytes(), "google").unwrap()
    }

    /// (tag name, region, systemService, prefixes)
    fn azure(tags: &[(&str, &str, &str, &[&str])]) -> ProviderFile {
        let items: Vec<String> = tags
            .iter()
            .map(|(name, region, svc, prefixes)| {
                let ps: Vec<String> = prefixes.iter().map(|p| format!("\"{p}\"")).collect();
                format!(
                    r#"{{"name":"{name}","id":"{name}","properties":{{"region":"{region}","systemService":"{svc}","addressPrefixes":[{}]}}}}"#,
                    ps.join(",")
                )
            })
            .collect();
        let json = format!(r#"{{"changeNumber":1,"values":[{}]}}"#, items.join(","));
        parse_provider(Provider::Azure, json.as_bytes(), "azure").unwrap()
    }

    /// (cloud, service, region) of the entry stored for `ip`.
    fn at(t: &RangeTable, ip: &str) -> (String, String, String) {
        let m = t.lookup(ip.parse().unwrap()).expect("a match");
        (
            m.detail.cloud.to_string(),
            m.detail.service.clone(),
            m.detail.region.clone(),
        )
    }

    fn triple(c: &str, s: &str, r: &str) -> (String, String, String) {
        (c.into(), s.into(), r.into())
    }

    #[test]
    fn names_are_normalised() {
        let t = RangeTable::build(&[
            aws(&[("1.0.0.0/24", "US-East-1", "S3")]),
            azure(&[(
                "Sql.GermanyWestCentral",
                "Germany West Central",
                "Azure SQL",
                &["2.0.0.0/24"],
            )]),
        ]);
        assert_eq!(at(&t, "1.0.0.1"), triple("aws", "s3", "us-east-1"));
        assert_eq!(
            at(&t, "2.0.0.1"),
            triple("azure", "azuresql", "germanywestcentral")
        );
    }

    #[test]
    fn aws_s3_beats_everything_in_either_order() {
        for order in [
            ["EC2", "S3"],
            ["S3", "EC2"],
            ["S3", "ROUTE53"],
            ["AMAZON", "S3"],
        ] {
            let t = RangeTable::build(&[aws(&[
                ("1.0.0.0/24", "us-east-1", order[0]),
                ("1.0.0.0/24", "us-east-1", order[1]),
            ])]);
            assert_eq!(at(&t, "1.0.0.9").1, "s3", "{order:?}");
        }
    }

    #[test]
    fn aws_other_services_beat_amazon_which_beats_ec2() {
        for (a, b, want) in [
            ("AMAZON", "ROUTE53", "route53"),
            ("ROUTE53", "AMAZON", "route53"),
            ("EC2", "AMAZON", "amazon"),
            ("AMAZON", "EC2", "amazon"),
            ("EC2", "CLOUDFRONT", "cloudfront"),
            ("CLOUDFRONT", "EC2", "cloudfront"),
        ] {
            let t = RangeTable::build(&[aws(&[
                ("1.0.0.0/24", "us-east-1", a),
                ("1.0.0.0/24", "us-east-1", b),
            ])]);
            assert_eq!(at(&t, "1.0.0.9").1, want, "{a} then {b}");
        }
    }

    #[test]
    fn aws_equal_priority_later_wins() {
        let t = RangeTable::build(&[aws(&[
            ("1.0.0.0/24", "us-east-1", "EC2"),
            ("1.0.0.0/24", "eu-west-1", "EC2"),
            ("2.0.0.0/24", "us-east-1", "CLOUDFRONT"),
            ("2.0.0.0/24", "us-east-1", "ROUTE53"),
            ("2600::/32", "us-east-1", "AMAZON"),
            ("2600::/32", "GLOBAL", "AMAZON"),
        ])]);
        assert_eq!(at(&t, "1.0.0.1"), triple("aws", "ec2", "eu-west-1"));
        assert_eq!(at(&t, "2.0.0.1").1, "route53");
        assert_eq!(at(&t, "2600::1"), triple("aws", "amazon", "global"));
    }

    #[test]
    fn gcp_replaces_aws_and_google_replaces_gcp() {
        let t = RangeTable::build(&[
            aws(&[
                ("1.0.0.0/24", "us-east-1", "S3"),
                ("3.0.0.0/24", "us-east-1", "S3"),
            ]),
            google(
                Provider::Gcp,
                &[
                    ("1.0.0.0/24", "us-central1", "Google Cloud"),
                    ("2.0.0.0/24", "europe-west1", "Google Cloud"),
                    ("2600:1900::/28", "us-east1", "Google Cloud"),
                ],
            ),
            google(
                Provider::Google,
                &[
                    ("2.0.0.0/24", "", ""),
                    ("3.0.0.0/24", "", ""),
                    ("2600:1900::/28", "", ""),
                ],
            ),
        ]);
        assert_eq!(
            at(&t, "1.0.0.1"),
            triple("gcp", "googlecloud", "us-central1")
        );
        assert_eq!(at(&t, "2.0.0.1"), triple("gcp", "googleservice", "global"));
        assert_eq!(at(&t, "3.0.0.1"), triple("gcp", "googleservice", "global"));
        assert_eq!(
            at(&t, "2600:1900::1"),
            triple("gcp", "googleservice", "global")
        );
    }

    #[test]
    fn later_entries_within_gcp_replace() {
        let t = RangeTable::build(&[google(
            Provider::Gcp,
            &[
                ("1.0.0.0/24", "us-central1", "Google Cloud"),
                ("1.0.0.0/24", "us-east1", "Google Cloud"),
            ],
        )]);
        assert_eq!(at(&t, "1.0.0.1").2, "us-east1");
    }

    #[test]
    fn azure_region_and_service_defaults() {
        let t = RangeTable::build(&[azure(&[
            ("AzureCloud", "", "", &["1.0.0.0/24"]),
            ("azurecloud.westeurope", "westeurope", "", &["2.0.0.0/24"]),
            ("AzureFrontDoor.Frontend", "", "", &["3.0.0.0/24"]),
            (
                "AzureSQL",
                "",
                "AzureSQL",
                &["4.0.0.0/24", "2603:1000::/40"],
            ),
        ])]);
        assert_eq!(at(&t, "1.0.0.1"), triple("azure", "azurecloud", "global"));
        assert_eq!(
            at(&t, "2.0.0.1"),
            triple("azure", "azurecloud", "westeurope")
        );
        assert_eq!(at(&t, "3.0.0.1"), triple("azure", "azureservice", "global"));
        assert_eq!(at(&t, "4.0.0.1"), triple("azure", "azuresql", "global"));
        assert_eq!(
            at(&t, "2603:1000::1"),
            triple("azure", "azuresql", "global")
        );
    }

    #[test]
    fn azure_rule_a_specific_service_replaces_generic() {
        let t = RangeTable::build(&[
            // Stored service empty: an AWS entry without a service.
            aws(&[("5.0.0.0/24", "us-east-1", "")]),
            azure(&[
                (
                    "AzureCloud.westeurope",
                    "westeurope",
                    "",
                    &["1.0.0.0/24", "6.0.0.0/24"],
                ),
                ("AzureFrontDoor.Frontend", "", "", &["2.0.0.0/24"]),
                (
                    "AppService.WestEurope",
                    "westeurope",
                    "AzureAppService",
                    &["1.0.0.0/24", "5.0.0.0/24"],
                ),
                ("AzureMonitor", "", "AzureMonitor", &["2.0.0.0/24"]),
                // Without a systemService nothing replaces a generic entry
                // of another region (rule (c) needs a global stored region).
                ("AzureFrontDoor.Backend", "northeurope", "", &["6.0.0.0/24"]),
            ]),
        ]);
        assert_eq!(
            at(&t, "1.0.0.1"),
            triple("azure", "azureappservice", "westeurope")
        );
        assert_eq!(at(&t, "2.0.0.1"), triple("azure", "azuremonitor", "global"));
        assert_eq!(
            at(&t, "5.0.0.1"),
            triple("azure", "azureappservice", "westeurope")
        );
        assert_eq!(
            at(&t, "6.0.0.1"),
            triple("azure", "azurecloud", "westeurope")
        );
    }

    #[test]
    fn azure_rule_a_does_not_let_specific_services_replace_each_other() {
        let t = RangeTable::build(&[azure(&[
            ("Sql.WestEurope", "westeurope", "AzureSQL", &["1.0.0.0/24"]),
            (
                "AzureMonitor.WestEurope",
                "westeurope",
                "AzureMonitor",
                &["1.0.0.0/24"],
            ),
        ])]);
        assert_eq!(at(&t, "1.0.0.1").1, "azuresql");
    }

    #[test]
    fn azure_rule_b_storage_replaces_anything_stored() {
        let t = RangeTable::build(&[
            aws(&[("1.0.0.0/24", "us-east-1", "S3")]),
            google(Provider::Gcp, &[("2.0.0.0/24", "us-east1", "Google Cloud")]),
            azure(&[
                ("Sql.WestEurope", "westeurope", "AzureSQL", &["3.0.0.0/24"]),
                (
                    "Storage.WestEurope",
                    "westeurope",
                    "AzureStorage",
                    &["1.0.0.0/24", "2.0.0.0/24", "3.0.0.0/24"],
                ),
                (
                    "Sql.NorthEurope",
                    "northeurope",
                    "AzureSQL",
                    &["2.0.0.0/24"],
                ),
            ]),
        ]);
        for ip in ["1.0.0.1", "2.0.0.1", "3.0.0.1"] {
            assert_eq!(
                at(&t, ip),
                triple("azure", "azurestorage", "westeurope"),
                "{ip}"
            );
        }
    }

    #[test]
    fn azure_rule_b_compares_normalised_names() {
        let t = RangeTable::build(&[azure(&[
            ("Sql", "", "AzureSQL", &["1.0.0.0/24"]),
            (
                "Storage.WestEurope",
                "westeurope",
                "Azure Storage",
                &["1.0.0.0/24"],
            ),
        ])]);
        assert_eq!(at(&t, "1.0.0.1").1, "azurestorage");
    }

    #[test]
    fn azure_rule_c_regional_replaces_global_of_same_service() {
        let t = RangeTable::build(&[azure(&[
            ("AzureCloud", "", "", &["1.0.0.0/24"]),
            ("Sql", "", "AzureSQL", &["2.0.0.0/24", "3.0.0.0/24"]),
            ("AzureCloud.westeurope", "westeurope", "", &["1.0.0.0/24"]),
            ("Sql.WestEurope", "West Europe", "AzureSQL", &["2.0.0.0/24"]),
            // Different service: no rule applies, the global entry stays.
            (
                "AzureMonitor.WestEurope",
                "westeurope",
                "AzureMonitor",
                &["3.0.0.0/24"],
            ),
        ])]);
        assert_eq!(
            at(&t, "1.0.0.1"),
            triple("azure", "azurecloud", "westeurope")
        );
        assert_eq!(at(&t, "2.0.0.1"), triple("azure", "azuresql", "westeurope"));
        assert_eq!(at(&t, "3.0.0.1"), triple("azure", "azuresql", "global"));
    }

    #[test]
    fn azure_rule_c_never_replaces_a_regional_entry() {
        let t = RangeTable::build(&[azure(&[
            ("AzureCloud.westeurope", "westeurope", "", &["1.0.0.0/24"]),
            ("AzureCloud.northeurope", "northeurope", "", &["1.0.0.0/24"]),
            ("AzureCloud", "", "", &["1.0.0.0/24"]),
        ])]);
        assert_eq!(
            at(&t, "1.0.0.1"),
            triple("azure", "azurecloud", "westeurope")
        );
    }

    #[test]
    fn azure_rule_c_applies_to_google_global_entries() {
        // Google's entries are (googleservice, global); an Azure entry can
        // only match that service by name, so rule (c) does not fire, and
        // neither does (a): googleservice is not a generic Azure service.
        let t = RangeTable::build(&[
            google(Provider::Google, &[("1.0.0.0/24", "", "")]),
            azure(&[("AzureCloud.westeurope", "westeurope", "", &["1.0.0.0/24"])]),
        ]);
        assert_eq!(at(&t, "1.0.0.1"), triple("gcp", "googleservice", "global"));
    }

    #[test]
    fn host_bits_are_cleared_before_merging() {
        let t = RangeTable::build(&[aws(&[
            ("1.2.3.4/24", "us-east-1", "S3"),
            ("1.2.3.0/24", "us-east-1", "EC2"),
        ])]);
        assert_eq!(t.len(), 1);
        let m = t.lookup("1.2.3.200".parse().unwrap()).unwrap();
        assert_eq!(
            (m.prefix.to_string(), m.detail.service.as_str()),
            ("1.2.3.0/24".into(), "s3")
        );
    }

    #[test]
    fn regions_reflect_surviving_entries_only() {
        let t = RangeTable::build(&[
            aws(&[
                ("1.0.0.0/24", "eu-west-1", "EC2"),
                ("2.0.0.0/24", "us-east-1", "EC2"),
            ]),
            google(Provider::Gcp, &[("1.0.0.0/24", "us-east1", "Google Cloud")]),
        ]);
        assert_eq!(
            t.regions(Cloud::Aws).into_iter().collect::<Vec<_>>(),
            ["us-east-1"]
        );
        assert_eq!(
            t.regions(Cloud::Gcp).into_iter().collect::<Vec<_>>(),
            ["us-east1"]
        );
    }

    #[test]
    fn both_families_are_kept() {
        let t = RangeTable::build(&[aws(&[
            ("1.0.0.0/24", "us-east-1", "EC2"),
            ("2600:1f18::/33", "us-east-1", "EC2"),
        ])]);
        assert_eq!((t.ipv4_len(), t.ipv6_len()), (1, 1));
        assert_eq!(at(&t, "2600:1f18::1").2, "us-east-1");
    }
}
