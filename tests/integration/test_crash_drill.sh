#!/bin/sh
# test_crash_drill.sh - the crash drill (DESIGN.md §3.3, invariants 1, 2, 5, 8):
# 200 orders on two nginx hosting servers, from Pebble "g3" (the old CA, kept
# up for revocations) to "g4" (the active CA), while `certdesk worker` is
# killed with SIGKILL at random moments (0.5-3 s apart, at least 20 times)
# and started again each time; half the orders are queued before, the rest
# a few before each kill. Then the evidence, each from its own source
# (lib/crashdrill.py): the store's orders and events, Pebble's log and
# management API, every name's certificate over TLS with SNI, the SMTP
# server's messages, the key files' modes.
# CRASH_DRILL_SEED replays the kill moments of an earlier run (printed).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pebble.sh"
. "$(dirname "$0")/lib/nginx.sh"
. "$(dirname "$0")/lib/smtp.sh"
. "$(dirname "$0")/lib/world.sh"

N=200          # orders (sites), half on each server
MIN_KILLS=20   # SIGKILLs while work is left
MAX_KILLS=30   # then the last worker runs to the end
# Orders arrive as customers click: LATER of them, STEP before each of the
# first MIN_KILLS kills, so that work is left for every one of those kills
# however fast the machine is; the rest are queued before the first worker.
STEP=5
LATER=$((STEP * MIN_KILLS))
D=drill.example.jp
DRILL="python3 $(dirname "$0")/lib/crashdrill.py"
SEED=${CRASH_DRILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
T0=$(date +%s)

bail() { not_ok "$1"; done_testing; exit 1; }

# the VA answers at once: the drill is about crashes, not about waiting
world_peers PEBBLE_VA_NOSLEEP=1 || bail "the pipeline world starts"
# mail: a killed deliverer's messages are due again 7 s later (timeout_ms 5000
# + 2 s); worker: one node, so that a restarted worker takes its orders back at once
world_ini acme.poll_initial_ms=100 acme.poll_max_ms=1000 \
	mail.lease_seconds=7 mail.retry_base_ms=500 mail.retry_cap_ms=2000 \
	worker.node=drill worker.threads=8 worker.backoff_base_ms=200 worker.backoff_cap_ms=2000 \
	worker.poll_ms=300 worker.lease_seconds=30 worker.max_retries=30 worker.max_in_flight=50 \
	install.coalesce_ms=200
DB=$WORK/s/certdesk.db

# --- the old certificates, issued by g3 to names pointing at certdesk itself
i=1
while [ $i -le $N ]; do
	s=$(printf 's%03d' $i)
	echo "$s.$D" >>"$WORK/names.txt"
	echo "add $s.$D 127.0.0.1" >>"$WORK/dns-issue.txt"
	i=$((i + 1))
done
$DRILL dns "$CTS_MGMT" "$WORK/dns-issue.txt" || bail "DNS for the old certificates"
check "$N old certificates issued at g3" world_old_certs "$WORK/names.txt" 8
echo "# old certificates issued after $(($(date +%s) - T0)) s"

# --- two hosting servers, s001-s100 on web01 and the rest on web02
printf 'server,ipv4,ipv6,state,driver,http_port,https_port\n' >"$WORK/servers.csv"
{
	echo "member_id,email,display_name,locale"
	echo "m1,m1@example.test,山田 太郎,ja"
	echo "m2,m2@example.test,Jane Doe,en"
	echo "m3,m3@example.test,佐藤 花子,ja"
} >"$WORK/members.csv"
echo "fqdn,member_id,server,state" >"$WORK/sites.csv"
echo "certificate_id,member_id,product,common_name,term_start,term_end,pem_file" \
	>"$WORK/certificates.csv"
for srv in web01 web02; do
	case $srv in web01) addr=127.0.0.2 first=1 ;; *) addr=127.0.0.3 first=$((N / 2 + 1)) ;; esac
	tls=$(free_port)
	nginx_server_init "$srv" "$addr" "$HTTP_PORT" "$tls" "$WORK/root-$srv" || bail "$srv set up"
	i=$first
	while [ $i -lt $((first + N / 2)) ]; do
		s=$(printf 's%03d' $i)
		printf 'clear %s\nadd %s %s\nadd www.%s %s\n' "$s.$D" "$s.$D" "$addr" "$s.$D" "$addr" \
			>>"$WORK/dns-serve.txt"
		nginx_site_add "$srv" "$s.$D" "$WORK/old/$s.$D/fullchain.pem" \
			"$WORK/old/$s.$D/privkey.pem" || bail "$srv: site $s"
		echo "$s.$D,m$((i % 3 + 1)),$srv,ok" >>"$WORK/sites.csv"
		echo "c-$s,m$((i % 3 + 1)),jprs_dv_rs_1y,$s.$D,2026-01-01,2027-12-31,old/$s.$D/fullchain.pem" \
			>>"$WORK/certificates.csv"
		echo "$s.$D $addr $tls c-$s" >>"$WORK/sites.txt"
		i=$((i + 1))
	done
	# (nginx warns that 100 names need a larger server_names_hash: harmless)
	nginx_server_start "$srv" 2>>"$WORK/nginx-start.log" || bail "$srv serves"
	nginx_certdesk_ini "$srv" >>"$WORK/s/certdesk.ini"
	printf '%s,%s,,ok,nginx,%s,%s\n' "$srv" "$addr" "$HTTP_PORT" "$tls" >>"$WORK/servers.csv"
