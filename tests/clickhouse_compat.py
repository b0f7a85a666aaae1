#!/usr/bin/env python3
"""Load kubenetmon's CSV and Parquet output into a real (embedded) ClickHouse.

Usage:
  clickhouse_compat.py BINARY [--ipv6] [-- LABEL-OPTION...]
      run `BINARY label` on the bundled demo data (testdata/demo) twice,
      writing OUT.csv and OUT.parquet with a recent --timestamp (and the
      given extra options, e.g. --subnets FILE --nat-gateway or
      --schema dual), then check; with --ipv6, on the real dual-stack dumps
      of testdata/ipv6 instead (give --schema dual to keep their IPv6 flows);
  clickhouse_compat.py --files OUT.csv OUT.parquet SUMMARY.json
      check files produced some other way (e.g. `cargo run --example
      write_sample -- DIR`).

The table comes from the ```sql block of docs/schema.md, so the DDL the
project documents is the DDL that is tested: network_flows_0 for files with
upstream's localIPv4/remoteIPv4 columns, network_flows_dual (SPEC §7) for
files with localIP/remoteIP. Checks:
  - the CSV header and the Parquet schema are the table's columns, in order;
  - ClickHouse infers the Parquet intervalStartTime as DateTime64(3, 'UTC'),
    equal to the CSV's text;
  - both files load (CSVWithNames / Parquet) into that table and into a plain
    MergeTree copy; row counts in the copy equal the rows in the CSV (read with
    Python's csv module) and the summary's "rows";
  - sum(bytes), sum(packets) per connectionClass and direction equal the sums
    computed from the CSV by Python, and bytes equal the summary's "bytes";
  - the CSV-loaded and Parquet-loaded rows are the same multiset;
  - connectionFlags (SPEC §6.3): keys in byte order; for every flag name and
    value, sum(bytes) by direction queried with connectionFlags['NAME'] equals
    the CSV's sums, and the summary's "flags" bytes (CROSS_AZ true/false/
    unknown, NAT_GATEWAY true) when it has them;
  - a few rows of the CSV are found, column for column, in the Parquet load;
  - dual schema: the Parquet address columns are FixedString(16) (16 bytes
    in network order) and load into the IPv6 columns; toString() of every
    loaded address, from CSV and from Parquet, is the CSV's text (IPv4 as
    ::ffff:a.b.c.d), row for row;
  - after OPTIMIZE FINAL the SummingMergeTree table holds one row per distinct
    key with non-zero sums (skipped, with a note, when the rows are older than
    the 90-day TTL, which would delete them).
Needs the `chdb` package (pip install chdb). Exit 0 = all checks passed.
"""

import csv
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ["INTRA_VPC", "INTRA_REGION", "INTER_REGION", "PUBLIC_INTERNET"]
DIRECTIONS = ["out", "in"]


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print(f"ok   {msg}")


def ddl_from_docs(table="network_flows_0"):
    text = open(os.path.join(ROOT, "docs", "schema.md"), encoding="utf-8").read()
    blocks = [b for b in re.findall(r"```sql\n(.*?)```", text, re.S)
              if f"CREATE TABLE IF NOT EXISTS {table}\n" in b]
    if len(blocks) != 1:
        fail(f"docs/schema.md: expected one ```sql block with CREATE TABLE {table}, found {len(blocks)}")
    ddl = blocks[0]
    cols = re.findall(r"^\s+`(\w+)`\s", ddl, re.M)
    return ddl, cols


