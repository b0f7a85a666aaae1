#!/usr/bin/env bash
# Runs one fuzz target for a while, the way docs/reliability.md's runs were
# made: niced, one rayon thread, -rss_limit_mb=512 and the target's
# -max_len, its seeds (fuzz/seeds/TARGET) plus a corpus that grows outside
# the repository (FUZZ_WORK, default fuzz/corpus/, gitignored). The log
# ends with libFuzzer's final stats (execs, exec/s, cov, ft).
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#   fuzz/run.sh all SECONDS      # every target in turn
#
# Needs cargo-fuzz; on a stable toolchain RUSTC_BOOTSTRAP=1 is set here.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${FUZZ_WORK:-$ROOT/fuzz/corpus}"
TARGET="${1:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer options...]}"
SECONDS_="${2:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer options...]}"
shift 2

# Input size limits: a little over the largest seed of each target.
max_len() {
  case "$1" in
    timestamp) echo 64 ;;
    classify) echo 1024 ;;
    prices) echo 2048 ;;
    parse_line | parse_chunk | report_csv) echo 4096 ;;
    ranges | decompress) echo 8192 ;;
    inventory | subnets) echo 16384 ;;
    report_parquet) echo 32768 ;;
    *) echo "unknown target $1" >&2; exit 2 ;;
  esac
}

TARGETS="parse_line parse_chunk inventory ranges decompress timestamp classify subnets prices report_csv report_parquet"
if [ "$TARGET" = all ]; then
  for t in $TARGETS; do "$0" "$t" "$SECONDS_" "$@"; done
  exit 0
fi

LEN="$(max_len "$TARGET")"
mkdir -p "$WORK/$TARGET" "$WORK/artifacts/$TARGET"
cd "$ROOT/fuzz"
export RUSTC_BOOTSTRAP=1 RAYON_NUM_THREADS=1
exec nice -n 19 cargo fuzz run "$TARGET" "$WORK/$TARGET" "seeds/$TARGET" -- \
  -rss_limit_mb=512 -malloc_limit_mb=512 -max_len="$LEN" -max_total_time="$SECONDS_" \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$TARGET/" "$@"
