#!/bin/sh
# test_campaign_bulk.sh - the operator's bulk reissue on the real peers: 30
# sites on two nginx servers hold certificates from Pebble "g3"; a campaign
# for g3's issuer; `certdesk campaign reissue` queues an order for each, and
# two `certdesk worker` processes take them to done at Pebble "g4", whose
# newOrder limit is set low (5 per 10 s). What a user would see: Pebble's own
# log never shows more newOrders in a window than the limit; a pace that
# cannot finish before the revocation date is refused; a paused campaign
# starts no order while the ones in flight finish, and resume goes on; the
# forecast `campaign report` prints part way through is within 10 % of the
# actual finish; the CSV report holds no cell a spreadsheet would run.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pebble.sh"
. "$(dirname "$0")/lib/nginx.sh"
. "$(dirname "$0")/lib/smtp.sh"
. "$(dirname "$0")/lib/world.sh"

LIMIT=5 WINDOW=10
N=30
D=example.jp
SITES_A="" SITES_B=""
for i in $(seq 1 $N); do
	s=$(printf 's%02d' "$i")
	if [ "$i" -le $((N / 2)) ]; then SITES_A="$SITES_A $s"; else SITES_B="$SITES_B $s"; fi
done
# a campaign name a spreadsheet would run as a formula
CNAME="=HYPERLINK(\"http://evil.example/\",\"g3\")"

bail() { not_ok "$1"; done_testing; exit 1; }
# wait_until SECONDS CMD...: polls CMD until it succeeds (generous deadlines: the
# machine is shared)
wait_until() {
	_lim=$1; shift
	_end=$(($(date +%s) + _lim))
	while [ "$(date +%s)" -lt $_end ]; do
		"$@" && return 0
		sleep 0.3
	done
	"$@"
}
q() { sqlite3 -cmd '.timeout 5000' "$WORK/s/certdesk.db" "$1"; }
count_state() { q "SELECT COUNT(*) FROM orders WHERE state = '$1'"; }
in_flight() { q "SELECT COUNT(*) FROM orders WHERE state NOT IN ('queued', 'done', 'failed', 'canceled')"; }
added_orders() { grep -c 'Added order' "$WORK/pebble-g4/pebble.log"; }

world_peers || bail "the pipeline world starts"
world_ini g4.orders_per_window=$LIMIT g4.order_window_s=$WINDOW worker.threads=3 \
	worker.claim_interval_ms=200 worker.poll_ms=300

# --- the old certificates, issued by g3
for s in $SITES_A $SITES_B; do echo "$s.$D"; done >"$WORK/names.txt"
world_local_dns "$WORK/names.txt" || bail "DNS for the old certificates"
check "old certificates issued at g3" world_old_certs "$WORK/names.txt"
# the account first: two worker processes must not each register one
check "ACME account at g4 registered" $CD ca register --ca g4

# --- two hosting servers serving them; DNS now points every name there
# shellcheck disable=SC2086
world_server_up web01 127.0.0.2 $SITES_A || bail "web01 serves"
# shellcheck disable=SC2086
world_server_up web02 127.0.0.3 $SITES_B || bail "web02 serves"

# --- the inventory and the campaign (revocation date: tomorrow)
{
	echo "member_id,email,display_name,locale"
	echo "m1,m1@example.test,Jane Doe,en"
} >"$WORK/members.csv"
echo "fqdn,member_id,server,state" >"$WORK/sites.csv"
echo "certificate_id,member_id,product,common_name,term_start,term_end,pem_file" \
	>"$WORK/certificates.csv"
for s in $SITES_A $SITES_B; do
	case " $SITES_A " in *" $s "*) srv=web01 ;; *) srv=web02 ;; esac
	echo "$s.$D,m1,$srv,ok" >>"$WORK/sites.csv"
	echo "c-$s,m1,jprs_dv_rs_1y,$s.$D,2026-01-01,2027-12-31,old/$s.$D/fullchain.pem" \
		>>"$WORK/certificates.csv"
