#!/bin/sh
# test_admin_security.sh - the operator pages' guards, with curl against `certdesk
# serve` on the admin test world (tests/browser/admin-env.sh): `certdesk operator`
# add/list/remove; a member's session never reaches /admin and an operator's is no
# member's; a viewer sees no buttons and a viewer's POST is refused; an action without
# a CSRF token, with another session's token or from another origin is 403 and changes
# nothing; an admin's retry and cancel go through the store's functions with the
# operator as the event's actor; search takes % and _ literally; markup stays inert;
# the pages carry no-store and the CSP; failed operator logins are throttled.
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/browser/portal-env.sh
. tests/browser/admin-env.sh

admin_setup "throttle_free_failures = 3
throttle_delay_seconds = 120" || { echo "Bail out! admin setup failed"; exit 1; }
U=$PORTAL_URL
B=$WORK/b
H=$WORK/h

# --- the CLI -------------------------------------------------------------------
printf 'short\n' >"$WORK/short.pw"
fails "operator add refuses a short password" "too short" \
	$CD operator add weak --role admin --password-file "$WORK/short.pw"
fails "operator add refuses a role that does not exist" "--role admin or --role viewer" \
	$CD operator add someone --role root --password-file "$WORK/admin1.pw"
fails "operator add refuses a name taken" "exists already" \
	$CD operator add admin1 --role viewer --password-file "$WORK/admin1.pw"
check "operator list shows both operators with their roles" \
	sh -c "$CD operator list | grep -q '^admin1 *admin ' && $CD operator list | grep -q '^viewer1 *viewer '"
phc=$(sql "SELECT substr(password_hash, 1, 10) FROM operators WHERE operator_id = 'admin1'")
check "the store keeps an argon2id hash, never the password" \
	sh -c "[ '$phc' = '\$argon2id\$' ] && ! grep -q 'Admin-Pass-2026-x' '$DB'"
printf 'Temp-Pass-2026-zz\n' >"$WORK/temp.pw"
$CD operator add temp --role admin <"$WORK/temp.pw" >/dev/null
check "operator add reads the password from standard input without a terminal" \
	test "$(admin_login "$WORK/jar.temp" temp "$WORK/temp.pw")" = 303

# --- a member never reaches /admin ------------------------------------------------
curl -s -o /dev/null -c "$WORK/jar.m" --data 'member_id=m0001&password=Yamada-Pass-2026' "$U/login"
code=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -b "$WORK/jar.m" "$U/admin/campaigns")
check "a member's session on /admin/campaigns: 303 to /admin/login, no page" \
	sh -c "[ '$code' = 303 ] && grep -qi '^location: .*/admin/login' '$H' && ! grep -q 'id=\"campaigns\"' '$B'"
msid=$(awk '$6 == "certdesk_session" {print $7}' "$WORK/jar.m")
code=$(curl -s -o "$B" -w '%{http_code}' -H "Cookie: certdesk_admin=$msid" "$U/admin/failures")
check "a member's session id in the operator cookie is no operator session" test "$code" = 303
MCSRF=$(curl -s -b "$WORK/jar.m" "$U/certificates" | sed -n 's/.*name="csrf" value="\([0-9a-f]\{64\}\)".*/\1/p' | head -n1)
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.m" --data "csrf=$MCSRF" \
	"$U/admin/orders/$ORDER_1005/retry")
check "a member's POST to an operator action: 403" test "$code" = 403

# --- operator login ------------------------------------------------------------------
check "admin1 logs in (303)" test "$(admin_login "$WORK/jar.a" admin1 "$WORK/admin1.pw")" = 303
check "viewer1 logs in (303)" test "$(admin_login "$WORK/jar.v" viewer1 "$WORK/viewer1.pw")" = 303
check "the audit trail has admin1's login with the client's address" \
	test "$(sql "SELECT COUNT(*) FROM events WHERE kind = 'login.ok' AND actor = 'operator:admin1' AND source = '127.0.0.1'")" -ge 1
check "the operator cookie is HttpOnly, SameSite=Strict and only for /admin" \
	sh -c "curl -s -D - -o /dev/null --data-urlencode operator=admin1 \
		--data-urlencode password=\$(cat '$WORK/admin1.pw') '$U/admin/login' |
		grep -i '^set-cookie: certdesk_admin=' | grep -q 'Path=/admin; HttpOnly; SameSite=Strict'"
code=$(curl -s -o "$B" -w '%{http_code}' -b "$WORK/jar.a" "$U/certificates")
check "an operator's session is no member session: /certificates asks for the member login" \
	sh -c "[ '$code' = 303 ] && [ \"\$(curl -s -o /dev/null -w '%{redirect_url}' -b '$WORK/jar.a' '$U/certificates')\" != '' ] &&
		curl -s -o /dev/null -w '%{redirect_url}' -b '$WORK/jar.a' '$U/certificates' | grep -q '/login'"

