#!/usr/bin/env python3
"""ClickHouse's HTTP interface, served over the embedded engine (chdb), for tests.

There is no ClickHouse server package recent enough on the test machines, so
the integration tests (tests/it/clickhouse_http.rs) talk to this instead. It
implements the part of the HTTP interface that `kubenetmon label --clickhouse`
uses, the way clickhouse-server does, and leaves everything else to the engine:

- `GET|POST /?query=SQL[&database=DB][&SETTING=VALUE...]`; for
  `INSERT INTO ... FORMAT F` the request body is the data (it goes to the
  engine as `INSERT INTO ... FROM INFILE 'body' FORMAT F`), otherwise a body is
  appended to the query text, as clickhouse-server does.
- URL parameters that are not the interface's own (query, database, user,
  password, ...) are settings: each is applied with `SET name = 'value'` for
  that query only and reset with `SET name = DEFAULT` afterwards, so unknown
  settings fail in the engine (UNKNOWN_SETTING), and `insert_deduplication_token`,
  `insert_deduplicate` etc. reach the engine exactly as a server would apply
  them. Deduplication is the engine's own: a MergeTree with
  `non_replicated_deduplication_window` > 0 drops a block whose token it has
  seen (checked by tests/it/clickhouse_http.rs; nothing here emulates it).
- Credentials: HTTP basic auth, `X-ClickHouse-User`/`X-ClickHouse-Key`, or the
  `user`/`password` parameters. With `--user/--password` given, anything else
  is refused with code 516 AUTHENTICATION_FAILED (the engine has no users).
- Errors: the engine's exception text (`Code: N. DB::Exception: ... (NAME)
  (version V)`), header `X-ClickHouse-Exception-Code: N`, and the HTTP status
  clickhouse-server derives from the code (its exceptionCodeToHTTPStatus:
  401/403 authentication, 400 parse and type errors, 404 unknown objects,
  500 otherwise).
- Requests run one at a time (one engine session; settings are per query).

Fault injection on INSERT requests (command-line flags, or `POST /_control`
with a JSON object of the same names; `GET /_control` returns the counters and
the tokens of the inserts that ran). A fault is one of
  fail   answer 503 without running it (no exception code: a proxy or load balancer)
  drop   read half the body, then drop the connection without an answer
  slow   run the insert, then wait slow_seconds before answering
(max_inserts_in_flight counts INSERT requests served at once.)
and is given either to the next N inserts (fail_inserts, drop_inserts,
slow_inserts: N; taken in that order), or to the K-th insert request since the
start, 1-based (schedule: {"K": "fail"|"drop"|"slow"}; --fault K=KIND).
sql_before_insert: [[K, SQL], ...] runs SQL just before the K-th insert.

Start: `chdb_http.py --path DIR [--port 0]`; prints `LISTENING <port>` once ready,
and exits when its standard input is closed (so it never outlives its test).
"""

import argparse
import base64
import json
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The interface's own parameters; every other parameter is a setting.
RESERVED = {
    "query", "database", "default_format", "user", "password", "quota_key",
    "query_id", "session_id", "session_timeout", "session_check", "compress",
    "decompress", "buffer_size", "wait_end_of_query", "stacktrace",
    "http_native_compression_disable_checksumming_on_decompress",
}

