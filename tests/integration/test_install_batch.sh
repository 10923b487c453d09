#!/bin/sh
# Installing on a real nginx: three sites that arrive together share one
# `nginx -t` and one reload and are then served; the key is 0600, the old
# files are kept as a backup (retention applies); the same install again is a
# no-op; a rollback puts the old certificate back on the wire; the http-01
# directory answers over HTTP; `install test` runs nginx -t.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/certs.sh"
. "$(dirname "$0")/lib/nginx.sh"
. "$(dirname "$0")/lib/hosting.sh"

hosting_init || { echo "Bail out! cannot make the test CA"; exit 1; }
A=127.0.0.41
hosting_server web1 $A a1.test a2.test a3.test || { echo "Bail out! nginx did not start"; exit 1; }
R=$WORK/root-web1

check "install test runs nginx -t on the server" sh -c "$CD install test --server web1 | grep -q 'test passed'"
check "the old certificate is served before" \
	test "$(served_serial $A "$TLS_web1" a1.test)" = "$(cert_serial "$CERTS/a1.test-old.crt")"

for s in a1.test a2.test a3.test; do hosting_leaf $s new; done
before=$(reloads web1)
$CD install apply --server web1 \
	a1.test "$CERTS/a1.test-new.fullchain.pem" "$CERTS/a1.test-new.key" \
	a2.test "$CERTS/a2.test-new.fullchain.pem" "$CERTS/a2.test-new.key" \
	a3.test "$CERTS/a3.test-new.fullchain.pem" "$CERTS/a3.test-new.key" >"$WORK/apply.out" 2>&1
check "three installs succeed" test "$(grep -c ': installed (batch of 3)' "$WORK/apply.out")" = 3
check "they shared one reload" test "$(reloads web1)" = $((before + 1))
for s in a1.test a2.test a3.test; do
	check "$s serves its new certificate" \
		test "$(served_serial $A "$TLS_web1" $s)" = "$(cert_serial "$CERTS/$s-new.crt")"
done
check "www. is served the new certificate too" \
	test "$(served_serial $A "$TLS_web1" www.a2.test)" = "$(cert_serial "$CERTS/a2.test-new.crt")"
check "the key was written with mode 0600" test "$(stat -c %a "$R/a1.test/privkey.pem")" = 600
check "the include names certdesk's files" grep -q "ssl_certificate_key \"$R/a1.test/privkey.pem\";" "$R/a1.test/ssl.conf"
check "the old certificate is kept as a backup" sh -c "cmp -s '$CERTS/a1.test-old.fullchain.pem' $R/.certdesk-backup/a1.test/*/fullchain.pem"
check "the backup key is 0600 too" sh -c "test \"\$(stat -c %a $R/.certdesk-backup/a1.test/*/privkey.pem)\" = 600"
check "no temporary file is left" sh -c "! ls -a $R/a1.test | grep -q tmp"

before=$(reloads web1)
check "the same install again succeeds" sh -c "$CD install apply --server web1 a1.test '$CERTS/a1.test-new.fullchain.pem' '$CERTS/a1.test-new.key' | grep -q ': unchanged'"
check "and reloads nothing" test "$(reloads web1)" = "$before"

check "verify: the new certificate is live on both names" \
	$CD install verify --server web1 --expect "$CERTS/a1.test-new.crt" a1.test www.a1.test

# retention: backup_keep = 2
for t in n2 n3 n4; do
	hosting_leaf a3.test $t
	$CD install apply --server web1 a3.test "$CERTS/a3.test-$t.fullchain.pem" "$CERTS/a3.test-$t.key" >/dev/null
done
check "a3.test serves the last of several installs" \
	test "$(served_serial $A "$TLS_web1" a3.test)" = "$(cert_serial "$CERTS/a3.test-n4.crt")"
check "only backup_keep backups are kept" test "$(ls "$R/.certdesk-backup/a3.test" | wc -l)" = 2

check "rollback succeeds" sh -c "$CD install rollback --server web1 a3.test | grep -q 'put back'"
check "the previous certificate is served after the rollback" \
	test "$(served_serial $A "$TLS_web1" a3.test)" = "$(cert_serial "$CERTS/a3.test-n3.crt")"

fails "a key that does not match is refused before anything is written" "does not match the certificate" \
	$CD install apply --server web1 a2.test "$CERTS/a2.test-new.fullchain.pem" "$CERTS/a1.test-new.key"
openssl pkey -in "$CERTS/a2.test-new.key" -aes256 -passout pass:x -out "$WORK/enc.key"
fails "an encrypted key is refused, not prompted for" "not an unencrypted PEM private key" \
	$CD install apply --server web1 a2.test "$CERTS/a2.test-new.fullchain.pem" "$WORK/enc.key"
check "a2.test still serves its certificate" \
	test "$(served_serial $A "$TLS_web1" a2.test)" = "$(cert_serial "$CERTS/a2.test-new.crt")"

# two certdesk processes installing on one server at once (serve and worker nodes)
hosting_leaf a1.test p1
hosting_leaf a2.test p2
$CD install apply --server web1 a1.test "$CERTS/a1.test-p1.fullchain.pem" "$CERTS/a1.test-p1.key" >"$WORK/p1.out" 2>&1 &
p1=$!
$CD install apply --server web1 a2.test "$CERTS/a2.test-p2.fullchain.pem" "$CERTS/a2.test-p2.key" >"$WORK/p2.out" 2>&1
rc2=$?
wait $p1
rc1=$?
check "two processes installing at once both succeed" test "$rc1$rc2" = 00
check "a1.test serves the first process's certificate" \
	test "$(served_serial $A "$TLS_web1" a1.test)" = "$(cert_serial "$CERTS/a1.test-p1.crt")"
check "a2.test serves the second process's certificate" \
	test "$(served_serial $A "$TLS_web1" a2.test)" = "$(cert_serial "$CERTS/a2.test-p2.crt")"

# a worker that crashed after writing the files but before the reload repeats the step
hosting_leaf a2.test crash
cp "$R/a2.test/fullchain.pem" "$WORK/a2.before"
nginx_place_cert "$R" a2.test "$CERTS/a2.test-crash.fullchain.pem" "$CERTS/a2.test-crash.key"
check "the repeated install after a crash reloads" sh -c \
	"$CD install apply --server web1 a2.test '$CERTS/a2.test-crash.fullchain.pem' '$CERTS/a2.test-crash.key' | grep -q ': installed'"
check "and the certificate is served" \
	test "$(served_serial $A "$TLS_web1" a2.test)" = "$(cert_serial "$CERTS/a2.test-crash.crt")"

check "import installed reads certdesk's root (backups are not mistaken for it)" \
	sh -c "$CD import installed --server web1 '$R' | grep -q 'installed on web1: 6 name(s)'"

check "the http-01 directory answers over HTTP as the site" $CD install challenge --server web1 a1.test
check "the challenge directory is readable by nginx's workers" test "$(stat -c %a "$R/.well-known/acme-challenge")" = 755
check "the self-check token was removed" sh -c "test -z \"\$(ls $R/.well-known/acme-challenge)\""

done_testing
