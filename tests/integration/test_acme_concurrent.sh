#!/bin/sh
# One client shared by many threads: 12 certificates, one name each, issued by
# 6 concurrent issuances in one certdesk process against Pebble (nonce rejects
# 15 %), under ASan/UBSan. Every certificate verifies against Pebble's root and
# Pebble reports each serial Valid; one account only; --help works. Then Pebble
# restarts and the threads that meet accountDoesNotExist together register once.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pebble.sh"

challtestsrv_start || exit 1
pebble_start c1 || exit 1
: >"$WORK/names"
for i in $(seq 1 12); do
	cts_add_a "n$i.concurrent.test" 127.0.0.1
	echo "n$i.concurrent.test" >>"$WORK/names"
done
S=$WORK/s
new_store "$S"
{
	pebble_ca_section c1 pebble
	printf '[acme]\npoll_initial_ms = 200\npoll_max_ms = 1000\n'
} >>"$S/certdesk.ini"

check "ca --help" sh -c "$CD ca --help | grep -q 'certdesk ca issue'"
$CD ca issue --names-file "$WORK/names" --each --jobs 6 --out "$WORK/out" \
	--http-listen "127.0.0.1:$PEBBLE_c1_HTTP_PORT" >"$WORK/issue.out" 2>&1
rc=$?
check "12 issuances on 6 threads succeed" test "$rc" = 0
check "no sanitizer report" sh -c "! grep -qE 'Sanitizer|runtime error' '$WORK/issue.out'"
check "it printed 12 issued lines" test "$(grep -c '^issued ' "$WORK/issue.out")" = 12
pebble_roots c1 "$WORK/root.pem"
good=0; valid=0
for n in $(cat "$WORK/names"); do
	f=$WORK/out/$n/fullchain.pem
	awk '/BEGIN/{k++} k>1' "$f" >"$WORK/u.pem"
	openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/u.pem" "$f" >/dev/null 2>&1 && good=$((good + 1))
	[ "$(pebble_serial_status c1 "$(pebble_cert_serial "$f")")" = Valid ] && valid=$((valid + 1))
done
check "all 12 chains verify against Pebble's root" test "$good" = 12
check "Pebble knows all 12 serials as Valid" test "$valid" = 12
check "one account in the store" test "$(sqlite3 "$S/certdesk.db" 'SELECT count(*) FROM ca_accounts')" = 1

# Pebble restarted (accounts lost): 6 threads meet accountDoesNotExist at once,
# and the client registers exactly once
pebble_restart c1 || exit 1
sed 's/^n/r/' "$WORK/names" >"$WORK/names2"
for n in $(cat "$WORK/names2"); do cts_add_a "$n" 127.0.0.1; done
$CD ca issue --names-file "$WORK/names2" --each --jobs 6 --out "$WORK/out" \
	--http-listen "127.0.0.1:$PEBBLE_c1_HTTP_PORT" >"$WORK/issue2.out" 2>&1
rc=$?
check "after a restart, 12 issuances on 6 threads succeed" test "$rc" = 0
check "no sanitizer report after the restart" sh -c "! grep -qE 'Sanitizer|runtime error' '$WORK/issue2.out'"
check "exactly one re-registration event" test "$(sqlite3 "$S/certdesk.db" "SELECT count(*) FROM events WHERE kind = 'ca.reregister'")" = 1

# several processes register at once on an empty store (nodes starting together):
# every one of them must end up with the one account that was stored
S2=$WORK/s2
new_store "$S2"
pebble_ca_section c1 pebble >>"$S2/certdesk.ini"
pids=""
for i in 1 2 3 4; do
	$CD ca register --ca pebble >"$WORK/reg$i.out" 2>&1 &
	pids="$pids $!"
done
regfail=0
for p in $pids; do wait "$p" || regfail=$((regfail + 1)); done
stored=$(sqlite3 "$S2/certdesk.db" 'SELECT account_url FROM ca_accounts')
sed 's/^/# /' "$WORK"/reg[1-4].out
check "4 concurrent registrations all succeed" test "$regfail" = 0
check "all 4 print the account the store kept" \
	test "$(cat "$WORK"/reg[1-4].out | grep -c "account $stored ")" = 4

done_testing
