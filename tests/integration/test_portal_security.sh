#!/bin/sh
# test_portal_security.sh - the portal's security properties, asserted on what an
# HTTP client sees (issue 11, "Security tests"): headers on every reply, one message
# for every failed login and the same hash work for unknown members, session ids
# changed at login and dead after logout and expiry, throttling per (member,
# address) through its counters and the delay the server reports, no open redirect,
# CSRF, member A seeing member B's things exactly as things that do not exist,
# markup rendered inert, oversized requests refused, a slow client not stopping
# others, one order however a form is sent, the preflight blocking, the JSON API.
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/browser/portal-env.sh

portal_setup "$(printf 'trusted_proxies = 127.0.0.1\nthrottle_free_failures = 3\nthrottle_delay_seconds = 20\nthrottle_max_delay_seconds = 600')" ||
	{ echo "Bail out! portal setup failed"; exit 1; }
U=$PORTAL_URL
H=$WORK/h
B=$WORK/b

# req JAR METHOD PATH [curl args...]: headers in $H, body in $B, prints the status
req() {
	jar=$1 m=$2 p=$3
	shift 3
	curl -s -o "$B" -D "$H" -w '%{http_code}' -b "$jar" -c "$jar" -X "$m" "$@" "$U$p"
}
header() { grep -i "^$1:" "$H" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
metric() { curl -s "$U/metrics" | awk -v m="certdesk_web_$1" '$1 == m { print $2 }'; }
login() { # JAR MEMBER PASSWORD [extra curl args]
	jar=$1 mem=$2 pw=$3
	shift 3
	req "$jar" POST /login --data-urlencode "member_id=$mem" --data-urlencode "password=$pw" \
		--data-urlencode "next=/certificates" "$@"
}
csrf_of() { grep -o 'name="csrf" value="[0-9a-f]*"' "$B" | head -1 | sed 's/.*value="//; s/"//'; }
key_of() { grep -o 'name="request_key" value="[0-9a-f]*"' "$B" | head -1 | sed 's/.*value="//; s/"//'; }
sid_of() { awk '$6 == "certdesk_session" { print $7 }' "$1"; }
orders_of() { sql "SELECT COUNT(*) FROM orders WHERE certificate_id = '$1'"; }

# --- headers ---------------------------------------------------------------------
for p in /login /no-such-page /certificates; do
	req "$WORK/anon" GET "$p" >/dev/null
	csp=$(header Content-Security-Policy)
	case $csp in
	*"default-src 'none'"*"frame-ancestors 'none'"*) csp_ok=1 ;;
	*) csp_ok=0 ;;
	esac
	check "GET $p carries CSP, nosniff, no-store and a referrer policy" \
		test "$csp_ok" = 1 -a "$(header X-Content-Type-Options)" = nosniff \
		-a "$(header Cache-Control)" = no-store -a -n "$(header Referrer-Policy)"
done
check "no inline script in any page" sh -c "! grep -qi '<script' '$B'"
check "/healthz answers ok" sh -c "curl -sf '$U/healthz' | grep -qx ok"

# --- login: one message, the same hash work ----------------------------------------
h0=$(metric login_hashes_total)
s1=$(login "$WORK/x1" m0001 wrong-password)
cp "$B" "$WORK/known.html"
s2=$(login "$WORK/x2" m9999 wrong-password)
cp "$B" "$WORK/unknown.html"
s3=$(login "$WORK/x3" m0007 any-password) # a member without a password (SSO only)
h1=$(metric login_hashes_total)
check "a wrong password, an unknown member and an SSO-only member get the same answer" \
	test "$s1" = "$s2" -a "$s2" = "$s3"
errmsg() { grep -o 'id="login-error">[^<]*' "$1"; }
check "... with one message for all" test -n "$(errmsg "$WORK/known.html")" \
	-a "$(errmsg "$WORK/known.html")" = "$(errmsg "$WORK/unknown.html")"
