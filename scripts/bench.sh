#!/usr/bin/env bash
# End-to-end benchmark of `kubenetmon label`, reproducible from a clean clone.
#
#   scripts/bench.sh [--out DIR] [--ranges DIR] [--sizes "1000000 5000000"] [--runs N]
#                    [--output-dir DIR] [--hyperfine] [--keep-going] [--clickhouse]
#
# Builds release, generates (examples/gen.rs, seed 42, 200 nodes, 10,000 pods)
# one single-node dump per size into DIR (default ./bench-out, gitignored),
# with its baseline (gen --baseline: the same connections 60 s earlier),
# then times with /usr/bin/time -v, on the same page-cached file:
#   wc -l DUMP                                   (the floor: reading the bytes)
#   kubenetmon label DUMP --dry-run              (parse + label, no output)
#   kubenetmon label DUMP ... -o out.parquet
#   kubenetmon label DUMP ... -o out.csv
#   kubenetmon label DUMP ... -o out.parquet --report report.json   (label --report's cost)
#   kubenetmon label DUMP ... --baseline PREV --dry-run / -o out.parquet  (SPEC §8 deltas)
#   kubenetmon report out.parquet / out.csv                         (SPEC §9 on the rows)
#   the same three with SPEC §6's options (FLAGS below: a 30-subnet zone map
#   of the generator's VPC, --nat-gateway --gateway-endpoint s3 --flag NLB=...)
# and prints wall time (median of --runs, default 3), throughput (lines/s,
# MB/s), peak RSS (max over runs), user and system CPU time.
# --clickhouse adds `label ... --clickhouse URL` into the local test server
# (tests/chdb_http.py over chdb; a new table per run), and the floor
# for it: the engine inserting the same rows from the Parquet file by itself.
# It prints rows/s and the client's time outside waits for the server.
# BENCH_CLICKHOUSE_ARGS adds options to that run (e.g. "--batch-rows 250000").
# Results also go to DIR/results.tsv. Label outputs go to --output-dir
# (default DIR; e.g. /dev/shm to leave the disk's fsync out of the time). Skips (exit 0) when the ranges
# directory is absent. Environment: BENCH_OUT, BENCH_RANGES, BENCH_SIZES,
# BENCH_RUNS, CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench-out}"
RANGES="${BENCH_RANGES:-$ROOT/../shared/ranges}"
SIZES="${BENCH_SIZES:-1000000 5000000}"
RUNS="${BENCH_RUNS:-3}"
OUTPUT_DIR="${BENCH_OUTPUT_DIR:-}"
HYPERFINE=0
KEEP_GOING=0
CLICKHOUSE=0
SEED=42
NODES=200
PODS=10000

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --ranges) RANGES="$2"; shift 2 ;;
        --sizes) SIZES="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --output-dir) OUTPUT_DIR="$2"; shift 2 ;;
        --hyperfine) HYPERFINE=1; shift ;;
        --keep-going) KEEP_GOING=1; shift ;;
        --clickhouse) CLICKHOUSE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [ ! -d "$RANGES" ]; then
    echo "bench.sh: ranges directory $RANGES not found; skipping the benchmark" \
         "(give --ranges DIR or BENCH_RANGES, e.g. after \`kubenetmon ranges fetch\`)."
    exit 0
fi
RANGES="$(cd "$RANGES" && pwd)"

if [ ! -x /usr/bin/time ]; then
    echo "bench.sh: /usr/bin/time missing; installing the 'time' package" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q time >/dev/null; else sudo apt-get install -y -q time >/dev/null; fi
fi

cd "$ROOT"
echo "== building release (kubenetmon + examples/gen)"
cargo build --release --quiet --bin kubenetmon --example gen
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/kubenetmon"
GEN="$TARGET/release/examples/gen"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
OUTPUT_DIR="${OUTPUT_DIR:-$OUT}"
mkdir -p "$OUTPUT_DIR"

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
     "mem: $(free -g | awk '/Mem:/{print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kubenetmon: $("$BIN" --version 2>/dev/null || echo '?') @ $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"