done
imp=0
for k in members servers sites certificates; do
	$CD import "$k" "$WORK/$k.csv" >"$WORK/import-$k.log" 2>&1 || imp=1
done
for srv in web01 web02; do
	$CD import installed --server "$srv" "$WORK/root-$srv" >>"$WORK/import.log" 2>&1 || imp=1
done
[ $imp -eq 0 ] && ok "inventory imported" || { not_ok "inventory imported"; cat "$WORK"/import*.log | sed 's/^/# /'; }
DEADLINE=$(TZ=Asia/Tokyo date -d tomorrow +%Y-%m-%d)
REVOCATION=$(TZ=Asia/Tokyo date -d '2 days' +%Y-%m-%d)
check "campaign for g3's issuer" $CD campaign create --name "$CNAME" --issuer "$G3_DN" \
	--deadline "$DEADLINE" --revocation-date "$REVOCATION"
CID=$(q "SELECT campaign_id FROM campaigns")

# --- a pace that cannot start the last order before the revocation date
fails "a pace too slow for the revocation date is refused" "after the revocation date" \
	$CD campaign reissue "$CID" --rate 0.2/h
[ "$(q 'SELECT COUNT(*) FROM orders')" -eq 0 ] && ok "the refused pace queued nothing" ||
	not_ok "the refused pace queued nothing"
fails "a rate that is not a rate" "rate 'fast'" $CD campaign reissue "$CID" --rate fast

# --- phase 1: ten customers' orders at once (unpaced, as from the portal),
# then the bulk for the rest asked far faster than the CA allows: the workers
# must hold the burst to the limit
for s in s01 s02 s03 s04 s05 s16 s17 s18 s19 s20; do
	$CD reissue --certificate "c-$s" >/dev/null 2>&1 || not_ok "reissue c-$s"
done
$CD campaign reissue "$CID" --rate 36000/h >"$WORK/reissue.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/reissue.out"
if [ $rc -eq 0 ] && grep -q "queued 20 order(s)" "$WORK/reissue.out" &&
	grep -q "faster than CA g4 allows" "$WORK/reissue.out"; then
	ok "campaign reissue queued the 20 others, warned that the CA's limit holds the pace"
else not_ok "campaign reissue queued the 20 others, warned that the CA's limit holds the pace"; fi
[ "$(q "SELECT COUNT(*) FROM events WHERE kind = 'campaign.reissue' AND actor LIKE 'operator:%'")" -eq 1 ] &&
	ok "the bulk reissue is an operator event" || not_ok "the bulk reissue is an operator event"
[ "$($CD campaign reissue "$CID" 2>&1 | grep -c 'nothing to queue')" -eq 1 ] &&
	ok "a second run queues nothing twice" || not_ok "a second run queues nothing twice"

T_START=$(date +%s)
cp "$WORK/s/certdesk.ini" "$WORK/s/w1.ini"
cp "$WORK/s/certdesk.ini" "$WORK/s/w2.ini"
printf '[worker]\nnode = w1\n' >>"$WORK/s/w1.ini"
printf '[worker]\nnode = w2\n' >>"$WORK/s/w2.ini"
$CERTDESK --config "$WORK/s/w1.ini" worker --until-idle >"$WORK/w1.log" 2>&1 &
W1=$!
$CERTDESK --config "$WORK/s/w2.ini" worker --until-idle >"$WORK/w2.log" 2>&1 &
W2=$!
TAP_PIDS="$TAP_PIDS $W1 $W2"

# --- pause part way: in-flight orders finish, queued ones stay queued
done_at_least() { [ "$(count_state "done")" -ge "$1" ]; }
wait_until 240 done_at_least 4 || not_ok "4 orders done before the pause ($(count_state "done"))"
check "campaign pause" $CD campaign pause "$CID"
no_in_flight() { [ "$(in_flight)" -eq 0 ]; }
if wait_until 180 no_in_flight; then
	ok "the orders in flight at the pause finished ($(count_state "done") done)"