check "every one of them ran the password hash (3 counted, was $h0, now $h1)" \
	test "$((h1 - h0))" -eq 3

# --- sessions ------------------------------------------------------------------------
rm -f "$WORK/a"
st=$(login "$WORK/a" m0001 Yamada-Pass-2026)
check "m0001 logs in: 303 to the list" test "$st" = 303 -a "$(header Location)" = "$U/certificates"
setc=$(header Set-Cookie)
case $setc in *HttpOnly*SameSite=Lax* | *SameSite=Lax*HttpOnly*) ck=1 ;; *) ck=0 ;; esac
check "the session cookie is HttpOnly and SameSite=Lax" test "$ck" = 1
sid1=$(sid_of "$WORK/a")
cp "$WORK/a" "$WORK/a-old"
login "$WORK/a" m0001 Yamada-Pass-2026 >/dev/null
sid2=$(sid_of "$WORK/a")
check "logging in again gives a new session id" test -n "$sid1" -a "$sid1" != "$sid2"
check "the session hash is stored, never the id" \
	test "$(sql "SELECT COUNT(*) FROM sessions WHERE session_hash = '$sid2'")" = 0
st=$(req "$WORK/a-old" GET /certificates)
check "the old session id is dead after the new login" test "$st" = 303
st=$(req "$WORK/a" GET /certificates)
check "the new one shows the list" test "$st" = 200
csrfA=$(csrf_of)

# a second server on the same store whose sessions idle out after 60 s; the idle
# time passes by moving the session's last request back in the store (no waiting)
portal_serve "$WORK/s/short.ini" 'session_idle_seconds = 60' ||
	{ echo "Bail out! a second portal did not start"; exit 1; }
U2=$SERVE_URL
Usave=$U
U=$U2
login "$WORK/e" m0001 Yamada-Pass-2026 >/dev/null
st1=$(req "$WORK/e" GET /certificates)
moved=$(python3 -c 'import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
h = hashlib.sha256(sys.argv[2].encode()).hexdigest()
n = c.execute("UPDATE sessions SET last_seen_at = last_seen_at - 61 WHERE session_hash = ?", (h,)).rowcount
c.commit()
print(n)' "$DB" "$(sid_of "$WORK/e")")
st2=$(req "$WORK/e" GET /certificates)
U=$Usave
check "an idle session expires (200, then 303 to login once idle for longer than 60 s)" \
	test "$st1" = 200 -a "$moved" = 1 -a "$st2" = 303
# that server's login purges the store's sessions idle for 60 s by its own setting:
# on a very slow machine A's too, so A logs in again (the nodes of one store share
# their settings in production)
rm -f "$WORK/a"
login "$WORK/a" m0001 Yamada-Pass-2026 >/dev/null
req "$WORK/a" GET /certificates >/dev/null
csrfA=$(csrf_of)

# --- SSO from the provider's gateway, and https ----------------------------------------
portal_serve "$WORK/s/sso.ini" "$(printf 'sso_header = X-Certdesk-Member\nbase_url = https://portal.example.jp')" ||
	{ echo "Bail out! the SSO portal did not start"; exit 1; }
U3=$SERVE_URL
st=$(curl -s -o /dev/null -D "$H" -w '%{http_code}' -H 'X-Certdesk-Member: m0002' "$U3/login")
setc=$(header Set-Cookie)
case $setc in "__Host-certdesk_session="*"Secure"*) sso=1 ;; *) sso=0 ;; esac
check "the SSO header from a trusted proxy logs in, with a __Host- Secure cookie under https" \
	test "$st" = 303 -a "$sso" = 1 -a "$(header Location)" = "https://portal.example.jp/certificates"
check "... and https replies carry HSTS" sh -c "grep -qi '^Strict-Transport-Security: max-age' '$H'"
st=$(curl -s -o /dev/null -D "$H" -w '%{http_code}' --interface 127.0.0.2 \
	-H 'X-Certdesk-Member: m0002' "http://127.0.0.1:${U3##*:}/login")
