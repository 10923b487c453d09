#!/bin/sh
# test_worker_nodes.sh - one live process per [worker] node name: a second
# `certdesk worker` with the node name of a running one refuses to start and
# says what to set, while the first keeps working; a clean stop frees the
# name at once; a worker started right after its predecessor was killed with
# SIGKILL on this host takes over at once (the dead PID is detected) and its
# orders with it, long before their leases run out; `certdesk serve` and
# `certdesk worker` with the default node name (the host name) on one store
# refuse each other. No CA is needed: the orders stop at preflight against a
# DNS resolver that never answers (the first worker) or times out fast.
. "$(dirname "$0")/lib/tap.sh"

bail() { not_ok "$1"; done_testing; exit 1; }
# wait_for SECONDS CMD...: polls CMD until it succeeds (1 if it never does)
wait_for() {
	_end=$(($(date +%s) + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -gt "$_end" ] && return 1
		sleep 0.2
	done
}
# sql QUERY: one query on the store (what the workers recorded)
sql() { python3 -c 'import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(*r, sep="|")' "$DB" "$1"; }
alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! kill -0 "$1" 2>/dev/null; }
said() { grep -qF -- "$2" "$1"; }

setup_inventory
cp "$WORK/s/certdesk.ini" "$WORK/s/base.ini"
# a resolver that reads queries and never answers
DNS_PORT=$(free_port)
python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True: s.recv(4096)' "$DNS_PORT" &
TAP_PIDS="$TAP_PIDS $!"
# ini NAME NODE LEASE DNS_TIMEOUT_MS: a config beside the store (NODE "" = the default)
ini() {
	{
		cat "$WORK/s/base.ini"
		printf '[ca t]\ndirectory = https://127.0.0.1:1/dir\n'
		printf '[dcv]\nresolver = 127.0.0.1:%s\ntimeout_ms = %s\ntries = 1\n' "$DNS_PORT" "$4"
		printf '[worker]\nthreads = 2\nclaim_interval_ms = 100\nlease_seconds = %s\n' "$3"
		printf 'max_retries = 0\nmail = no\n'
		[ -n "$2" ] && printf 'node = %s\n' "$2"
		printf '[web]\nlisten = 127.0.0.1:%s\n' "$(free_port)"
	} >"$WORK/s/$1.ini"
}
# start NAME CMD...: certdesk with config NAME in the background; sets PID
start() {
	_n=$1; shift
	$CERTDESK --config "$WORK/s/$_n.ini" "$@" >"$WORK/$_n.out" 2>&1 &
	PID=$!
	TAP_PIDS="$TAP_PIDS $PID"
}
MSG="set a distinct [worker] node"

# --- a live duplicate: refused, the first one untouched
ini x1 x 6 500
ini x2 x 6 500
start x1 worker; P1=$PID
wait_for 60 said "$WORK/x1.out" "node x registered" || bail "the first worker x starts"
ok "the first worker with node x starts"
start x2 worker; P2=$PID
if wait_for 60 gone "$P2" && ! wait "$P2"; then ok "a second worker with node x exits non-zero"
else not_ok "a second worker with node x exits non-zero"; fi
if said "$WORK/x2.out" "$MSG" && said "$WORK/x2.out" "worker node 'x' is in use"; then
	ok "and names the node and what to set"
	grep -F "$MSG" "$WORK/x2.out" | sed 's/^/# /'
else not_ok "and names the node and what to set"; sed 's/^/# /' "$WORK/x2.out"; fi
said "$WORK/x2.out" "registered" && not_ok "it never ran a worker" || ok "it never ran a worker"
alive "$P1" && ok "the first worker keeps running" || not_ok "the first worker keeps running"
[ "$(sql "SELECT COUNT(*) FROM worker_nodes WHERE node = 'x' AND pid = $P1")" = 1 ] &&
	ok "node x is still the first worker's" || not_ok "node x is still the first worker's"

# --- a clean stop removes the heartbeat: the next process starts at once
kill -TERM "$P1"
wait "$P1" && ok "the first worker stops cleanly" || not_ok "the first worker stops cleanly"
[ "$(sql "SELECT COUNT(*) FROM worker_nodes")" = 0 ] && ok "its heartbeat row is removed" ||
	not_ok "its heartbeat row is removed"
start x2 worker; P2=$PID
wait_for 60 said "$WORK/x2.out" "node x registered" && ok "node x starts again" ||
	not_ok "node x starts again"
said "$WORK/x2.out" "is held by" && not_ok "without waiting" || ok "without waiting"
kill -TERM "$P2"; wait "$P2"

