//! The `--clickhouse` URL, `http(s)://[user[:password]@]host[:port][/?database=DB]`,
//! parsed by hand so that the password goes into a [`Secret`] at once and
//! no message — Display, Debug, error — can carry it.

use std::fmt;

use thiserror::Error;

/// A password. Printing it, by Display or Debug, prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The password itself, for the request header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the password replaced by `***`
    /// (for text that came from elsewhere, e.g. a server's message).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "***")
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// ClickHouse's ports: 8123 for HTTP, 8443 for HTTPS (not 80/443).
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 8123,
            Scheme::Https => 8443,
        }
    }
}

/// A ClickHouse HTTP endpoint and its credentials. Display shows it with
/// the password as `***`; so does Debug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// As written; an IPv6 address keeps its brackets.
    pub host: String,
    pub port: u16,
    /// `/` unless a path was given (a proxy in front of ClickHouse).
    pub path: String,
    /// `?database=`: the default database of every query.
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("ClickHouse URL {url}: {reason}")]
pub struct UrlError {
    /// Already redacted.
    url: String,
    reason: String,
}

impl UrlError {
    fn new(raw: &str, reason: impl Into<String>) -> UrlError {
        UrlError {
            url: redact(raw),
            reason: reason.into(),
        }
    }
}

/// Where userinfo ends: the last `@` (a password may hold `/`, `?`, `#` or
/// `@` unencoded, so the first `/` cannot be trusted to end it).
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

/// `text` (a URL, or what was meant as one) with any password in it
/// replaced by `***`: `https://u:pw@h` → `https://u:***@h`.
pub fn redact(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => (&text[..i + 3], &text[i + 3..]),
        None => ("", text),
    };
    match split_userinfo(rest) {
        (Some(info), host) => match info.split_once(':') {
            Some((user, _)) => format!("{scheme}{user}:***@{host}"),
            None => text.to_string(),
        },
        (None, _) => text.to_string(),
    }
}