check "the SSO header from an address that is not a trusted proxy is ignored" \
	test "$st" = 200 -a -z "$(header Set-Cookie)"

# --- open redirect --------------------------------------------------------------------
for next in //evil.example/x 'https://evil.example/' '/\evil.example' "$(printf '/\tx')"; do
	rm -f "$WORK/r"
	req "$WORK/r" POST /login --data-urlencode member_id=m0001 \
		--data-urlencode password=Yamada-Pass-2026 --data-urlencode "next=$next" >/dev/null
	check "an outside next ($(printf '%s' "$next" | tr '\t\\' 'TB')) is refused: lands on the list" \
		test "$(header Location)" = "$U/certificates"
done
rm -f "$WORK/r"
req "$WORK/r" POST /login --data-urlencode member_id=m0001 \
	--data-urlencode password=Yamada-Pass-2026 --data-urlencode "next=/certificates?campaign=1" >/dev/null
check "a local next is followed" test "$(header Location)" = "$U/certificates?campaign=1"
st=$(req "$WORK/anon2" GET '/reissue?campaign=1')
check "the mail's link sends an anonymous visitor to login with next" \
	test "$st" = 303 -a "$(header Location)" = "$U/login?next=%2Fcertificates%3Fcampaign%3D1"

# --- markup is inert -------------------------------------------------------------------
rm -f "$WORK/j"
login "$WORK/j" m0003 Smith-Hash-Pass-2026 >/dev/null
req "$WORK/j" GET /certificates >/dev/null
check "a display name with markup is escaped" grep -q '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' "$B"
check "... and never raw" sh -c "! grep -q '<script' '$B' && ! grep -q '<b>Smith' '$B'"
req "$WORK/anon" GET '/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E' >/dev/null
check "markup in a query string is not reflected raw" sh -c "! grep -q '<script' '$B'"
req "$WORK/j" GET '/certificates?campaign=%3Cscript%3E' >/dev/null
check "a junk campaign id is ignored" sh -c "! grep -q '<script' '$B'"

# --- member A and member B ----------------------------------------------------------------
$CD reissue --certificate 1009 >/dev/null # an order of m0003's
oB=$(sql "SELECT order_id FROM orders WHERE certificate_id = '1009'")
for pair in "/certificates/1009/reissue /certificates/no-such-cert/reissue" \
	"/orders/$oB /orders/999999" "/orders/$oB/complete /orders/999999/complete"; do
	set -- $pair
	sa=$(req "$WORK/a" GET "$1")
	cp "$B" "$WORK/foreign.html"
	sb=$(req "$WORK/a" GET "$2")
	check "A asking for B's $1 gets the same 404 as for $2" \
		sh -c "test '$sa' = 404 && test '$sb' = 404 && cmp -s '$WORK/foreign.html' '$B'"
done
before=$(sql "SELECT COUNT(*) FROM orders")
st=$(req "$WORK/a" POST /certificates/1015/reissue --data-urlencode "csrf=$csrfA" \
	--data-urlencode request_key=0123456789abcdef0123456789abcdef)
check "A cannot order a reissue of B's certificate (404, no order)" \
	test "$st" = 404 -a "$(sql "SELECT COUNT(*) FROM orders")" = "$before"

# --- CSRF -----------------------------------------------------------------------------------
req "$WORK/a" GET /certificates/1001/reissue >/dev/null
key=$(key_of)
check "the confirm page of 1001 offers to apply (preflight passed)" test -n "$key"
rm -f "$WORK/j"
login "$WORK/j" m0003 Smith-Hash-Pass-2026 >/dev/null
req "$WORK/j" GET /certificates >/dev/null
csrfB=$(csrf_of)
n0=$(orders_of 1001)
st1=$(req "$WORK/a" POST /certificates/1001/reissue --data-urlencode "request_key=$key")
st2=$(req "$WORK/a" POST /certificates/1001/reissue --data-urlencode "csrf=$csrfB" \
	--data-urlencode "request_key=$key")