done
$DRILL dns "$CTS_MGMT" "$WORK/dns-serve.txt" || bail "DNS points every name at its server"
echo "# servers up after $(($(date +%s) - T0)) s"
imp=0
for k in members servers sites certificates; do
	$CD import "$k" "$WORK/$k.csv" >>"$WORK/import.log" 2>&1 || imp=1
done
for srv in web01 web02; do
	$CD import installed --server "$srv" "$WORK/root-$srv" >>"$WORK/import.log" 2>&1 || imp=1
done
[ $imp -eq 0 ] && ok "inventory imported" || { not_ok "inventory imported"; sed 's/^/# /' "$WORK/import.log"; }
check "campaign for g3's issuer" $CD campaign create --name g3-revocation --issuer "$G3_DN" \
	--deadline 2027-01-31
cut -d' ' -f4 "$WORK/sites.txt" >"$WORK/certs.txt"
head -n $((N - LATER)) "$WORK/certs.txt" | xargs -P 4 -I{} $CD reissue --certificate {} \
	>"$WORK/reissue.log" 2>&1
tail -n $LATER "$WORK/certs.txt" >"$WORK/later.txt"
queued=$($DRILL open "$DB" | cut -d' ' -f1)
[ "$queued" -eq $((N - LATER)) ] && ok "$((N - LATER)) orders queued before the drill" ||
	bail "$((N - LATER)) orders queued before the drill ($queued)"

echo "# set up after $(($(date +%s) - T0)) s"
# --- the drill: SIGKILL at random moments, a new worker each time
python3 -c 'import random, sys
r = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2])): print("%.2f" % r.uniform(0.5, 3.0))' "$SEED" $MAX_KILLS \
	>"$WORK/delays"
BASE_PIDS=$TAP_PIDS
worker_start() {
	$CD worker >>"$WORK/worker.log" 2>&1 &
	WPID=$!
	TAP_PIDS="$BASE_PIDS $WPID"
}
echo "# drill seed $SEED (CRASH_DRILL_SEED replays it)"
t_drill=$(date +%s)
kills=0 exits=0 in_delivery=0
worker_start
for delay in $(cat "$WORK/delays"); do
	sleep "$delay"
	# the next customers' orders, queued while the worker runs
	sed -n "$((kills * STEP + 1)),$((kills * STEP + STEP))p" "$WORK/later.txt" |
		xargs -P 2 -I{} $CD reissue --certificate {} >>"$WORK/reissue.log" 2>&1
	set -- $($DRILL open "$DB")
	[ "$1" -eq 0 ] && [ "$2" -eq 0 ] && break
	kill -KILL "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
	st=$?
	# 137: our SIGKILL; anything else: the worker had ended by itself
	[ $st -eq 137 ] || { exits=$((exits + 1)); echo "# a worker ended by itself: status $st"; }
	kills=$((kills + 1))
	[ "$3" -gt 0 ] && in_delivery=$((in_delivery + 1))
	echo "$4" | tr , '\n' >>"$WORK/killed-in"
	echo "# kill $kills after ${delay}s: $1 orders open, $2 mails waiting ($3 being delivered), held in: $4"
	worker_start