# --- serve and worker with the default node name (this host's) on one store
ini d1 "" 6 500
ini d2 "" 6 500
start d1 serve; PS=$PID
wait_for 60 said "$WORK/d1.out" "serving on" || bail "certdesk serve starts"
wait_for 60 said "$WORK/d1.out" "registered" || bail "its workers start"
start d2 worker; PW=$PID
if wait_for 60 gone "$PW" && ! wait "$PW" && said "$WORK/d2.out" "$MSG"; then
	ok "a worker beside serve with the default node name refuses to start"
else not_ok "a worker beside serve with the default node name refuses to start"
	sed 's/^/# /' "$WORK/d2.out"; fi
alive "$PS" && ok "serve keeps running" || not_ok "serve keeps running"
kill -TERM "$PS"; wait "$PS"
start d2 worker; PW=$PID
wait_for 60 said "$WORK/d2.out" "registered" || bail "a worker with the default node starts"
start d1 serve; PS=$PID
if wait_for 60 gone "$PS" && ! wait "$PS" && said "$WORK/d1.out" "$MSG"; then
	ok "serve beside a worker with the default node name refuses to start"
else not_ok "serve beside a worker with the default node name refuses to start"
	sed 's/^/# /' "$WORK/d1.out"; fi
kill -TERM "$PW"; wait "$PW"

# --- [store] busy_timeout_ms reaches the workers' connections: a writer
# holding the store for 12 s delays a worker configured to wait 30 s (the
# former fixed 5 s made it fail with "database is locked")
ini b1 x 6 500
sed -i '/^\[store\]$/a busy_timeout_ms = 30000' "$WORK/s/b1.ini"
python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE"); open(sys.argv[2], "w").close(); time.sleep(12); c.execute("COMMIT")' \
	"$DB" "$WORK/locked" &
LOCKER=$!
TAP_PIDS="$TAP_PIDS $LOCKER"
wait_for 60 test -e "$WORK/locked" || bail "a writer holds the store"
start b1 worker; P1=$PID
if wait_for 90 said "$WORK/b1.out" "node x registered" && alive "$P1"; then
	ok "a worker waits for a busy store as [store] busy_timeout_ms says"
else not_ok "a worker waits for a busy store as [store] busy_timeout_ms says"
	sed 's/^/# /' "$WORK/b1.out"; fi
wait "$LOCKER"
kill -TERM "$P1" 2>/dev/null; wait "$P1"

# --- kill -9, then a restart at once: it takes over the dead one's orders
ini k1 x 300 60000
ini k2 x 300 500
for c in 1001 1002; do
	$CD reissue --certificate "$c" >/dev/null || bail "an order for certificate $c"
done
start k1 worker; P1=$PID
held() { [ "$(sql "SELECT COUNT(*) FROM orders WHERE lease_owner LIKE 'x/%'")" = 2 ]; }
wait_for 60 held || bail "the first worker holds both orders (blocked in preflight)"
ok "the first worker holds both orders, blocked in preflight"
EXPIRES=$(sql "SELECT MIN(lease_expires) FROM orders WHERE lease_owner LIKE 'x/%'")
kill -KILL "$P1"; wait "$P1" 2>/dev/null
start k2 worker --until-idle; P2=$PID
if wait_for 120 gone "$P2" && wait "$P2"; then ok "a worker x started at once runs to idle"
else not_ok "a worker x started at once runs to idle"; sed 's/^/# /' "$WORK/k2.out"; fi
said "$WORK/k2.out" "previous process (pid $P1) is gone; taking over at once" &&
	ok "it saw the killed worker's PID gone" || { not_ok "it saw the killed worker's PID gone"
	sed 's/^/# /' "$WORK/k2.out"; }
[ "$(date +%s)" -lt "$EXPIRES" ] && ok "before the killed worker's leases ran out" ||
	not_ok "before the killed worker's leases ran out"
$CD orders list >"$WORK/orders.out"
[ "$(grep -c ' failed ' "$WORK/orders.out")" = 2 ] && grep -q dns_error "$WORK/orders.out" &&
	ok "both orders stopped at preflight (failed: dns_error)" || {
	not_ok "both orders stopped at preflight (failed: dns_error)"; sed 's/^/# /' "$WORK/orders.out"; }
[ "$(sql "SELECT COUNT(*) FROM worker_nodes")" = 0 ] && ok "its heartbeat row is removed at exit" ||
	not_ok "its heartbeat row is removed at exit"
done_testing
