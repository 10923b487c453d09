#!/bin/sh
# portal.sh - the portal benchmark: wrk with a logged-in session on the list page of
# a member with 20 certificates, the store holding 1,000,000 certificates (50,000
# members x 20, made by bench/gen-inventory and imported), next to nginx serving
# the same page's bytes as a static file in the same run. Prints requests/s, p50
# and p99 latency and peak RSS for both, and writes bench/out/portal/portal.json.
#
# Builds nothing: `make bench` (or meson + ninja) builds first. Needs wrk and nginx
# (scripts/install-deps --bench). Environment:
#   BUILD_DIR        where certdesk and bench/gen-inventory are (build)
#   BENCH_MEMBERS BENCH_CERTS   sizes (50000, 1000000): CERTS/MEMBERS per member
#   BENCH_SECONDS    wrk duration per run (15)    BENCH_CONNECTIONS (32)
#   BENCH_THREADS    wrk threads (2)              BENCH_SERVE_THREADS (nproc)
#   BENCH_KEEP=1     reuse bench/out/portal's store when it is there
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CERTDESK=$BUILD/certdesk
GEN=$BUILD/bench/gen-inventory
OUT=$ROOT/bench/out/portal
MEMBERS=${BENCH_MEMBERS:-50000}
CERTS=${BENCH_CERTS:-1000000}
SECS=${BENCH_SECONDS:-15}
CONNS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_THREADS:-2}
SERVE_THREADS=${BENCH_SERVE_THREADS:-$(nproc)}
MEMBER=m1 # odd members carry gen-inventory's hash of "bench-password"

for f in "$CERTDESK" "$GEN"; do
	[ -x "$f" ] || { echo "portal.sh: $f not built (run 'make bench')" >&2; exit 1; }
done
for p in wrk nginx curl python3; do
	command -v "$p" >/dev/null || { echo "portal.sh: $p missing (scripts/install-deps --bench)" >&2; exit 1; }
done

PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
	python3 - "$1" <<'PY'
import socket, sys, time
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

CFG=$OUT/certdesk.ini
if [ "${BENCH_KEEP:-0}" = 1 ] && [ -f "$OUT/certdesk.db" ]; then
	echo "== reusing $OUT/certdesk.db"
else
	rm -rf "$OUT"
	mkdir -p "$OUT"
	printf '[store]\nurl = sqlite:%s/certdesk.db\n[secrets]\nmaster_key_file = %s/master.key\n[log]\nlevel = warn\n' \
		"$OUT" "$OUT" >"$CFG"
	echo "== generating $MEMBERS members, $CERTS certificates"
	"$GEN" "$OUT/inv" "$MEMBERS" "$CERTS" 1000
	"$CERTDESK" --config "$CFG" init >/dev/null
	t0=$(date +%s)
	for k in members servers sites certificates; do
		"$CERTDESK" --config "$CFG" import "$k" "$OUT/inv/$k.csv" >/dev/null
	done
	"$CERTDESK" --config "$CFG" campaign create --name bench --issuer "$(cat "$OUT/inv/g3.dn")" \
		--deadline "$(date -u -d '+30 days' +%Y-%m-%d)" >/dev/null
	echo "== imported in $(($(date +%s) - t0)) s"
	rm -rf "$OUT/inv/certs"
fi

PORT=$(free_port)
sed -i '/^\[web\]/,$d' "$CFG"
printf '[web]\nlisten = 127.0.0.1:%s\nthreads = %s\nmax_connections_per_address = 0\n' \
	"$PORT" "$SERVE_THREADS" >>"$CFG"
"$CERTDESK" --config "$CFG" serve >"$OUT/serve.log" 2>&1 &
SERVE_PID=$!
PIDS="$PIDS $SERVE_PID"
wait_port "$PORT"
URL=http://127.0.0.1:$PORT
curl -s -c "$OUT/jar" -o /dev/null --data 'member_id=m1&password=bench-password' "$URL/login"
SID=$(awk '$6 == "certdesk_session" { print $7 }' "$OUT/jar")
[ -n "$SID" ] || { echo "portal.sh: login as $MEMBER failed" >&2; exit 1; }
curl -s -b "$OUT/jar" -o "$OUT/list.html" "$URL/certificates"
ROWS=$(grep -o 'class="cert"' "$OUT/list.html" | wc -l)
echo "== $MEMBER's list: $ROWS certificates, $(wc -c <"$OUT/list.html") bytes"

# nginx: the same bytes as a static file, one worker per CPU
NPORT=$(free_port)
mkdir -p "$OUT/nginx/html" "$OUT/nginx/logs"
cp "$OUT/list.html" "$OUT/nginx/html/list.html"
cat >"$OUT/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$NPORT; root $OUT/nginx/html;
           location / { default_type text/html; } }
}
EOF
nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" -g 'daemon off;' &
PIDS="$PIDS $!"
wait_port "$NPORT"

# rss PID: peak resident set of a process and its children (kB)
rss() {
	total=0
	for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}
# run NAME URL [wrk args]: prints "NAME req/s p50 p99"
run() {
	name=$1 url=$2
	shift 2
	wrk -t"$WRK_THREADS" -c"$CONNS" -d"${SECS}s" --latency "$@" "$url" >"$OUT/wrk-$name.txt"
	python3 - "$OUT/wrk-$name.txt" "$name" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def lat(p):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)" % p, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(sys.argv[2], f"{rps:.0f}", f"{lat(50):.2f}", f"{lat(99):.2f}", errs.group(1) if errs else "0")
PY
}
echo "== wrk -t$WRK_THREADS -c$CONNS -d${SECS}s (certdesk: $SERVE_THREADS threads)"
C=$(run certdesk "$URL/certificates" -H "Cookie: certdesk_session=$SID")
N=$(run nginx "http://127.0.0.1:$NPORT/list.html")
CRSS=$(rss "$SERVE_PID")
NPID=$(cat "$OUT/nginx/nginx.pid")
NRSS=$(rss "$NPID")
printf '\n%-10s %10s %9s %9s %8s %10s\n' server 'req/s' 'p50 ms' 'p99 ms' 'non-2xx' 'peak RSS'
set -- $C
printf '%-10s %10s %9s %9s %8s %7s MB\n' "$1" "$2" "$3" "$4" "$5" "$((CRSS / 1024))"
CJ="{\"rps\": $2, \"p50_ms\": $3, \"p99_ms\": $4, \"non_2xx\": $5, \"rss_kb\": $CRSS}"
set -- $N
printf '%-10s %10s %9s %9s %8s %7s MB\n' "$1" "$2" "$3" "$4" "$5" "$((NRSS / 1024))"
NJ="{\"rps\": $2, \"p50_ms\": $3, \"p99_ms\": $4, \"non_2xx\": $5, \"rss_kb\": $NRSS}"
printf '{"certificates": %s, "members": %s, "rows": %s, "certdesk": %s, "nginx": %s}\n' \
	"$CERTS" "$MEMBERS" "$ROWS" "$CJ" "$NJ" >"$OUT/portal.json"