st3=$(req "$WORK/a" POST /certificates/1001/reissue --data-urlencode "csrf=" \
	--data-urlencode "request_key=$key")
check "a missing, foreign or empty CSRF token gets 403 ($st1 $st2 $st3) and no order" \
	test "$st1$st2$st3" = 403403403 -a "$(orders_of 1001)" = "$n0"
st=$(req "$WORK/a" POST /logout)
check "logout without the token is refused" test "$st" = 403
st=$(req "$WORK/lc" POST /login -H 'Origin: https://evil.example' --data-urlencode member_id=m0001 \
	--data-urlencode password=Yamada-Pass-2026)
check "a login POST from another site's page is refused (403, no session)" \
	test "$st" = 403 -a -z "$(header Set-Cookie)"
st=$(req "$WORK/lc" POST /login -H "Origin: $U" --data-urlencode member_id=m0001 \
	--data-urlencode password=Yamada-Pass-2026)
check "... and accepted from the portal's own origin" test "$st" = 303

# --- one order however the form is sent ------------------------------------------------------
# Three submits of the same form at the same moment: each on its own connection,
# all bytes but the last sent first, then the last bytes together (a barrier), so
# the three are inside the server at once on every run. Each must lead to the one
# order (303), none to an error page.
python3 - "$PORTAL_PORT" "$(sid_of "$WORK/a")" "$csrfA" "$key" >"$WORK/concurrent.out" <<'PY'
import socket, sys, threading
from urllib.parse import urlencode
port, sid, csrf, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = urlencode({"csrf": csrf, "request_key": key}).encode()
req = (f"POST /certificates/1001/reissue HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
       f"Cookie: certdesk_session={sid}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
       f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
conns = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(3)]
for c in conns:
    c.sendall(req[:-1])
barrier = threading.Barrier(3)
answers = [None] * 3
def submit(i):
    c = conns[i]
    barrier.wait()
    c.sendall(req[-1:])
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    loc = [h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("location:")]
    answers[i] = f"{head[0].split()[1] if head[0] else '-'} {loc[0] if loc else '-'}"
threads = [threading.Thread(target=submit, args=(i,)) for i in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(answers))
PY
oA=$(sql "SELECT order_id FROM orders WHERE certificate_id = '1001'")
check "three concurrent submits of one form make one order" test "$(orders_of 1001)" = "$((n0 + 1))"
check "... and all three lead to it, none to an error page ($(tr '\n' ' ' <"$WORK/concurrent.out"))" \
	python3 -c 'import re, sys
lines = open(sys.argv[1]).read().split()
pairs = list(zip(lines[0::2], lines[1::2]))
ok = len(pairs) == 3 and all(st == "303" and re.fullmatch(r".*/orders/" + sys.argv[2] + r"(/complete)?", loc) for st, loc in pairs)
sys.exit(0 if ok else 1)' "$WORK/concurrent.out" "$oA"
req "$WORK/a" GET /certificates/1001/reissue >/dev/null
key2=$(key_of)
st=$(req "$WORK/a" POST /certificates/1001/reissue --data-urlencode "csrf=$csrfA" \
	--data-urlencode "request_key=0000000000000000000000000000000a")
check "a second form (another tab) makes no second order" \
	test "$(orders_of 1001)" = "$((n0 + 1))" -a "$st" = 303
check "the second form leads to the one order" test "$(header Location)" = "$U/orders/$oA"
st=$(req "$WORK/a" POST /certificates/1001/reissue --data-urlencode "csrf=$csrfA" \
	--data-urlencode "request_key=$key")
check "the first form replayed leads to the one order too" \
	test "$st" = 303 -a "$(header Location)" = "$U/orders/$oA" -a "$(orders_of 1001)" = "$((n0 + 1))"
st=$(req "$WORK/a" GET "/orders/$oA")
check "A's order page shows it queued, refreshing without script" \
	sh -c "test '$st' = 200 && grep -q 'data-state=\"queued\"' '$B' && grep -q 'http-equiv=\"refresh\"' '$B'"

