#!/bin/sh
# test_events.sh - the audit trail (issue 12, "Audit"): logins that fail and succeed, a
# reissue through the portal and operator actions from the CLI are events with their
# actor, time and source address (the portal client's, X-Forwarded-For believed only
# from a trusted proxy; local:USER for the CLI), read back with `certdesk events` by
# member, certificate, order and time, in plain text (times in the provider's zone)
# and in JSON.
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/browser/portal-env.sh

portal_setup "trusted_proxies = 127.0.0.1" || { echo "Bail out! portal setup failed"; exit 1; }
U=$PORTAL_URL
B=$WORK/b
ME=$(id -un)

# req JAR METHOD PATH [curl args...]: body in $B, prints the status
req() {
	jar=$1 m=$2 p=$3
	shift 3
	curl -s -o "$B" -w '%{http_code}' -b "$jar" -c "$jar" -X "$m" "$@" "$U$p"
}
login() { # JAR MEMBER PASSWORD [curl args...]
	jar=$1 mem=$2 pw=$3
	shift 3
	req "$jar" POST /login --data-urlencode "member_id=$mem" --data-urlencode "password=$pw" "$@"
}
csrf_of() { grep -o 'name="csrf" value="[0-9a-f]*"' "$B" | head -1 | sed 's/.*value="//; s/"//'; }
key_of() { grep -o 'name="request_key" value="[0-9a-f]*"' "$B" | head -1 | sed 's/.*value="//; s/"//'; }
# jq-like: python over `certdesk events ... --json` on stdin
pyjson() { python3 -c "import json, sys; ev = json.load(sys.stdin); $1"; }

T0=$(date +%s)
# --- logins ------------------------------------------------------------------------------
# through the trusted proxy (127.0.0.1): the forwarded address is the client
st=$(login "$WORK/x" m0002 wrong-password -H 'X-Forwarded-For: 198.51.100.23')
check "a wrong password is refused (200, the login page again)" test "$st" = 200
# from an untrusted address its X-Forwarded-For is ignored: the peer is the client
st=$(login "$WORK/y" m9999 whatever --interface 127.0.0.3 -H 'X-Forwarded-For: 203.0.113.99')
check "an unknown member is refused the same way" test "$st" = 200
st=$(login "$WORK/h" m0002 Hanako-Pass-2026 --interface 127.0.0.2)
check "hanako logs in from 127.0.0.2 (303)" test "$st" = 303

$CD events --member m0002 >"$WORK/m2.txt"
check "the failed login is an event of m0002 from the forwarded address" \
	grep -Eq "member:m0002  from 198\.51\.100\.23  login\.failed  wrong password" "$WORK/m2.txt"
check "the good login is an event from 127.0.0.2" \
	grep -Eq "member:m0002  from 127\.0\.0\.2  login\.ok" "$WORK/m2.txt"
$CD events --member m9999 >"$WORK/m9.txt"
check "the unknown member's attempt is recorded from its peer, not the forged header" \
	sh -c "grep -q 'member:m9999  from 127.0.0.3  login.failed  no such member' '$WORK/m9.txt' &&
		! grep -q 203.0.113.99 '$WORK/m9.txt'"
check "no password appears in the trail" sh -c "! grep -q -e Hanako-Pass -e wrong-password '$WORK/m2.txt'"

# --- a reissue through the portal --------------------------------------------------------------
req "$WORK/h" GET /certificates/1005/reissue --interface 127.0.0.2 >/dev/null
csrf=$(csrf_of)
key=$(key_of)
st=$(req "$WORK/h" POST /certificates/1005/reissue --interface 127.0.0.2 \
	--data-urlencode "csrf=$csrf" --data-urlencode "request_key=$key")
check "hanako applies for the reissue of 1005 (303)" test "$st" = 303
O=$(sql "SELECT order_id FROM orders WHERE certificate_id = '1005'")
check "... which made order $O" test -n "$O"