def run_binary(binary, tmp, extra=(), ipv6=False):
    """Label the demo data (or testdata/ipv6) into CSV and Parquet; returns
    (csv, parquet, summary)."""
    if ipv6:
        data = os.path.join(ROOT, "testdata", "ipv6")
        dumps = ["ip-10-0-1-10.ec2.internal=" + os.path.join(data, "dumps", "list-default.txt")]
    else:
        data = os.path.join(ROOT, "testdata", "demo")
        dumps = [os.path.join(data, "dumps")]
    # recent, minute-aligned: the 90-day TTL keeps the rows, and it is exact in the output
    stamp = (int(time.time()) // 60 - 5) * 60
    outs = {}
    for ext in ("csv", "parquet"):
        out = os.path.join(tmp, f"out.{ext}")
        summary = os.path.join(tmp, f"summary-{ext}.json")
        cmd = [
            binary, "label", *dumps,
            "--inventory", os.path.join(data, "inventory.json"),
            "--ranges", os.path.join(data, "ranges"),
            "-o", out, "--summary-json", summary, "--timestamp", str(stamp), "-q",
            *extra,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
        outs[ext] = (out, summary)
    s_csv = json.load(open(outs["csv"][1]))
    s_pq = json.load(open(outs["parquet"][1]))
    check(s_csv["rows"] == s_pq["rows"] and s_csv["bytes"] == s_pq["bytes"],
          "CSV and Parquet runs report the same summary rows and bytes")
    return outs["csv"][0], outs["parquet"][0], outs["csv"][1]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = next(r)
        rows = [dict(zip(header, row)) for row in r]
    return header, rows


def main(argv):
    if len(argv) >= 2 and not argv[1].startswith("-"):
        tmp = tempfile.mkdtemp(prefix="kubenetmon-ch-")
        rest = argv[2:]
        ipv6 = rest[:1] == ["--ipv6"]
        if ipv6:
            rest = rest[1:]
        extra = rest[1:] if rest[:1] == ["--"] else rest
        csv_path, pq_path, summary_path = run_binary(os.path.abspath(argv[1]), tmp, extra, ipv6)
    elif len(argv) == 5 and argv[1] == "--files":
        csv_path, pq_path, summary_path = (os.path.abspath(p) for p in argv[2:5])
        tmp = tempfile.mkdtemp(prefix="kubenetmon-ch-")
    else:
        print(__doc__, file=sys.stderr)
        return 2

    try:
        from chdb import session as chs
    except ImportError as e:
        fail(f"the chdb package is required (pip install chdb): {e}")

    header, rows = read_csv(csv_path)
    dual = "localIP" in header
    table_name = "network_flows_dual" if dual else "network_flows_0"
    ip_cols = ["localIP", "remoteIP"] if dual else ["localIPv4", "remoteIPv4"]
    ddl, columns = ddl_from_docs(table_name)
    check(len(columns) == 35, f"docs DDL of {table_name} has 35 columns ({len(columns)})")
    summary = json.load(open(summary_path))
    check(header == columns, f"CSV header is {table_name}'s columns in order")
    check(len(rows) == summary["rows"], f"CSV has summary's {summary['rows']} rows")
    check(len(rows) > 0 and len(rows) % 2 == 0, "an even, non-zero number of rows")

    # Independent sums from the CSV text.
    want = defaultdict(lambda: [0, 0])
    for r in rows:
        k = (r["connectionClass"], r["direction"])
        want[k][0] += int(r["bytes"])
        want[k][1] += int(r["packets"])
    for c in CLASSES:
        for d in DIRECTIONS:
            check(want[(c, d)][0] == summary["bytes"][c][d],
                  f"CSV bytes {c}/{d} = summary's {summary['bytes'][c][d]}")

    s = chs.Session(os.path.join(tmp, "chdb"))
    q = lambda sql, fmt="TabSeparated": s.query(sql, fmt).bytes().decode()
    q("SET session_timezone = 'UTC'")
    q("CREATE DATABASE IF NOT EXISTS k")
    tables = {}
    for src in ("csv", "pq"):
        summing, plain = f"k.summing_{src}", f"k.plain_{src}"
        q(ddl.replace(table_name, summing, 1))
        # same columns, no summing and no TTL; `AS` keeps the primary key,
        # so the sorting key must start with it
        pk = re.search(r"^PRIMARY KEY (\(.*\))$", ddl, re.M).group(1)
        q(f"CREATE TABLE {plain} AS {summing} ENGINE = MergeTree PARTITION BY date "
          f"ORDER BY {pk}")
        tables[src] = (summing, plain)

    described = [line.split("\t") for line in
                 q(f"DESCRIBE TABLE file('{pq_path}', Parquet)").splitlines()]
    pq_cols = [d[0] for d in described]
    check(pq_cols == columns, "Parquet columns are the table's columns in order")
    # Issue 16: the time is a Parquet TIMESTAMP, which ClickHouse infers as a
    # DateTime64 in UTC (a bare INT64 of seconds was inferred as Int64).
    pq_types = dict(line.split("\t")[:2] for line in
                    q(f"DESCRIBE TABLE file('{pq_path}', Parquet)", "TabSeparatedRaw").splitlines())
    check("DateTime64(3, 'UTC')" in pq_types["intervalStartTime"],
          f"ClickHouse infers the Parquet intervalStartTime as DateTime64(3, 'UTC') "
          f"({pq_types['intervalStartTime']})")
    first = q(f"SELECT toString(toDateTime(intervalStartTime, 'UTC')) "
              f"FROM file('{pq_path}', Parquet) LIMIT 1").strip()
    check(first == rows[0]["intervalStartTime"],
          f"the first Parquet time {first} is the CSV's {rows[0]['intervalStartTime']}")
    if dual:
        pq_types = {d[0]: d[1] for d in described}
        for c in ip_cols:
            check(pq_types[c] in ("FixedString(16)", "Nullable(FixedString(16))"),
                  f"Parquet {c} is 16 fixed bytes ({pq_types[c]})")

    for src, path, fmt in (("csv", csv_path, "CSVWithNames"), ("pq", pq_path, "Parquet")):
        for table in tables[src]:
            q(f"INSERT INTO {table} FROM INFILE '{path}' FORMAT {fmt}")

    for src in ("csv", "pq"):
        plain = tables[src][1]
        n = int(q(f"SELECT count() FROM {plain}"))
        check(n == len(rows), f"{src}: plain MergeTree holds all {len(rows)} rows")
        for table in tables[src]:
            got = {}
            for line in q(f"SELECT connectionClass, direction, sum(bytes), sum(packets) "
                          f"FROM {table} GROUP BY 1, 2").splitlines():
                c, d, b, p = line.split("\t")
                got[(c, d)] = [int(b), int(p)]
            for k in sorted(set(want) | set(got)):
                check(got.get(k, [0, 0]) == want[k],
                      f"{table}: sum(bytes), sum(packets) for {k[0]}/{k[1]} = {want[k]}")

    # Same multiset of rows from both formats.
    dump = lambda t: q(f"SELECT * FROM {t} ORDER BY ALL")
    a, b = dump(tables["csv"][1]), dump(tables["pq"][1])
    check(a == b, "CSV-loaded rows == Parquet-loaded rows")
    check(Counter(a.splitlines()) == Counter(b.splitlines()), "same multiset of rows")

    # Exact rows: the first two and the last CSV rows, column for column.
    def esc(v):
        return v.replace("\\", "\\\\").replace("'", "\\'")
    for i in (0, 1, len(rows) - 1):
        r = rows[i]
        cond = " AND ".join(f"toString(`{c}`) = '{esc(r[c])}'" for c in columns)
        n = int(q(f"SELECT count() FROM {tables['pq'][1]} WHERE {cond}"))
        check(n >= 1, f"CSV row {i + 1} ({r['direction']}, {r['localPod'] or r[ip_cols[0]]}) "
                      f"is in the Parquet load, column for column")

    # SPEC §7: the addresses read back, as text, are the CSV's.
    want_ips = Counter((r[ip_cols[0]], r[ip_cols[1]]) for r in rows)
    for src in ("csv", "pq"):
        plain = tables[src][1]
        got_ips = Counter(tuple(line.split("\t")) for line in
                          q(f"SELECT toString({ip_cols[0]}), toString({ip_cols[1]}) "
                            f"FROM {plain}").splitlines())
        check(got_ips == want_ips,
              f"{src}: toString() of {ip_cols[0]}/{ip_cols[1]} is the CSV's text, row for row "
              f"({len(want_ips)} distinct pairs)")
    if dual:
        v4 = sum(n for (a, b), n in want_ips.items() if a.startswith("::ffff:"))
        v6 = sum(want_ips.values()) - v4
        print(f"note: {v4} rows with an IPv4-mapped local address, {v6} with an IPv6 one")
        check(all(":" in a and ":" in b for a, b in want_ips),
              "every dual address is IPv6 text (IPv4 as ::ffff:a.b.c.d)")

    # Values the spec fixes.
    pl = tables["pq"][1]
    check(q(f"SELECT groupUniqArray(remoteCluster) FROM {pl}").strip() == "['UNKNOWN']",
          "remoteCluster is always UNKNOWN")
    check(int(q(f"SELECT countIf(localCell != '' OR remoteCell != '') FROM {pl}")) == 0,
          "cells empty")
    check_flags(q, rows, summary, [tables["csv"][1], pl])
    check(int(q(f"SELECT countIf(toUnixTimestamp(intervalStartTime) % intervalSeconds != 0) "
                f"FROM {pl}")) == 0, "intervalStartTime is a multiple of intervalSeconds")
    check(int(q(f"SELECT countIf(direction = 'out') - countIf(direction = 'in') FROM {pl}")) == 0,
          "as many out rows as in rows")

    # SummingMergeTree: after a final merge, one row per key with non-zero sums.
    newest = max(dt.date.fromisoformat(r["date"]) for r in rows)
    if (dt.datetime.now(dt.timezone.utc).date() - newest).days > 85:
        print(f"note: rows dated {newest} are near or past the 90-day TTL; "
              f"SummingMergeTree row-count check skipped (sums above were checked)")
    else:
        keyed = defaultdict(lambda: [0, 0])
        for r in rows:
            key = tuple(r[c] for c in columns if c not in ("bytes", "packets"))
            keyed[key][0] += int(r["bytes"])
            keyed[key][1] += int(r["packets"])
        expect = sum(1 for v in keyed.values() if v != [0, 0])
        for src in ("csv", "pq"):
            summing = tables[src][0]
            q(f"OPTIMIZE TABLE {summing} FINAL")
            n = int(q(f"SELECT count() FROM {summing}"))
            check(n == expect, f"{summing}: {expect} rows after merging equal keys "
                               f"and dropping all-zero rows")
    print(f"PASSED: CSV and Parquet load into the documented {table_name} table")
    return 0


def parse_flags(text):
    """A CSV connectionFlags cell: {} or {'A':true,'B':false}, keys in order."""
    if not re.fullmatch(r"\{('[A-Z][A-Z0-9_]*':(true|false)(,(?!\}))?)*\}", text):
        fail(f"connectionFlags cell {text!r} is not {{'NAME':true|false,...}}")
    return {k: v == "true" for k, v in re.findall(r"'([A-Z][A-Z0-9_]*)':(true|false)", text)}


def check_flags(q, rows, summary, tables):
    """SPEC §6.3: the map loads as Map(String, Bool) and answers flag queries."""
    flags = [parse_flags(r["connectionFlags"]) for r in rows]
    check(all(list(f) == sorted(f, key=lambda k: k.encode()) for f in flags),
          "connectionFlags keys are in byte order")
    check(all(flags[i] == flags[i + 1] for i in range(0, len(rows), 2)),
          "a flow's out and in rows carry the same flags")

    def want(name, value):
        out = {d: 0 for d in DIRECTIONS}
        for r, f in zip(rows, flags):
            if f.get(name) is value:
                out[r["direction"]] += int(r["bytes"])
        return out

    names = sorted({k for f in flags for k in f})
    print(f"note: flags in the rows: {names or 'none'}")
    for name in names:
        for value in (True, False):
            w = want(name, value)
            for t in tables:
                got = {d: 0 for d in DIRECTIONS}
                for line in q(f"SELECT direction, sum(bytes) FROM {t} "
                              f"WHERE mapContains(connectionFlags, '{name}') "
                              f"AND connectionFlags['{name}'] = {str(value).lower()} "
                              f"GROUP BY direction").splitlines():
                    d, b = line.split("\t")
                    got[d] = int(b)
                check(got == w, f"{t}: bytes with {name}={str(value).lower()} = {w}")
    if "CROSS_AZ" in names:
        # The query a user writes: an absent key reads as false, so true is exact.
        total = sum(want("CROSS_AZ", True).values())
        for t in tables:
            got = int(q(f"SELECT sum(bytes) FROM {t} WHERE connectionFlags['CROSS_AZ']"))
            check(got == total, f"{t}: WHERE connectionFlags['CROSS_AZ'] sums {total} bytes")
    if "flags" in summary:
        sf = summary["flags"]
        for label, value in (("true", True), ("false", False), ("unknown", None)):
            w = want("CROSS_AZ", value)
            check(sf["CROSS_AZ"][label] == w, f"summary flags.CROSS_AZ.{label} = rows' {w}")
        w = want("NAT_GATEWAY", True)
        check(sf["NAT_GATEWAY"]["true"] == w, f"summary flags.NAT_GATEWAY.true = rows' {w}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
