#!/bin/sh
# notify.sh - the campaign mail benchmark.
#
# Generates BENCH_MEMBERS (100,000) members with BENCH_CERTS (300,000)
# certificates, three each (build/bench/gen-inventory, as bench/import.sh
# does; some have expired, so a few members have nothing affected) into
# bench/out-notify/,
# imports them into a fresh SQLite store, creates a campaign over all of
# them, then measures:
#   queue    `certdesk campaign notify ID --queue-only`: rendering and queueing
#            one mail per member into the outbox (mails/s, peak RSS);
#   deliver  `certdesk mail deliver --once` into a local SMTP sink
#            (bench/smtpcount.py, aiosmtpd) until the outbox is empty
#            (mails/s, peak RSS), and the sink's count of distinct Message-IDs;
#   peer     the sink's own rate in the same run: Python's smtplib sending
#            BENCH_PEER_MAILS (20,000) copies of one of certdesk's messages
#            over one connection into the same sink.
# Prints a table and writes bench/out-notify/notify.json. Not part of make check.
#
# Builds nothing. Environment:
#   BENCH_MEMBERS       members (100000)
#   BENCH_CERTS         certificates, shared out in turn among the members (300000)
#   BENCH_PEER_MAILS    messages the smtplib peer sends (20000)
#   BENCH_BATCH         [mail] batch, messages claimed per delivery pass (1000)
#   BUILD_DIR           where certdesk and bench/gen-inventory are (build)
#   SMTP_PYTHON         a python3 that can import aiosmtpd (/usr/bin/python3)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CERTDESK=$BUILD/certdesk
GEN=$BUILD/bench/gen-inventory
OUT=$ROOT/bench/out-notify
MEMBERS=${BENCH_MEMBERS:-100000}
CERTS=${BENCH_CERTS:-$((MEMBERS * 3))}
PEER=${BENCH_PEER_MAILS:-20000}
BATCH=${BENCH_BATCH:-1000}
PY=${SMTP_PYTHON:-/usr/bin/python3}
SINK=$ROOT/bench/smtpcount.py
TIME=/usr/bin/time

for f in "$CERTDESK" "$GEN"; do
	[ -x "$f" ] || { echo "notify.sh: $f not built (run 'make bench')" >&2; exit 1; }
done
[ -x "$TIME" ] || { echo "notify.sh: $TIME missing (Debian package 'time')" >&2; exit 1; }
"$PY" -c 'import aiosmtpd' 2>/dev/null ||
	{ echo "notify.sh: $PY cannot import aiosmtpd (python3-aiosmtpd)" >&2; exit 1; }

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now_ns() { date +%s%N; }

SINK_PID=""
cleanup() { [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

rm -rf "$OUT"
mkdir -p "$OUT"
SMTP_PORT=$(free_port)
STATS_PORT=$(free_port)
CFG=$OUT/certdesk.ini
cat >"$CFG" <<EOF
# written by bench/notify.sh
[store]
url = sqlite:$OUT/certdesk.db
[secrets]
master_key_file = $OUT/master.key
[log]
level = warn
[provider]
name = Bench Hosting
[mail]
smtp_url = smtp://127.0.0.1:$SMTP_PORT
from = noreply@bench.test
batch = $BATCH
[web]
base_url = https://portal.bench.test
EOF
CD="$CERTDESK --config $CFG"

echo "== generating and importing $MEMBERS members, $CERTS certificates"
"$GEN" "$OUT" "$MEMBERS" "$CERTS" 1000 >"$OUT/gen.txt"
$CD init >"$OUT/init.log" 2>&1
for kind in members servers sites certificates; do
	$CD import "$kind" "$OUT/$kind.csv" >"$OUT/import-$kind.log" 2>&1 ||
		{ tail -n 20 "$OUT/import-$kind.log" >&2; exit 1; }
done
$CD campaign create --name bench --issuer "$(cat "$OUT/g3.dn")" \
	--deadline "$(date -u -d '+30 days' +%F)" >"$OUT/campaign.log"
CAMPAIGN=$(sed -n 's/^campaign id //p' "$OUT/campaign.log")

"$PY" "$SINK" serve --port "$SMTP_PORT" --stats-port "$STATS_PORT" >"$OUT/sink.log" 2>&1 &
SINK_PID=$!
i=0
until "$PY" "$SINK" stats --stats-port "$STATS_PORT" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "notify.sh: the SMTP sink did not start" >&2; exit 1; }
	sleep 0.1
done

# measure NAME CMD...: wall seconds and peak RSS (KiB) of CMD into $OUT/NAME.*
measure() {
	name=$1
	shift
	t0=$(now_ns)
	"$TIME" -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" ||
		{ echo "notify.sh: '$*' failed:" >&2; tail -n 20 "$OUT/$name.err" >&2; exit 1; }
	t1=$(now_ns)
	eval "${name}_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
	eval "${name}_RSS=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$OUT/$name.time")"
	# CPU seconds too: on a shared machine the wall time says more about the others
	eval "${name}_CPU=$(awk -F': *' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' \
		"$OUT/$name.time")"
}

