#!/bin/sh
# import.sh - the import benchmark.
#
# Generates a large inventory with build/bench/gen-inventory into bench/out/
# (100,000 members and 1,000,000 certificates unless BENCH_MEMBERS /
# BENCH_CERTS say otherwise), imports it into a fresh SQLite store with
# build/certdesk, timing each `certdesk import KIND FILE` (wall time, rows/s,
# peak RSS from /usr/bin/time -v), then `certdesk campaign create` over it and
# `certdesk status --member ID --json` BENCH_STATUS_RUNS (100) times for one
# member (median and p95). Prints a table and writes bench/out/import.json.
#
# Builds nothing: `make bench` builds first. Environment:
#   BENCH_MEMBERS BENCH_CERTS   sizes (100000, 1000000)
#   BENCH_BUNDLE                leaves per PEM bundle (1000)
#   BENCH_STATUS_MEMBER         the member queried (m1)
#   BENCH_STATUS_RUNS           status runs (100)
#   BUILD_DIR                   where certdesk and bench/gen-inventory are (build)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CERTDESK=$BUILD/certdesk
GEN=$BUILD/bench/gen-inventory
OUT=$ROOT/bench/out
MEMBERS=${BENCH_MEMBERS:-100000}
CERTS=${BENCH_CERTS:-1000000}
BUNDLE=${BENCH_BUNDLE:-1000}
MEMBER=${BENCH_STATUS_MEMBER:-m1}
RUNS=${BENCH_STATUS_RUNS:-100}
TIME=/usr/bin/time

for f in "$CERTDESK" "$GEN"; do
	[ -x "$f" ] || { echo "import.sh: $f not built (run 'make bench')" >&2; exit 1; }
done
[ -x "$TIME" ] || { echo "import.sh: $TIME missing (Debian package 'time')" >&2; exit 1; }

now_ns() { date +%s%N; }
# ms between two now_ns values, 3 decimals
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'; }

rm -rf "$OUT"
mkdir -p "$OUT"
CFG=$OUT/certdesk.ini
cat >"$CFG" <<EOF
# written by bench/import.sh
[store]
url = sqlite:$OUT/certdesk.db

[secrets]
master_key_file = $OUT/master.key

[log]
level = warn
EOF

echo "== generating $MEMBERS members, $CERTS certificates into bench/out"
"$GEN" "$OUT" "$MEMBERS" "$CERTS" "$BUNDLE" | tee "$OUT/gen.txt"
GEN_S=$(sed -n 's/.*: \([0-9.]*\) s, .*/\1/p' "$OUT/gen.txt")

"$CERTDESK" --config "$CFG" init >"$OUT/init.log" 2>&1 ||
	{ cat "$OUT/init.log" >&2; echo "import.sh: certdesk init failed" >&2; exit 1; }

# measure NAME ROWS CMD...: times CMD, appends "NAME ROWS SECONDS RSS_KB" to results.
: >"$OUT/results.txt"
measure() {
	name=$1 rows=$2
	shift 2
	t0=$(now_ns)
	if ! "$TIME" -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then
		echo "import.sh: '$*' failed:" >&2
		tail -n 20 "$OUT/$name.err" >&2
		exit 1
	fi
	t1=$(now_ns)
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$OUT/$name.time")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	echo "$name $rows $secs ${rss:-0}" >>"$OUT/results.txt"
	printf '   %-13s %9s rows %9.2f s\n' "$name" "$rows" "$secs"
}

# run NAME ROWS ARGS...: measures `certdesk ARGS...`
run() {
	name=$1 rows=$2
	shift 2
	measure "$name" "$rows" "$CERTDESK" --config "$CFG" "$@"
}

rows() { echo $(($(wc -l <"$1") - 1)); }

echo "== importing"
for kind in members servers sites certificates; do
	run "$kind" "$(rows "$OUT/$kind.csv")" import "$kind" "$OUT/$kind.csv"
done

# The floor to compare with: the same certificates.csv loaded by sqlite3's own
# CSV import into a bare table: no validation, no PEM, no indexes.
rm -f "$OUT/baseline.db"
measure sqlite3-import "$(rows "$OUT/certificates.csv")" \
	sqlite3 "$OUT/baseline.db" ".mode csv" ".import $OUT/certificates.csv raw"

DEADLINE=$(date -u -d '+30 days' +%F)
run campaign "$CERTS" campaign create --name bench --issuer "$(cat "$OUT/g3.dn")" \
	--deadline "$DEADLINE"

echo "== status --member $MEMBER --json, $RUNS runs"
: >"$OUT/status-ms.txt"
i=0
while [ "$i" -lt "$RUNS" ]; do
	t0=$(now_ns)
	if ! "$CERTDESK" --config "$CFG" status --member "$MEMBER" --json >"$OUT/status.json" \
		2>"$OUT/status.err"; then
		echo "import.sh: certdesk status --member $MEMBER --json failed:" >&2
		tail -n 20 "$OUT/status.err" >&2
		exit 1
	fi
	t1=$(now_ns)
	ms "$t0" "$t1" >>"$OUT/status-ms.txt"
	i=$((i + 1))
done
sort -n "$OUT/status-ms.txt" >"$OUT/status-ms.sorted"
STATUS=$(awk '{ v[NR] = $1 } END {
	med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	k = int(NR * 0.95); if (k < NR * 0.95) k++; if (k < 1) k = 1
	printf "%.2f %.2f", med, v[k] }' "$OUT/status-ms.sorted")
MEDIAN=${STATUS% *}
P95=${STATUS#* }

# --- report --------------------------------------------------------------------
echo
echo "certdesk import benchmark: $MEMBERS members, $CERTS certificates ($(nproc) CPUs)"
printf '%-13s %10s %10s %12s %12s\n' step rows seconds rows/s "peak RSS MB"
awk '{ printf "%-13s %10d %10.2f %12.0f %12.1f\n", $1, $2, $3, ($3 > 0 ? $2 / $3 : 0), $4 / 1024 }' \
	"$OUT/results.txt"
printf 'status --json (member %s, %d runs): median %s ms, p95 %s ms\n' "$MEMBER" "$RUNS" \
	"$MEDIAN" "$P95"
printf 'generation: %s s\n' "${GEN_S:-?}"

{
	printf '{\n  "members": %s,\n  "certificates": %s,\n  "cpus": %s,\n' "$MEMBERS" "$CERTS" "$(nproc)"
	printf '  "generate_seconds": %s,\n  "steps": {\n' "${GEN_S:-null}"
	awk '{ printf "%s    \"%s\": {\"rows\": %d, \"seconds\": %.3f, \"rows_per_second\": %.1f, \"max_rss_kb\": %d}",
		(NR > 1 ? ",\n" : ""), $1, $2, $3, ($3 > 0 ? $2 / $3 : 0), $4 } END { print "" }' \
		"$OUT/results.txt"
	printf '  },\n  "status": {"member": "%s", "runs": %s, "median_ms": %s, "p95_ms": %s}\n}\n' \
		"$MEMBER" "$RUNS" "$MEDIAN" "$P95"
} >"$OUT/import.json"