# --- the preflight blocks --------------------------------------------------------------------------
rm -f "$WORK/hk"
login "$WORK/hk" m0002 Hanako-Pass-2026 >/dev/null
cts_add_caa hanako.example.jp issue other-ca.example
req "$WORK/hk" GET /certificates/1005/reissue >/dev/null
check "CAA for another CA blocks the confirm page with what to fix and a re-check" \
	sh -c "grep -q 'id=\"preflight-problem\"' '$B' && grep -q 'id=\"recheck\"' '$B' && ! grep -q 'id=\"apply\"' '$B'"
csrfH=$(csrf_of)
st=$(req "$WORK/hk" POST /certificates/1005/reissue --data-urlencode "csrf=$csrfH" \
	--data-urlencode request_key=1111111111111111111111111111111a)
check "a hand-made POST past a blocking preflight gets 409 and no order" \
	test "$st" = 409 -a "$(orders_of 1005)" = 0
cts_clear_caa hanako.example.jp
cts_clear_a hanako.example.jp
cts_add_a hanako.example.jp 192.0.2.7
req "$WORK/hk" GET /certificates/1005/reissue >/dev/null
check "an A record elsewhere blocks it too, naming the address" \
	sh -c "grep -q 'id=\"preflight-problem\"' '$B' && grep -q '192.0.2.7' '$B'"
cts_clear_a hanako.example.jp
cts_add_a hanako.example.jp 127.0.0.12
req "$WORK/hk" GET /certificates/1005/reissue >/dev/null
check "fixed DNS: the re-check offers to apply, naming both names" \
	sh -c "grep -q 'id=\"apply\"' '$B' && grep -q '<li>www.hanako.example.jp</li>' '$B'"
check "nothing installed for 1005: the page says one will be installed" grep -q 'id="install-notice"' "$B"

# --- throttling ------------------------------------------------------------------------------------
for i in 1 2 3; do login "$WORK/t" m0006 wrong >/dev/null; done
st=$(login "$WORK/t" m0006 Sample-Hash-Pass-2026)
ra=$(header Retry-After)
# the delay is 20 s; what remains of it when the server answers may be less on a
# slow machine, never more (the doubled delay below is 40 s)
check "after 3 failures of (m0006, 127.0.0.1) even the right password waits: 429, Retry-After $ra" \
	test "$st" = 429 -a "$ra" -ge 10 -a "$ra" -le 20
check "the counter holds 3 failures for the pair" \
	test "$(sql "SELECT failures FROM login_throttle WHERE throttle_key = 'pair:m0006|127.0.0.1'")" = 3
st=$(login "$WORK/t2" m0006 Sample-Hash-Pass-2026 -H 'X-Forwarded-For: 127.0.0.99')
check "the member still logs in from another address (through the trusted proxy)" test "$st" = 303
st=$(login "$WORK/t3" m0006 Sample-Hash-Pass-2026 -H 'X-Forwarded-For: 127.0.0.1')
check "the throttled address stays throttled behind the proxy too" test "$st" = 429
# the delay grows: let the first one pass (moving the last failure back), fail once more
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
c.execute("UPDATE login_throttle SET last_failure_at = last_failure_at - 25 WHERE throttle_key = ?", ("pair:m0006|127.0.0.1",))
c.commit()' "$DB"
st1=$(login "$WORK/t" m0006 wrong)
st2=$(login "$WORK/t" m0006 Sample-Hash-Pass-2026)
ra=$(header Retry-After)
check "one more failure doubles the delay the server reports ($st1, then $st2 with Retry-After $ra)" \
	test "$st1" = 200 -a "$st2" = 429 -a "$ra" -ge 30 -a "$ra" -le 40
check "throttled attempts are counted, and cost no hash" test "$(metric login_throttled_total)" -ge 3