RESULTS="$OUT/results.tsv"
printf 'case\tlines\tbytes\twall_s\tlines_per_s\tMB_per_s\tpeak_rss_MB\tuser_s\tsys_s\n' > "$RESULTS"

# time_cmd NAME LINES BYTES CMD...: runs CMD $RUNS times under /usr/bin/time -v.
time_cmd() {
    local name="$1" lines="$2" bytes="$3"; shift 3
    local log="$OUT/time-$name.log" walls=() rss=0 user=0 sys=0 i
    for i in $(seq "$RUNS"); do
        local t0 t1
        # A CSV of 5 M lines is ~2.7 GB: never keep two of them around.
        [ -z "${CLEAN_BEFORE:-}" ] || rm -f "$CLEAN_BEFORE"
        t0=$(date +%s%N)
        if ! /usr/bin/time -v -o "$log" "$@" >"$OUT/stdout-$name.txt" 2>"$OUT/stderr-$name.txt"; then
            printf '%-22s FAILED: %s\n' "$name" "$(grep -E 'error' "$OUT/stderr-$name.txt" | tail -1)"
            printf '%s\t%s\t%s\tFAILED\t\t\t\t\t\n' "$name" "$lines" "$bytes" >> "$RESULTS"
            [ "$KEEP_GOING" = 1 ] || FAILED=1
            return 0
        fi
        t1=$(date +%s%N)
        # Wall time from our own clock: /usr/bin/time rounds to 10 ms.
        walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')")
        rss=$(awk -v r="$rss" -F': ' '/Maximum resident set size/{print ($2>r)?$2:r}' "$log")
        user=$(awk -F': ' '/User time/{print $2}' "$log")
        sys=$(awk -F': ' '/System time/{print $2}' "$log")
    done
    local wall
    wall=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    awk -v n="$name" -v l="$lines" -v b="$bytes" -v w="$wall" -v r="$rss" -v u="$user" -v s="$sys" 'BEGIN{
        ww = (w > 0) ? w : 0.005;
        printf "%-22s %8.3f s  %7.2f M lines/s  %7.1f MB/s  peak RSS %7.1f MB  (user %.2f s, sys %.2f s)\n",
               n, w, l/ww/1e6, b/ww/1e6, r/1024, u, s;
        printf "%s\t%d\t%d\t%.3f\t%.0f\t%.1f\t%.1f\t%.2f\t%.2f\n", n, l, b, w, l/ww, b/ww/1e6, r/1024, u, s >> "'"$RESULTS"'"
    }'
}

# The local ClickHouse endpoint (--clickhouse): started once, stopped at exit.
CH_URL=""
if [ "$CLICKHOUSE" = 1 ]; then
    CH_DIR="$OUT/chdb-http"
    rm -rf "$CH_DIR"; mkdir -p "$CH_DIR"
    mkfifo "$CH_DIR/stdin"
    python3 "$ROOT/tests/chdb_http.py" --path "$CH_DIR/db" < "$CH_DIR/stdin" > "$CH_DIR/out" 2>&1 &
    CH_PID=$!
    exec 9> "$CH_DIR/stdin"     # the server exits when this closes
    trap 'exec 9>&-; kill $CH_PID 2>/dev/null || true' EXIT
    for _ in $(seq 120); do grep -q LISTENING "$CH_DIR/out" && break; sleep 0.5; done
    CH_PORT=$(awk '/LISTENING/{print $2}' "$CH_DIR/out")
    [ -n "$CH_PORT" ] || { echo "bench.sh: chdb_http.py did not start:" >&2; cat "$CH_DIR/out" >&2; exit 1; }
    CH_URL="http://127.0.0.1:$CH_PORT"
    echo "== ClickHouse test server on $CH_URL ($(python3 -c 'import chdb; print("chdb", chdb.__version__, "engine", chdb.engine_version)'))"
    # each timed run inserts into a table of its own (a repeated run would be deduplicated)
    cat > "$CH_DIR/run.sh" <<'RUN'
