//! One bounded HTTP download: status check, size cap, total deadline, and
//! retries with backoff for errors that may go away on their own.

use std::io::Read;
use std::time::Instant;

use reqwest::blocking::Client;

use super::{FetchError, Limits};
use crate::http::{error_chain, io_chain};

/// Receives download progress for one provider; the CLI draws bars with it.
pub trait Progress: Send + Sync {
    /// A request to `url` is about to be sent (again, on a retry or walk-back).
    fn request(&self, _url: &str) {}
    /// The response announced its length (`None`: unknown).
    fn length(&self, _len: Option<u64>) {}
    /// `n` more body bytes arrived.
    fn advance(&self, _n: u64) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Builds the client every download shares. With `system_proxy`, reqwest
/// reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`.
pub fn client(limits: &Limits, system_proxy: bool) -> Result<Client, FetchError> {
    crate::http::client(&crate::http::ClientConfig {
        connect_timeout: limits.connect_timeout,
        timeout: limits.timeout,
        system_proxy,
    })
    .map_err(FetchError::Client)
}

/// Downloads `url`, retrying transient failures (5xx, 408, 429, timeouts,
/// connection and body errors) up to `limits.retries` times.
pub fn download(
    client: &Client,
    url: &str,
    limits: &Limits,
    progress: &dyn Progress,
) -> Result<Vec<u8>, FetchError> {
    crate::http::retry(
        limits.retries,
        limits.backoff,
        || {
            progress.request(url);
            download_once(client, url, limits, progress)
        },
        FetchError::is_transient,
        |_, _, _| {},
    )
}

fn download_once(
    client: &Client,
    url: &str,
    limits: &Limits,
    progress: &dyn Progress,
) -> Result<Vec<u8>, FetchError> {
    let started = Instant::now();
    let transport = |e: reqwest::Error| FetchError::Transport {
        url: url.to_string(),
        message: error_chain(&e),
    };
    let mut resp = client.get(url).send().map_err(transport)?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(FetchError::NotFound {
            url: url.to_string(),
        });
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let announced = resp.content_length();
    if let Some(len) = announced {
        if len > limits.max_bytes {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: limits.max_bytes,
            });
        }
    }
    progress.length(announced);
    let mut body = Vec::with_capacity(announced.unwrap_or(1 << 16) as usize);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(FetchError::Transport {
                    url: url.to_string(),
                    message: io_chain(&e),
                })
            }
        };
        if (body.len() + n) as u64 > limits.max_bytes {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: limits.max_bytes,
            });
        }
        body.extend_from_slice(&buf[..n]);
        progress.advance(n as u64);
        // reqwest bounds each read by the timeout; this bounds their sum.
        if started.elapsed() > limits.timeout {
            return Err(FetchError::Transport {
                url: url.to_string(),
                message: format!("timed out after {:?}", limits.timeout),
            });
        }
    }
    if let Some(len) = announced {
        if (body.len() as u64) < len {
            return Err(FetchError::Transport {
                url: url.to_string(),
                message: format!(
                    "body truncated: got {} of {len} announced bytes",
                    body.len()
                ),
            });
        }
    }
    Ok(body)
}
