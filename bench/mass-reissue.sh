#!/bin/sh
# mass-reissue.sh N - the reissue pipeline at scale: N certificates issued by
# Pebble "g3" sit on BENCH_SERVERS nginx hosting servers (127.0.0.2, .3, ...);
# a campaign, N operator orders, then one `certdesk worker` takes every order
# from queued to done at Pebble "g4" (preflight against challtestsrv, ACME
# with http-01 through nginx, install + reload, verify over TLS, the mail to an
# SMTP sink, revocation at g3). Pebble runs with PEBBLE_VA_NOSLEEP=1
# PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0, as TESTING.md asks of benchmarks.
#
# For each key type of BENCH_KEYS (default "p256 rsa2048", [ca g4] key_type)
# it prints: certificates/minute, CPU seconds per certificate for certdesk (its
# own, and the nginx -t / reload commands it runs), the nginx servers, Pebble g4
# and g3 apart, nginx reloads used, the time per stage (from the orders' events,
# which have one-second resolution), peak RSS; and, first, bench/acme-peers.sh's
# issuance-only rates in the same run (BENCH_PEERS_NAMES names, default 20).
#
# usage: bench/mass-reissue.sh [N]    (N default 1000; needs a release build:
#        `make bench` or meson setup build --buildtype=release; CERTDESK=path)
# Environment: BENCH_KEYS, BENCH_SETUP_JOBS (concurrent g3 issuances in the setup, 8),
#   BENCH_SERVERS (4), BENCH_THREADS (worker threads, 16),
#   BENCH_COALESCE_MS (reload coalescing window, 1000), BENCH_LIMIT (seconds the
#   orders may take, 1800), BENCH_STALL (stop when no order moves for this long,
#   300), BENCH_PEERS (acme-peers' clients; default the installed ones; "none"
#   skips it), BENCH_OUT (bench/out/mass-reissue: logs, results-*.json).
# Not part of `make check`; `make bench BENCH_MASS=1000` runs it.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
N=${1:-1000}
case $N in '' | *[!0-9]*) echo "usage: bench/mass-reissue.sh [N]" >&2; exit 2 ;; esac
: "${CERTDESK:=build/certdesk}"
case $CERTDESK in /*) ;; *) CERTDESK=$ROOT/$CERTDESK ;; esac
export CERTDESK
KEYS=${BENCH_KEYS:-p256 rsa2048}
OUT=${BENCH_OUT:-$ROOT/bench/out/mass-reissue}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac

# --- the parent: the peers' rates, then one child run per key type -----------------
if [ -z "${BENCH_ONE:-}" ]; then
	[ -x "$CERTDESK" ] || { echo "mass-reissue: $CERTDESK not built (make bench)" >&2; exit 1; }
	for p in pebble pebble-challtestsrv nginx sqlite3 python3 curl openssl; do
		command -v $p >/dev/null 2>&1 || [ -x /usr/sbin/$p ] ||
			{ echo "mass-reissue: $p is missing (scripts/install-deps --bench)" >&2; exit 1; }
	done
	mkdir -p "$OUT"
	rm -f "$OUT"/results-*.json
	peers=${BENCH_PEERS:-}
	if [ -z "$peers" ]; then
		peers=certdesk
		for p in lego certbot uacme; do command -v $p >/dev/null 2>&1 && peers="$peers $p"; done
	fi
	if [ "$peers" != none ]; then
		echo "== bench/acme-peers.sh (issuance only, ${BENCH_PEERS_NAMES:-20} names): $peers"
		BENCH_NAMES=${BENCH_PEERS_NAMES:-20} BENCH_PEERS=$peers sh bench/acme-peers.sh \
			>"$OUT/acme-peers.txt" 2>"$OUT/acme-peers.log"
		cat "$OUT/acme-peers.txt"
	fi
	rc=0
	for k in $KEYS; do
		echo
		echo "== $N orders end to end, [ca g4] key_type = $k"
		BENCH_ONE=$k sh "$0" "$N" || rc=1
	done
	echo
	python3 - "$OUT" "$N" $KEYS <<'PY'
import json, os, sys
out, n, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = []
for k in keys:
    p = os.path.join(out, f"results-{k}.json")
    if os.path.exists(p):
        rows.append(json.load(open(p)))
if not rows:
    sys.exit(1)
print(f"Mass reissue, {n} orders per key type (certdesk worker; Pebble no VA sleep, no nonce rejects)")
fmt = "{:<46}" + "{:>20}" * len(rows)
print(fmt.format("", *[r["key_type"] for r in rows]))
def line(label, f):
    print(fmt.format(label, *[f(r) for r in rows]))
line("orders done / failed / revocation_pending", lambda r: f'{r["done"]}/{r["failed"]}/{r["revocation_pending"]}')
line("wall seconds (worker start to last done)", lambda r: f'{r["wall_s"]:.1f}')
line("certificates/minute", lambda r: f'{r["per_minute"]:.1f}')
line("CPU s/cert: certdesk (own)", lambda r: f'{r["cpu"]["certdesk"]:.4f}')
line("CPU s/cert: nginx -t/reload run by certdesk", lambda r: f'{r["cpu"]["certdesk_children"]:.4f}')
line("CPU s/cert: nginx servers", lambda r: f'{r["cpu"]["nginx"]:.4f}')
line("CPU s/cert: Pebble g4 (issuing)", lambda r: f'{r["cpu"]["pebble_g4"]:.4f}')
line("CPU s/cert: Pebble g3 (revoking)", lambda r: f'{r["cpu"]["pebble_g3"]:.4f}')
line("nginx reloads (all servers)", lambda r: f'{r["reloads"]}')
line("mails received (distinct Message-IDs)", lambda r: f'{r["mails"]}')
line("peak RSS MB: certdesk worker", lambda r: f'{r["rss_kb"]["certdesk"] / 1024:.0f}')
line("peak RSS MB: Pebble g4", lambda r: f'{r["rss_kb"]["pebble_g4"] / 1024:.0f}')
line("peak RSS MB: one nginx (largest process)", lambda r: f'{r["rss_kb"]["nginx"] / 1024:.0f}')
line("CPU s total: certdesk / its nginx commands", lambda r: f'{r["cpu_total_s"]["certdesk"]:.0f} / {r["cpu_total_s"]["certdesk_children"]:.0f}')
line("CPU s total: nginx / Pebble g4 / g3", lambda r: f'{r["cpu_total_s"]["nginx"]:.0f} / {r["cpu_total_s"]["pebble_g4"]:.0f} / {r["cpu_total_s"]["pebble_g3"]:.0f}')
print("time in each state (s, from entering it to leaving it): mean / p50 / p90")
for st in rows[0]["stages"]:
    line(f"  {st}", lambda r, st=st: "/".join(f'{x:.1f}' for x in r["stages"].get(st, [0, 0, 0])[:3]))
PY
	exit $rc
fi

# --- a child: one key type ----------------------------------------------------------
KEY=$BENCH_ONE
SERVERS=${BENCH_SERVERS:-4}
THREADS=${BENCH_THREADS:-16}
LIMIT=${BENCH_LIMIT:-1800}
STALL=${BENCH_STALL:-300}
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/integration/lib/nginx.sh
. tests/integration/lib/smtp.sh
SMTP_SINK=$ROOT/tests/integration/lib/smtpsink.py
LOG=$OUT/$KEY
rm -rf "$LOG"
mkdir -p "$LOG"
say() { echo "# $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }

# cpu PID: user+system seconds of a process and of its children it has waited for
# (an nginx master reaps the workers a reload replaces)
cpu() {
	python3 -c 'import os,sys
f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split()
t=os.sysconf("SC_CLK_TCK"); print((int(f[11])+int(f[12]))/t, (int(f[13])+int(f[14]))/t)' "$1"
}
# nginx_cpu: every server's master (with the workers it reaped) plus its live workers
nginx_cpu() {
	t=0
	for s in $SRV_NAMES; do
		m=$(nginx_pid "$s")
		for p in $m $(pgrep -P "$m"); do
			set -- $(cpu "$p" 2>/dev/null || echo 0 0)
			t=$(calc "$t + $1 + $2")
		done
	done
	echo "$t"
}
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# dns_a ADDR FILE: every name of FILE (and www.NAME) now resolves to ADDR only
dns_a() {
	python3 - "$CTS_MGMT" "$1" "$2" <<'PY'
import json, sys, urllib.request
mgmt, addr, f = sys.argv[1:]
def post(path, body):
    urllib.request.urlopen(urllib.request.Request(mgmt + "/" + path, json.dumps(body).encode(), method="POST")).read()
for n in open(f).read().split():
    for h in (n, "www." + n):
        post("clear-a", {"host": h})
        post("add-a", {"host": h, "addresses": [addr]})
PY
}

challtestsrv_start || die "challtestsrv did not start"
HP=$(free_port)
PEBBLE_HTTP_PORT=$HP PEBBLE_VALIDITY_SECONDS=31536000 pebble_start g3 || die "pebble g3"
PEBBLE_HTTP_PORT=$HP PEBBLE_VALIDITY_SECONDS=7776000 pebble_start g4 || die "pebble g4"
smtp_start || die "SMTP sink"
pebble_roots g4 "$WORK/g4-roots.pem" || die "g4 roots"

new_store "$WORK/s"
{
	printf '[log]\nlevel = warn\n'
	printf '[acme]\nactive_ca = g4\npoll_initial_ms = 100\npoll_max_ms = 1000\n'
	pebble_ca_section g4 g4
	printf 'key_type = %s\nroots = %s\ncaa_identity = pebble.letsencrypt.org\n' "$KEY" \
		"$WORK/g4-roots.pem"
	pebble_ca_section g3 g3
	printf 'key_type = p256\n'
	printf '[dcv]\nresolver = %s\n' "$CTS_DNS"
	smtp_ini
	printf 'retry_base_ms = 1000\nretry_cap_ms = 10000\n'
	printf '[worker]\nthreads = %s\nclaim_interval_ms = 100\nbackoff_base_ms = 500\n' "$THREADS"
	printf 'backoff_cap_ms = 10000\npoll_ms = 200\nlease_seconds = 300\n'
	printf '[install]\ncoalesce_ms = %s\nreload_timeout_ms = 60000\ncommand_timeout_ms = 120000\n' \
		"${BENCH_COALESCE_MS:-1000}"
	printf '[verify]\nattempts = 10\nretry_ms = 500\ntimeout_ms = 10000\n'
} >>"$WORK/s/certdesk.ini"

# --- N certificates at g3, names pointing at certdesk's own http-01 listener ---------
i=1
: >"$WORK/names"
while [ $i -le "$N" ]; do echo "s$i.mass.test" >>"$WORK/names"; i=$((i + 1)); done
dns_a 127.0.0.1 "$WORK/names"
t=$(now)
# bounded: Pebble 2.4's memory store can deadlock under concurrent newOrders (every
# request then waits on one RWMutex); a stuck setup says so instead of hanging
timeout $((120 + N / 5)) $CD ca issue --ca g3 --names-file "$WORK/names" --each \
	--jobs "${BENCH_SETUP_JOBS:-8}" --out "$WORK/old" --http-listen "127.0.0.1:$HP" \
	>"$LOG/old-issue.log" 2>&1 ||
	die "g3 issuance failed or stuck after $(ls "$WORK/old" 2>/dev/null | wc -l) certificates (Pebble deadlock?): $(tail -3 "$LOG/old-issue.log")"
say "setup: $N old certificates at g3 in $(calc "$(now) - $t") s"
G3_DN=$(openssl x509 -in "$WORK/old/s1.mass.test/fullchain.pem" -noout -issuer -nameopt RFC2253 |
	sed 's/^issuer=//')
printf '[ca g3]\nissuer_dn = %s\n' "$G3_DN" >>"$WORK/s/certdesk.ini"

# --- the hosting servers: site i on server (i mod SERVERS) + 1 ------------------------------
printf 'server,ipv4,ipv6,state,driver,http_port,https_port\n' >"$WORK/servers.csv"
echo "fqdn,member_id,server,state" >"$WORK/sites.csv"
echo "certificate_id,member_id,product,common_name,term_start,term_end,pem_file" >"$WORK/certificates.csv"
echo "member_id,email,display_name,locale" >"$WORK/members.csv"
for m in 1 2 3 4 5 6 7 8 9 10; do
	echo "m$m,m$m@example.test,Member $m,$([ $((m % 2)) = 0 ] && echo en || echo ja)" >>"$WORK/members.csv"
done
SRV_NAMES=""
s=1
while [ $s -le "$SERVERS" ]; do
	SRV_NAMES="$SRV_NAMES web$s"
	eval "TLS_web$s=$(free_port)"
	nginx_server_init "web$s" "127.0.0.$((s + 1))" "$HP" "$(eval echo \$TLS_web$s)" "$WORK/root-web$s" ||
		die "nginx web$s"
	: >"$WORK/names-web$s"
	s=$((s + 1))
done
y=$(date -u +%Y)
i=1
while read -r n; do
	s=$((i % SERVERS + 1))
	nginx_site_add "web$s" "$n" "$WORK/old/$n/fullchain.pem" "$WORK/old/$n/privkey.pem" || die "site $n"
	echo "$n" >>"$WORK/names-web$s"
	echo "$n,m$((i % 10 + 1)),web$s,ok" >>"$WORK/sites.csv"
	echo "c$i,m$((i % 10 + 1)),jprs_dv_rs_1y,$n,$y-01-01,$((y + 1))-12-31,old/$n/fullchain.pem" \
		>>"$WORK/certificates.csv"
	i=$((i + 1))
done <"$WORK/names"
for s in $SRV_NAMES; do
	dns_a "127.0.0.$((${s#web} + 1))" "$WORK/names-$s"
	nginx_server_start "$s" || die "nginx $s did not start"
	nginx_certdesk_ini "$s" >>"$WORK/s/certdesk.ini"
	printf '%s,127.0.0.%s,,ok,nginx,%s,%s\n' "$s" "$((${s#web} + 1))" "$HP" "$(eval echo \$TLS_$s)" \
		>>"$WORK/servers.csv"
done
for k in members servers sites certificates; do
	$CD import "$k" "$WORK/$k.csv" >"$LOG/import-$k.log" 2>&1 || die "import $k: $(tail -3 "$LOG/import-$k.log")"
done
for s in $SRV_NAMES; do
	$CD import installed --server "$s" "$WORK/root-$s" >>"$LOG/import-installed.log" 2>&1 || die "import installed $s"
done
$CD campaign create --name mass --issuer "$G3_DN" --deadline "$(date -u -d '+30 days' +%Y-%m-%d)" \
	>"$LOG/campaign.log" 2>&1 || die "campaign: $(cat "$LOG/campaign.log")"
t=$(now)
i=1
while [ $i -le "$N" ]; do echo "c$i"; i=$((i + 1)); done |
	xargs -P 2 -I{} $CD reissue --certificate {} >"$LOG/reissue.log" 2>&1
say "setup: $(grep -c queued "$LOG/reissue.log") orders queued in $(calc "$(now) - $t") s"

# --- the run ---------------------------------------------------------------------------
reloads() { t=0; for s in $SRV_NAMES; do t=$((t + $(grep -c SIGHUP "$(nginx_error_log "$s")"))); done; echo $t; }
R0=$(reloads)
NG0=$(nginx_cpu)
set -- $(cpu "$PEBBLE_g4_PID"); P40=$(calc "$1 + $2")
set -- $(cpu "$PEBBLE_g3_PID"); P30=$(calc "$1 + $2")
T0=$(now)
$CD worker >"$LOG/worker.log" 2>&1 &
WPID=$!
TAP_PIDS="$TAP_PIDS $WPID"
DB=$WORK/s/certdesk.db
counts() { sqlite3 -cmd '.timeout 5000' "$DB" "SELECT state, count(*) FROM orders GROUP BY state" | tr '\n' ' '; }
closed() { sqlite3 -cmd '.timeout 5000' "$DB" "SELECT count(*) FROM orders WHERE state IN ('done','failed','canceled')"; }
# progress is any order's transition: a run whose orders all wait at one stage is stalled
moved() { sqlite3 -cmd '.timeout 5000' "$DB" "SELECT count(*) FROM events WHERE kind = 'order.transition'"; }
last=0 last_t=$(date +%s) shown=0
while :; do
	c=$(closed)
	m=$(moved)
	nt=$(date +%s)
	[ "${m:-0}" != "$last" ] && { last=$m last_t=$nt; }
	if [ $((nt - shown)) -ge 30 ]; then say "$((nt - ${T0%.*})) s: $(counts)"; shown=$nt; fi
	[ "${c:-0}" -ge "$N" ] && break
	if [ $((nt - last_t)) -ge "$STALL" ]; then say "STALLED: no order moved for $STALL s: $(counts)"; break; fi
	if [ $((nt - ${T0%.*})) -ge "$LIMIT" ]; then say "LIMIT: $LIMIT s reached: $(counts)"; break; fi
	kill -0 "$WPID" 2>/dev/null || { say "the worker exited: $(tail -3 "$LOG/worker.log")"; break; }
	sleep 1
done
T1=$(now)
set -- $(cpu "$WPID"); CD_SELF=$1 CD_KIDS=$2
CD_RSS=$(hwm "$WPID")
set -- $(cpu "$PEBBLE_g4_PID"); P41=$(calc "$1 + $2")
set -- $(cpu "$PEBBLE_g3_PID"); P31=$(calc "$1 + $2")
NG1=$(nginx_cpu)
R1=$(reloads)
P4_RSS=$(hwm "$PEBBLE_g4_PID")
NG_RSS=0
for s in $SRV_NAMES; do
	for p in $(nginx_pid "$s") $(pgrep -P "$(nginx_pid "$s")"); do
		h=$(hwm "$p"); [ "${h:-0}" -gt "$NG_RSS" ] && NG_RSS=$h
	done
done
kill "$WPID"
wait "$WPID" 2>/dev/null
sleep 2
MAILS=$(smtp_distinct_ids)
tail -n 5 "$LOG/worker.log" | sed 's/^/# worker: /' >&2
sqlite3 "$DB" "SELECT failure, count(*) FROM orders WHERE state = 'failed' GROUP BY failure" >"$LOG/failures.txt"
[ -s "$LOG/failures.txt" ] && sed 's/^/# failed: /' "$LOG/failures.txt" >&2

python3 - "$DB" "$OUT/results-$KEY.json" "$KEY" "$N" "$T0" "$T1" "$CD_SELF" "$CD_KIDS" \
	"$(calc "$NG1 - $NG0")" "$(calc "$P41 - $P40")" "$(calc "$P31 - $P30")" \
	"$((R1 - R0))" "$MAILS" "$CD_RSS" "$P4_RSS" "$NG_RSS" <<'PY'
import json, sqlite3, statistics, sys
(db, out, key, n, t0, t1, cd_self, cd_kids, ng, p4, p3, reloads, mails,
 cd_rss, p4_rss, ng_rss) = sys.argv[1:]
c = sqlite3.connect(db)
cnt = dict(c.execute("SELECT state, count(*) FROM orders GROUP BY state").fetchall())
done = cnt.get("done", 0)
rp = c.execute("SELECT count(*) FROM orders WHERE state = 'done' AND revocation_pending").fetchone()[0]
last_done = c.execute("SELECT max(at) FROM events WHERE kind = 'order.transition' AND to_state = 'done'").fetchone()[0]
t0, t1 = float(t0), float(t1)
# the wall time ends at the last order's `done` (one-second events): a stalled run's
# rate counts the orders finished over the time they took, not the wait for the stall
end = min(t1, last_done + 1) if last_done else t1
wall = max(end - t0, 1e-9)
per = {}
prev = {}
for oid, at, frm, to in c.execute("SELECT order_id, at, from_state, to_state FROM events "
                                  "WHERE kind = 'order.transition' ORDER BY event_id"):
    if oid in prev and frm:
        p_at, p_state = prev[oid]
        if p_state == frm:
            # the queue wait counts from the worker's start, not from the order's creation
            start = max(p_at, t0) if frm == "queued" else p_at
            per.setdefault(frm, []).append(max(at - start, 0))
    prev[oid] = (at, to)
order = ["queued", "preflight", "key_ready", "ordered", "validating", "finalizing", "issued",
         "installed", "live", "notified", "old_revoked"]
stages = {}
for st in order + sorted(set(per) - set(order)):
    v = sorted(per.get(st, []))
    if v:
        stages[st] = [statistics.mean(v), v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.9))], len(v)]
d = done if done else float("nan")  # no certificate: no cost per certificate
r = {"key_type": key, "orders": int(n), "done": done, "failed": cnt.get("failed", 0),
     "open": int(n) - done - cnt.get("failed", 0) - cnt.get("canceled", 0),
     "revocation_pending": rp, "wall_s": wall, "per_minute": done / wall * 60,
     "cpu": {"certdesk": float(cd_self) / d, "certdesk_children": float(cd_kids) / d,
             "nginx": float(ng) / d, "pebble_g4": float(p4) / d, "pebble_g3": float(p3) / d},
     "cpu_total_s": {"certdesk": float(cd_self), "certdesk_children": float(cd_kids),
                     "nginx": float(ng), "pebble_g4": float(p4), "pebble_g3": float(p3)},
     "reloads": int(reloads), "mails": int(mails),
     "rss_kb": {"certdesk": int(cd_rss), "pebble_g4": int(p4_rss), "nginx": int(ng_rss)},
     "stages": stages, "states": cnt}
json.dump(r, open(out, "w"), indent=1)
print(f"# {key}: {done}/{n} done, {r['failed']} failed, {r['open']} open, {wall:.1f} s, "
      f"{r['per_minute']:.1f} certificates/minute, {reloads} reloads", file=sys.stderr)
PY
