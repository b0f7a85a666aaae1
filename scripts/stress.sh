#!/usr/bin/env bash
# Stress test (not in CI): a huge generated conntrack dump streamed through
# stdin into Parquet, never stored. Checks that peak RSS stays bounded and
# that the Parquet file holds as many rows as the summary says.
#
#   scripts/stress.sh [--gb N] [--ranges DIR] [--out DIR] [--max-rss-mb M] [--csv]
#
# Builds release, writes the cluster's inventory once (examples/gen.rs, seed
# 42, 200 nodes, 10,000 pods), measures the generator's bytes per line on a
# 100,000-line sample, then runs
#   gen --single-node --dump-to-stdout --lines L | dd | /usr/bin/time -v \
#     kubenetmon label - --inventory INV --ranges DIR --node NODE -o OUT.parquet
# with L lines for N GB (default 10; 1 GB = 10^9 bytes). dd counts the bytes
# that went through the pipe. Prints bytes, lines, wall time, peak RSS of
# `kubenetmon label` (max RSS of /usr/bin/time -v: the label process only),
# the summary's rows and the Parquet file's rows (pyarrow, from the footer),
# and fails when peak RSS > M MB (default 200) or the two row counts differ.
# --csv writes CSV instead (rows counted with wc -l minus the header).
# Outputs go to DIR (default ./bench-out/stress, gitignored); the Parquet
# file of 10 GB is ~1.5 GB and is deleted at the end unless --keep.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GB=10
RANGES="${BENCH_RANGES:-$ROOT/../shared/ranges}"
OUT="$ROOT/bench-out/stress"
MAX_RSS_MB=200
FORMAT=parquet
KEEP=0
SEED=42
NODES=200
PODS=10000

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --gb) GB="$2"; shift 2 ;;
        --ranges) RANGES="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --max-rss-mb) MAX_RSS_MB="$2"; shift 2 ;;
        --csv) FORMAT=csv; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "stress.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [ ! -d "$RANGES" ]; then
    echo "stress.sh: ranges directory $RANGES not found (give --ranges DIR)" >&2
    exit 2
fi
RANGES="$(cd "$RANGES" && pwd)"
[ -x /usr/bin/time ] || { echo "stress.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

cd "$ROOT"
echo "== building release (kubenetmon + examples/gen)"
cargo build --release --quiet --bin kubenetmon --example gen
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/kubenetmon"
GEN="$TARGET/release/examples/gen"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# The inventory (and the node's name) first: label reads the inventory before
# the dump, so it must not be written while the stream runs. A sample dump
# gives the bytes per line.
SAMPLE=100000
NODE=$("$GEN" --nodes $NODES --pods $PODS --lines $SAMPLE --seed $SEED \
              --ranges "$RANGES" --out "$OUT/cluster" --single-node 2>/dev/null)
INV="$OUT/cluster/inventory.json"
SAMPLE_BYTES=$(stat -c %s "$OUT/cluster/dumps/$NODE.txt")
rm -f "$OUT/cluster/dumps/$NODE.txt"
TARGET_BYTES=$(awk -v g="$GB" 'BEGIN{printf "%.0f", g*1e9}')
LINES=$(awk -v t="$TARGET_BYTES" -v s="$SAMPLE_BYTES" -v n=$SAMPLE 'BEGIN{printf "%.0f", t/(s/n)}')
echo "== $GB GB: $LINES lines of $(awk -v s="$SAMPLE_BYTES" -v n=$SAMPLE 'BEGIN{printf "%.1f", s/n}') bytes" \
     "(node $NODE, seed $SEED), through stdin into $FORMAT"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

DEST="$OUT/out.$FORMAT"
rm -f "$DEST"
t0=$(date +%s%N)
# The generator writes to the second gen instance's stdout only; the cluster
# directory it also writes (inventory, manifest) is a scratch copy.
"$GEN" --nodes $NODES --pods $PODS --lines "$LINES" --seed $SEED --ranges "$RANGES" \
       --out "$OUT/stream-cluster" --single-node "$NODE" --dump-to-stdout 2>"$OUT/gen.log" \
  | dd bs=1M 2>"$OUT/dd.log" \
  | /usr/bin/time -v -o "$OUT/time.log" \
      "$BIN" label - --inventory "$INV" --ranges "$RANGES" --node "$NODE" -q \
      -o "$DEST" --summary-json "$OUT/summary.json" 2>"$OUT/label.log"
t1=$(date +%s%N)

BYTES=$(awk '/bytes/{print $1; exit}' "$OUT/dd.log")
RSS_KB=$(awk -F': ' '/Maximum resident set size/{print $2}' "$OUT/time.log")
USER_S=$(awk -F': ' '/User time/{print $2}' "$OUT/time.log")
SYS_S=$(awk -F': ' '/System time/{print $2}' "$OUT/time.log")
SUM_LINES=$(sed -n 's/^ *"lines": \([0-9]*\).*/\1/p' "$OUT/summary.json" | head -1)
SUM_ROWS=$(sed -n 's/^ *"rows": \([0-9]*\).*/\1/p' "$OUT/summary.json" | head -1)
if [ "$FORMAT" = parquet ]; then
    FILE_ROWS=$(python3 -c 'import sys, pyarrow.parquet as pq; print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)' "$DEST")
else
    FILE_ROWS=$(($(wc -l < "$DEST") - 1))
fi
OUT_BYTES=$(stat -c %s "$DEST")
[ "$KEEP" = 1 ] || rm -f "$DEST"

awk -v b="$BYTES" -v l="$SUM_LINES" -v t0="$t0" -v t1="$t1" -v r="$RSS_KB" -v u="$USER_S" \
    -v s="$SYS_S" -v sr="$SUM_ROWS" -v fr="$FILE_ROWS" -v ob="$OUT_BYTES" -v f="$FORMAT" 'BEGIN{
    w = (t1 - t0) / 1e9;
    printf "stdin bytes      %.0f (%.2f GB)\n", b, b/1e9;
    printf "summary lines    %d\n", l;
    printf "wall             %.1f s (%.0f MB/s, %.2f M lines/s)\n", w, b/w/1e6, l/w/1e6;
    printf "label CPU        user %.1f s, sys %.1f s\n", u, s;
    printf "label peak RSS   %.1f MB\n", r/1024;
    printf "rows             summary %d, %s file %d (%.2f GB)\n", sr, f, fr, ob/1e9;
}'
FAIL=0
if [ "$SUM_ROWS" != "$FILE_ROWS" ]; then echo "FAIL: rows differ"; FAIL=1; fi
if [ "$RSS_KB" -gt $((MAX_RSS_MB * 1024)) ]; then echo "FAIL: peak RSS above $MAX_RSS_MB MB"; FAIL=1; fi
[ "$FAIL" = 0 ] && echo "OK: peak RSS <= $MAX_RSS_MB MB, rows = summary's rows"
exit $FAIL