else not_ok "the orders in flight at the pause finished ($(in_flight) still in flight)"; fi
Q1=$(count_state queued) P1=$(added_orders) F1=$(count_state failed)
[ "$Q1" -gt 0 ] && ok "$Q1 orders still queued while paused" || not_ok "orders still queued while paused ($Q1)"
[ "$F1" -eq 0 ] && ok "no order failed" || not_ok "$F1 orders failed"
# both workers keep polling (claim every 200 ms); several rounds must start nothing
sleep 4
[ "$(count_state queued)" -eq "$Q1" ] && [ "$(added_orders)" -eq "$P1" ] && [ "$(in_flight)" -eq 0 ] &&
	ok "paused: no queued order started, no newOrder sent" ||
	not_ok "paused: queued $(count_state queued) (was $Q1), newOrders $(added_orders) (was $P1)"
kill -0 "$W1" 2>/dev/null && kill -0 "$W2" 2>/dev/null && ok "both workers still run while paused" ||
	not_ok "both workers still run while paused"
$CD campaign report "$CID" >"$WORK/report-paused.txt" 2>&1
grep -q "PAUSED by operator:" "$WORK/report-paused.txt" && ok "the report says the campaign is paused" ||
	{ not_ok "the report says the campaign is paused"; sed 's/^/# /' "$WORK/report-paused.txt"; }

# the global pause holds even a resumed campaign
check "global pause" $CD campaign pause --all
$CD campaign resume "$CID" --rate 1440/h >"$WORK/resume.out" 2>&1
grep -q "global pause" "$WORK/resume.out" && ok "resume names the global pause still holding" ||
	{ not_ok "resume names the global pause still holding"; sed 's/^/# /' "$WORK/resume.out"; }
sleep 2
[ "$(count_state queued)" -eq "$Q1" ] && ok "the global pause holds the resumed campaign" ||
	not_ok "the global pause holds the resumed campaign ($(count_state queued) queued, was $Q1)"

# --- phase 2: resume at a pace under the limit; forecast part way through
$CD campaign resume --all >"$WORK/resume-all.out" 2>&1
T_RESUME=$(date +%s)
D1=$(count_state "done")
grep -q "spaced at 1440 orders/hour" "$WORK/resume-all.out" &&
	ok "resume spaces the queued orders again at the campaign's pace" ||
	{ not_ok "resume spaces the queued orders again at the campaign's pace"; sed 's/^/# /' "$WORK/resume-all.out"; }
# part way: a few done since the resume (the rate needs some), most still to go
wait_until 240 done_at_least $((D1 + 6)) || not_ok "6 orders done after the resume"
$CD campaign report "$CID" --format json >"$WORK/report.json" 2>"$WORK/report.err"
$CD campaign report "$CID" | sed 's/^/# /'
PRED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["forecast"]["finish_at"] or 0)' "$WORK/report.json")
REMAIN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["forecast"]["remaining"])' "$WORK/report.json")
T_REPORT=$(date +%s)
[ "$PRED" -gt 0 ] && [ "$REMAIN" -gt 0 ] && ok "the report forecasts a finish ($REMAIN remaining)" ||
	{ not_ok "the report forecasts a finish"; sed 's/^/# /' "$WORK/report.json" "$WORK/report.err"; }
python3 - "$WORK/report.json" <<'PY' && ok "the forecast is on time for both dates" || not_ok "the forecast is on time for both dates"
import json, sys
f = json.load(open(sys.argv[1]))["forecast"]
sys.exit(0 if f["deadline"] == "on_time" and f["revocation"] == "on_time" else 1)
PY