echo "== campaign notify $CAMPAIGN --queue-only"
measure queue $CD campaign notify "$CAMPAIGN" --queue-only
QUEUED=$(sqlite3 "$OUT/certdesk.db" "SELECT COUNT(*) FROM outbox WHERE kind = 'campaign'")
echo "== mail deliver --once ($QUEUED mails)"
measure deliver $CD mail deliver --once
SENT=$(sqlite3 "$OUT/certdesk.db" "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
"$PY" "$SINK" stats --stats-port "$STATS_PORT" >"$OUT/sink-certdesk.json"

echo "== the peer: smtplib, $PEER messages into the same sink"
sqlite3 "$OUT/certdesk.db" "SELECT message FROM outbox LIMIT 1" >"$OUT/sample.eml"
measure peer "$PY" "$SINK" send --port "$SMTP_PORT" --count "$PEER" --message "$OUT/sample.eml" \
	--rcpt m1@bench.test
cp "$OUT/peer.out" "$OUT/peer.json"

"$PY" - "$OUT" "$MEMBERS" "$QUEUED" "$SENT" "$queue_S" "$queue_RSS" "$deliver_S" \
	"$deliver_RSS" "$queue_CPU" "$deliver_CPU" "$peer_CPU" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, os, sys
out, members, queued, sent = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
qs, qrss, ds, drss = float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
qcpu, dcpu, pcpu, load = float(sys.argv[9]), float(sys.argv[10]), float(sys.argv[11]), sys.argv[12]
sink = json.load(open(os.path.join(out, "sink-certdesk.json")))
peer = json.load(open(os.path.join(out, "peer.json")))
size = os.path.getsize(os.path.join(out, "sample.eml"))
r = {
    "members": members, "mails_queued": queued, "mails_sent": sent,
    "queue_seconds": qs, "queue_per_second": queued / qs, "queue_peak_rss_kib": qrss,
    "deliver_seconds": ds, "deliver_per_second": sent / ds, "deliver_peak_rss_kib": drss,
    "sink_messages": sink["messages"], "sink_distinct_message_ids": sink["distinct_ids"],
    "peer_messages": peer["messages"], "peer_per_second": peer["per_second"],
    "message_bytes": size, "queue_cpu_seconds": qcpu, "deliver_cpu_seconds": dcpu,
    "peer_cpu_seconds": pcpu, "load_average_1min_at_end": load,
}
json.dump(r, open(os.path.join(out, "notify.json"), "w"), indent=1)
print("\n%-34s %8s %9s %8s %13s %9s" % ("step", "mails", "mails/s", "CPU s", "mails/CPU-s", "RSS MiB"))
print("%-34s %8d %9.0f %8.1f %13.0f %9.1f" % ("certdesk campaign notify (queue)", queued, queued / qs, qcpu, queued / qcpu, qrss / 1024))
print("%-34s %8d %9.0f %8.1f %13.0f %9.1f" % ("certdesk mail deliver (SMTP)", sent, sent / ds, dcpu, sent / dcpu, drss / 1024))
print("%-34s %8d %9.0f %8.1f %13.0f %9s" % ("peer: python smtplib, same sink", peer["messages"], peer["per_second"], pcpu, peer["messages"] / pcpu, "-"))
print("(the sink's own CPU is not counted; 1-minute load average at the end: %s)" % load)
print("\nsink received %d messages, %d distinct Message-IDs; one message is %d bytes"
      % (sink["messages"], sink["distinct_ids"], size))
PY