# --- headers and inert markup on every page -----------------------------------------
pages="/admin/campaigns /admin/campaigns/1 /admin/failures /admin/revocations /admin/certificates/1005 /admin/search?q=yamada"
for p in $pages; do
	code=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -b "$WORK/jar.v" "$U$p")
	check "$p: 200, no-store, the CSP, no script" \
		sh -c "[ '$code' = 200 ] && grep -qi '^cache-control: no-store' '$H' &&
			grep -qi \"^content-security-policy: default-src 'none'\" '$H' &&
			! grep -qi '<script' '$B'"
done
curl -s -o "$B" -b "$WORK/jar.v" "$U/admin/failures"
check "the viewer's display name is escaped in the header" \
	grep -q 'Viewer &lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;One&lt;/b&gt;' "$B"
check "the failure detail's markup is escaped on the failures page" \
	grep -q '192.0.2.1 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' "$B"
curl -s -o "$B" -b "$WORK/jar.v" "$U/admin/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
check "the search text is escaped where it is shown again" \
	sh -c "grep -q 'value=\"&lt;img src=x onerror=alert(1)&gt;\"' '$B' && ! grep -q '<img' '$B'"

# --- a viewer sees and does nothing -------------------------------------------------
curl -s -o "$B" -b "$WORK/jar.v" "$U/admin/failures"
check "a viewer sees the failed orders but no Retry or Cancel button" \
	sh -c "grep -q 'id=\"order-$ORDER_1005\"' '$B' && grep -q 'id=\"viewer-note\"' '$B' &&
		! grep -q 'action=\"/admin/orders/' '$B'"
VCSRF=$(admin_csrf "$WORK/jar.v" /admin/campaigns)
check "the viewer's page carries its CSRF token (for logout)" test -n "$VCSRF"
orders_before=$(sql "SELECT COUNT(*) || '/' || SUM(state = 'canceled') || '/' || (SELECT COUNT(*) FROM events) FROM orders")
code=$(curl -s -o "$B" -w '%{http_code}' -b "$WORK/jar.v" --data "csrf=$VCSRF" "$U/admin/orders/$ORDER_1005/retry")
check "a viewer's retry with its own valid token: 403" test "$code" = 403
code=$(curl -s -o "$B" -w '%{http_code}' -b "$WORK/jar.v" --data "csrf=$VCSRF" "$U/admin/orders/$ORDER_1014/cancel")
check "a viewer's cancel with its own valid token: 403" test "$code" = 403

# --- an admin's action needs its own token, from its own origin -----------------------
ACSRF=$(admin_csrf "$WORK/jar.a")
check "the admin sees Retry on the failed order and Retry now + Cancel on the retrying one" \
	sh -c "curl -s -b '$WORK/jar.a' '$U/admin/failures' >'$B' &&
		grep -q 'id=\"retry-$ORDER_1005\"' '$B' && grep -q 'id=\"retry-$ORDER_1014\"' '$B' &&
		grep -q 'id=\"cancel-$ORDER_1014\"' '$B' && ! grep -q 'id=\"cancel-$ORDER_1005\"' '$B'"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.a" --data "x=1" "$U/admin/orders/$ORDER_1005/retry")
check "an admin's retry without a CSRF token: 403" test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.a" --data "csrf=$VCSRF" "$U/admin/orders/$ORDER_1005/retry")
check "an admin's retry with another session's token (the viewer's): 403" test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.a" --data "csrf=$ACSRF" \
	-H 'Origin: http://evil.example' "$U/admin/orders/$ORDER_1014/cancel")
check "an admin's cancel from another origin: 403" test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' --data "csrf=$ACSRF" "$U/admin/orders/$ORDER_1014/cancel")
check "the admin's token without its session: 403" test "$code" = 403
check "nothing changed: the same orders, none canceled, no new event" \
	test "$(sql "SELECT COUNT(*) || '/' || SUM(state = 'canceled') || '/' || (SELECT COUNT(*) FROM events) FROM orders")" = "$orders_before"

# --- an admin's retry and cancel -------------------------------------------------------
code=$(curl -s -o /dev/null -D "$H" -w '%{http_code}' -b "$WORK/jar.a" --data "csrf=$ACSRF" \
	"$U/admin/orders/$ORDER_1005/retry")
check "the admin retries the failed order: 303 to the certificate's history" \
	sh -c "[ '$code' = 303 ] && grep -qi '^location: .*/admin/certificates/1005#events' '$H'"
check "a new order is queued for 1005, requested by operator:admin1" \
	test "$(sql "SELECT state || ' ' || requested_by FROM orders WHERE certificate_id = '1005' ORDER BY order_id DESC LIMIT 1")" = "queued operator:admin1"