#!/usr/bin/env bash
n=$(( $(cat "$CH_COUNTER" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$CH_COUNTER"
exec "$@" --table "bench_$n" --create-table --summary-json "$CH_SUMMARY.$n"
RUN
    chmod +x "$CH_DIR/run.sh"
fi

FAILED=0
for LINES in $SIZES; do
    DIR="$OUT/c$LINES"
    if [ -f "$DIR/manifest.json" ] && grep -q "\"lines\": $LINES," "$DIR/manifest.json" \
        && grep -q "\"seed\": $SEED," "$DIR/manifest.json" && grep -q "\"pods\": $PODS," "$DIR/manifest.json" \
        && grep -q '"baseline"' "$DIR/manifest.json"; then
        NODE=$(sed -n 's/.*"node": "\(.*\)",/\1/p' "$DIR/manifest.json" | head -1)
        echo "== reusing $DIR ($LINES lines)"
    else
        echo "== generating $LINES lines, $NODES nodes, $PODS pods into $DIR"
        rm -rf "$DIR"
        NODE=$("$GEN" --nodes $NODES --pods $PODS --lines "$LINES" --seed $SEED \
                      --ranges "$RANGES" --out "$DIR" --single-node --baseline)
    fi
    DUMP="$DIR/dumps/$NODE.txt"
    INV="$DIR/inventory.json"
    BYTES=$(stat -c %s "$DUMP")
    echo "== $LINES lines: $DUMP ($((BYTES / 1000000)) MB), inventory $((($(stat -c %s "$INV")) / 1000000)) MB, node $NODE"
    PREV="$DIR/baseline/$NODE.txt"
    cat "$DUMP" "$INV" "$PREV" > /dev/null   # page cache: every case reads warm

    LABEL=("$BIN" label "$DUMP" --inventory "$INV" --ranges "$RANGES" --node "$NODE")
    # SPEC §6: zones of the generator's subnets (testdata/zones/README.md), flags.
    FLAGS=(--subnets "$ROOT/testdata/zones/bench-subnets.json" --nat-gateway
           --gateway-endpoint s3 --flag NLB=10.0.196.0/24)
    time_cmd "wc-l-$LINES" "$LINES" "$BYTES" wc -l "$DUMP"
    time_cmd "dry-run-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" --dry-run --summary-json "$OUT/summary-$LINES.json"
    time_cmd "parquet-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" -o "$OUTPUT_DIR/out-$LINES.parquet"
    time_cmd "parquet+report-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" -o "$OUTPUT_DIR/out-$LINES.parquet" \
        --report "$OUT/report-$LINES.json"
    # SPEC §8: the same dump minus its baseline (a plain file, so PREV's node
    # is inferred in the same pass); times as gen dated the files.
    BASE=("--baseline" "$PREV" --timestamp "$(stat -c %Y "$DUMP")"
          --baseline-timestamp "$(stat -c %Y "$PREV")")
    time_cmd "baseline-dry-run-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" "${BASE[@]}" --dry-run \
        --summary-json "$OUT/summary-baseline-$LINES.json"
    time_cmd "baseline-parquet-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" "${BASE[@]}" \
        -o "$OUTPUT_DIR/out-baseline-$LINES.parquet"
    CLEAN_BEFORE="$OUTPUT_DIR/out-$LINES.csv" \
        time_cmd "csv-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" -o "$OUTPUT_DIR/out-$LINES.csv"
    # `report` on the rows just written (lines/s here are rows/s; bytes are the file's)
    ROWS=$(sed -n 's/^ *"rows": \([0-9]*\).*/\1/p' "$OUT/summary-$LINES.json" | head -1)
    ROWS=${ROWS:-$LINES}
    time_cmd "report-parquet-$LINES" "$ROWS" "$(stat -c %s "$OUTPUT_DIR/out-$LINES.parquet")" \
        "$BIN" report "$OUTPUT_DIR/out-$LINES.parquet"
    time_cmd "report-csv-$LINES" "$ROWS" "$(stat -c %s "$OUTPUT_DIR/out-$LINES.csv")" \
        "$BIN" report "$OUTPUT_DIR/out-$LINES.csv"
    rm -f "$OUTPUT_DIR/out-$LINES.csv"
    time_cmd "dry-run-flags-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" "${FLAGS[@]}" --dry-run \
        --summary-json "$OUT/summary-flags-$LINES.json"
    time_cmd "parquet-flags-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" "${FLAGS[@]}" \
        -o "$OUTPUT_DIR/out-flags-$LINES.parquet"
    CLEAN_BEFORE="$OUTPUT_DIR/out-flags-$LINES.csv" \
        time_cmd "csv-flags-$LINES" "$LINES" "$BYTES" "${LABEL[@]}" "${FLAGS[@]}" \
        -o "$OUTPUT_DIR/out-flags-$LINES.csv"
    rm -f "$OUTPUT_DIR/out-flags-$LINES.csv"
    if [ -n "$CH_URL" ]; then
        export CH_COUNTER="$CH_DIR/counter" CH_SUMMARY="$CH_DIR/summary-$LINES"
        # shellcheck disable=SC2086
        time_cmd "clickhouse-$LINES" "$LINES" "$BYTES" "$CH_DIR/run.sh" "${LABEL[@]}" --clickhouse "$CH_URL" ${BENCH_CLICKHOUSE_ARGS:-}
        # the floor: the engine inserting the same rows from the Parquet file by itself
        curl -sf "$CH_URL/" --data-binary "CREATE TABLE floor_$LINES AS bench_1" >/dev/null
        t0=$(date +%s%N)
        curl -sf "$CH_URL/?query=INSERT+INTO+floor_$LINES+FORMAT+Parquet" --data-binary @"$OUTPUT_DIR/out-$LINES.parquet" >/dev/null
        t1=$(date +%s%N)
        python3 - "$CH_SUMMARY" "$RUNS" "$t0" "$t1" <<'PY'
import glob, json, statistics, sys
prefix, runs, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = []
for path in sorted(glob.glob(prefix + ".*"))[-runs:]:
    s = json.load(open(path)); c = s["clickhouse"]
    wall = c["seconds_since_first_row"]
    rows.append((s["rows"], c["batches"], c["bytes"], wall, c["seconds_in_requests"], c["seconds_waiting_for_server"]))
if rows:
    r = sorted(rows, key=lambda x: x[3])[len(rows) // 2]
    n, b, by, wall, req, wait = r
    floor = (t1 - t0) / 1e9
    print(f"   clickhouse: {n} rows in {b} batches ({by/1e6:.1f} MB Parquet); from the first row: {wall:.2f} s "
          f"= {n/wall/1e6:.2f} M rows/s; in requests {req:.2f} s; waiting for the server {wait:.2f} s; "
          f"client outside waits {wall - wait:.2f} s; the engine alone on the same Parquet: {floor:.2f} s")
PY
    fi
    if [ -s "$OUT/summary-$LINES.json" ]; then
        echo "   summary: $(tr -d ' \n' < "$OUT/summary-$LINES.json" | cut -c1-400)"
    fi
    if [ -s "$OUT/summary-baseline-$LINES.json" ]; then
        echo "   baseline: $(tr -d ' \n' < "$OUT/summary-baseline-$LINES.json" | grep -o '"baseline":{[^}]*}')"
    fi
    if [ "$HYPERFINE" = 1 ] && command -v hyperfine >/dev/null; then
        hyperfine -N --warmup 1 --runs "$RUNS" --export-markdown "$OUT/hyperfine-$LINES.md" \
            -n "wc -l" "wc -l $DUMP" \
            -n parquet "${LABEL[*]} -o $OUTPUT_DIR/out-$LINES.parquet" \
            -n csv "${LABEL[*]} -o $OUTPUT_DIR/out-$LINES.csv"
    fi
done
rm -f "$OUTPUT_DIR"/out-*.csv   # large; the Parquet files are kept for inspection
echo "== results: $RESULTS"
exit "$FAILED"
