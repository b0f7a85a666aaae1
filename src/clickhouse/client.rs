//! ClickHouse's HTTP interface: a query, an insert with its body, and the
//! rule for what is worth retrying. Credentials travel in the
//! `X-ClickHouse-User`/`X-ClickHouse-Key` headers, never in the URL, so no
//! error that quotes a URL can quote the password.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::blocking::{Client as Http, RequestBuilder};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use thiserror::Error;

use super::url::Endpoint;
use crate::http::{error_chain, ClientConfig};

/// Exception codes a retry cannot fix although the server may answer them
/// with a 5xx (clickhouse-server maps most codes to 500): the table, its
/// columns or types, the data, the user's rights.
const PERMANENT_CODES: &[u32] = &[
    6,   // CANNOT_PARSE_TEXT
    8,   // THERE_IS_NO_COLUMN
    10,  // NOT_FOUND_COLUMN_IN_BLOCK
    15,  // DUPLICATE_COLUMN
    16,  // NO_SUCH_COLUMN_IN_TABLE
    20,  // NUMBER_OF_COLUMNS_DOESNT_MATCH
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    36,  // BAD_ARGUMENTS
    43,  // ILLEGAL_TYPE_OF_ARGUMENT
    44,  // ILLEGAL_COLUMN
    47,  // UNKNOWN_IDENTIFIER
    48,  // NOT_IMPLEMENTED
    49,  // LOGICAL_ERROR
    50,  // UNKNOWN_TYPE
    53,  // TYPE_MISMATCH
    60,  // UNKNOWN_TABLE
    62,  // SYNTAX_ERROR
    70,  // CANNOT_CONVERT_TYPE
    73,  // UNKNOWN_FORMAT
    81,  // UNKNOWN_DATABASE
    115, // UNKNOWN_SETTING
    117, // INCORRECT_DATA
    122, // INCOMPATIBLE_COLUMNS
    164, // READONLY
    192, // UNKNOWN_USER
    193, // WRONG_PASSWORD
    194, // REQUIRED_PASSWORD
    195, // IP_ADDRESS_NOT_ALLOWED
    201, // QUOTA_EXCEEDED
    218, // TABLE_IS_DROPPED
    291, // DATABASE_ACCESS_DENIED
    321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    452, // SETTING_CONSTRAINT_VIOLATION
    467, // CANNOT_PARSE_BOOL
    471, // INVALID_SETTING_VALUE
    472, // READONLY_SETTING
    497, // ACCESS_DENIED
    512, // SET_NON_GRANTED_ROLE
    516, // AUTHENTICATION_FAILED
    675, // CANNOT_PARSE_IPV4
    676, // CANNOT_PARSE_IPV6
    691, // UNKNOWN_ELEMENT_OF_ENUM
];

/// Longest server message kept (ClickHouse's include a stack trace when
/// asked; its first lines say what went wrong).
const MAX_MESSAGE: usize = 4000;

#[derive(Debug, Error)]
pub enum ClickHouseError {
    /// ClickHouse (or a proxy in front of it) answered with an error.
    /// `message` is the server's own text, e.g. `Code: 60. DB::Exception: ...`.
    #[error("{what}: HTTP {status}: {message}")]
    Server {
        what: String,
        status: u16,
        /// `X-ClickHouse-Exception-Code`; `None` from a proxy.
        code: Option<u32>,
        message: String,
    },
    /// No answer: connection refused or dropped, timed out, body cut.
    #[error("{what}: {message}")]
    Transport { what: String, message: String },
    #[error("gave up after {attempts} attempts")]
    GaveUp {
        attempts: u32,
        #[source]
        last: Box<ClickHouseError>,
    },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// An answer kubenetmon did not expect (e.g. not the JSON it asked for).
    #[error("{what}: unexpected answer: {message}")]
    Answer { what: String, message: String },
}