# --- the end: every order done
finished() { [ "$(count_state "done")" -eq $N ]; }
wait_until 300 finished
for w in $W1 $W2; do
	_t=0
	while kill -0 "$w" 2>/dev/null && [ $_t -lt 600 ]; do sleep 0.2; _t=$((_t + 1)); done
done
[ "$(count_state "done")" -eq $N ] && ok "all $N orders done" ||
	{ not_ok "all $N orders done"; q "SELECT order_id, state, failure, failure_detail FROM orders WHERE state <> 'done'" | sed 's/^/# /'; }
wait "$W1" && wait "$W2" && ok "both workers stopped cleanly once idle" ||
	{ not_ok "both workers stopped cleanly once idle"; tail -20 "$WORK/w1.log" "$WORK/w2.log" | sed 's/^/# /'; }
T_END=$(q "SELECT MAX(updated_at) FROM orders WHERE state = 'done'")
ERR=$((PRED - T_END)); [ $ERR -lt 0 ] && ERR=$((-ERR))
TOTAL=$((T_END - T_START))
echo "# started $T_START, resumed $T_RESUME, reported $T_REPORT ($REMAIN remaining), predicted finish $PRED, actual $T_END"
echo "# forecast error ${ERR} s over a run of ${TOTAL} s ($((T_END - T_REPORT)) s were still to go at the report)"
[ $((ERR * 10)) -le "$TOTAL" ] && ok "the forecast is within 10 % of the actual finish (${ERR} s of ${TOTAL} s)" ||
	not_ok "the forecast is within 10 % of the actual finish (${ERR} s of ${TOTAL} s)"

# --- Pebble's log: never more newOrders in a window than the limit
n_added=$(added_orders)
python3 - "$WORK/pebble-g4/pebble.log" "$LIMIT" "$WINDOW" >"$WORK/window.out" <<'PY'
import datetime, re, sys
path, limit, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for line in open(path, errors="replace"):
    if "Added order" not in line:
        continue
    m = re.search(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)(\.\d+)?", line)
    t = datetime.datetime.strptime(m.group(1), "%Y/%m/%d %H:%M:%S").timestamp()
    times.append((t + float(m.group(2) or 0), m.group(2) is not None))
times.sort()
worst = 0
for i, (t, exact) in enumerate(times):
    # with whole seconds in the log, orders logged within window-2 seconds of
    # each other were less than a window apart: they must not exceed the limit
    span = window if exact else window - 1
    n = sum(1 for u, _ in times[i:] if u - t < span)
    worst = max(worst, n)
print(len(times), worst)
PY
read -r seen worst <"$WORK/window.out"
echo "# Pebble g4 logged $seen newOrders; at most $worst within any ${WINDOW}-second window (limit $LIMIT)"
[ "$seen" -ge $N ] && [ "$worst" -le $LIMIT ] && ok "0 newOrders over the CA's limit ($worst at most in a window)" ||
	not_ok "newOrders over the CA's limit: $worst in a window, $seen seen ($n_added)"

# --- the report in CSV: no cell a spreadsheet would run
$CD campaign report "$CID" --format csv >"$WORK/report.csv"
python3 - "$WORK/report.csv" "$CNAME" <<'PY' && ok "CSV: no cell starts a formula; the campaign's name is kept as text" ||
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
bad = [c for r in rows for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
name = [r[3] for r in rows if r[:3] == ["campaign", "name", ""]]
sys.exit(0 if rows and not bad and name == ["'" + sys.argv[2]] else 1)
PY
	{ not_ok "CSV: no cell starts a formula; the campaign's name is kept as text"; sed 's/^/# /' "$WORK/report.csv"; }
grep -q '^by_status,not_needed,,30' "$WORK/report.csv" && ok "CSV: all 30 certificates now not needed" ||
	not_ok "CSV: all 30 certificates now not needed"
grep -q '^by_server,web02,not_needed,15' "$WORK/report.csv" && ok "CSV: counts by server" ||
	not_ok "CSV: counts by server"
done_testing
