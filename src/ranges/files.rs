//! The four vendor file formats (SPEC §1.3), parsed into raw prefixes.
//! Merging and precedence (SPEC §2) happen later, in the table builder.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;

use super::RangesError;
use crate::model::normalize;

/// A vendor range file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Aws,
    Gcp,
    Google,
    Azure,
}

impl Provider {
    /// SPEC §2's application order.
    pub const ALL: [Provider; 4] = [
        Provider::Aws,
        Provider::Gcp,
        Provider::Google,
        Provider::Azure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Google => "google",
            Provider::Azure => "azure",
        }
    }

    /// File name in a ranges directory (what `ranges fetch` saves).
    pub fn file_name(self) -> &'static str {
        match self {
            Provider::Aws => "aws-ip-ranges.json",
            Provider::Gcp => "gcp-cloud.json",
            Provider::Google => "google-goog.json",
            Provider::Azure => "azure-service-tags-public.json",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match normalize(s).as_str() {
            "aws" => Ok(Provider::Aws),
            "gcp" => Ok(Provider::Gcp),
            "google" | "goog" => Ok(Provider::Google),
            "azure" => Ok(Provider::Azure),
            other => Err(format!(
                "unknown provider {other:?} (expected aws, gcp, google or azure)"
            )),
        }
    }
}

/// One prefix as the file states it, names not yet normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPrefix {
    /// Network address (host bits cleared).
    pub net: IpNet,
    pub service: String,
    pub region: String,
    /// Azure service tag name (`values[].name`); empty elsewhere.
    pub tag: String,
}

/// A parsed vendor file.
#[derive(Debug, Clone)]
pub struct ProviderFile {
    pub provider: Provider,
    /// `syncToken` (AWS, GCP, Google) or `changeNumber` (Azure).
    pub version: String,
    /// `createDate` / `creationTime`; empty for Azure, whose files carry none.
    pub created: String,
    pub prefixes: Vec<RawPrefix>,
    /// Prefixes with host bits set, accepted as their network (SPEC §2).
    pub warnings: Vec<String>,
}

impl ProviderFile {
    pub fn ipv4_count(&self) -> usize {
        self.prefixes
            .iter()
            .filter(|p| p.net.addr().is_ipv4())
            .count()
    }

    pub fn ipv6_count(&self) -> usize {
        self.prefixes.len() - self.ipv4_count()
    }

    /// Normalised, non-empty region names.
    pub fn regions(&self) -> BTreeSet<String> {
        self.prefixes
            .iter()
            .map(|p| normalize(&p.region))
            .filter(|r| !r.is_empty())
            .collect()
    }