/// `%XX` sequences decoded (userinfo may encode `@`, `:` or `/`).
fn percent_decode(raw: &str, text: &str, what: &str) -> Result<String, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| UrlError::new(raw, format!("bad %-escape in the {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::new(raw, format!("the {what} is not UTF-8")))
}

/// A database or table name kubenetmon will write into SQL.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Endpoint {
    pub fn parse(raw: &str) -> Result<Endpoint, UrlError> {
        let err = |reason: &str| UrlError::new(raw, reason);
        let text = raw.trim();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| err("expected http://HOST:PORT or https://HOST:PORT"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(err("the scheme must be http or https")),
        };
        let (userinfo, rest) = split_userinfo(rest);
        let (mut user, mut password) = (None, None);
        if let Some(info) = userinfo {
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            let u = percent_decode(raw, u, "user name")?;
            if !u.is_empty() {
                user = Some(u);
            }
            if let Some(p) = p {
                password = Some(Secret::new(percent_decode(raw, p, "password")?));
            }
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (hostport, tail) = rest.split_at(end);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (inside, after) = v6
                .split_once(']')
                .ok_or_else(|| err("unclosed [ in the host"))?;
            if inside.is_empty()
                || !inside
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err(err("bad IPv6 address in the host"));
            }
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| err("expected :PORT after the IPv6 address"))?,
                ),
            };
            (format!("[{inside}]"), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(err("no host"));
        }
        if !host.starts_with('[')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return Err(err(
                "the host may hold letters, digits, '-', '.' and '_' only",
            ));
        }
        let port = match port {
            None => scheme.default_port(),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(err("the port must be a number from 1 to 65535")),
            },
        };
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (tail, None),
        };
        if path.contains('#') || query.is_some_and(|q| q.contains('#')) {
            return Err(err("a URL fragment (#...) means nothing here"));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("the path holds spaces or control characters"));
        }
        let path = if path.is_empty() { "/" } else { path }.to_string();
        let mut database = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "database" => {
                    let v = percent_decode(raw, v, "database")?;
                    if !is_identifier(&v) {
                        return Err(err(
                            "database= must be a name of letters, digits and '_' (not starting with a digit)",
                        ));
                    }
                    database = Some(v);
                }
                other => {
                    return Err(UrlError::new(
                        raw,
                        format!(
                            "unknown parameter {other:?}: only database= is read \
                             (kubenetmon chooses the insert settings itself)"
                        ),
                    ))
                }
            }
        }
        if password.is_some() && user.is_none() {
            user = Some("default".to_string());
        }
        Ok(Endpoint {
            scheme,
            host,
            port,
            path,
            database,
            user,
            password,
        })
    }

    /// Fills in what the URL left out: the user, the password
    /// (`KUBENETMON_CLICKHOUSE_USER`, `KUBENETMON_CLICKHOUSE_PASSWORD`).
    /// What the URL says wins.
    pub fn or_credentials(mut self, user: Option<String>, password: Option<String>) -> Endpoint {
        if self.user.is_none() {
            self.user = user.filter(|u| !u.is_empty());
        }
        if self.password.is_none() {
            self.password = password.map(Secret::new);
        }
        if self.password.is_some() && self.user.is_none() {
            self.user = Some("default".to_string());
        }
        self
    }

    /// The URL requests go to: no credentials (they travel in headers).
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}:{}{}",
            self.scheme.as_str(),
            self.host,
            self.port,
            self.path
        )
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match (&self.user, &self.password) {
            (Some(u), Some(_)) => write!(f, "{u}:***@")?,
            (Some(u), None) => write!(f, "{u}@")?,
            _ => {}
        }
        write!(f, "{}:{}{}", self.host, self.port, self.path)?;
        if let Some(db) = &self.database {
            write!(f, "?database={db}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "s3cr:t/p@ss?#x";

    fn parse(s: &str) -> Endpoint {
        Endpoint::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_forms_of_the_url() {
        let e = parse("http://localhost:8123");
        assert_eq!(
            (e.scheme, e.host.as_str(), e.port, e.path.as_str()),
            (Scheme::Http, "localhost", 8123, "/")
        );
        assert_eq!((e.user, e.password, e.database), (None, None, None));

        let e = parse("https://alice:pw@abc.eu-west-1.aws.clickhouse.cloud:8443/?database=net");
        assert_eq!(e.scheme, Scheme::Https);
        assert_eq!(e.user.as_deref(), Some("alice"));
        assert_eq!(e.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(e.database.as_deref(), Some("net"));
        assert_eq!(
            e.base_url(),
            "https://abc.eu-west-1.aws.clickhouse.cloud:8443/"
        );

        // ClickHouse's ports, not the web's
        assert_eq!(parse("https://h").port, 8443);
        assert_eq!(parse("http://h/").port, 8123);
        assert_eq!(parse("http://h:80").port, 80);
        assert_eq!(parse("HTTP://[::1]:9000").host, "[::1]");
        assert_eq!(parse("http://[fd00::5]").port, 8123);
        assert_eq!(parse("http://h:1/proxy/ch/").path, "/proxy/ch/");
        // user only; password only → ClickHouse's `default` user
        let e = parse("http://bob@h:1");
        assert_eq!((e.user.as_deref(), e.password), (Some("bob"), None));
        assert_eq!(parse("http://:pw@h:1").user.as_deref(), Some("default"));
    }

    #[test]
    fn userinfo_may_hold_any_character_escaped_or_not() {
        let e = parse(&format!("http://u:{PW}@h:8123/?database=d"));
        assert_eq!(e.password.as_ref().unwrap().expose(), PW);
        assert_eq!(e.host, "h");
        assert_eq!(e.database.as_deref(), Some("d"));
        let e = parse("http://u%40corp:p%3Aw%2F@h:8123");
        assert_eq!(e.user.as_deref(), Some("u@corp"));
        assert_eq!(e.password.unwrap().expose(), "p:w/");
    }

    #[test]
    fn mistakes_are_named() {
        for (url, reason) in [
            ("localhost:8123", "expected http://"),
            ("ftp://h:1", "scheme must be http or https"),
            ("http://:8123", "no host"),
            ("http://h:port", "port must be a number"),
            ("http://h:0", "port must be a number"),
            ("http://h:70000", "port must be a number"),
            ("http://h o:1", "host may hold"),
            ("http://[::1", "unclosed ["),
            ("http://h:1/?database=a-b", "database= must be a name"),
            ("http://h:1/?database=1a", "database= must be a name"),
            ("http://h:1/?user=x", "unknown parameter \"user\""),
            ("http://h:1/#top", "fragment"),
            ("http://u:%zz@h:1", "bad %-escape in the password"),
        ] {
            let e = Endpoint::parse(url).unwrap_err().to_string();
            assert!(e.contains(reason), "{url}: {e}");
        }
    }

    #[test]
    fn env_credentials_fill_only_what_the_url_leaves_out() {
        let e = parse("http://h:1").or_credentials(Some("envuser".into()), Some("envpw".into()));
        assert_eq!(e.user.as_deref(), Some("envuser"));
        assert_eq!(e.password.unwrap().expose(), "envpw");
        let e =
            parse("http://u:p@h:1").or_credentials(Some("envuser".into()), Some("envpw".into()));
        assert_eq!(e.user.as_deref(), Some("u"));
        assert_eq!(e.password.unwrap().expose(), "p");
        // a password from the environment for the URL's user
        let e = parse("http://u@h:1").or_credentials(None, Some("envpw".into()));
        assert_eq!(e.user.as_deref(), Some("u"));
        assert_eq!(e.password.unwrap().expose(), "envpw");
        let e = parse("http://h:1").or_credentials(None, Some("envpw".into()));
        assert_eq!(e.user.as_deref(), Some("default"));
    }

    /// The one rule for every message: the password never shows.
    #[test]
    fn no_message_shows_the_password() {
        let url = format!("https://alice:{PW}@db.example:8443/?database=net");
        let e = parse(&url);
        let shown = [
            e.to_string(),
            format!("{e:?}"),
            format!("{:?}", e.password),
            e.password.as_ref().unwrap().to_string(),
            e.base_url(),
            redact(&url),
        ];
        for s in &shown {
            assert!(!s.contains(PW) && !s.contains("s3cr"), "{s}");
        }
        assert_eq!(
            e.to_string(),
            "https://alice:***@db.example:8443/?database=net"
        );
        assert_eq!(
            redact(&url),
            "https://alice:***@db.example:8443/?database=net"
        );
        // errors of URLs that do not parse are redacted too
        for bad in [
            format!("https://alice:{PW}@db.example:99999"),
            format!("gopher://alice:{PW}@db.example"),
            format!("alice:{PW}@db.example:8443"),
            format!("https://alice:{PW}@db.example:1/?database=no-no"),
            format!("https://alice:{PW}@:1"),
        ] {
            let err = Endpoint::parse(&bad).unwrap_err();
            for s in [err.to_string(), format!("{err:?}")] {
                assert!(!s.contains(PW) && !s.contains("s3cr"), "{s}");
                assert!(s.contains("alice:***@"), "{s}");
            }
        }
        // a panic message built from the endpoint (e.g. an expect on a Result
        // holding it) shows only the redacted form
        let panic = std::panic::catch_unwind(|| {
            let r: Result<(), Endpoint> = std::hint::black_box(Err(parse(&url)));
            r.expect("insert");
        })
        .unwrap_err();
        let text = panic.downcast_ref::<String>().unwrap();
        assert!(!text.contains(PW) && text.contains("Secret(***)"), "{text}");
        // text from elsewhere that quotes the password is scrubbed
        let s = e.password.as_ref().unwrap();
        assert_eq!(s.scrub(&format!("bad password {PW}!")), "bad password ***!");
        assert_eq!(redact("http://u@h:1"), "http://u@h:1");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("network_flows_0"));
        assert!(is_identifier("_x"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("0abc"));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier("a`b"));
    }
}