# --- oversized and slow ------------------------------------------------------------------------------
python3 -c 'print("a=" + "x" * 20000, end="")' >"$WORK/big"
st=$(req "$WORK/a" POST /login --data-binary "@$WORK/big")
check "a 20 kB body is refused with 413" test "$st" = 413
st=$(req "$WORK/a" POST /login -H 'Transfer-Encoding: chunked' --data-binary "@$WORK/big")
check "... also when chunked" test "$st" = 413
fields=$(python3 -c 'print("&".join(f"f{i}=1" for i in range(40)))')
st=$(req "$WORK/a" POST /login --data "$fields")
check "40 form fields are refused with 4xx ($st)" test "$st" -ge 400 -a "$st" -lt 500
st=$(req "$WORK/a" GET /certificates -H "X-Big: $(python3 -c 'print("y" * 40000)')")
check "a 40 kB header is refused with 4xx ($st)" test "$st" -ge 400 -a "$st" -lt 500
cookies=$(python3 -c 'print("; ".join(f"c{i}=v" for i in range(100)))')
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookies" "$U/certificates")
check "100 cookies are refused with 400" test "$st" = 400
st=$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Cookie: certdesk_session=$(python3 -c 'print("z" * 300)')" "$U/certificates")
check "an overlong session cookie is refused with 400" test "$st" = 400
check "the server is still alive after all that" sh -c "curl -sf '$U/healthz' >/dev/null"
# 16 slow clients hold connections (a few header bytes, then silence) while 10 others
# ask for /healthz: all 10 are served while the 16 are still connected (the server
# would drop them only after request_timeout_seconds, 30 s by default)
python3 - "$PORTAL_PORT" >"$WORK/slow.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
slow = []
for _ in range(16):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /certificates HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    slow.append(s)
t0 = time.monotonic()
served = 0
for _ in range(10):
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    c.close()
    served += data.startswith(b"HTTP/1.1 200")
held = 0
for s in slow:  # still connected: nothing to read, and no end of stream
    s.setblocking(False)
    try:
        held += s.recv(1) != b""
    except BlockingIOError:
        held += 1
print(served, held, f"{time.monotonic() - t0:.2f}")
PY
read -r served held took <"$WORK/slow.out"
check "16 slow clients do not stop others being served (${served:-0} of 10 served in ${took:-?} s, while ${held:-0} slow ones were still connected)" \
	test "${served:-0}" = 10 -a "${held:-0}" = 16

# --- the JSON API ------------------------------------------------------------------------------------
TOK=$($CD api-token create --member m0001 --label panel 2>/dev/null)
TOKB=$($CD api-token create --member m0003 2>/dev/null)
check "a token is shown once and stored hashed" \
	test -n "$TOK" -a "$(sql "SELECT COUNT(*) FROM member_api_tokens WHERE token_hash = '$TOK'")" = 0
api_() { t=$1; shift; curl -s -o "$B" -w '%{http_code}' -H "Authorization: Bearer $t" "$@"; }
st=$(api_ "$TOK" "$U/api/v1/certificates")
check "GET /api/v1/certificates lists m0001's with status and reason" \
	python3 -c 'import json, sys
d = {c["certificate_id"]: (c["status"], c["reason"]) for c in json.load(open(sys.argv[1]))["certificates"]}
want = {"1001": ("in_progress", None), "1002": ("in_progress", None), "1003": ("impossible", "csr_required"),
        "1004": ("not_needed", None), "1008": ("impossible", "server_problem"),
        "1011": ("impossible", "foreign_certificate_installed"), "1012": ("impossible", "new_setting_exists")}
sys.exit(0 if d == want and sys.argv[2] == "200" else 1)' "$B" "$st"
st=$(api_ bogus-token-bogus-token-bogus "$U/api/v1/certificates")
check "an unknown token gets 401" test "$st" = 401
st=$(curl -s -o "$B" -w '%{http_code}' -b "$WORK/a" "$U/api/v1/certificates")
check "a session cookie is no API credential (401)" test "$st" = 401
sa=$(api_ "$TOK" "$U/api/v1/orders/$oB"); cp "$B" "$WORK/fa"
sb=$(api_ "$TOK" "$U/api/v1/orders/999999")
check "the API gives A the same 404 for B's order as for none" \
	sh -c "test '$sa$sb' = 404404 && cmp -s '$WORK/fa' '$B'"