check "the retry is an event with the operator as actor" \
	test "$(sql "SELECT COUNT(*) FROM events WHERE certificate_id = '1005' AND actor = 'operator:admin1'")" -ge 1
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.a" --data "csrf=$ACSRF" \
	"$U/admin/orders/$ORDER_1005/retry")
check "retrying the same failed order again: 409 (the certificate has an open order)" test "$code" = 409
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.a" --data "csrf=$ACSRF" \
	"$U/admin/orders/$ORDER_1014/cancel")
check "the admin cancels the order waiting to retry: 303" test "$code" = 303
check "the order is canceled, the event's actor is operator:admin1" \
	test "$(sql "SELECT state || ' ' || (SELECT actor FROM events WHERE order_id = $ORDER_1014 AND to_state = 'canceled') FROM orders WHERE order_id = $ORDER_1014")" = "canceled operator:admin1"
curl -s -o "$B" -b "$WORK/jar.a" "$U/admin/certificates/1014"
check "the certificate's history shows the cancel with the operator" \
	sh -c "grep -q 'operator:admin1' '$B' && grep -q 'canceled' '$B'"
code=$(curl -s -o "$B" -w '%{http_code}' -b "$WORK/jar.a" --data "csrf=$ACSRF" \
	"$U/admin/orders/$ORDER_1001/cancel")
check "canceling a finished order: 409 with the store's reason" \
	sh -c "[ '$code' = 409 ] && grep -q 'done already' '$B'"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.a" --data "csrf=$ACSRF" \
	"$U/admin/orders/999999/retry")
check "an order that does not exist: 404" test "$code" = 404

# --- search ---------------------------------------------------------------------------
hits() { curl -s -b "$WORK/jar.v" "$U/admin/search?q=$1" | grep -o 'data-certificate="[^"]*"' | sed 's/.*="//; s/"//' | sort | tr '\n' ' '; }
check "search by common name" test "$(hits yamada)" = "1001 1002 1003 1004 "
check "search by member ID" test "$(hits m0002)" = "1005 1006 1007 "
check "search % matches no name (literal, not a wildcard)" test "$(hits %25)" = ""
check "search _ matches no name (literal, not a wildcard)" test "$(hits _)" = ""
check "search yamada_shoten and yamada%shoten match nothing (yamada-shoten exists)" \
	test "$(hits yamada_shoten)|$(hits yamada%25shoten)|$(hits yamada-shoten)" = "||1001 1002 "
serial=$(sql "SELECT i.serial FROM issuances i JOIN certificates c ON c.current_issuance_id = i.issuance_id WHERE c.certificate_id = '1012'")
# as openssl x509 -text prints it: octets, upper case, colons
colons=$(printf '%s\n' "$serial" | awk '{ if (length($0) % 2) $0 = "0" $0; gsub(/../, "&:"); sub(/:$/, ""); print toupper($0) }')
check "search by serial, also written with colons" \
	test "$(hits "$serial")|$(hits "$colons")" = "1012 |1012 "
check "search by an old serial finds the reissued certificate" \
	test "$(hits "$(sql "SELECT serial FROM issuances WHERE certificate_id = '1001' AND source = 'import'")")" = "1001 "

# --- logout, remove, throttling -------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$WORK/jar.v" -c "$WORK/jar.v" --data "csrf=$VCSRF" "$U/admin/logout")
check "the viewer logs out; the session is gone" \
	sh -c "[ '$code' = 303 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -b '$WORK/jar.v' '$U/admin/failures')\" = 303 ]"
check "operator remove ends the operator's sessions" \
	sh -c "$CD operator remove temp >/dev/null &&
		[ \"\$(curl -s -o /dev/null -w '%{http_code}' -b '$WORK/jar.temp' '$U/admin/failures')\" = 303 ] &&
		! $CD operator list | grep -q '^temp '"
printf 'Wrong-Pass-2026-xx\n' >"$WORK/wrong.pw"
for i in 1 2 3; do admin_login "$WORK/jar.w" admin1 "$WORK/wrong.pw" >/dev/null; done
code=$(curl -s -o "$B" -D "$H" -w '%{http_code}' --data-urlencode operator=admin1 \
	--data-urlencode "password=$(cat "$WORK/admin1.pw")" "$U/admin/login")
check "after 3 failures even the right password waits: 429 with Retry-After" \
	sh -c "[ '$code' = 429 ] && grep -qi '^retry-after: [0-9]' '$H'"
check "the member login of the same name and address is not throttled by it" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --data 'member_id=m0001&password=Yamada-Pass-2026' "$U/login")" = 303
check "no password in the server's log" sh -c "! grep -q 'Admin-Pass-2026-x\|Wrong-Pass-2026' '$WORK/serve.log'"
check "the server never crashed (no sanitizer report in its log)" \
	sh -c "! grep -E 'AddressSanitizer|LeakSanitizer|runtime error' '$WORK/serve.log'"
done_testing