impl ClickHouseError {
    /// SPEC §10: connection errors, timeouts and 5xx are retried, unless
    /// the exception code names something a retry cannot fix; other 4xx
    /// (but 408 and 429) are not.
    pub fn is_transient(&self) -> bool {
        match self {
            ClickHouseError::Transport { .. } => true,
            ClickHouseError::Server { status, code, .. } => {
                if code.is_some_and(|c| PERMANENT_CODES.contains(&c)) {
                    return false;
                }
                matches!(*status, 408 | 429) || (*status >= 500 && !matches!(*status, 501 | 505))
            }
            ClickHouseError::GaveUp { .. }
            | ClickHouseError::Client(_)
            | ClickHouseError::Answer { .. } => false,
        }
    }

    /// The exception code, of this error or the last attempt's.
    pub fn code(&self) -> Option<u32> {
        match self {
            ClickHouseError::Server { code, .. } => *code,
            ClickHouseError::GaveUp { last, .. } => last.code(),
            _ => None,
        }
    }
}

/// Timeouts and retries of every request.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// One request, the body's upload and the server's work included.
    pub timeout: Duration,
    /// Extra attempts after a transient failure.
    pub retries: u32,
    /// First pause; doubled for each further retry.
    pub backoff: Duration,
    /// Honour the `*_PROXY` environment variables.
    pub system_proxy: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(300),
            retries: 5,
            backoff: Duration::from_secs(1),
            system_proxy: true,
        }
    }
}

/// A ClickHouse server (or a load balancer in front of a cluster).
pub struct Client {
    http: Http,
    endpoint: Endpoint,
    opts: ClientOptions,
}

/// How a request went: its answer, and how many attempts it took.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: String,
    pub attempts: u32,
    /// Time spent in requests, pauses between retries excluded.
    pub elapsed: Duration,
}

