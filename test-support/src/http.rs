//! A tiny HTTP/1.1 server on 127.0.0.1 for the fetch tests: serves canned
//! replies per path (404 otherwise), and can misbehave on purpose (slow,
//! truncated, oversized). Used by the fetch unit tests (src/fetch/tests.rs)
//! and the `ranges fetch` integration tests (tests/it/ranges_cmd.rs).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this body.
    Ok(Vec<u8>),
    /// This status, a short text body.
    Status(u16),
    /// Waits, then 200 with the body.
    Slow(Duration, Vec<u8>),
    /// Announces `claimed` bytes, sends `body`, closes.
    Truncated { claimed: usize, body: Vec<u8> },
    /// 200 without Content-Length: `body` then close (cap must trip while reading).
    Unsized(Vec<u8>),
}

#[derive(Default)]
struct State {
    /// Replies per path; the front one is used and popped while more remain.
    routes: HashMap<String, VecDeque<Reply>>,
    /// Request targets as received, in order.
    log: Vec<String>,
}

/// A running server; it lives until the test process ends.
#[derive(Clone)]
pub struct Server {
    pub addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                thread::spawn(move || handle(conn, &st));
            }
        });
        Server { addr, state }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers `path` with `replies` in turn; the last one repeats.
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), replies.into());
    }

    pub fn ok(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.route(path, vec![Reply::Ok(body.into())]);
    }

    /// Request targets received so far (absolute URIs when used as a proxy).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|t| path_of(t) == path)
            .count()
    }
}

/// `http://host/x` (proxy form) or `/x` → `/x`.
fn path_of(target: &str) -> &str {
    match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    }
}

fn handle(conn: TcpStream, state: &Mutex<State>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
    let reply = {
        let mut st = state.lock().unwrap();
        st.log.push(target.clone());
        match st.routes.get_mut(path_of(&target)) {
            Some(q) if q.len() > 1 => q.pop_front(),
            Some(q) => q.front().cloned(),
            None => None,
        }
    }
    .unwrap_or(Reply::Status(404));
    let mut conn = conn;
    let _ = respond(&mut conn, reply);
    let _ = conn.flush();
}

fn respond(conn: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let head = |status: u16, len: Option<usize>| {
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Other",
        };
        let len = len.map_or(String::new(), |l| format!("Content-Length: {l}\r\n"));
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{len}Connection: close\r\n\r\n"
        )
    };
    match reply {
        Reply::Ok(body) => {
            conn.write_all(head(200, Some(body.len())).as_bytes())?;
            conn.write_all(&body)
        }
        Reply::Status(code) => {
            let body = format!("status {code}\n");
            conn.write_all(head(code, Some(body.len())).as_bytes())?;
            conn.write_all(body.as_bytes())
        }
        Reply::Slow(wait, body) => {
            thread::sleep(wait);
            conn.write_all(head(200, Some(body.len())).as_bytes())?;
            conn.write_all(&body)
        }
        Reply::Truncated { claimed, body } => {
            conn.write_all(head(200, Some(claimed)).as_bytes())?;
            conn.write_all(&body)?;
            conn.flush()?;
            conn.shutdown(std::net::Shutdown::Both)
        }
        Reply::Unsized(body) => {
            conn.write_all(head(200, None).as_bytes())?;
            conn.write_all(&body)?;
            conn.flush()?;
            conn.shutdown(std::net::Shutdown::Both)
        }
    }
}
