//! HTTP pieces every client shares (range downloads, ClickHouse inserts):
//! one way to build a client, to word its errors, and to retry with
//! backoff. Each caller decides what is worth retrying.

use std::time::Duration;

use reqwest::blocking::Client;

/// How a client connects.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    /// Whole request: sending the body, the server's work, the answer.
    pub timeout: Duration,
    /// Honour `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`.
    pub system_proxy: bool,
}

/// A blocking client with rustls, kubenetmon's user agent and `cfg`'s
/// timeouts. The error is reqwest's reason, as text.
pub fn client(cfg: &ClientConfig) -> Result<Client, String> {
    let builder = Client::builder();
    let builder = if cfg.system_proxy {
        builder
    } else {
        builder.no_proxy()
    };
    builder
        .connect_timeout(cfg.connect_timeout)
        .timeout(cfg.timeout)
        .user_agent(concat!("kubenetmon/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| error_chain(&e))
}

/// reqwest's Display is terse ("error sending request"); the causes say why.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

/// [`error_chain`] of the error inside an I/O error (a failed body read).
pub fn io_chain(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => error_chain(inner),
        None => e.to_string(),
    }
}

/// Doubling delay; the exponent is capped so a huge retry count cannot overflow.
pub fn backoff_for(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.min(10))
}

/// Runs `once` until it succeeds, fails with an error `transient` rejects,
/// or has been retried `retries` times. Before each retry, `before_retry`
/// hears the retry's number (1-based), the error and the pause, which
/// doubles from `backoff`.
pub fn retry<T, E>(
    retries: u32,
    backoff: Duration,
    mut once: impl FnMut() -> Result<T, E>,
    transient: impl Fn(&E) -> bool,
    mut before_retry: impl FnMut(u32, &E, Duration),
) -> Result<T, E> {
    let mut attempt = 0;
    loop {
        match once() {
            Err(e) if attempt < retries && transient(&e) => {
                let pause = backoff_for(backoff, attempt);
                attempt += 1;
                before_retry(attempt, &e, pause);
                std::thread::sleep(pause);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_transient_errors_only_and_at_most_n_times() {
        let mut calls = 0;
        let mut heard = Vec::new();
        let r: Result<(), &str> = retry(
            3,
            Duration::ZERO,
            || {
                calls += 1;
                Err("busy")
            },
            |e| *e == "busy",
            |n, _, _| heard.push(n),
        );
        assert_eq!(r, Err("busy"));
        assert_eq!(calls, 4);
        assert_eq!(heard, [1, 2, 3]);

        let mut calls = 0;
        let r: Result<(), &str> = retry(
            3,
            Duration::ZERO,
            || {
                calls += 1;
                Err("denied")
            },
            |e| *e == "busy",
            |_, _, _| panic!("a permanent error is not retried"),
        );
        assert_eq!((r, calls), (Err("denied"), 1));

        let mut calls = 0;
        let r = retry(
            3,
            Duration::ZERO,
            || {
                calls += 1;
                if calls < 3 {
                    Err("busy")
                } else {
                    Ok(calls)
                }
            },
            |e| *e == "busy",
            |_, _, _| {},
        );
        assert_eq!(r, Ok(3));
    }

    #[test]
    fn backoff_doubles_and_saturates() {
        let s = Duration::from_secs(1);
        assert_eq!(backoff_for(s, 0), s);
        assert_eq!(backoff_for(s, 3), Duration::from_secs(8));
        assert_eq!(backoff_for(s, 1000), Duration::from_secs(1024));
        assert_eq!(
            backoff_for(Duration::MAX, 5),
            Duration::MAX,
            "saturates instead of overflowing"
        );
    }
}