impl Client {
    pub fn new(endpoint: Endpoint, opts: ClientOptions) -> Result<Client, ClickHouseError> {
        let http = crate::http::client(&ClientConfig {
            connect_timeout: opts.connect_timeout,
            timeout: opts.timeout,
            system_proxy: opts.system_proxy,
        })
        .map_err(ClickHouseError::Client)?;
        Ok(Client {
            http,
            endpoint,
            opts,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Runs `sql` (sent as the POST body) and returns its output. `what`
    /// names the request in errors; `before_retry` hears of each retry.
    pub fn query(
        &self,
        what: &str,
        sql: &str,
        before_retry: &mut dyn FnMut(u32, &ClickHouseError, Duration),
    ) -> Result<String, ClickHouseError> {
        let body = Bytes::copy_from_slice(sql.as_bytes());
        self.send(what, &[], body, before_retry).map(|a| a.body)
    }

    /// `INSERT ... FORMAT F` with `data` as the body and `settings` as URL
    /// parameters; retried on transient errors, `before_retry` hearing of
    /// each retry. The same `data` is sent on every attempt.
    pub fn insert(
        &self,
        what: &str,
        sql: &str,
        settings: &[(&str, &str)],
        data: Bytes,
        before_retry: &mut dyn FnMut(u32, &ClickHouseError, Duration),
    ) -> Result<Answer, ClickHouseError> {
        let mut params = Vec::with_capacity(settings.len() + 1);
        params.push(("query", sql));
        params.extend_from_slice(settings);
        self.send(what, &params, data, before_retry)
    }

    fn send(
        &self,
        what: &str,
        params: &[(&str, &str)],
        body: Bytes,
        before_retry: &mut dyn FnMut(u32, &ClickHouseError, Duration),
    ) -> Result<Answer, ClickHouseError> {
        let mut attempts = 0;
        let mut elapsed = Duration::ZERO;
        let result = crate::http::retry(
            self.opts.retries,
            self.opts.backoff,
            || {
                attempts += 1;
                let started = Instant::now();
                let r = self.once(what, params, body.clone());
                elapsed += started.elapsed();
                r
            },
            ClickHouseError::is_transient,
            |n, e, pause| before_retry(n, e, pause),
        );
        match result {
            Ok(body) => Ok(Answer {
                body,
                attempts,
                elapsed,
            }),
            Err(e) if attempts > 1 => Err(ClickHouseError::GaveUp {
                attempts,
                last: Box::new(e),
            }),
            Err(e) => Err(e),
        }
    }

    fn request(&self, params: &[(&str, &str)]) -> RequestBuilder {
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(params.len() + 1);
        if let Some(db) = &self.endpoint.database {
            all.push(("database", db));
        }
        all.extend_from_slice(params);
        let mut req = self.http.post(self.endpoint.base_url());
        if !all.is_empty() {
            req = req.query(&all);
        }
        if let Some(user) = &self.endpoint.user {
            req = req.header("X-ClickHouse-User", user.as_str());
        }
        if let Some(password) = &self.endpoint.password {
            if let Ok(mut v) = HeaderValue::from_str(password.expose()) {
                v.set_sensitive(true);
                req = req.header("X-ClickHouse-Key", v);
            }
        }
        req
    }

    fn scrub(&self, text: &str) -> String {
        match &self.endpoint.password {
            Some(p) => p.scrub(text),
            None => text.to_string(),
        }
    }

    fn once(
        &self,
        what: &str,
        params: &[(&str, &str)],
        body: Bytes,
    ) -> Result<String, ClickHouseError> {
        let transport = |e: reqwest::Error| ClickHouseError::Transport {
            what: what.to_string(),
            message: self.scrub(&error_chain(&e.without_url())),
        };
        let resp = self
            .request(params)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .map_err(transport)?;
        let status = resp.status();
        let code = resp
            .headers()
            .get("X-ClickHouse-Exception-Code")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok());
        let text = resp.text().map_err(transport)?;
        if status.is_success() && code.is_none() {
            return Ok(text);
        }
        let mut message = text.trim().to_string();
        if message.is_empty() {
            message = status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string();
        }
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [...]");
        }
        Err(ClickHouseError::Server {
            what: what.to_string(),
            status: status.as_u16(),
            code,
            message: self.scrub(&message),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16, code: Option<u32>) -> ClickHouseError {
        ClickHouseError::Server {
            what: "t".into(),
            status,
            code,
            message: String::new(),
        }
    }

    #[test]
    fn what_is_retried() {
        let transport = ClickHouseError::Transport {
            what: "t".into(),
            message: "connection reset".into(),
        };
        assert!(transport.is_transient());
        // 5xx from a proxy, or with a code a retry may fix
        for (status, code) in [
            (503, None),
            (502, None),
            (504, None),
            (500, None),
            (500, Some(252)), // TOO_MANY_PARTS
            (500, Some(241)), // MEMORY_LIMIT_EXCEEDED
            (503, Some(209)), // SOCKET_TIMEOUT
            (408, Some(159)), // TIMEOUT_EXCEEDED
            (429, None),
        ] {
            assert!(server(status, code).is_transient(), "{status} {code:?}");
        }
        // what a retry cannot fix, whatever the status
        for (status, code) in [
            (404, Some(60)),  // UNKNOWN_TABLE
            (400, Some(53)),  // TYPE_MISMATCH
            (403, Some(516)), // AUTHENTICATION_FAILED
            (401, Some(194)), // REQUIRED_PASSWORD
            (500, Some(691)), // UNKNOWN_ELEMENT_OF_ENUM: a 500 in clickhouse-server
            (500, Some(70)),  // CANNOT_CONVERT_TYPE
            (500, Some(164)), // READONLY
            (404, None),
            (400, None),
            (501, None),
        ] {
            assert!(!server(status, code).is_transient(), "{status} {code:?}");
        }
        let gave_up = ClickHouseError::GaveUp {
            attempts: 6,
            last: Box::new(server(503, Some(202))),
        };
        assert!(!gave_up.is_transient());
        assert_eq!(gave_up.code(), Some(202));
    }

    #[test]
    fn permanent_codes_are_sorted_and_unique() {
        assert!(PERMANENT_CODES.windows(2).all(|w| w[0] < w[1]));
    }
}
