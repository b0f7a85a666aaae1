#!/usr/bin/env bash
# Rebuilds the fuzz seed corpora, fuzz/seeds/<target>/, from testdata/ (a
# few KB per target; deterministic). The seeds are committed; run this
# when the fixtures or a target's input layout change. Needs gzip, zstd
# and a debug build of kubenetmon (built here) for the report rows.
#
#   fuzz/make-seeds.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SEEDS="$ROOT/fuzz/seeds"
TD="$ROOT/testdata"
rm -rf "$SEEDS"
mkdir -p "$SEEDS"
seed() { # TARGET NAME < bytes
  mkdir -p "$SEEDS/$1"
  cat >"$SEEDS/$1/$2"
}
# A selector byte (the targets' first byte) and then a file.
with_byte() { # OCTAL_BYTE FILE
  printf "\\$1"
  cat "$2"
}

# parse_line: the first and the last line of every conntrack fixture, and
# two bare IPv6 addresses (tried inside a common line by the target).
for f in "$TD"/conntrack/*/*.txt; do
  n=$(basename "$f" .txt)
  head -n 1 "$f" | tr -d '\n' | seed parse_line "$n-first"
  tail -n 1 "$f" | tr -d '\n' | seed parse_line "$n-last"
done
printf '2600:1f18:4a3:6c01:a1b6::b' | seed parse_line v6-short
printf 'fd00:0001:0000:0000:0000:0000:0000:0011' | seed parse_line v6-full

# parse_chunk: the first lines of a few dumps, one without a final newline.
for n in list-default list-ipv6 events-timestamp proc-nf_conntrack; do
  head -n 6 "$TD/conntrack/real/$n.txt" | seed parse_chunk "$n"
done
head -c 400 "$TD/conntrack/handwritten/crlf-no-final-newline.txt" | seed parse_chunk crlf

# inventory: the fixtures, and two documents in one input (NUL between).
for f in "$TD"/inventory/*.json; do
  seed inventory "$(basename "$f" .json)" <"$f"
done
{ cat "$TD/inventory/gcp-node.json"; printf '\0'; cat "$TD/inventory/aws-cluster-update.json"; } \
  | seed inventory two-documents

# ranges: selector 0 aws, 1 gcp, 2 google, 3 azure (Provider::ALL order).
with_byte 000 "$TD/ranges/aws-ip-ranges.json" | seed ranges aws
with_byte 001 "$TD/ranges/gcp-cloud.json" | seed ranges gcp
with_byte 002 "$TD/ranges/google-goog.json" | seed ranges google
with_byte 003 "$TD/ranges/azure-service-tags-public.json" | seed ranges azure
with_byte 000 "$TD/fetch/aws-empty.json" | seed ranges aws-empty

# decompress: plain, gzip (one and two members), zstd.
DUMP="$TD/conntrack/real/list-default.txt"
head -n 4 "$DUMP" | seed decompress plain
head -n 4 "$DUMP" | gzip -n -9 | seed decompress gzip
{ head -n 2 "$DUMP" | gzip -n; sed -n 3,4p "$DUMP" | gzip -n; } | seed decompress gzip-two-members
head -n 4 "$DUMP" | zstd -q -19 -c | seed decompress zstd

# timestamp: --timestamp forms and --period forms.
i=0
for t in 1700000000 1700000000.9 2023-11-14T22:13:20Z 2023-11-14T23:13:20+01:00 \
  4294967295 -9223372036854775808 1e16 5m 2h30m 1w; do
  i=$((i + 1))
  printf '%s' "$t" | seed timestamp "t$i"
done

# classify: address lines as stdin holds them (the inventory's and ranges' addresses).
printf '52.216.10.20 2600:1f18::1 # S3, EC2\n10.0.1.10\t10.244.1.11\n' | seed classify mixed
printf '::ffff:52.216.1.1 8.8.8.8 100.64.0.9 fe80::1 10.0.0.256\n' | seed classify edge
printf '34.1.208.9\n2600:1900::1\n20.50.1.1\n' | seed classify other-clouds
printf '10.0.40.7 10.20.1.1 192.168.3.4\n2600:1f18::9 10.0.31.255\n' | seed classify zones-locations

# subnets: the describe-subnets fixtures (not the 37 KB bench one), and a
# bare array of one subnet.
for f in "$TD"/zones/demo-subnets.json "$TD"/zones/describe-subnets.json; do
  seed subnets "$(basename "$f" .json)" <"$f"
done
printf '[{"AvailabilityZone":"eu-west-1a","SubnetId":"subnet-1","CidrBlock":"10.1.0.0/20","Ipv6CidrBlockAssociationSet":[{"Ipv6CidrBlock":"2a05:d018::/64","Ipv6CidrBlockState":{"State":"associated"}}]}]' \
  | seed subnets bare-array

# prices: the built-in table and a subset.
seed prices built-in <"$ROOT/src/report/prices.json"
printf '{"currency": "EUR", "aws": {"nat_gateway": 0.05}, "gcp": {"internet_out": 0}}' | seed prices subset

# report rows: label the demo (dual schema too), keep the header and a few rows.
cargo build -q --manifest-path "$ROOT/Cargo.toml"
KNM="$ROOT/target/debug/kubenetmon"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
demo=("$TD/demo/dumps" --inventory "$TD/demo/inventory.json" --ranges "$TD/demo/ranges" -q)
"$KNM" label "${demo[@]}" -o "$TMP/up.csv" --timestamp 1700000000
# The dual schema (SPEC §7) differs by two column names (the report does not
# read the addresses), and label has no option for it yet: rename them.
sed '1s/localIPv4/localIP/; 1s/remoteIPv4/remoteIP/' "$TMP/up.csv" >"$TMP/dual.csv"
# report_csv selector: bits 0-1 = 0 upstream header prepended, 1 dual, 2-3 none;
# bits 2-3 the grouping.
head -n 4 "$TMP/up.csv" >"$TMP/up-head.csv"
with_byte 002 "$TMP/up-head.csv" | seed report_csv upstream
tail -n +2 "$TMP/up-head.csv" >"$TMP/up-rows.csv"
with_byte 000 "$TMP/up-rows.csv" | seed report_csv upstream-rows-only
head -n 3 "$TMP/dual.csv" >"$TMP/dual-head.csv"
with_byte 006 "$TMP/dual-head.csv" | seed report_csv dual-by-app
gzip -n -c "$TMP/up-head.csv" >"$TMP/up.csv.gz"
with_byte 002 "$TMP/up.csv.gz" | seed report_csv upstream-gzip
# report_parquet: one small file of each schema (one dump, a few rows).
"$KNM" label "$TD/demo/dumps/ip-10-0-2-20.ec2.internal.txt" --node ip-10-0-2-20.ec2.internal \
  --inventory "$TD/demo/inventory.json" --ranges "$TD/demo/ranges" -q \
  --timestamp 1700000000 -o "$TMP/up.parquet"
# The dual one through pyarrow (another writer), the two columns renamed.
python3 - "$TMP/up.parquet" "$TMP/dual.parquet" <<'PY'
import sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
t = t.rename_columns([{"localIPv4": "localIP", "remoteIPv4": "remoteIP"}.get(n, n) for n in t.column_names])
pq.write_table(t, sys.argv[2], compression="zstd")
PY
with_byte 000 "$TMP/up.parquet" | seed report_parquet upstream
with_byte 001 "$TMP/dual.parquet" | seed report_parquet dual

du -sb "$SEEDS"/* | sed "s|$SEEDS/||"