st=$(api_ "$TOK" -X POST "$U/api/v1/certificates/1009/reissue")
check "the API refuses A a reissue of B's certificate with 404" test "$st" = 404
st=$(api_ "$TOKB" -X POST -H 'Idempotency-Key: k1' "$U/api/v1/certificates/1008/reissue")
check "... and B one of A's" test "$st" = 404
$CD api-token list --member m0001 >"$WORK/tl"
tid=$(cut -f1 "$WORK/tl" | head -1)
$CD api-token revoke --member m0001 --id "$tid" >/dev/null
st=$(api_ "$TOK" "$U/api/v1/certificates")
check "a revoked token gets 401" test "$st" = 401
TOKH=$($CD api-token create --member m0002 2>/dev/null)
# three concurrent requests with one key (a panel retrying at once): one order, one 201
python3 - "$PORTAL_PORT" "$TOKH" >"$WORK/api-concurrent.out" <<'PY'
import http.client, json, sys, threading
port, tok = int(sys.argv[1]), sys.argv[2]
barrier = threading.Barrier(3)
out = [None] * 3
def call(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.connect()
    barrier.wait()
    c.request("POST", "/api/v1/certificates/1005/reissue",
              headers={"Authorization": "Bearer " + tok, "Idempotency-Key": "panel-42"})
    r = c.getresponse()
    out[i] = (r.status, json.loads(r.read() or b"{}").get("order_id"))
ts = [threading.Thread(target=call, args=(i,)) for i in range(3)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(" ".join(f"{s}:{o}" for s, o in sorted(out, key=lambda x: x[0], reverse=True)))
PY
read -r c1 c2 c3 <"$WORK/api-concurrent.out"
o1=${c1#*:}
s1=${c1%%:*}
check "three concurrent API calls with one key: one 201, two 200, one order ($c1 $c2 $c3)" \
	test "$c1" = "201:$o1" -a "$c2" = "200:$o1" -a "$c3" = "200:$o1" -a "$(orders_of 1005)" = 1
s2=$(api_ "$TOKH" -X POST -H 'Idempotency-Key: panel-42' "$U/api/v1/certificates/1005/reissue")
o2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["order_id"])' "$B")
s3=$(api_ "$TOKH" -X POST -H 'Idempotency-Key: panel-43' "$U/api/v1/certificates/1005/reissue")
check "a reissue through the API: 201; a retry with the same key 200, the same order; another key 409" \
	test "$s1$s2$s3" = 201200409 -a "$o1" = "$o2" -a "$(orders_of 1005)" = 1
st=$(api_ "$TOKH" "$U/api/v1/orders/$o1")
check "GET /api/v1/orders/ID shows it queued with its stages" \
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if sys.argv[2] == "200" and d["state"] == "queued" and d["stages"][0]["state"] == "queued" else 1)' "$B" "$st"

# --- logout -------------------------------------------------------------------------------------------
req "$WORK/a" GET /certificates >/dev/null
csrfA=$(csrf_of)
cp "$WORK/a" "$WORK/a-before"
st=$(req "$WORK/a" POST /logout --data-urlencode "csrf=$csrfA")
st2=$(req "$WORK/a-before" GET /certificates)
check "logout (303) kills the session server-side: the old cookie gets the login (303)" \
	test "$st" = 303 -a "$st2" = 303 -a "$(header Location)" = "$U/login?next=%2Fcertificates"
check "GET does not log out (405)" test "$(req "$WORK/a" GET /logout)" = 405
check "the servers never crashed (no sanitizer report in their logs)" \
	sh -c "! grep -E 'AddressSanitizer|runtime error|LeakSanitizer' '$WORK/serve.log' '$WORK/serve2.log'"

done_testing
