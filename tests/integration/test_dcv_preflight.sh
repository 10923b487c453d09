#!/bin/sh
# test_dcv_preflight.sh - `certdesk preflight` against pebble-challtestsrv: the
# common name must point only at its server, the www twin is kept only when it
# does too, CAA (climbing to the parent, through a CNAME) must allow the CA,
# SERVFAIL is a retryable DNS error, and what to fix is named.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pebble.sh"

challtestsrv_start || { not_ok "challtestsrv starts"; done_testing; exit 1; }
new_store "$WORK/s"
cat >>"$WORK/s/certdesk.ini" <<EOI
[dcv]
resolver = $CTS_DNS
timeout_ms = 500
tries = 1
[ca g4]
directory = https://127.0.0.1:1/dir
caa_identity = pebble.letsencrypt.org
EOI
printf 'server,ipv4,ipv6,state\nweb01,127.0.0.2,,ok\n' >"$WORK/servers.csv"
$CD import servers "$WORK/servers.csv" >/dev/null

pf() { $CD preflight --name "$1" --server web01; }
# expect NAME STATUS SUBSTRING: preflight exits STATUS and prints SUBSTRING
expect() {
	out=$(pf "$1" 2>&1); st=$?
	if [ "$st" -eq "$2" ] && printf '%s' "$out" | grep -qF -- "$3"; then ok "$4"
	else not_ok "$4 (exit $st: $out)"; fi
}

cts_add_a a.example.jp 127.0.0.2
cts_add_a www.a.example.jp 127.0.0.2
expect a.example.jp 0 "ok: names a.example.jp www.a.example.jp" "both names point at the server"

cts_add_a b.example.jp 127.0.0.2
cts_add_a www.b.example.jp 192.0.2.9
expect b.example.jp 0 "left out: www.b.example.jp" "a twin pointing elsewhere is left out"
expect b.example.jp 0 "192.0.2.9" "and the address it points at is named"

cts_add_a c.example.jp 192.0.2.7
expect c.example.jp 1 "dns_not_pointing: c.example.jp points at 192.0.2.7" "common name elsewhere"

cts_add_a d.example.jp 127.0.0.2
cts_add_aaaa d.example.jp 2001:db8::7
expect d.example.jp 1 "2001:db8::7" "an AAAA elsewhere also blocks"

expect e.example.jp 1 "has no A or AAAA record" "a name without records"

cts_add_a f.example.jp 127.0.0.2
cts_add_caa example.jp issue "ca.example.net"
expect f.example.jp 1 "caa_forbids" "CAA at the parent forbids the CA"
expect f.example.jp 1 "CAA at example.jp" "and says where the CAA record is"

cts_add_a g.example.jp 127.0.0.2
cts_add_caa g.example.jp issue "pebble.letsencrypt.org; account=1"
expect g.example.jp 0 "ok: names g.example.jp" "CAA at the name allows the CA (closest set wins)"

cts_add_a h.other.jp 127.0.0.2
cts_set_cname h.other.jp target.other.jp
cts_add_a target.other.jp 127.0.0.2
cts_add_caa target.other.jp issue ";"
out=$(pf h.other.jp 2>&1); st=$?
# a CNAME at the name: challtestsrv answers the CNAME, preflight follows it
if [ "$st" -eq 1 ] && printf '%s' "$out" | grep -q "caa_forbids"; then ok "CAA through a CNAME"
else not_ok "CAA through a CNAME (exit $st: $out)"; fi

cts_add_a i.example.org 127.0.0.2
cts_servfail i.example.org
expect i.example.org 3 "dns_error" "SERVFAIL is a DNS error, exit 3 (retry)"
cts_clear_servfail i.example.org
expect i.example.org 0 "ok: names i.example.org" "cleared: passes"

# the store's certificate form
inv="$WORK/inv"; mkdir -p "$inv"
fails "unknown server is refused" "no server" $CD preflight --name a.example.jp --server nope
fails "a name and a certificate together are refused" "give" \
	$CD preflight --certificate x --name a.example.jp --server web01
done_testing