    /// Normalised, non-empty service names.
    pub fn services(&self) -> BTreeSet<String> {
        self.prefixes
            .iter()
            .map(|p| normalize(&p.service))
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[derive(Deserialize)]
struct AwsFile {
    #[serde(default, rename = "syncToken")]
    sync_token: String,
    #[serde(default, rename = "createDate")]
    create_date: String,
    prefixes: Vec<AwsPrefix>,
    #[serde(default)]
    ipv6_prefixes: Vec<AwsPrefix>,
}

#[derive(Deserialize)]
struct AwsPrefix {
    #[serde(alias = "ipv6_prefix")]
    ip_prefix: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    service: String,
}

#[derive(Deserialize)]
struct GoogleFile {
    #[serde(default, rename = "syncToken")]
    sync_token: String,
    #[serde(default, rename = "creationTime")]
    creation_time: String,
    prefixes: Vec<GooglePrefix>,
}

#[derive(Deserialize)]
struct GooglePrefix {
    #[serde(default, rename = "ipv4Prefix")]
    ipv4: Option<String>,
    #[serde(default, rename = "ipv6Prefix")]
    ipv6: Option<String>,
    #[serde(default)]
    service: String,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct AzureFile {
    #[serde(default, rename = "changeNumber")]
    change_number: Option<serde_json::Value>,
    values: Vec<AzureTag>,
}

#[derive(Deserialize)]
struct AzureTag {
    #[serde(default)]
    name: String,
    properties: AzureProperties,
}

#[derive(Deserialize)]
struct AzureProperties {
    #[serde(default)]
    region: String,
    #[serde(default, rename = "systemService")]
    system_service: String,
    #[serde(default, rename = "addressPrefixes")]
    address_prefixes: Vec<String>,
}

/// Reads and parses a vendor file from disk.
pub fn read_provider_file(provider: Provider, path: &Path) -> Result<ProviderFile, RangesError> {
    let bytes = std::fs::read(path).map_err(|source| RangesError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_provider(provider, &bytes, &path.display().to_string())
}

/// Parses a vendor file's bytes; `source` names it in errors.
pub fn parse_provider(
    provider: Provider,
    bytes: &[u8],
    source: &str,
) -> Result<ProviderFile, RangesError> {
    let json_err = |e: serde_json::Error| RangesError::Json {
        path: source.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let mut out = ProviderFile {
        provider,
        version: String::new(),
        created: String::new(),
        prefixes: Vec::new(),
        warnings: Vec::new(),
    };
    match provider {
        Provider::Aws => {
            let f: AwsFile = serde_json::from_slice(bytes).map_err(json_err)?;
            out.version = f.sync_token;
            out.created = f.create_date;
            out.prefixes
                .reserve(f.prefixes.len() + f.ipv6_prefixes.len());
            let v4 = f.prefixes.len();
            for (i, p) in f.prefixes.into_iter().chain(f.ipv6_prefixes).enumerate() {
                let net = parse_net(&p.ip_prefix, source, &mut out.warnings).map_err(|e| {
                    let (list, i, key) = match i.checked_sub(v4) {
                        None => ("prefixes", i, "ip_prefix"),
                        Some(j) => ("ipv6_prefixes", j, "ipv6_prefix"),
                    };
                    e.at(bytes, &format!("{list}[{i}].{key}"))
                })?;
                out.prefixes.push(RawPrefix {
                    net,
                    service: p.service,
                    region: p.region,
                    tag: String::new(),
                });
            }
        }
        Provider::Gcp | Provider::Google => {
            let f: GoogleFile = serde_json::from_slice(bytes).map_err(json_err)?;
            out.version = f.sync_token;
            out.created = f.creation_time;
            out.prefixes.reserve(f.prefixes.len());
            for (i, p) in f.prefixes.into_iter().enumerate() {
                let texts = [
                    ("ipv4Prefix", p.ipv4.as_deref()),
                    ("ipv6Prefix", p.ipv6.as_deref()),
                ];
                for (key, text) in texts.into_iter().filter_map(|(k, t)| Some((k, t?))) {
                    let net = parse_net(text, source, &mut out.warnings)
                        .map_err(|e| e.at(bytes, &format!("prefixes[{i}].{key}")))?;
                    out.prefixes.push(RawPrefix {
                        net,
                        service: p.service.clone(),
                        region: p.scope.clone(),
                        tag: String::new(),
                    });
                }
            }
        }
        Provider::Azure => {
            let f: AzureFile = serde_json::from_slice(bytes).map_err(json_err)?;
            out.version = match f.change_number {
                Some(serde_json::Value::String(s)) => s,
                Some(v) => v.to_string(),
                None => String::new(),
            };
            for (i, tag) in f.values.into_iter().enumerate() {
                let props = tag.properties;
                for (j, text) in props.address_prefixes.iter().enumerate() {
                    let net = parse_net(text, source, &mut out.warnings).map_err(|e| {
                        let entry = format!(
                            "values[{i}] ({:?}).properties.addressPrefixes[{j}]",
                            tag.name
                        );
                        e.at(bytes, &entry)
                    })?;
                    out.prefixes.push(RawPrefix {
                        net,
                        service: props.system_service.clone(),
                        region: props.region.clone(),
                        tag: tag.name.clone(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Parses `a.b.c.d/n` (or a bare address, as a host route). Host bits are
/// cleared with a warning rather than rejected.
fn parse_net(text: &str, source: &str, warnings: &mut Vec<String>) -> Result<IpNet, RangesError> {
    let trimmed = text.trim();
    let net = match trimmed.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => match trimmed.parse::<IpAddr>() {
            Ok(a) => IpNet::from(a),
            Err(_) => {
                return Err(RangesError::BadPrefix {
                    path: source.to_string(),
                    at: String::new(),
                    prefix: text.to_string(),
                })
            }
        },
    };
    let truncated = net.trunc();
    if truncated != net {
        warnings.push(format!(
            "{source}: prefix {text} has host bits set; using {truncated}"
        ));
    }
    Ok(truncated)
}

impl RangesError {
    /// A [`RangesError::BadPrefix`] placed: the entry that holds it, and the
    /// line of the file's first `"PREFIX"` (the prefix as written, quoted).
    fn at(self, bytes: &[u8], entry: &str) -> RangesError {
        match self {
            RangesError::BadPrefix { path, prefix, .. } => {
                let quoted = format!("\"{prefix}\"");
                let at = match memchr::memmem::find(bytes, quoted.as_bytes()) {
                    Some(pos) => {
                        let line = 1 + memchr::memchr_iter(b'\n', &bytes[..pos]).count();
                        format!("line {line}, {entry}")
                    }
                    None => entry.to_string(),
                };
                RangesError::BadPrefix { path, at, prefix }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_reads_v4_and_v6() {
        let json = br#"{"syncToken":"1","createDate":"2026-01-01-00-00-00",
            "prefixes":[{"ip_prefix":"52.216.0.0/15","region":"us-east-1","service":"S3"}],
            "ipv6_prefixes":[{"ipv6_prefix":"2600:1f18::/33","region":"us-east-1","service":"EC2"}]}"#;
        let f = parse_provider(Provider::Aws, json, "aws.json").unwrap();
        assert_eq!(f.version, "1");
        assert_eq!(f.ipv4_count(), 1);
        assert_eq!(f.ipv6_count(), 1);
        assert_eq!(f.prefixes[0].service, "S3");
        assert_eq!(f.prefixes[1].net.to_string(), "2600:1f18::/33");
    }

    #[test]
    fn google_files_take_either_family() {
        let json = br#"{"syncToken":"7","creationTime":"x","prefixes":[
            {"ipv4Prefix":"34.1.208.0/20","service":"Google Cloud","scope":"africa-south1"},
            {"ipv6Prefix":"2600:1900::/35","service":"Google Cloud","scope":"us-east1"}]}"#;
        let f = parse_provider(Provider::Gcp, json, "gcp.json").unwrap();
        assert_eq!(f.prefixes.len(), 2);
        assert_eq!(f.prefixes[0].region, "africa-south1");
        assert_eq!(
            f.regions().into_iter().collect::<Vec<_>>(),
            ["africa-south1", "us-east1"]
        );
    }

    #[test]
    fn azure_keeps_tag_name_and_change_number() {
        let json = br#"{"changeNumber":375,"cloud":"Public","values":[{"name":"AzureCloud.westeurope","id":"x",
            "properties":{"region":"westeurope","systemService":"","addressPrefixes":["20.50.0.0/18"]}}]}"#;
        let f = parse_provider(Provider::Azure, json, "az.json").unwrap();
        assert_eq!(f.version, "375");
        assert_eq!(f.prefixes[0].tag, "AzureCloud.westeurope");
        assert_eq!(f.prefixes[0].service, "");
    }

    #[test]
    fn host_bits_are_cleared_with_a_warning() {
        let json = br#"{"prefixes":[{"ip_prefix":"1.2.3.4/24","region":"r","service":"EC2"}]}"#;
        let f = parse_provider(Provider::Aws, json, "aws.json").unwrap();
        assert_eq!(f.prefixes[0].net.to_string(), "1.2.3.0/24");
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].contains("1.2.3.4/24"), "{}", f.warnings[0]);
    }

    #[test]
    fn bad_prefix_names_file_and_prefix() {
        let json = b"{\"prefixes\":[\n{\"ip_prefix\":\"1.2.3.0/24\"},\n{\"ip_prefix\":\"1.2.3/24\",\"region\":\"r\",\"service\":\"EC2\"}]}";
        let err = parse_provider(Provider::Aws, json, "aws.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "aws.json: line 3, prefixes[1].ip_prefix: prefix \"1.2.3/24\" does not parse"
        );
        let json = br#"{"prefixes":[],"ipv6_prefixes":[{"ipv6_prefix":"2600::/129"}]}"#;
        let err = parse_provider(Provider::Aws, json, "aws.json").unwrap_err();
        assert!(
            err.to_string()
                .contains("line 1, ipv6_prefixes[0].ipv6_prefix"),
            "{err}"
        );
        let json = br#"{"prefixes":[{"ipv4Prefix":"8.8.8.0/24"},{"ipv6Prefix":"x"}]}"#;
        let err = parse_provider(Provider::Gcp, json, "gcp.json").unwrap_err();
        assert!(err.to_string().contains("prefixes[1].ipv6Prefix"), "{err}");
        let json = br#"{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["1.0.0.0/8","bad"]}}]}"#;
        let err = parse_provider(Provider::Azure, json, "azure.json").unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"values[0] ("AzureCloud").properties.addressPrefixes[1]"#),
            "{err}"
        );
    }

    #[test]
    fn invalid_json_names_file_and_position() {
        let err = parse_provider(Provider::Gcp, b"{\n  \"prefixes\": [,]}", "gcp.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gcp.json") && err.contains("line 2"), "{err}");
    }
}