# clickhouse-server's exceptionCodeToHTTPStatus, by error name (codes come
# from the engine's own errorCodeToName table at start-up).
STATUS_BY_NAME = {
    "REQUIRED_PASSWORD": 401,
    **{n: 403 for n in ["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED",
                        "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"]},
    **{n: 400 for n in [
        "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
        "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
        "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
        "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
        "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
        "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"]},
    **{n: 404 for n in [
        "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
        "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING",
        "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT",
        "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"]},
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INSERT_FORMAT_RE = re.compile(r"(?is)^(\s*INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*;?\s*$")


class Engine:
    """One chdb session; queries run one at a time."""

    def __init__(self, path):
        from chdb import session  # imported here so --help works without chdb
        self.session = session.Session(path)
        self.lock = threading.Lock()
        self.version = self.text("SELECT version()").strip()
        rows = self.text("SELECT number, errorCodeToName(number) FROM numbers(2000) "
                         "WHERE errorCodeToName(number) != ''")
        self.code_of = {}
        for line in rows.splitlines():
            code, name = line.split("\t")
            self.code_of[name] = int(code)
        self.tmp = tempfile.mkdtemp(prefix="bodies-", dir=path)

    def text(self, sql):
        return self.session.query(sql, "TabSeparated").bytes().decode()

    def error(self, name, text):
        """An exception as the server words it."""
        code = self.code_of[name]
        return ServerError(code, name, f"Code: {code}. DB::Exception: {text}. ({name}) "
                                       f"(version {self.version})")

    def normalise(self, exc):
        """chdb's exception text → (code, name, clickhouse-server's wording)."""
        text = str(exc).strip()
        m = re.match(r"Code: (\d+)\. DB::Exception: ", text)
        if not m:
            code = self.code_of["UNKNOWN_EXCEPTION"]
            return ServerError(code, "UNKNOWN_EXCEPTION",
                               f"Code: {code}. DB::Exception: {text}. (UNKNOWN_EXCEPTION) "
                               f"(version {self.version})")
        code = int(m.group(1))
        prefix = m.group(0)
        while text.startswith(prefix + prefix):  # chdb repeats the prefix
            text = text[len(prefix):]
        names = re.findall(r"\(([A-Z][A-Z0-9_]+)\)", text)
        name = names[-1] if names else "UNKNOWN_EXCEPTION"
        # chdb appends ". (NAME)" once more after "(version V)"
        text = re.sub(r"(\(version [^)]*\))\. \(" + re.escape(name) + r"\)$", r"\1", text)
        if "(version " not in text:
            text += f" (version {self.version})"
        return ServerError(code, name, text)

    def run(self, sql, database, settings, body, before=()):
        """Runs one query with its settings; returns the result text."""
        body_path = None
        with self.lock:
            applied = []
            try:
                for stmt in before:
                    self.session.query(stmt, "TabSeparated")
                if database:
                    if not NAME_RE.match(database):
                        raise self.error("UNKNOWN_DATABASE", f"Database {database} does not exist")
                    self.session.query(f"USE `{database}`", "TabSeparated")
                for name, value in settings:
                    if not NAME_RE.match(name):
                        raise self.error("UNKNOWN_SETTING", f"Unknown setting '{name}'")
                    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
                    self.session.query(f"SET {name} = '{quoted}'", "TabSeparated")
                    applied.append(name)
                m = INSERT_FORMAT_RE.match(sql) if body is not None else None
                if m:
                    fd, body_path = tempfile.mkstemp(suffix=".body", dir=self.tmp)
                    with os.fdopen(fd, "wb") as f:
                        f.write(body)
                    sql = f"{m.group(1)} FROM INFILE '{body_path}' FORMAT {m.group(2)}"
                elif body:
                    sql = sql + "\n" + body.decode("utf-8", "replace")
                return self.session.query(sql, "TabSeparated").bytes()
            except ServerError:
                raise
            except Exception as exc:  # the engine's exception
                raise self.normalise(exc) from None
            finally:
                for name in applied:
                    try:
                        self.session.query(f"SET {name} = DEFAULT", "TabSeparated")
                    except Exception:
                        pass
                if database:
                    try:
                        self.session.query("USE default", "TabSeparated")
                    except Exception:
                        pass
                if body_path:
                    os.unlink(body_path)


class ServerError(Exception):
    def __init__(self, code, name, text):
        super().__init__(text)
        self.code, self.name, self.text = code, name, text

    @property
    def status(self):
        return STATUS_BY_NAME.get(self.name, 500)


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.faults = {
            "fail_inserts": args.fail_inserts,
            "drop_inserts": args.drop_inserts,
            "slow_inserts": args.slow_inserts,
            "slow_seconds": args.slow_seconds,
            "schedule": dict(f.split("=", 1) for f in args.fault),
            "sql_before_insert": [],
        }
        self.counters = {"requests": 0, "insert_attempts": 0, "inserts_ok": 0,
                         "failed": 0, "dropped": 0, "slowed": 0, "auth_refused": 0,
                         "inserts_in_flight": 0, "max_inserts_in_flight": 0}
        self.tokens = []  # insert_deduplication_token of every insert that ran

    def fault_for(self, attempt):
        """The fault of the `attempt`-th insert request, if any."""
        with self.lock:
            kind = self.faults["schedule"].pop(str(attempt), None)
            if kind is not None:
                return kind
            for kind in ("fail", "drop", "slow"):
                if self.faults[kind + "_inserts"] > 0:
                    self.faults[kind + "_inserts"] -= 1
                    return kind
            return None

    def snapshot(self):
        with self.lock:
            return {"faults": dict(self.faults), **self.counters, "tokens": list(self.tokens)}


def make_handler(engine, state, user, password):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "chdb_http"

        def log_message(self, fmt, *args):  # quiet: the tests read stdout
            pass

        def do_GET(self):
            self.dispatch()

        def do_POST(self):
            self.dispatch()

        # -- plumbing -------------------------------------------------------
        def send(self, status, body, headers=()):
            data = body.encode() if isinstance(body, str) else body
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def send_error_of(self, e):
            self.send(e.status, e.text + "\n", [("X-ClickHouse-Exception-Code", str(e.code))])

        def read_body(self, limit=None):
            """The body (Content-Length or chunked); with `limit`, only that many bytes."""
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
                    if limit is not None and len(out) >= limit:
                        return bytes(out[:limit])
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n if limit is None else min(n, limit))

        def drop(self):
            """Closes the socket without an answer."""
            import socket
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.connection.close()

        def credentials(self, params):
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                raw = base64.b64decode(auth[6:].strip()).decode()
                u, _, p = raw.partition(":")
                return u, p
            if "X-ClickHouse-User" in self.headers or "X-ClickHouse-Key" in self.headers:
                return (self.headers.get("X-ClickHouse-User", "default"),
                        self.headers.get("X-ClickHouse-Key", ""))
            return params.get("user", "default"), params.get("password", "")

        # -- requests -------------------------------------------------------
        def dispatch(self):
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)).get("query")
            inserting = query is not None and re.match(r"(?is)^\s*INSERT\b", query) is not None
            if inserting:
                with state.lock:
                    c = state.counters
                    c["inserts_in_flight"] += 1
                    c["max_inserts_in_flight"] = max(c["max_inserts_in_flight"],
                                                     c["inserts_in_flight"])
            try:
                self.serve()
            finally:
                if inserting:
                    with state.lock:
                        state.counters["inserts_in_flight"] -= 1

        def serve(self):
            url = urllib.parse.urlsplit(self.path)
            pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
            params = dict(pairs)
            if url.path == "/_control":
                return self.control()
            if url.path == "/ping":
                self.read_body()
                return self.send(200, "Ok.\n")
            with state.lock:
                state.counters["requests"] += 1
            query = params.get("query")
            is_insert = query is not None and re.match(r"(?is)^\s*INSERT\b", query) is not None

            u, p = self.credentials(params)
            if user is not None and (u != user or p != password):
                self.read_body()
                with state.lock:
                    state.counters["auth_refused"] += 1
                return self.send_error_of(engine.error(
                    "AUTHENTICATION_FAILED",
                    f"{u}: Authentication failed: password is incorrect, or there is no "
                    f"user with such name"))

            before, fault = [], None
            if is_insert:
                with state.lock:
                    state.counters["insert_attempts"] += 1
                    attempt = state.counters["insert_attempts"]
                    for n, stmt in state.faults["sql_before_insert"]:
                        if n == attempt:
                            before.append(stmt)
                fault = state.fault_for(attempt)
                if fault == "fail":
                    self.read_body()
                    with state.lock:
                        state.counters["failed"] += 1
                    return self.send(503, "Service Unavailable (injected)\n")
                if fault == "drop":
                    n = int(self.headers.get("Content-Length") or 0)
                    self.read_body(limit=n // 2)
                    with state.lock:
                        state.counters["dropped"] += 1
                    return self.drop()
            body = self.read_body()
            settings = [(k, v) for k, v in pairs if k not in RESERVED]
            if query is None:
                sql, data = body.decode("utf-8", "replace"), None
            elif is_insert:
                sql, data = query, body
            else:
                sql, data = query, body or None
            try:
                result = engine.run(sql, params.get("database"), settings, data, before)
            except ServerError as e:
                result = e
            if is_insert and not isinstance(result, ServerError):
                with state.lock:
                    state.counters["inserts_ok"] += 1
                    state.tokens.append(dict(settings).get("insert_deduplication_token", ""))
            if fault == "slow":
                with state.lock:
                    state.counters["slowed"] += 1
                time.sleep(state.faults["slow_seconds"])
            if isinstance(result, ServerError):
                return self.send_error_of(result)
            self.send(200, result)

        def control(self):
            body = self.read_body()
            if self.command == "POST" and body:
                update = json.loads(body)
                with state.lock:
                    for k, v in update.items():
                        if k not in state.faults:
                            return self.send(400, f"unknown fault {k}\n")
                        state.faults[k] = {str(a): f for a, f in v.items()} if k == "schedule" else v
            self.send(200, json.dumps(state.snapshot()) + "\n",
                      [("Content-Type", "application/json")])

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", required=True, help="engine data directory (kept between runs)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--user", help="the only user accepted (with --password)")
    ap.add_argument("--password", default="")
    ap.add_argument("--fail-inserts", type=int, default=0)
    ap.add_argument("--drop-inserts", type=int, default=0)
    ap.add_argument("--slow-inserts", type=int, default=0)
    ap.add_argument("--slow-seconds", type=float, default=0.0)
    ap.add_argument("--fault", action="append", default=[], metavar="K=KIND",
                    help="fail, drop or slow the K-th insert request (1-based)")
    args = ap.parse_args()

    os.makedirs(args.path, exist_ok=True)
    engine = Engine(args.path)
    state = State(args)
    server = ThreadingHTTPServer((args.host, args.port),
                                 make_handler(engine, state, args.user, args.password))
    server.daemon_threads = True

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
