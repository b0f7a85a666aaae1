#!/usr/bin/env python3
"""Load kubenetmon's CSV and Parquet output into a real (embedded) ClickHouse.

Usage:
  clickhouse_compat.py BINARY [-- LABEL-OPTION...]
      run `BINARY label` on the bundled demo data (testdata/demo) twice,
      writing OUT.csv and OUT.parquet with a recent --timestamp (and the
      given extra options, e.g. --subnets FILE --nat-gateway), then check;
  clickhouse_compat.py --files OUT.csv OUT.parquet SUMMARY.json
      check files produced some other way (e.g. `cargo run --example
      write_sample -- DIR`).

The table comes from the ```sql block of docs/schema.md, so the DDL the
project documents is the DDL that is tested. Checks:
  - the CSV header and the Parquet schema are the table's columns, in order;
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


def run_binary(binary, tmp, extra=()):
    """Label the demo data into CSV and Parquet; returns (csv, parquet, summary)."""
    demo = os.path.join(ROOT, "testdata", "demo")
    # recent, minute-aligned: the 90-day TTL keeps the rows, and it is exact in the output
    stamp = (int(time.time()) // 60 - 5) * 60
    outs = {}
    for ext in ("csv", "parquet"):
        out = os.path.join(tmp, f"out.{ext}")
        summary = os.path.join(tmp, f"summary-{ext}.json")
        cmd = [
            binary, "label", os.path.join(demo, "dumps"),
            "--inventory", os.path.join(demo, "inventory.json"),
            "--ranges", os.path.join(demo, "ranges"),
            "-o", out, "--summary-json", summary, "--timestamp", str(stamp),
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
        extra = argv[3:] if argv[2:3] == ["--"] else argv[2:]
        csv_path, pq_path, summary_path = run_binary(os.path.abspath(argv[1]), tmp, extra)
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

    ddl, columns = ddl_from_docs()
    check(len(columns) == 35, f"docs DDL has 35 columns ({len(columns)})")
    summary = json.load(open(summary_path))
    header, rows = read_csv(csv_path)
    check(header == columns, "CSV header is the table's columns in order")
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
        q(ddl.replace("network_flows_0", summing, 1))
        # same columns, no summing and no TTL; `AS` keeps the primary key,
        # so the sorting key must start with it
        pk = re.search(r"^PRIMARY KEY (\(.*\))$", ddl, re.M).group(1)
        q(f"CREATE TABLE {plain} AS {summing} ENGINE = MergeTree PARTITION BY date "
          f"ORDER BY {pk}")
        tables[src] = (summing, plain)

    pq_cols = [line.split("\t")[0] for line in
               q(f"DESCRIBE TABLE file('{pq_path}', Parquet)").splitlines()]
    check(pq_cols == columns, "Parquet columns are the table's columns in order")

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
        check(n >= 1, f"CSV row {i + 1} ({r['direction']}, {r['localPod'] or r['localIPv4']}) "
                      f"is in the Parquet load, column for column")

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
    print("PASSED: CSV and Parquet load into the documented network_flows_0 table")
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
