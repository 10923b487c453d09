#!/bin/sh
# certdesk's ACME client against a CA that answers garbage (a small loopback
# server of the project's own, lib/badca.py; Pebble 2.4 sends no Retry-After):
# clear errors, Retry-After waits honoured in both forms, junk values ignored,
# no crash and no leak (the test build runs with ASan/LeakSanitizer).
. "$(dirname "$0")/lib/tap.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=badca test TLS" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$WORK/badca.key" -out "$WORK/badca.pem" >/dev/null 2>&1
python3 "$(dirname "$0")/lib/badca.py" "$WORK/badca.pem" "$WORK/badca.key" "$WORK/badca.port" \
	>"$WORK/badca.log" 2>&1 &
TAP_PIDS="$TAP_PIDS $!"
for _ in $(seq 100); do [ -s "$WORK/badca.port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/badca.port")
wait_port 127.0.0.1 "$PORT" 20 || exit 1

S=$WORK/s
new_store "$S"
base_ini=$(cat "$S/certdesk.ini")
# setup SCENARIO [extra ini lines]: a config whose one CA is that scenario
setup() {
	printf '%s\n[ca bad]\ndirectory = https://127.0.0.1:%s/%s/dir\nca_file = %s\n[acme]\npoll_initial_ms = 100\npoll_max_ms = 400\nhttp_timeout_s = 5\nhttp_retries = 2\nretry_after_max_s = 10\n%s\n' \
		"$base_ini" "$PORT" "$1" "$WORK/badca.pem" "${2:-}" >"$S/certdesk.ini"
}
no_crash() { ! grep -qE "Sanitizer|runtime error|Segmentation" "$WORK/.out"; }
# expect NAME SCENARIO SUBSTRING: register fails, says SUBSTRING, no sanitizer report
expect() {
	setup "$2"
	fails "$1" "$3" $CD ca register
	cp "$WORK/.out" "$WORK/last.out"
	check "$1: no crash, no leak" sh -c "! grep -qE 'Sanitizer|runtime error' '$WORK/last.out'"
}

expect "truncated directory JSON" truncated "directory is not JSON"
expect "an HTML page instead of JSON" html "directory is not JSON"
expect "a JSON array instead of an object" notobject "not a JSON object"
expect "a 2 MiB answer is refused" huge "exceeds"
expect "a junk Replay-Nonce" badnonce "no usable Replay-Nonce"
expect "a truncated problem document" acctjunk "HTTP 400 without a problem document"
expect "newAccount without a Location" acctnoloc "without a Location"
expect "503 with a junk Retry-After fails after the retries" junkra "HTTP 503"
check "junk Retry-After: it retried (3 requests) with backoff" test "$(grep -c 'junkra/dir' "$WORK/badca.log")" = 3

t0=$(date +%s.%N)
setup dir503delta
check "503 with Retry-After: 2 (delta-seconds) then success" $CD ca register
t1=$(date +%s.%N)
check "the 2 s were waited" python3 -c "import sys; sys.exit(0 if $t1 - $t0 >= 2 else 1)"

t0=$(date +%s.%N)
setup acct429date
check "429 rateLimited with an HTTP-date Retry-After then success" $CD ca register
t1=$(date +%s.%N)
check "the HTTP-date wait was honoured (>= 1 s)" python3 -c "import sys; sys.exit(0 if $t1 - $t0 >= 1 else 1)"

t0=$(date +%s.%N)
expect "429 with Retry-After beyond the cap is reported, not slept" acct429long "rateLimited"
t1=$(date +%s.%N)
check "it did not sleep an hour" python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 30 else 1)"
check "the CA's detail text is in the message" grep -q "come back in an hour" "$WORK/last.out"

# a registered account, then a malformed order and a hostile token
setup badorder
$CD ca register >/dev/null 2>&1
fails "a malformed order is a clear error" "newOrder" $CD ca issue --name x.test --out "$WORK/out" --http-listen "127.0.0.1:$(free_port)"
setup goodorder
$CD ca register >/dev/null 2>&1
fails "a challenge token that is not base64url is refused" "not base64url" $CD ca issue --name x.test --out "$WORK/out" --http-listen "127.0.0.1:$(free_port)"
check "no file was written outside --out" test ! -e "$WORK/etc"

setup truncated
printf '[ca bad]\ndirectory = http://127.0.0.1:%s/x/dir\n' "$PORT" >>"$S/certdesk.ini"
fails "an http:// directory is refused (TLS is always verified)" "https" $CD ca register
setup html
sed -i "s|^ca_file = .*|ca_file = /dev/null|" "$S/certdesk.ini"
fails "a CA certificate that does not verify is refused" "SSL" $CD ca register

done_testing