# --- operator actions from the CLI ---------------------------------------------------------
$CD orders cancel "$O" >/dev/null
check "the operator cancels it" test "$(sql "SELECT state FROM orders WHERE order_id = $O")" = canceled
$CD reissue --certificate 1005 >/dev/null
O2=$(sql "SELECT MAX(order_id) FROM orders WHERE certificate_id = '1005'")

$CD events --cert 1005 >"$WORK/c.txt"
check "the portal's order is hanako's, from 127.0.0.2, queued" \
	grep -Eq "member:m0002  from 127\.0\.0\.2  order\.transition  order $O  certificate 1005  -> queued" "$WORK/c.txt"
check "the cancel is the operator's, from local:$ME, queued -> canceled" \
	grep -Eq "operator:[^ ]+  from local:$ME  order\.transition  order $O  certificate 1005  queued -> canceled  canceled by an operator" "$WORK/c.txt"
check "the operator's new order is from local:$ME" \
	grep -Eq "operator:[^ ]+  from local:$ME  order\.transition  order $O2  certificate 1005  -> queued" "$WORK/c.txt"
$CD events --member m0002 >"$WORK/m2b.txt"
check "--member shows the member's logins and its certificate's orders in time order" \
	sh -c "grep -n '' '$WORK/m2b.txt' | grep -E 'login.failed|login.ok|-> queued|-> canceled' |
		cut -d: -f1 | sort -n -c && test \$(grep -c '' '$WORK/m2b.txt') -ge 5"

# --- times in the provider's zone (Asia/Tokyo, the default) ------------------------------------
at=$($CD events --order "$O" --json | pyjson 'print(ev[0]["at_unix"])')
want=$(TZ=Asia/Tokyo date -d "@$at" '+%Y-%m-%d %H:%M:%S +09:00')
check "plain text shows the time in Asia/Tokyo ($want)" \
	sh -c "$CD events --order $O | head -1 | grep -q '^$want  member:m0002'"

# --- JSON ----------------------------------------------------------------------------------
$CD events --cert 1005 --json >"$WORK/c.json"
check "JSON: the portal's order event with actor, source, order, and its time with an offset" \
	pyjson "
e = [x for x in ev if x.get('order_id') == $O and x.get('to') == 'queued'][0]
assert e['actor'] == 'member:m0002' and e['source'] == '127.0.0.2', e
assert e['certificate_id'] == '1005' and e['kind'] == 'order.transition', e
assert e['at'].endswith('+09:00') and $T0 - 5 <= e['at_unix'] <= $T0 + 600, e
" <"$WORK/c.json"
check "JSON: the cancel is the operator's from local:$ME" pyjson "
e = [x for x in ev if x.get('to') == 'canceled'][0]
assert e['actor'].startswith('operator:') and e['source'] == 'local:$ME', e
assert e['from'] == 'queued' and e['order_id'] == $O, e
" <"$WORK/c.json"
$CD events --since 1h --json >"$WORK/s.json"
check "--since 1h: the logins of the last hour, failed and ok, each with a source" pyjson "
kinds = [x['kind'] for x in ev]
assert kinds.count('login.failed') == 2 and 'login.ok' in kinds, kinds
assert all(x.get('source') for x in ev if x['kind'].startswith('login')), ev
" <"$WORK/s.json"
tomorrow=$(TZ=Asia/Tokyo date -d tomorrow +%Y-%m-%d)
check "--since tomorrow (a day in the provider's zone): nothing" \
	sh -c "$CD events --since $tomorrow --json | python3 -c 'import json,sys; assert json.load(sys.stdin) == []'"

# --- bad input ----------------------------------------------------------------------------------
fails "no criterion is a usage error" "say which events" $CD events
fails "a bad --since says what it accepts" "is not a time with its offset" $CD events --since yesterday
fails "a bad --order is refused" "is not an order number" $CD events --order 12x
done_testing