done
# the last worker is killed too (a SIGTERM could land before it has its
# handler, and be lost), and one runs until nothing is left, mail included
kill -KILL "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
TAP_PIDS=$BASE_PIDS
if timeout 300 $CD worker --until-idle >>"$WORK/worker.log" 2>&1; then ok "worker ran until idle"
else not_ok "worker ran until idle"; tail -30 "$WORK/worker.log" | sed 's/^/# /'; fi
t_work=$(($(date +%s) - t_drill))
echo "# the kills found orders held in: $(grep -v '^-$' "$WORK/killed-in" | sort -u | tr '\n' ' ')"
[ $kills -ge $MIN_KILLS ] && ok "worker killed $kills times while work was left" ||
	not_ok "worker killed only $kills times while work was left (want $MIN_KILLS)"
[ $exits -eq 0 ] && ok "no worker ended by itself" || not_ok "$exits workers ended by themselves"
if grep -q 'Sanitizer' "$WORK/worker.log"; then
	not_ok "no sanitizer report from the workers"; grep -A5 'Sanitizer' "$WORK/worker.log" | head -40 | sed 's/^/# /'
else ok "no sanitizer report from the workers"; fi
set -- $($DRILL open "$DB")
[ "$1" -eq 0 ] && [ "$2" -eq 0 ] && ok "nothing open: no order, no mail waiting" ||
	not_ok "left open: $1 orders, $2 mails"

# --- the evidence
t_check=$(date +%s)
$DRILL check --db "$DB" --pebble-log "$WORK/pebble-g4/pebble.log" --g3-mgmt "$PEBBLE_g3_MGMT" \
	--g3-ca "$PEBBLE_g3_CA" --roots "$WORK/g4-roots.pem" --sites "$WORK/sites.txt" \
	--old "$WORK/old" --smtp-dir "$SMTP_DIR" >"$WORK/evidence.txt" 2>&1 || {
	sed 's/^/# /' "$WORK/evidence.txt"; bail "evidence gathered"; }
grep '^# ' "$WORK/evidence.txt" | head -40
echo "# evidence gathered in $(($(date +%s) - t_check)) s"
fig() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/evidence.txt"; }
is() { # NAME FIGURE WANT
	if [ "$(fig "$2")" = "$3" ]; then ok "$1"; else not_ok "$1 ($2 = $(fig "$2"), want $3)"; fi
}
is "$N orders, all queued" orders $N
is "every order ends done" orders_done $N
is "no order flagged revocation_pending" revocation_pending 0
is "0 old certificates revoked before their successor was live" revoked_before_live 0
is "0 ACME orders finalized twice" finalized_twice 0
is "exactly $N certificates issued at g4" certs_issued $N
is "0 orders with two certificates" orders_two_certs 0
orph=$(fig orphans_pebble) oev=$(fig orphan_events)
if [ "$orph" -le "$oev" ] && [ "$oev" -le "$kills" ]; then
	ok "orphaned pending ACME orders: $orph at g4 <= $oev acme.orphan events <= $kills kills"
else not_ok "orphaned pending ACME orders: $orph at g4, $oev acme.orphan events, $kills kills"; fi
is "all $((2 * N)) names serve their order's certificate" names_wrong 0
is "every chain verifies to g4's root for its name" chains_bad 0
is "g3 reports every old serial revoked" old_not_revoked 0
is "0 orders without their mail" mail_missing 0
rep=$(fig mail_repeated)
if [ "$rep" -le "$kills" ]; then ok "mail deliveries with a repeated Message-ID: $rep (<= $kills kills, $in_delivery seen during delivery)"
else not_ok "mail deliveries with a repeated Message-ID: $rep, more than the $kills kills"; fi
is "every repeated delivery follows a delivery lease that lapsed (a killed deliverer)" \
	mail_repeat_unexplained 0

# --- invariant 4: the keys on the servers are 0600
keys=$(find "$WORK/root-web01" "$WORK/root-web02" -name privkey.pem | wc -l)
loose=$(find "$WORK/root-web01" "$WORK/root-web02" -name 'privkey.pem*' -perm /077 | wc -l)
[ "$loose" -eq 0 ] && ok "0 of $keys key files readable by others" ||
	not_ok "$loose key files readable by others"

reloads=$(cat "$(nginx_error_log web01)" "$(nginx_error_log web02)" | grep -c 'reconfiguring')
echo "# drill: $N orders, $kills kills, $t_work s from the first worker to idle, $(fig acme_orders) ACME orders at g4, $orph orphaned ($oev acme.orphan events), $(fig deliveries) deliveries ($rep repeated; $in_delivery kills during delivery), $reloads nginx reloads, $(($(date +%s) - T0)) s in all"
done_testing
